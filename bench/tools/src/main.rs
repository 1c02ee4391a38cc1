//! Benchmark helpers for `bench/responder.sh`, built with the same axum and Tokio as the
//! product so the baseline is comparable:
//!
//! - `bench-tools hello ADDR`: the baseline, `GET /hello` answering a fixed 200-byte body;
//! - `bench-tools verify-parse ADDR APP_SECRET`: the responder's first half alone, to see
//!   what the rest costs: `POST /webhooks/meta` verified and read by the responder's own Meta
//!   channel, then a 200, nothing stored, counted or answered;
//! - `bench-tools redis-get ADDR REDIS_URL`: the reference figures' second row ("axum + serde +
//!   one Redis GET"), the webhook a typical team writes: `POST /webhooks/meta`
//!   read with serde, no signature, one Redis `GET resp:<text>` answered as the body;
//! - `bench-tools graph ADDR [--cap N]`: the Graph API stand-in ([`graph`]): accepts
//!   `POST …/messages` with Meta's success body, counts them (`GET /count`) and records each
//!   recipient's replies in order, optionally capped at N a second, and told by the fault
//!   drills to be down or to answer 429 with `Retry-After` for a while;
//! - `bench-tools burst …`: the press-conference load and its reply-by-reply check
//!   ([`burst`], `bench/press.sh`, `ops/drills/run.sh`);
//! - `bench-tools requests FILE N APP_SECRET PHONE_NUMBER_ID…`: N signed Meta text webhooks in
//!   Meta's wire form, one per line (`signature<TAB>body`), with unique message ids, 100,000
//!   senders, and texts that route to varied topics and municipios;
//! - `bench-tools publish SNAPSHOT_JSON`: publishes a snapshot into the store the usual
//!   `CONTACTO_*` configuration selects (embedded or Redis);
//! - `bench-tools slow-source ADDR`: a source that hangs (`/hang`) or trickles one byte a
//!   second (`/trickle`), for `ops/drills/run.sh` ([`slow_source`]);
//! - `bench-tools snapshot`: the store's current snapshot in one line, `VERSION ANSWERS`, or
//!   `ninguna`; reading it whole is the check of the drill that kills `contacto` mid-publish;
//! - `bench-tools covid-csv FILE ROWS [SEED]`: the synthetic national file for
//!   `bench/ingest.sh` ([`covid_csv`]).

mod burst;
mod covid_csv;
mod graph;
mod slow_source;

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use channels::meta::Meta;
use channels::meta::MetaConfig;
use channels::{Channel, Hook, WebhookRequest};

/// Exactly 200 bytes, like the reference figures' body.
const HELLO: &str = "Hola. Este es el punto de comparacion de la prueba de rendimiento: un servidor axum que responde siempre el mismo texto, sin leer ni escribir nada mas. xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// What citizens write, routed to many topics and municipios (and a few menu numbers).
const TEXTS: &[&str] = &[
    "casos en León",
    "¿Cuántos casos hay en Irapuato?",
    "defunciones en Celaya",
    "síntomas",
    "hospitales en León",
    "Hola",
    "1",
    "casos sospechosos en Salamanca",
    "vacuna",
    "semáforo",
    "casos Silao",
    "muertes en San Miguel de Allende",
    "programas de apoyo",
    "recuperados",
    "cuantos contagios hay en guanajuato capital",
    "Dolores Hidalgo",
    "descartados",
    "hospitales Irapuato",
    "ayuda",
    "transmisión comunitaria en Pénjamo",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("start Tokio");
    match args.first().map(String::as_str) {
        Some("hello") if args.len() == 2 => runtime.block_on(serve(&args[1], hello())),
        Some("verify-parse") if args.len() == 3 => runtime.block_on(serve(&args[1], verify_parse(&args[2]))),
        Some("redis-get") if args.len() == 3 => {
            runtime.block_on(async { serve(&args[1], redis_get(&args[2]).await).await })
        }
        Some("graph") if args.len() >= 2 => {
            runtime.block_on(serve(&args[1], graph::router(graph::Options::parse(&args[2..]))))
        }
        Some("burst") => runtime.block_on(burst::run(burst::Plan::parse(&args[1..]))),
        Some("requests") if args.len() >= 5 => requests(&args[1], args[2].parse().expect("N"), &args[3], &args[4..]),
        Some("slow-source") if args.len() == 2 => runtime.block_on(slow_source::serve(&args[1])),
        Some("snapshot") if args.len() == 1 => runtime.block_on(current_snapshot()),
        Some("publish") if args.len() == 2 => runtime.block_on(publish(&args[1])),
        Some("covid-csv") if args.len() == 3 || args.len() == 4 => covid_file(
            &args[1],
            args[2].parse().expect("ROWS"),
            args.get(3).map_or(20_240_611, |s| s.parse().expect("SEED")),
        ),
        _ => {
            eprintln!(
                "uso: bench-tools hello DIRECCIÓN | verify-parse DIRECCIÓN SECRETO | redis-get DIRECCIÓN URL_REDIS | graph DIRECCIÓN [--cap N] | burst URL_WEBHOOK URL_GRAPH SECRETO ID CIUDADANOS SEGUNDOS PRIMERO DRENADO_S | requests ARCHIVO N SECRETO ID… | slow-source DIRECCIÓN | snapshot | publish SNAPSHOT.json | covid-csv ARCHIVO FILAS [SEMILLA]"
            );
            std::process::exit(2);
        }
    }
}

async fn serve(addr: &str, app: Router) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

fn hello() -> Router {
    assert_eq!(HELLO.len(), 200);
    Router::new().route("/hello", get(|| async { HELLO }))
}

fn verify_parse(app_secret: &str) -> Router {
    let config = MetaConfig {
        app_secret: app_secret.to_owned(),
        verify_token: String::new(),
        access_token: String::new(),
        phone_number_ids: Vec::new(),
        graph_base_url: "http://127.0.0.1:9".into(),
        graph_version: "v23.0".into(),
        messages_per_second: 80,
        graph_timeout: std::time::Duration::from_secs(1),
        marketing_messages: false,
    };
    let meta = Arc::new(Meta::new(config, Default::default()));
    Router::new().route(
        "/webhooks/meta",
        post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let meta = meta.clone();
            async move {
                let request = WebhookRequest { uri: &uri, headers: &headers, body: &body };
                let read = meta.verify(Hook::Events, &request).and_then(|()| meta.parse(Hook::Events, &request));
                match read {
                    Ok(events) => (StatusCode::OK, events.len().to_string()),
                    Err(rejection) => (rejection.status(), rejection.to_string()),
                }
            }
        }),
    )
}

/// Just the fields the reference peer reads.
#[derive(serde::Deserialize)]
struct PeerWebhook {
    entry: Vec<PeerEntry>,
}
#[derive(serde::Deserialize)]
struct PeerEntry {
    changes: Vec<PeerChange>,
}
#[derive(serde::Deserialize)]
struct PeerChange {
    value: PeerValue,
}
#[derive(serde::Deserialize)]
struct PeerValue {
    #[serde(default)]
    messages: Vec<PeerMessage>,
}
#[derive(serde::Deserialize)]
struct PeerMessage {
    text: Option<PeerText>,
}
#[derive(serde::Deserialize)]
struct PeerText {
    body: String,
}

/// The reference peer's key for a text: `resp:` and the text trimmed and lower-cased.
fn answer_key(text: &str) -> String {
    format!("resp:{}", text.trim().to_lowercase())
}

async fn redis_get(url: &str) -> Router {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut con = redis::aio::ConnectionManager::new(client).await.expect("connect to Redis");
    for text in TEXTS {
        let _: () = redis::cmd("SET")
            .arg(answer_key(text))
            .arg(format!("Respuesta a «{text}»"))
            .query_async(&mut con)
            .await
            .expect("SET");
    }
    Router::new().route(
        "/webhooks/meta",
        post(move |body: Bytes| {
            let mut con = con.clone();
            async move {
                let Ok(hook) = serde_json::from_slice::<PeerWebhook>(&body) else {
                    return (StatusCode::BAD_REQUEST, Vec::new());
                };
                let text = hook.entry.first().and_then(|e| e.changes.first()).and_then(|c| c.value.messages.first());
                let Some(PeerText { body: text }) = text.and_then(|m| m.text.as_ref()) else {
                    return (StatusCode::OK, Vec::new());
                };
                match redis::cmd("GET").arg(answer_key(text)).query_async::<Option<Vec<u8>>>(&mut con).await {
                    Ok(Some(answer)) => (StatusCode::OK, answer),
                    Ok(None) => (StatusCode::NOT_FOUND, Vec::new()),
                    Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
                }
            }
        }),
    )
}

fn requests(file: &str, n: usize, app_secret: &str, phone_number_ids: &[String]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(file).expect("create the requests file"));
    for i in 0..n {
        // Each request is a different message; at 100,000 senders none reaches the flood limit.
        let from = format!("5214{:09}", 770_000_000 + i % 100_000);
        let pnid = &phone_number_ids[i % phone_number_ids.len()];
        let text = TEXTS[i % TEXTS.len()];
        let id = format!("wamid.HBgNNTIxNDc3MTIzNDU2NxUCABIYFjNFQjBD{i:012}");
        let body = testkit::meta_text(pnid, &from, &id, text);
        let signature = channels::meta::signature(app_secret, &body);
        let body = std::str::from_utf8(&body).expect("the wire form is ASCII");
        writeln!(out, "{signature}\t{body}").expect("write a request");
    }
}

/// The store the usual `CONTACTO_*` configuration selects (embedded or Redis).
async fn configured_store() -> store::SharedStore {
    let file = std::env::var("CONTACTO_CONFIG").unwrap_or_else(|_| settings::DEFAULT_FILE.into());
    let settings = settings::Settings::load(std::path::Path::new(&file)).expect("configuration");
    store::open(&settings.store_config()).await.expect("open the store")
}

/// Reads the current snapshot whole (every answer decoded) and prints its version and size.
async fn current_snapshot() {
    let store = configured_store().await;
    match store.current_snapshot().await.expect("read the current snapshot") {
        Some(snapshot) => println!("{} {}", snapshot.version, snapshot.content.answers.len()),
        None => println!("ninguna"),
    }
}

async fn publish(path: &str) {
    let store = configured_store().await;
    let content: schemas::SnapshotContent =
        serde_json::from_slice(&std::fs::read(path).expect("read the snapshot")).expect("a snapshot");
    let current = store.current_version().await.expect("read the current version");
    let snapshot = store.publish(&content, current, 5).await.expect("publish");
    println!("published {} ({} answers) on {}", snapshot.version, snapshot.content.answers.len(), store.kind());
}

/// Writes the synthetic national file to `file` (through `file.part`, so a file that exists is
/// complete) and says how big it came out.
fn covid_file(file: &str, rows: u64, seed: u64) {
    let started = std::time::Instant::now();
    let part = format!("{file}.part");
    let mut out = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(&part).expect("create the file"));
    let bytes = covid_csv::write(&mut out, rows, seed).expect("write the file");
    drop(out);
    std::fs::rename(&part, file).expect("rename the finished file");
    eprintln!("{file}: {rows} rows, {bytes} bytes in {:.1} s", started.elapsed().as_secs_f64());
}
