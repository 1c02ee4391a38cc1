//! `spawn_app()`: a responder on 127.0.0.1 with a store of its own (embedded or the test
//! Redis under a fresh key prefix) and a recording stand-in for the Graph API, plus typed
//! helpers to post signed webhooks, publish the fixture snapshot and drain the outbox.
//!
//! Every log line of the test binary is captured (and printed with `TEST_LOG=1`), so tests can
//! check that no phone number or user id was ever logged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use channels::{meta, twilio};
use metrics::{Metrics, SendKind, SendResult, WebhookOutcome};
use responder::{OutboxWorker, Outcome, Responder, ResponderConfig};
use schemas::{
    ChannelKind, KeyLayout, PhoneNumber, SnapshotContent, SnapshotVersion, UserAddress, UserHasher, UserKey,
};
use settings::Settings;
use store::SharedStore;
use testkit::{RecordingServer, TestServer, TestStore};

pub use testkit::{
    ACCESS_TOKEN, APP_SECRET, PNID, StoreKind, TWILIO_FROM, TWILIO_STATUS_URL, TWILIO_TOKEN, TWILIO_URL, VERIFY_TOKEN,
    meta_text, wire_form,
};

/// The channels the test responder serves.
const CHANNELS: [ChannelKind; 2] = [meta::KIND, twilio::KIND];

/// What a test may change.
#[derive(Clone, Debug)]
pub struct TestOptions {
    pub publish_snapshot: bool,
    pub flood_per_minute: u32,
    pub messages_per_second: u32,
    pub retry_base_ms: u64,
    pub reclaim_idle_secs: u64,
    pub reply_max_age_hours: u64,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub max_concurrent_requests: usize,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            publish_snapshot: true,
            flood_per_minute: 20,
            messages_per_second: 1000,
            retry_base_ms: 20,
            reclaim_idle_secs: 60,
            reply_max_age_hours: 24,
            max_body_bytes: 3 << 20,
            request_timeout_secs: 10,
            max_concurrent_requests: 1024,
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub internal: SocketAddr,
    pub store: SharedStore,
    pub graph: RecordingServer,
    pub responder: Responder,
    pub http: reqwest::Client,
    pub hasher: UserHasher,
    _store: TestStore,
    _graph_server: TestServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub use testkit::{graph_error, graph_ok};

/// A path inside the repository's `fixtures/`.
pub fn fixture_path(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(path)
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture_path(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub use testkit::fixture_snapshot;

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this test binary, at the most detailed level of our crates.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,responder=trace,store=trace"))
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .try_init()
            .expect("the test binary installs one subscriber");
        buffer
    });
}

/// Everything logged so far by any test of this binary.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.get().expect("capture_logs ran").lock().unwrap()).into_owned()
}

/// Asserts that none of `secrets` was ever logged.
pub fn assert_not_logged(secrets: &[&str]) {
    let logs = logs();
    for s in secrets {
        assert!(!logs.contains(s), "«{s}» appears in the logs");
    }
}

pub fn settings(graph_url: &str, options: &TestOptions) -> Settings {
    // No Twilio stand-in: Twilio replies go back inline, in the webhook's response.
    let mut s = testkit::channel_settings(graph_url, "http://127.0.0.1:9");
    s.admin.token = None;
    s.channels.meta.graph_version = "v23.0".into();
    s.channels.meta.messages_per_second = options.messages_per_second;
    s.responder.flood_per_minute = options.flood_per_minute;
    s.responder.outbox_retry_base_ms = options.retry_base_ms;
    s.responder.outbox_retry_max_secs = 2;
    s.responder.outbox_reclaim_idle_secs = options.reclaim_idle_secs;
    s.responder.reply_max_age_hours = options.reply_max_age_hours;
    s.responder.max_body_bytes = options.max_body_bytes;
    s.responder.request_timeout_secs = options.request_timeout_secs;
    s.responder.max_concurrent_requests = options.max_concurrent_requests;
    s.validate().expect("test settings are valid");
    s
}

pub async fn spawn_app(kind: StoreKind) -> TestApp {
    spawn_app_with(kind, TestOptions::default()).await
}

pub async fn spawn_app_with(kind: StoreKind, options: TestOptions) -> TestApp {
    capture_logs();
    let test_store = kind.open().await;
    let store = test_store.store.clone();
    let (graph, graph_server) = RecordingServer::start(graph_ok()).await;
    if options.publish_snapshot {
        store.publish(&fixture_snapshot(), None, 5).await.expect("publish the fixture snapshot");
    }
    let mut settings = settings(&graph_server.url(""), &options);
    let config = ResponderConfig::from_settings(&mut settings).expect("a valid responder configuration");
    let hasher = config.hasher.clone();
    let responder = Responder::build(config, store.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, internal_addr) = (public.local_addr().unwrap(), internal.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(responder.clone().serve(public, internal, async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        internal: internal_addr,
        store,
        graph,
        responder,
        http: reqwest::Client::new(),
        hasher,
        _store: test_store,
        _graph_server: graph_server,
        stop: Some(stop),
        served: Some(served),
    }
}

/// How a test signs a Meta body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    Valid,
    Missing,
    Bad,
    Sha1Only,
    NoPrefix,
    Reserialised,
    Trimmed,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn internal_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.internal)
    }

    /// The Graph API stand-in's base URL.
    pub fn graph_url(&self) -> String {
        self._graph_server.url("")
    }

    pub fn worker(&self) -> OutboxWorker {
        self.responder.outbox_worker()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.responder.metrics()
    }

    /// Webhooks of either channel that were read and handled.
    pub fn handled_webhooks(&self) -> u64 {
        let m = self.metrics();
        CHANNELS.map(|c| m.webhook_count(c, WebhookOutcome::Handled)).iter().sum()
    }

    /// Replies' send attempts of either channel that ended with `result`.
    pub fn reply_sends(&self, result: SendResult) -> u64 {
        let m = self.metrics();
        CHANNELS.map(|c| m.send_count(c, SendKind::Reply, result)).iter().sum()
    }

    pub fn keys(&self) -> &KeyLayout {
        self.store.keys()
    }

    pub fn user(&self, phone: &str) -> UserKey {
        self.hasher.key(&UserAddress::Phone(PhoneNumber::parse(phone).unwrap()))
    }

    /// Posts `body` to `/webhooks/meta`, signed as asked.
    pub async fn post_meta_signed(&self, body: &[u8], signing: Signing) -> reqwest::Response {
        let mut request = self.http.post(self.url("/webhooks/meta")).header("content-type", "application/json");
        request = match signing {
            Signing::Valid | Signing::Trimmed => {
                request.header(meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, body))
            }
            Signing::Missing => request,
            Signing::Bad => request.header(meta::SIGNATURE_HEADER, meta::signature("another-secret", body)),
            Signing::Sha1Only => request.header("x-hub-signature", "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
            Signing::NoPrefix => request.header(
                meta::SIGNATURE_HEADER,
                meta::signature(APP_SECRET, body).trim_start_matches("sha256=").to_owned(),
            ),
            Signing::Reserialised => {
                let again = serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(body).unwrap()).unwrap();
                request.header(meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, &again))
            }
        };
        request.body(body.to_vec()).send().await.expect("the responder answers")
    }

    pub async fn post_meta(&self, body: &[u8]) -> reqwest::Response {
        self.post_meta_signed(body, Signing::Valid).await
    }

    /// Posts `body` to `/webhooks/meta` until it is accepted, as Meta retries.
    pub async fn post_meta_until_accepted(&self, body: &[u8]) -> Vec<u16> {
        post_until_accepted(&self.http, &self.url("/webhooks/meta"), body).await
    }

    /// Posts a Twilio form to `path` (`/webhooks/twilio` or `/webhooks/twilio/status`, with an
    /// optional query), signed as Twilio would sign it for `public_url`.
    pub async fn post_twilio(&self, path: &str, public_url: &str, body: &[u8], signing: Signing) -> reqwest::Response {
        // A URL with `bodySHA256` is signed alone, as Twilio signs JSON bodies.
        let params: Vec<(String, String)> = if public_url.contains("bodySHA256=") {
            Vec::new()
        } else {
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        };
        let mut request = self.http.post(self.url(path)).header("content-type", "application/x-www-form-urlencoded");
        request = match signing {
            Signing::Valid => {
                request.header(twilio::SIGNATURE_HEADER, twilio::signature(TWILIO_TOKEN, public_url, &params))
            }
            Signing::Bad => {
                request.header(twilio::SIGNATURE_HEADER, twilio::signature("not-the-token", public_url, &params))
            }
            Signing::Trimmed => {
                let trimmed: Vec<(String, String)> =
                    params.iter().map(|(k, v)| (k.clone(), v.trim().to_owned())).collect();
                request.header(twilio::SIGNATURE_HEADER, twilio::signature(TWILIO_TOKEN, public_url, &trimmed))
            }
            _ => request,
        };
        request.body(body.to_vec()).send().await.expect("the responder answers")
    }

    /// Sends everything the outbox holds now, one step at a time.
    pub async fn drain_outbox(&self) -> Vec<Outcome> {
        let worker = self.worker();
        let mut outcomes = Vec::new();
        loop {
            match worker.try_send_one().await.expect("the store answers") {
                Outcome::Empty => return outcomes,
                other => outcomes.push(other),
            }
        }
    }

    /// The JSON bodies the Graph API received.
    pub fn graph_bodies(&self) -> Vec<serde_json::Value> {
        self.graph.requests().iter().map(|r| serde_json::from_slice(&r.body).expect("a JSON send")).collect()
    }

    /// The numbers the Graph API stand-in was asked to send to, one per reply, sorted.
    pub fn replied_to(&self) -> Vec<String> {
        let mut to: Vec<String> =
            self.graph_bodies().iter().map(|b| b["to"].as_str().expect("a reply to a number").to_owned()).collect();
        to.sort();
        to
    }

    pub async fn publish_snapshot(&self, content: &SnapshotContent) -> SnapshotVersion {
        let expected = self.store.current_version().await.unwrap();
        let version = self.store.publish(content, expected, 5).await.unwrap().version;
        let mut loaded = self.responder.mirror().loaded();
        tokio::time::timeout(Duration::from_secs(5), loaded.wait_for(|v| *v == Some(version)))
            .await
            .expect("the mirror follows the publication")
            .unwrap();
        version
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }
}

/// The text (or list body) of a Graph API send.
pub fn text_of(body: &serde_json::Value) -> String {
    body["text"]["body"].as_str().or_else(|| body["interactive"]["body"]["text"].as_str()).unwrap().to_owned()
}

/// A Meta webhook of any field (`messages`, `user_preferences`…) for our business number, in
/// wire form.
pub fn meta_value(field: &str, value: serde_json::Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = serde_json::json!("whatsapp");
    value["metadata"] = serde_json::json!({"display_phone_number": "15550783881", "phone_number_id": PNID});
    wire_form(&serde_json::json!({"object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]}))
}

/// Posts a Meta `body`, signed, to `url`.
pub async fn post_signed(http: &reqwest::Client, url: String, body: Vec<u8>) -> reqwest::StatusCode {
    let signature = meta::signature(APP_SECRET, &body);
    let sent = http.post(url).header(meta::SIGNATURE_HEADER, signature).body(body).send();
    sent.await.expect("the responder answers").status()
}

/// Posts a Meta `body` to `url` until it is accepted, as Meta retries (a 503 means: retry, the
/// store is busy or a copy is in flight), and returns the statuses seen. Meta keeps retrying
/// for days; the test's patience is a minute, so that a Cluster changing under a loaded
/// machine (a slot moving, a primary handing over) is waited for, and a webhook refused for
/// good still fails the test.
pub async fn post_until_accepted(http: &reqwest::Client, url: &str, body: &[u8]) -> Vec<u16> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut statuses = Vec::new();
    loop {
        let status = post_signed(http, url.to_owned(), body.to_vec()).await.as_u16();
        statuses.push(status);
        if status == 200 {
            return statuses;
        }
        assert_eq!(status, 503, "{statuses:?}");
        assert!(Instant::now() < deadline, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
