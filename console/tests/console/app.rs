//! The system under test, in this process: an embedded store of its own, the admin API with
//! every module and the console served by `testkit::serve` exactly as the binary composes them
//! (`web_console::with_admin`), the responder's webhooks (for delivery statuses), and a Conéctate
//! sender started when the test says. Only the Graph API is stood in for: a
//! `testkit::RecordingServer` that accepts each message and, like Meta, reports it `sent` to
//! our webhook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use admin::{AdminApi, Ops};
use axum::response::IntoResponse;
use channels::{Channels, meta};
use conectate::{ConectateConfig, Contents, Sender};
use responder::{Responder, ResponderConfig};
use schemas::{PhoneNumber, UserAddress};
use serde_json::{Value, json};
use settings::{Secret, Settings};
use store::SharedStore;
use testkit::{RecordingServer, StatusReporter, TestServer, TestStore, meta_status};
use tokio::sync::watch;

pub const TOKEN: &str = "token-de-la-consola-para-pruebas-0123";
use testkit::{ACCESS_TOKEN, APP_SECRET, HASH_KEY, VERIFY_TOKEN};
pub use testkit::{PNID, phone};
pub const STAFF: &str = "5214779990001";

pub struct TestApp {
    pub store: SharedStore,
    pub settings: Settings,
    /// The internal port: `/admin`, `/console/`.
    pub internal: TestServer,
    /// The responder's public port: the webhooks and the open data (`/datos/`).
    pub public: String,
    /// What the Graph API stand-in accepted.
    accepted: Arc<Mutex<Vec<Accepted>>>,
    /// Reports statuses to our Meta webhook, as Meta does.
    statuses: StatusReporter,
    config: Arc<ConectateConfig>,
    contents: Contents,
    /// The ingest the admin API forces runs through, which the test runs sources with.
    ingest: Arc<ingest::Ingest>,
    channels: Channels,
    sender_stop: Option<watch::Sender<bool>>,
    _graph: TestServer,
    _responder_stop: tokio::sync::oneshot::Sender<()>,
    _store: TestStore,
    _data: tempfile::TempDir,
}

/// The repository, whose `contacto.toml` and bundled fixtures the tests ingest.
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The repository's `contacto.toml` (the bundled fixtures as sources), with test secrets, a
/// data directory of its own and the Graph API at `graph_url`.
fn settings(graph_url: &str, data: &std::path::Path) -> Settings {
    let mut s = Settings::load(&repo().join("contacto.toml")).expect("the repository's contacto.toml loads");
    s.store.data_dir = data.to_owned();
    s.privacy.user_hash_key = Some(Secret::new(HASH_KEY));
    s.admin.token = Some(Secret::new(TOKEN));
    s.channels.meta.app_secret = Some(Secret::new(APP_SECRET));
    s.channels.meta.verify_token = Some(Secret::new(VERIFY_TOKEN));
    s.channels.meta.access_token = Some(Secret::new(ACCESS_TOKEN));
    s.channels.meta.phone_number_ids = vec![PNID.into()];
    s.channels.meta.graph_base_url = graph_url.into();
    s.channels.meta.graph_timeout_secs = 2;
    s.responder.counters_flush_ms = 50;
    s.conectate.staff = vec![STAFF.into()];
    s.conectate.default_template = Some("aviso_conectate".into());
    s.conectate.unpaced = true;
    s.conectate.schedule_poll_secs = 1;
    s.conectate.retry_max_secs = 1;
    // The hospital list is a copy the test can shrink, to see a dataset quarantined.
    let hospitals = data.join("hospitales_2020-09-24.csv");
    std::fs::copy(repo().join("fixtures/hospitales/hospitales_2020-09-24.csv"), &hospitals).unwrap();
    s.sources.get_mut("hospitales").expect("a hospitales source").url = format!("file://{}", hospitals.display());
    // So is the semáforo page, to see its colour change.
    let semaforo = data.join("semaforo.html");
    std::fs::copy(repo().join("fixtures/semaforo/semaforo.html"), &semaforo).unwrap();
    s.sources.get_mut("semaforo").expect("a semaforo source").url = format!("file://{}", semaforo.display());
    s.validate().expect("test settings are valid");
    s
}

/// One message the Graph API stand-in accepted.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub id: String,
    pub to: String,
    /// Our `biz_opaque_callback_data`, which statuses carry back.
    pub tag: Option<String>,
}

/// The Graph API stand-in: accepts every message with a new id, keeps it in `accepted` and
/// reports it `sent`.
fn graph_fake(
    reporter: Arc<Mutex<Option<StatusReporter>>>,
    accepted: Arc<Mutex<Vec<Accepted>>>,
) -> impl Fn(&testkit::Recorded) -> axum::response::Response {
    let n = Arc::new(AtomicU64::new(0));
    move |request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let id = format!("wamid.OUT{}", n.fetch_add(1, Ordering::SeqCst));
        let message = Accepted {
            id: id.clone(),
            to: body["to"].as_str().unwrap_or_default().to_owned(),
            tag: body["biz_opaque_callback_data"].as_str().map(str::to_owned),
        };
        if let Some(reporter) = reporter.lock().unwrap().as_ref() {
            reporter.report(meta_status(&id, "sent", &message.to, message.tag.as_deref(), None));
        }
        accepted.lock().unwrap().push(message);
        axum::Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}],
                          "messages": [{"id": id}]}))
        .into_response()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// The app with its settings changed by `adjust` first (given the app's data directory, for
/// files of the test's own): more sources, other files.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings, &std::path::Path)) -> TestApp {
    let test_store = testkit::embedded_store().await;
    let store = test_store.store.clone();
    let data = tempfile::tempdir().unwrap();
    let reporter: Arc<Mutex<Option<StatusReporter>>> = Arc::default();
    let accepted: Arc<Mutex<Vec<Accepted>>> = Arc::default();
    let (_, graph_server) = RecordingServer::start(graph_fake(reporter.clone(), accepted.clone())).await;
    let mut settings = settings(&graph_server.url(""), data.path());
    adjust(&mut settings, data.path());

    let responder_config = ResponderConfig::from_settings(&mut settings).unwrap();
    let channels = Channels::from_config(&responder_config.channels, &reqwest::Client::new());
    let open_data = admin::open_data::OpenData::from_settings(&settings, store.clone()).router();
    let responder = Responder::build(responder_config, store.clone()).await.with_public_routes(open_data);
    let mirror = responder.mirror();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let responder_internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", public.local_addr().unwrap());
    let webhook = format!("{public_url}/webhooks/meta");
    let (responder_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(responder.serve(public, responder_internal, async {
        let _ = stopped.await;
    }));
    let sign = |body: &[u8]| (meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body));
    let statuses = StatusReporter::start(webhook, PNID.into(), sign);
    *reporter.lock().unwrap() = Some(statuses.clone());

    let config = Arc::new(ConectateConfig::from_settings(&mut settings).unwrap());
    let contents = Contents::new(store.clone(), config.clone());
    let ops = Ops::from_settings(&settings, store.clone()).unwrap();
    let ingest = ops.ingest.clone();
    let api = AdminApi::new(TOKEN).mount_all(contents.clone(), ops, mirror).router();
    let internal = testkit::serve(web_console::with_admin(api, &settings.timezone)).await;
    TestApp {
        store,
        settings,
        internal,
        public: public_url,
        accepted,
        statuses,
        config,
        contents,
        ingest,
        channels,
        sender_stop: None,
        _graph: graph_server,
        _responder_stop: responder_stop,
        _store: test_store,
        _data: data,
    }
}

impl TestApp {
    /// `http://127.0.0.1:PORT/console/` followed by `rest`.
    pub fn console(&self, rest: &str) -> String {
        self.internal.url(&format!("/console/{rest}"))
    }

    /// `GET /admin/{path}` with the admin token, as JSON.
    pub async fn admin_json(&self, path: &str) -> Value {
        let url = self.internal.url(&format!("/admin/{path}"));
        reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap()
    }

    /// Runs every configured source (the bundled fixtures) once, as `contacto ingest --once`.
    pub async fn ingest_fixtures(&self) {
        for name in self.ingest.source_names() {
            self.run_source(name.as_str()).await;
        }
    }

    /// Runs one source once; how it ended.
    pub async fn run_source(&self, name: &str) -> schemas::RunResult {
        let report = self.ingest.run(name, ingest::RunMode::Normal, ingest::Progress::shared()).await.unwrap();
        report.run.result
    }

    /// The hospital list drops to its first `units` rows (a bad export), as the next run reads it.
    pub fn shrink_hospitals(&self, units: usize) {
        let path = self._data.path().join("hospitales_2020-09-24.csv");
        let full = std::fs::read_to_string(&path).unwrap();
        let kept: String = full.lines().take(units + 1).map(|l| format!("{l}\n")).collect();
        std::fs::write(path, kept).unwrap();
    }

    /// The semáforo page gives Guanajuato `color` (CONACYT's English name) for `periodo`
    /// instead of the bundled yellow for 12–25 April 2021, as the next run reads it.
    pub fn set_semaforo(&self, color: &str, periodo: &str) {
        let path = self._data.path().join("semaforo.html");
        let page = std::fs::read_to_string(repo().join("fixtures/semaforo/semaforo.html")).unwrap();
        let page = page
            .replace("NColors['11']='yellow'", &format!("NColors['11']='{color}'"))
            .replace("del 12 al 25 de abril de 2021", periodo);
        std::fs::write(path, page).unwrap();
    }

    /// Records `n` interactions of distinct citizens on `day` (as the responder counts them).
    pub async fn record_interactions(&self, day: &str, n: usize) {
        self.record_interactions_with(day, schemas::Topic::from_static("confirmados"), n).await;
    }

    /// Records `n` interactions of distinct citizens with `topic` on `day`.
    pub async fn record_interactions_with(&self, day: &str, topic: schemas::Topic, n: usize) {
        let day: jiff::civil::Date = day.parse().unwrap();
        let batch: Vec<store::Interaction> = (0..n)
            .map(|i| store::Interaction {
                day,
                topic,
                user: self.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse(&phone(i)).unwrap())),
            })
            .collect();
        self.store.record_interactions(&batch).await.unwrap();
    }

    /// Subscribes `n` citizens to Conéctate, as their ALTA would.
    pub async fn subscribe(&self, n: usize) {
        testkit::subscribe_citizens(&self.store, &self.config.hasher, 0..n, channels::meta::KIND, PNID).await;
    }

    /// Starts a Conéctate sender in this process.
    pub fn start_sender(&mut self) {
        let sender = Sender::new(self.store.clone(), self.channels.clone(), self.config.clone(), "sender-test".into());
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(sender.run(stopped));
        self.sender_stop = Some(stop);
    }

    /// Content `id` as stored, in its JSON form.
    pub async fn store_content(&self, id: u64) -> Value {
        serde_json::to_value(self.contents.get(id).await.unwrap()).unwrap()
    }

    /// The messages the Graph API stand-in accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }

    /// Reports `state` (`delivered`, `read`) for `message`, as Meta would.
    pub fn report(&self, message: &Accepted, state: &str) {
        self.statuses.report(meta_status(&message.id, state, &message.to, message.tag.as_deref(), None));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.sender_stop.take() {
            let _ = stop.send(true);
        }
    }
}
