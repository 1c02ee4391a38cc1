//! The scale-out deployment, as processes of the built binary on one real `redis-server`:
//! one `contacto ingest`, two `contacto responder` and two `contacto sender`, coordinated by
//! nothing but Redis. Webhooks go to both responders (some messages to both at once), a
//! Conéctate content goes to a few hundred subscribers, and the Graph API stand-in records
//! what left: every message is answered exactly once and every subscriber gets the content
//! exactly once. A newly published snapshot reaches both responders within one second.
//!
//! The same run is the test of the metrics: every process's `/metrics` is scraped after real
//! webhooks, real ingest runs and real sends; the series move, no label carries a phone
//! number or a user key, and every metric the Grafana dashboard (`ops/grafana/contacto.json`)
//! queries is in a real scrape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use channels::meta;
use futures::StreamExt;
use schemas::{
    ConsentAction, ConsentChange, ConsentSignal, KeyLayout, PhoneNumber, SnapshotVersion, UserAddress, UserHasher,
};
use store::SharedStore;
use testkit::{APP_SECRET, HASH_KEY, PNID, RecordingServer, StatusReporter};

use crate::common::contacto;

/// Citizens who write, each with one message.
const WRITERS: usize = 120;
/// Of them, the ones whose message is posted to both responders at once (as Meta's
/// duplicate deliveries, or a retry that lands on the other replica, would).
const TO_BOTH: usize = 30;
/// Conéctate subscribers.
const SUBSCRIBERS: usize = 300;
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Child processes that are killed when this is dropped, so a failing test leaves no orphan.
struct Processes {
    dir: PathBuf,
    children: Vec<(String, Child)>,
}

impl Processes {
    fn spawn(&mut self, name: &str, args: &[&str], vars: &[(&str, String)]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = contacto(&self.dir, args, vars).stdout(Stdio::null()).stderr(log).spawn().unwrap();
        self.children.push((name.to_owned(), child));
    }

    /// Every process's log, for failure messages.
    fn logs(&self) -> String {
        self.children
            .iter()
            .map(|(name, _)| {
                let log = std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!("--- {name}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM to each, and each must stop cleanly.
    fn stop_all(&mut self) {
        for (_, child) in &self.children {
            assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        for (name, child) in &mut self.children {
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "{name} did not stop after SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(status.success(), "{name} exited with {status}");
        }
        self.children.clear();
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A configuration with two sources read from files in `dir` (the menu and the symptoms),
/// scheduled once a year so that only the start and `--once` run them.
fn write_config(dir: &Path) {
    std::fs::copy(format!("{REPO}/fixtures/menu/menu.toml"), dir.join("menu.toml")).unwrap();
    std::fs::copy(format!("{REPO}/fixtures/sintomas/sintomas.toml"), dir.join("sintomas.toml")).unwrap();
    let config = format!(
        r#"[ingest]
templates_dir = "{REPO}/templates"

[sources.menu]
kind = "menu"
url = "file://menu.toml"
schedule = "0 0 0 1 1 *"

[sources.sintomas]
kind = "sintomas"
url = "file://sintomas.toml"
schedule = "0 0 0 1 1 *"
"#
    );
    std::fs::write(dir.join("contacto.toml"), config).unwrap();
}

async fn get_json(url: &str) -> Option<serde_json::Value> {
    let response = reqwest::get(url).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

async fn scrape(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as exposed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Every sample of a scrape as (name, label values).
fn samples(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let name_end = line.find(['{', ' ']).unwrap();
            let name = line[..name_end].to_owned();
            let mut values = Vec::new();
            if line[name_end..].starts_with('{') {
                let labels = &line[name_end + 1..line.find('}').unwrap()];
                for pair in labels.split("\",") {
                    let (_, value) = pair.split_once("=\"").unwrap();
                    values.push(value.trim_end_matches('"').to_owned());
                }
            }
            (name, values)
        })
        .collect()
}

/// The series names a scrape declares (`# TYPE`), even those without a sample yet (an error
/// class that never happened): what a query may name.
fn declared(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let (name, kind) = rest.split_once(' ').unwrap();
        match kind {
            "counter" => names.push(format!("{name}_total")),
            "histogram" => names.extend(["_bucket", "_sum", "_count"].map(|s| format!("{name}{s}"))),
            _ => names.push(name.to_owned()),
        }
    }
    names
}

/// The metric names the dashboard's queries use.
fn dashboard_metrics() -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{REPO}/ops/grafana/contacto.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr" | "query", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "the dashboard has its panels: {exprs:?}");
    let mut names = BTreeSet::new();
    for expr in exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("contacto_") {
            let tail = &rest[at..];
            let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names
}

async fn subscribe(store: &SharedStore, hasher: &UserHasher) {
    futures::stream::iter(0..SUBSCRIBERS)
        .map(|i| {
            let address = UserAddress::Phone(PhoneNumber::parse(&format!("52148{i:08}")).unwrap());
            let change = ConsentChange {
                user: hasher.key(&address),
                address,
                channel: channels::meta::KIND,
                business_number: PNID.into(),
                action: ConsentAction::Subscribe,
                signal: ConsentSignal::Keyword("alta".into()),
                at: jiff::Timestamp::now(),
                consent_text_version: "2021-01".into(),
                municipio: None,
            };
            let store = store.clone();
            async move { store.apply_consent(&change).await.unwrap() }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ingest_two_responders_two_senders_on_one_redis() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let keys = KeyLayout::new(&format!("t{:016x}", rand::random::<u64>())).unwrap();
    let store =
        store::open(&store::StoreConfig::Redis { url: testkit::redis_url(), keys: keys.clone() }).await.unwrap();
    let hasher = UserHasher::new(HASH_KEY.as_bytes()).unwrap();

    // The Graph API stand-in: it fails the first reply once (a transient error: the reply
    // comes back later, still once), accepts everything else, and reports a `sent` status for
    // each message to the first responder, as Meta does.
    let ids = Arc::new(AtomicU64::new(0));
    let failed_once: Arc<Mutex<Option<String>>> = Arc::default();
    let reporter: Arc<Mutex<Option<StatusReporter>>> = Arc::default();
    let (graph, graph_server) = {
        let (failed_once, reporter) = (failed_once.clone(), reporter.clone());
        RecordingServer::start(move |r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let to = body["to"].as_str().unwrap_or_default().to_owned();
            let tag = body["biz_opaque_callback_data"].as_str();
            {
                let mut failed = failed_once.lock().unwrap();
                if failed.is_none() && tag.is_none() {
                    *failed = Some(to);
                    return testkit::graph_error(StatusCode::INTERNAL_SERVER_ERROR, 131000);
                }
            }
            let id = format!("wamid.OUT{}", ids.fetch_add(1, Ordering::SeqCst));
            if let Some(reporter) = reporter.lock().unwrap().as_ref() {
                reporter.report(testkit::meta_status(&id, "sent", &to, tag, None));
            }
            axum::Json(serde_json::json!({"messaging_product": "whatsapp", "messages": [{"id": id}]})).into_response()
        })
        .await
    };

    let mut shared = testkit::service_env(&keys, &graph_server.url(""));
    shared.extend([
        ("CONTACTO_CHANNELS__META__MESSAGES_PER_SECOND", "1000".into()),
        ("CONTACTO_RESPONDER__OUTBOX_RETRY_BASE_MS", "100".into()),
    ]);
    let with_ports = |public: u16, internal: u16| {
        let mut vars = shared.clone();
        vars.push(("CONTACTO_RESPONDER__LISTEN", format!("127.0.0.1:{public}")));
        vars.push(("CONTACTO_RESPONDER__INTERNAL_LISTEN", format!("127.0.0.1:{internal}")));
        vars
    };
    let mut procs = Processes { dir: dir.path().to_owned(), children: Vec::new() };
    let ingest_port = testkit::free_port();
    procs.spawn("ingest", &["ingest"], &with_ports(testkit::free_port(), ingest_port));
    let responders: Vec<(u16, u16)> = (0..2).map(|_| (testkit::free_port(), testkit::free_port())).collect();
    for (i, (public, internal)) in responders.iter().enumerate() {
        procs.spawn(&format!("responder-{i}"), &["responder"], &with_ports(*public, *internal));
    }
    let senders: Vec<u16> = (0..2).map(|_| testkit::free_port()).collect();
    for (i, internal) in senders.iter().enumerate() {
        procs.spawn(&format!("sender-{i}"), &["sender"], &with_ports(testkit::free_port(), *internal));
    }

    // Ingest publishes both sources at start (two versions); both responders answer from it.
    let internal_ports: Vec<u16> =
        [ingest_port].into_iter().chain(responders.iter().map(|r| r.1)).chain(senders.iter().copied()).collect();
    let start = Instant::now();
    loop {
        let mut ready = 0;
        for port in &internal_ports {
            if let Some(health) = get_json(&format!("http://127.0.0.1:{port}/health")).await
                && health["store"] == "redis"
                && (health.get("snapshot").is_none() || health["snapshot"] == 2)
            {
                ready += 1;
            }
        }
        if ready == internal_ports.len() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "not every process is ready:\n{}", procs.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let webhook = format!("http://127.0.0.1:{}/webhooks/meta", responders[0].0);
    let sign = |body: &[u8]| (meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body));
    *reporter.lock().unwrap() = Some(StatusReporter::start(webhook, PNID.into(), sign));

    // Webhooks: each citizen writes once, to one responder or the other; some messages are
    // posted to both at once.
    let http = reqwest::Client::new();
    let post = |port: u16, body: Vec<u8>| {
        let http = http.clone();
        async move {
            let signature = meta::signature(APP_SECRET, &body);
            let response = http
                .post(format!("http://127.0.0.1:{port}/webhooks/meta"))
                .header("content-type", "application/json")
                .header(meta::SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
    };
    let writer = |i: usize| format!("52147{i:08}");
    futures::stream::iter(0..WRITERS)
        .map(|i| {
            let body = testkit::meta_text(PNID, &writer(i), &format!("wamid.IN{i}"), "síntomas");
            let (a, b) = (responders[0].0, responders[1].0);
            let post = &post;
            async move {
                if i < TO_BOTH {
                    futures::join!(post(a, body.clone()), post(b, body));
                } else {
                    post(if i % 2 == 0 { a } else { b }, body).await;
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    // A Conéctate content to the subscribers, shared by both senders.
    subscribe(&store, &hasher).await;
    let cli = |args: &[&str]| contacto(dir.path(), args, &shared).output().unwrap();
    for args in [
        &["conectate", "create", "--title", "Conéctate", "--text", "Aviso de prueba."][..],
        &["conectate", "schedule", "1", "--now"],
    ] {
        let out = cli(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // Until every reply and every delivery has left, then a moment for any duplicate.
    let is_broadcast = |r: &testkit::Recorded| {
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["biz_opaque_callback_data"].is_string()
    };
    let start = Instant::now();
    loop {
        let requests = graph.requests();
        let broadcasts = requests.iter().filter(|r| is_broadcast(r)).count();
        if broadcasts >= SUBSCRIBERS && requests.len() - broadcasts > WRITERS {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{broadcasts} deliveries and {} replies so far:\n{}",
            requests.len() - broadcasts,
            procs.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut replies: BTreeMap<String, usize> = BTreeMap::new();
    let mut deliveries: BTreeMap<String, usize> = BTreeMap::new();
    for r in graph.requests() {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let to = body["to"].as_str().unwrap().to_owned();
        *(if is_broadcast(&r) { &mut deliveries } else { &mut replies }).entry(to).or_default() += 1;
    }
    let writers: BTreeSet<String> = (0..WRITERS).map(writer).collect();
    assert_eq!(replies.keys().cloned().collect::<BTreeSet<_>>(), writers, "every message is answered");
    let failed = failed_once.lock().unwrap().clone().expect("one reply failed once");
    assert_eq!(replies[&failed], 2, "the failed reply was sent again");
    replies.remove(&failed);
    assert!(replies.values().all(|n| *n == 1), "each exactly once: {replies:?}");
    assert_eq!(deliveries.len(), SUBSCRIBERS, "every subscriber is sent the content");
    assert!(deliveries.values().all(|n| *n == 1), "each exactly once: {deliveries:?}");
    assert!(deliveries.keys().all(|to| to.starts_with("52148")), "only subscribers");

    // A new snapshot: a maintainer changes the symptoms file and runs ingest once. Both
    // responders answer from it within a second of its publication.
    let changed = std::fs::read_to_string(dir.path().join("sintomas.toml"))
        .unwrap()
        .replace("fecha = 2020-04-13", "fecha = 2020-04-20")
        .replace("*fiebre*", "*fiebre* (38 °C o más)");
    std::fs::write(dir.path().join("sintomas.toml"), changed).unwrap();
    let once = contacto(dir.path(), &["ingest", "--once", "--source", "sintomas"], &shared).spawn().unwrap();
    let published = wait_for_version(&store, SnapshotVersion(3)).await;
    let mut switched = BTreeMap::new();
    while switched.len() < responders.len() {
        for (i, (_, internal)) in responders.iter().enumerate() {
            if !switched.contains_key(&i)
                && let Some(health) = get_json(&format!("http://127.0.0.1:{internal}/health")).await
                && health["snapshot"] == 3
            {
                switched.insert(i, published.elapsed());
            }
        }
        assert!(published.elapsed() < Duration::from_secs(5), "not switched: {switched:?}\n{}", procs.logs());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(once.wait_with_output().unwrap().status.success());
    for (i, after) in &switched {
        assert!(*after <= Duration::from_secs(1), "responder {i} switched {after:?} after the publication");
    }

    check_metrics(&procs, ingest_port, &responders, &senders, &hasher).await;
    procs.stop_all();
}

/// Polls the store's current pointer until it is `version`; returns when it was seen.
async fn wait_for_version(store: &SharedStore, version: SnapshotVersion) -> Instant {
    let start = Instant::now();
    loop {
        if store.current_version().await.unwrap() == Some(version) {
            return Instant::now();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{version} was not published");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every process's `/metrics` after the run: the series moved; labels carry no phone number
/// and no user key; the dashboard's metrics all exist.
async fn check_metrics(
    procs: &Processes,
    ingest_port: u16,
    responders: &[(u16, u16)],
    senders: &[u16],
    hasher: &UserHasher,
) {
    let ingest = scrape(ingest_port).await;
    let mut responder_scrapes = Vec::new();
    for (_, internal) in responders {
        responder_scrapes.push(scrape(*internal).await);
    }
    let mut sender_scrapes = Vec::new();
    for internal in senders {
        sender_scrapes.push(scrape(*internal).await);
    }
    let logs = procs.logs();

    // Ingest: both sources published at start; the shared gauges read from Redis.
    for series in [
        "contacto_ingest_runs_total{source=\"menu\",result=\"published\"}",
        "contacto_ingest_runs_total{source=\"sintomas\",result=\"published\"}",
        "contacto_ingest_run_duration_seconds_count{source=\"sintomas\"}",
        "contacto_store_up",
    ] {
        assert_eq!(sample(&ingest, series), 1.0, "{series} in\n{ingest}");
    }
    assert_eq!(sample(&ingest, "contacto_current_snapshot_version"), 3.0);
    let age = sample(&ingest, "contacto_answer_age_seconds{source=\"sintomas\",since=\"data_date\"}");
    assert!(age > 5.0 * 365.0 * 86400.0, "data of 20 April 2020 is years old: {age}");
    let fetched = sample(&ingest, "contacto_answer_age_seconds{source=\"sintomas\",since=\"fetched_at\"}");
    assert!((0.0..60.0).contains(&fetched), "fetched moments ago: {fetched}");
    assert!(ingest.contains("contacto_queue_depth{queue=\"outbox\",state=\"ready\"} 0"), "{ingest}");

    // Responders: each handled webhooks; together they sent each reply once.
    let sum = |scrapes: &[String], series: &str| scrapes.iter().map(|s| sample(s, series)).sum::<f64>();
    for text in &responder_scrapes {
        assert!(sample(text, "contacto_webhooks_total{channel=\"meta\",outcome=\"handled\"}") > 0.0, "{text}");
        assert!(sample(text, "contacto_reply_latency_seconds_count{channel=\"meta\"}") > 0.0, "{text}");
        assert_eq!(sample(text, "contacto_answering_snapshot_version"), 3.0, "{text}");
    }
    let messages = sum(&responder_scrapes, "contacto_responder_events_total{event=\"message\"}");
    assert_eq!(messages, (WRITERS + TO_BOTH) as f64, "{logs}");
    let handled = sum(&responder_scrapes, "contacto_webhooks_total{channel=\"meta\",outcome=\"handled\"}");
    assert!(handled >= (WRITERS + TO_BOTH) as f64, "messages and statuses: {handled}");
    assert!(sum(&responder_scrapes, "contacto_delivery_statuses_total{state=\"sent\"}") > 0.0);
    let errors = "contacto_send_errors_total{channel=\"meta\",kind=\"reply\",class=\"transient\"}";
    assert_eq!(sum(&responder_scrapes, errors), 1.0);
    let retried = "contacto_sends_total{channel=\"meta\",kind=\"reply\",result=\"retry\"}";
    assert_eq!(sum(&responder_scrapes, retried), 1.0);
    assert_eq!(sum(&responder_scrapes, "contacto_responder_events_total{event=\"duplicate\"}"), TO_BOTH as f64);
    let sent = "contacto_sends_total{channel=\"meta\",kind=\"reply\",result=\"sent\"}";
    assert_eq!(sum(&responder_scrapes, sent), WRITERS as f64);
    assert_eq!(sum(&responder_scrapes, "contacto_reply_delivery_seconds_count{channel=\"meta\"}"), WRITERS as f64);

    // Senders: together they sent the content once to each subscriber.
    let sent = "contacto_sends_total{channel=\"meta\",kind=\"broadcast\",result=\"sent\"}";
    assert_eq!(sum(&sender_scrapes, sent), SUBSCRIBERS as f64, "{logs}");
    let delivered = "contacto_broadcast_deliveries_total{outcome=\"sent\"}";
    assert_eq!(sum(&sender_scrapes, delivered), SUBSCRIBERS as f64);
    assert!(sum(&sender_scrapes, "contacto_send_duration_seconds_count{channel=\"meta\",kind=\"broadcast\"}") > 0.0);

    // Labels: closed sets only.
    let all: Vec<&String> = [&ingest].into_iter().chain(&responder_scrapes).chain(&sender_scrapes).collect();
    let people: Vec<String> =
        (0..WRITERS).map(|i| format!("52147{i:08}")).chain((0..SUBSCRIBERS).map(|i| format!("52148{i:08}"))).collect();
    let user_keys: Vec<String> =
        people.iter().map(|p| hasher.key(&UserAddress::Phone(PhoneNumber::parse(p).unwrap())).to_string()).collect();
    let mut names = BTreeSet::new();
    for text in &all {
        for (name, values) in samples(text) {
            for value in &values {
                let digits = value.chars().filter(char::is_ascii_digit).count();
                assert!(digits < 7, "{name} has a label value that looks like a number: {value}");
                assert!(!user_keys.iter().any(|k| value.contains(k.as_str())), "{name} carries a user key");
                assert!(value.len() < 40, "{name} has a long label value: {value}");
            }
            names.insert(name);
        }
        names.extend(declared(text));
    }
    // The dashboard queries only what exists.
    let missing: Vec<String> = dashboard_metrics().into_iter().filter(|n| !names.contains(n)).collect();
    assert!(missing.is_empty(), "the dashboard queries metrics no process exposes: {missing:?}");
}
