//! Real HTTP servers on 127.0.0.1: [`serve`] for our own routers and sources, and
//! [`RecordingServer`] for the outside platforms' stand-ins.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// A loopback port free right now, for a process a test starts (which binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("its address").port()
}
