//! The harness of the admin API tests: the whole API (Conéctate and ops) served over real HTTP
//! on a fresh store, a `covid` source served by a local HTTP server whose file the test swaps,
//! a source that cannot be reached, and a stand-in of the Graph API for the sender.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use admin::{AdminApi, Ops};
use channels::Channels;
use conectate::{ConectateConfig, Contents, Sender};
use ingest::{Progress, RunMode};
use reqwest::StatusCode;
use responder::ResponderConfig;
use schemas::{ConsentAction, ConsentChange, ConsentSignal, IngestRun, PhoneNumber, UserAddress};
use serde_json::{Value, json};
use settings::Settings;
use testkit::{RecordingServer, StoreKind, TestServer, TestStore};

pub use testkit::{ADMIN_TOKEN as TOKEN, PNID};
pub const STAFF: &str = "5214779990001";

pub struct TestApp {
    pub api: TestServer,
    pub http: reqwest::Client,
    pub graph: RecordingServer,
    pub store: store::SharedStore,
    pub config: Arc<ConectateConfig>,
    pub channels: Channels,
    pub ops: Ops,
    /// The settings the API was built from, for building it again (the OpenAPI test).
    pub settings: Settings,
    /// What the `covid` source serves now.
    pub covid: Arc<Mutex<Vec<u8>>>,
    _covid: TestServer,
    _graph: TestServer,
    _data: tempfile::TempDir,
    _store: TestStore,
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

pub async fn spawn_app(kind: StoreKind) -> TestApp {
    let test_store = kind.open().await;
    let store = test_store.store.clone();
    let (graph, graph_server) = RecordingServer::start(testkit::graph_ok()).await;
    let covid = Arc::new(Mutex::new(covid_file(yesterday(), 0)));
    let served = covid.clone();
    let covid_server = testkit::serve(axum::Router::new().route(
        "/datos_abiertos.csv",
        axum::routing::get(move || {
            let body = served.lock().unwrap().clone();
            async move { body }
        }),
    ))
    .await;
    let data = tempfile::tempdir().unwrap();
    let mut s =
        Settings { config_dir: repo(), ..testkit::channel_settings(&graph_server.url(""), "http://127.0.0.1:9") };
    s.store.data_dir = data.path().to_owned();
    s.sources
        .insert("covid".parse().unwrap(), testkit::source_settings("covid", &covid_server.url("/datos_abiertos.csv")));
    // Nothing listens on port 9 of the loopback: every run of it fails.
    s.sources.insert("roto".parse().unwrap(), testkit::source_settings("covid", "http://127.0.0.1:9/datos.csv"));
    // Meta only: no Twilio sender, so no Twilio template is needed.
    let twilio = &mut s.channels.twilio;
    (twilio.auth_token, twilio.public_url, twilio.status_url, twilio.from, twilio.account_sid) =
        (None, None, None, None, None);
    s.conectate.staff = vec![STAFF.into()];
    s.conectate.default_template = Some("aviso_conectate".into());
    s.conectate.unpaced = true;
    s.conectate.in_doubt_secs = 4;
    s.conectate.reclaim_idle_secs = 3;
    s.validate().unwrap();
    let config = Arc::new(ConectateConfig::from_settings(&mut s).unwrap());
    let channels =
        Channels::from_config(&ResponderConfig::from_settings(&mut s).unwrap().channels, &reqwest::Client::new());
    let ops = Ops::from_settings(&s, store.clone()).unwrap();
    let router = full_api(&s, &store, &config).router();
    TestApp {
        api: testkit::serve(router).await,
        http: reqwest::Client::new(),
        graph,
        store,
        config,
        channels,
        ops,
        settings: s,
        covid,
        _covid: covid_server,
        _graph: graph_server,
        _data: data,
        _store: test_store,
    }
}

/// Every admin module, as `contacto` mounts them.
pub fn full_api(settings: &Settings, store: &store::SharedStore, config: &Arc<ConectateConfig>) -> AdminApi {
    let contents = Contents::new(store.clone(), config.clone());
    let ops = Ops::from_settings(settings, store.clone()).unwrap();
    AdminApi::new(TOKEN).mount_all(contents, ops, Default::default())
}

/// Yesterday in Mexico City: data of that day are current (not stale) today.
pub fn yesterday() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
    tz.to_datetime(jiff::Timestamp::now()).date().yesterday().unwrap()
}

/// The real April 2020 rows of Guanajuato, dated `date`, without `drop` of the state's
/// confirmed cases (a cumulative figure that falls is quarantined).
pub fn covid_file(date: jiff::civil::Date, drop: usize) -> Vec<u8> {
    let csv = std::fs::read_to_string(repo().join("fixtures/covid19mexico/datos_abiertos_20200413__GTO_first300.csv"))
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (result, um, updated) = (col("RESULTADO"), col("ENTIDAD_UM"), col("FECHA_ACTUALIZACION"));
    let mut out = format!("{}\n", header.join(","));
    let mut dropped = 0;
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if fields[result] == "1" && fields[um] == "11" && dropped < drop {
            dropped += 1;
            continue;
        }
        fields[updated] = date.to_string();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    assert_eq!(dropped, drop, "the fixture has enough confirmed cases");
    out.into_bytes()
}

impl TestApp {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.api.url(path)).bearer_auth(TOKEN)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.request(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.request(reqwest::Method::POST, path).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// A scheduled run of `source`, as the ingest scheduler does it.
    pub async fn run(&self, source: &str) -> IngestRun {
        self.ops.ingest.run(source, RunMode::Normal, Progress::shared()).await.unwrap().run
    }

    pub async fn subscribe(&self, phone: &str) {
        self.consent(phone, ConsentAction::Subscribe, jiff::Timestamp::now()).await;
    }

    pub async fn consent(&self, phone: &str, action: ConsentAction, at: jiff::Timestamp) {
        let address = UserAddress::Phone(PhoneNumber::parse(phone).unwrap());
        let keyword = if action == ConsentAction::Subscribe { "alta" } else { "baja" };
        self.store
            .apply_consent(&ConsentChange {
                user: self.config.hasher.key(&address),
                address,
                channel: channels::meta::KIND,
                business_number: PNID.into(),
                action,
                signal: ConsentSignal::Keyword(keyword.into()),
                at,
                consent_text_version: "2021-01".into(),
                municipio: None,
            })
            .await
            .unwrap();
    }

    /// Creates a content, sends its canary, schedules it now and lets a sender deliver it to
    /// the Graph API stand-in; returns its final delivery report.
    pub async fn broadcast(&self, title: &str) -> Value {
        let (status, created) = self
            .post(
                "/admin/conectate/contents",
                json!({"title": title, "text": "Mañana abre el módulo de vacunación.",
                       "template": {"name": "vacunacion", "language": "es_MX", "parameters": ["27 de mayo"]}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_u64().unwrap();
        let (status, canary) = self.post(&format!("/admin/conectate/contents/{id}/canary"), json!({})).await;
        assert_eq!((status, canary["state"].as_str()), (StatusCode::ACCEPTED, Some("canary")));
        let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)).to_string();
        let (status, scheduled) =
            self.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({"at": later})).await;
        assert_eq!((status, scheduled["state"].as_str()), (StatusCode::OK, Some("scheduled")), "{scheduled}");
        // Moved to now, then the sender does its work.
        let (status, _) = self.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sender = Sender::new(self.store.clone(), self.channels.clone(), self.config.clone(), "admin-test".into());
        let task = tokio::spawn(sender.run(stopped));
        let start = Instant::now();
        let report = loop {
            let (status, report) = self.get(&format!("/admin/conectate/contents/{id}/report")).await;
            assert_eq!(status, StatusCode::OK);
            if report["state"] == "done" {
                break report;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "not done: {report}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        stop.send(true).unwrap();
        task.await.unwrap();
        report
    }
}
