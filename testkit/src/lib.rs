//! Test support shared by every crate of the workspace (a dev-dependency only).
//!
//! Tests use real parts: a real `redis-server` (started by `scripts/test`), and real HTTP
//! servers on 127.0.0.1 for sources and for the outside platforms, which are the only things
//! stood in for.
//!
//! # Layout
//! - [`serve`]: any axum `Router` on 127.0.0.1 on a free port, stopped when dropped.
//! - [`RecordingServer`]: an outside platform's stand-in that records every request and
//!   answers through a closure the test can swap (to fail, to slow down).
//! - [`graph_ok`], [`graph_error`]: the Graph API's answers, for a stand-in of it;
//!   [`StatusReporter`]: what Meta does after accepting a message (a `sent` status to our
//!   webhook), for stand-ins that must behave like it.
//! - [`meta_text`], [`wire_form`]: a citizen's text message as Meta posts it, in Meta's
//!   wire form.
//! - [`redis_url`], [`unique_keys`], [`stores`]: the test Redis, a key prefix per test, and a
//!   fresh store of each kind.
//! - [`slots`]: Redis Cluster readiness, checked on the commands a suite sends (`MONITOR`).

pub mod slots;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use schemas::KeyLayout;
use tokio::sync::oneshot;

/// A server running for one test.
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `router` on 127.0.0.1 on a free port until the returned server is dropped.
pub async fn serve(router: Router) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    TestServer { addr, stop: Some(stop) }
}

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived, to check send rates.
    pub at: Instant,
}

impl Recorded {
    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type Responder = Arc<dyn Fn(&Recorded) -> Response + Send + Sync>;

/// A stand-in for an outside platform (the Graph API, Twilio): records every request and
/// answers with the current responder closure.
#[derive(Clone)]
pub struct RecordingServer {
    requests: Arc<Mutex<Vec<Recorded>>>,
    responder: Arc<Mutex<Responder>>,
}

impl RecordingServer {
    /// Starts a stand-in that answers every request with `respond`.
    pub async fn start(
        respond: impl Fn(&Recorded) -> Response + Send + Sync + 'static,
    ) -> (RecordingServer, TestServer) {
        let recorder = RecordingServer {
            requests: Arc::new(Mutex::new(Vec::new())),
            responder: Arc::new(Mutex::new(Arc::new(respond))),
        };
        let state = recorder.clone();
        let router = Router::new().fallback(move |req: Request| {
            let state = state.clone();
            async move { state.handle(req).await }
        });
        (recorder, serve(router).await)
    }

    async fn handle(&self, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let body = match axum::body::to_bytes(body, 64 << 20).await {
            Ok(b) => b,
            Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        };
        let recorded = Recorded {
            method: parts.method,
            uri: parts.uri.to_string(),
            headers: parts.headers,
            body,
            at: Instant::now(),
        };
        let respond = self.responder.lock().expect("responder lock").clone();
        let response = respond(&recorded);
        self.requests.lock().expect("requests lock").push(recorded);
        response
    }

    /// From now on, answer with `respond` (to start or stop failing).
    pub fn respond_with(&self, respond: impl Fn(&Recorded) -> Response + Send + Sync + 'static) {
        *self.responder.lock().expect("responder lock") = Arc::new(respond);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }

    pub fn clear(&self) {
        self.requests.lock().expect("requests lock").clear();
    }
}

/// The Graph API's success answer; each carries a new message id (`wamid.OUT0`, `wamid.OUT1`, …).
pub fn graph_ok() -> impl Fn(&Recorded) -> Response + Send + Sync + 'static {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    move |_| {
        let id = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        axum::Json(serde_json::json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "x", "wa_id": "x"}],
            "messages": [{"id": format!("wamid.OUT{id}")}]
        }))
        .into_response()
    }
}

/// A Graph API error answer with Meta's error body.
pub fn graph_error(status: StatusCode, code: u32) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {
            "message": format!("(#{code}) failure"), "type": "OAuthException", "code": code, "fbtrace_id": "Az8or"
        }})),
    )
        .into_response()
}

/// A Meta text webhook in Meta's wire form (compact, non-ASCII escaped, `/` escaped).
pub fn meta_text(phone_number_id: &str, from: &str, message_id: &str, text: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Ciudadana"}, "wa_id": from}],
            "messages": [{"from": from, "id": message_id, "timestamp": "1590602400", "type": "text", "text": {"body": text}}]
        }}]}]
    });
    wire_form(&body)
}

/// Meta's escaping: `\uXXXX` for every non-ASCII character (surrogate pairs beyond the BMP)
/// and `\/` for `/`.
pub fn wire_form(value: &serde_json::Value) -> Vec<u8> {
    let compact = serde_json::to_string(value).expect("a JSON value serialises");
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.into_bytes()
}

/// A Meta webhook body carrying `statuses` for `phone_number_id`.
pub fn meta_statuses(phone_number_id: &str, statuses: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "statuses": statuses
        }}]}]
    }))
    .expect("a status webhook serialises")
}

/// One status of a message, as Meta sends it (with our `biz_opaque_callback_data` and the
/// error code of a failure, when given).
pub fn meta_status(wamid: &str, state: &str, to: &str, tag: Option<&str>, error: Option<u32>) -> serde_json::Value {
    let mut s = serde_json::json!({"id": wamid, "status": state, "timestamp": "1622106000", "recipient_id": to});
    if let Some(tag) = tag {
        s["biz_opaque_callback_data"] = serde_json::json!(tag);
    }
    if let Some(code) = error {
        s["errors"] = serde_json::json!([{"code": code, "title": "failure"}]);
    }
    s
}

/// Reports statuses to a webhook the way Meta does: shortly after, several per post (up to
/// 500), retried until the webhook takes them.
#[derive(Clone)]
pub struct StatusReporter {
    statuses: tokio::sync::mpsc::UnboundedSender<serde_json::Value>,
}

impl StatusReporter {
    /// Posts to `url`; `sign` gives the signature header of a body (Meta's `X-Hub-Signature-256`).
    pub fn start(
        url: String,
        phone_number_id: String,
        sign: impl Fn(&[u8]) -> (&'static str, String) + Send + 'static,
    ) -> StatusReporter {
        let (statuses, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 500 {
                    match rx.try_recv() {
                        Ok(s) => batch.push(s),
                        Err(_) => break,
                    }
                }
                let body = meta_statuses(&phone_number_id, &batch);
                let (header, signature) = sign(&body);
                for _ in 0..100 {
                    let posted = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header(header, &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    if posted.is_ok_and(|r| r.status().is_success()) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        });
        StatusReporter { statuses }
    }

    /// Reports `status` (see [`meta_status`]).
    pub fn report(&self, status: serde_json::Value) {
        let _ = self.statuses.send(status);
    }
}

/// The URL of the throwaway `redis-server` that `scripts/test` started.
pub fn redis_url() -> String {
    std::env::var("CONTACTO_TEST_REDIS_URL").expect(
        "CONTACTO_TEST_REDIS_URL is not set: run scripts/test, which starts a throwaway redis-server for the tests",
    )
}

/// A key prefix no other test uses, so tests share one Redis safely.
pub fn unique_keys() -> KeyLayout {
    KeyLayout::new(&format!("t{:016x}", rand::random::<u64>())).expect("a valid prefix")
}

/// A fresh store and what must outlive it (the embedded store's directory).
pub struct TestStore {
    pub store: store::SharedStore,
    pub dir: Option<std::path::PathBuf>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh embedded store in a directory of its own.
pub async fn embedded_store() -> TestStore {
    let dir = std::env::temp_dir().join(format!("contacto-test-{:016x}", rand::random::<u64>()));
    let config = store::StoreConfig::Embedded { data_dir: dir.clone(), keys: unique_keys() };
    TestStore { store: store::open(&config).await.expect("open the embedded store"), dir: Some(dir) }
}

/// A fresh view of the test Redis under a key prefix of its own.
pub async fn redis_store() -> TestStore {
    let config = store::StoreConfig::Redis { url: redis_url(), keys: unique_keys() };
    TestStore { store: store::open(&config).await.expect("connect to the test Redis"), dir: None }
}
