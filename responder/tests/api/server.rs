//! The service itself: the Meta handshake, body limits, health and metrics, graceful
//! shutdown, and what happens when the store is down or stalls (the platform is asked to retry
//! and the message is still answered exactly once).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use responder::{Responder, ResponderConfig};

use crate::helpers::*;

async fn the_meta_handshake_echoes_the_challenge_only_for_our_token(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let get = |query: String| {
        let http = app.http.clone();
        let url = app.url(&format!("/webhooks/meta?{query}"));
        async move { http.get(url).send().await.unwrap() }
    };
    let ok = get(format!("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}")).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess".into()).await;
    assert_eq!(wrong.status(), 403);
    let mode = get(format!("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY_TOKEN}")).await;
    assert_eq!(mode.status(), 403);
    assert_eq!(get(String::new()).await.status(), 403);
    assert_not_logged(&[VERIFY_TOKEN]);
}

/// Sends only the head of a request announcing `length` bytes and returns the status line.
fn head_only(addr: std::net::SocketAddr, length: usize) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_owned()
}

async fn bodies_over_the_limit_are_refused_without_being_read(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let addr = app.addr;
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || head_only(addr, (3 << 20) + 1)).await.unwrap();
    assert!(status.contains("413"), "{status:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "answered from the head, without waiting for the body");
    // Streamed without a length, the limit still holds.
    let chunks = futures::stream::iter((0..70).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 << 10])));
    let response = app.http.post(app.url("/webhooks/meta")).body(reqwest::Body::wrap_stream(chunks)).send().await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    assert_eq!(app.handled_webhooks(), 0);
}

async fn health_and_metrics_on_the_internal_port(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let health: serde_json::Value =
        app.http.get(app.internal_url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], if kind == StoreKind::Redis { "redis" } else { "embedded" });
    assert_eq!(health["snapshot"], 1);
    assert_eq!(health["channels"], serde_json::json!(["meta", "twilio"]));
    let body = meta_text(PNID, "5214771304001", "wamid.MET1", "hola");
    app.post_meta(&body).await;
    let metrics = app.http.get(app.internal_url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "contacto_webhooks_total{channel=\"meta\",outcome=\"handled\"} 1",
        "contacto_responder_events_total{event=\"enqueued\"} 1",
        "contacto_queue_depth{queue=\"outbox\",state=\"ready\"} 1",
        "contacto_reply_latency_seconds_count{channel=\"meta\"} 1",
        "contacto_answering_snapshot_version 1",
        "contacto_current_snapshot_version 1",
        "contacto_store_up 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // Delivery statuses reach the delivery hook, which counts them by state.
    assert_eq!(app.post_meta(&fixture("webhooks/meta/statuses.json")).await.status(), 200);
    let metrics = app.http.get(app.internal_url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "contacto_delivery_statuses_total{state=\"sent\"} 1",
        "contacto_delivery_statuses_total{state=\"read\"} 2",
        "contacto_delivery_statuses_total{state=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // The webhook port does not serve them.
    assert_eq!(app.http.get(app.url("/health")).send().await.unwrap().status(), 404);
}

async fn shutdown_is_graceful(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let body = meta_text(PNID, "5214771305001", "wamid.SHUT1", "casos");
    assert_eq!(app.post_meta(&body).await.status(), 200);
    let addr = app.addr;
    let store = app.store.clone();
    app.shutdown().await;
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
    // What was accepted is in the outbox and counted.
    assert_eq!(store.depth(store::QueueName::Outbox).await.unwrap().ready, 1);
}

testkit::on_both_stores!(
    the_meta_handshake_echoes_the_challenge_only_for_our_token,
    bodies_over_the_limit_are_refused_without_being_read,
    health_and_metrics_on_the_internal_port,
    shutdown_is_graceful,
);

/// A redis-server of this test's own, to stop, stall and restart.
struct PrivateRedis {
    child: Child,
    port: u16,
}

impl PrivateRedis {
    fn start_on(port: u16) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { child, port }
    }

    fn signal(&self, signal: &str) {
        assert!(Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap().success());
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_on_private_redis(redis: &PrivateRedis, options: TestOptions) -> (TestApp, Responder) {
    let app = spawn_app(StoreKind::Embedded).await; // for its Graph stand-in and helpers
    let keys = testkit::unique_keys();
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let store = store::open(&store::StoreConfig::Redis { url, keys }).await.unwrap();
    store.publish(&fixture_snapshot(), None, 5).await.unwrap();
    let mut settings = settings(&app.graph_url(), &options);
    let responder = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), store).await;
    (app, responder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_gets_a_503_and_the_retry_is_answered_once() {
    let port = testkit::free_port();
    let redis = PrivateRedis::start_on(port);
    let (app, responder) = app_on_private_redis(&redis, TestOptions::default()).await;
    let router = responder.app();
    let served = testkit::serve(router).await;
    let post = |body: Vec<u8>| post_signed(&app.http, served.url("/webhooks/meta"), body);
    let body = meta_text(PNID, "5214771306001", "wamid.OUTAGE1", "casos");
    drop(redis);
    assert_eq!(post(body.clone()).await, 503, "the platform must retry later");
    // A fresh, empty server on the same port: answers still come from the mirror in memory.
    let _redis = PrivateRedis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = post(body.clone()).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the responder should recover with the store ({status})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(post(body.clone()).await, 200);
    let worker = responder.outbox_worker();
    while worker.try_send_one().await.unwrap() != responder::Outcome::Empty {}
    assert_eq!(app.graph.requests().len(), 1, "answered exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_times_out_and_the_message_is_still_answered_exactly_once() {
    let port = testkit::free_port();
    let redis = PrivateRedis::start_on(port);
    let options = TestOptions { request_timeout_secs: 1, ..TestOptions::default() };
    let (app, responder) = app_on_private_redis(&redis, options).await;
    let served = testkit::serve(responder.app()).await;
    let post = |body: Vec<u8>| post_signed(&app.http, served.url("/webhooks/meta"), body);
    let body = meta_text(PNID, "5214771307001", "wamid.STALL1", "síntomas");
    redis.signal("-STOP");
    let start = Instant::now();
    assert_eq!(post(body.clone()).await, 503, "the request timeout answers for a stalled store");
    assert!(start.elapsed() < Duration::from_secs(3));
    redis.signal("-CONT");
    // The stalled request's lease went through once the store woke up: a retry now is told to
    // come back later, and after the lease it is handled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut statuses = Vec::new();
    loop {
        let status = post(body.clone()).await;
        statuses.push(status.as_u16());
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(post(body.clone()).await, 200);
    let worker = responder.outbox_worker();
    while worker.try_send_one().await.unwrap() != responder::Outcome::Empty {}
    assert_eq!(app.graph.requests().len(), 1, "answered exactly once after {statuses:?}");
}

/// A stalled store: the platform gives up on every webhook (the request timeout answers 503),
/// and the handlings those requests leave behind stop at `max_concurrent_requests`. Once the
/// store wakes up they finish, and every message is answered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_gathers_no_more_handlings_than_the_limit() {
    let port = testkit::free_port();
    let redis = PrivateRedis::start_on(port);
    let options = TestOptions { request_timeout_secs: 1, max_concurrent_requests: 2, ..TestOptions::default() };
    let (app, responder) = app_on_private_redis(&redis, options).await;
    let served = testkit::serve(responder.app()).await;
    let url = served.url("/webhooks/meta");
    let senders: Vec<String> = (0..6).map(|i| format!("52147713080{i:02}")).collect();
    let bodies: Vec<Vec<u8>> =
        senders.iter().enumerate().map(|(i, from)| meta_text(PNID, from, &format!("wamid.PILE{i}"), "casos")).collect();
    redis.signal("-STOP");
    // Two waves: the second finds the requests of the first gone, but not their handlings.
    let mut statuses = Vec::new();
    for wave in [&bodies[..2], &bodies[2..]] {
        let posts = wave.iter().map(|body| post_signed(&app.http, url.clone(), body.clone()));
        statuses.extend(futures::future::join_all(posts).await);
    }
    let in_progress = responder.metrics().webhooks_in_progress();
    redis.signal("-CONT");
    assert!(statuses.iter().all(|s| s.as_u16() == 503), "the platform is told to retry: {statuses:?}");
    assert_eq!(in_progress, 2, "the handlings left behind stop at the limit");

    for body in &bodies {
        post_until_accepted(&app.http, &url, body).await;
    }
    let worker = responder.outbox_worker();
    while worker.try_send_one().await.unwrap() != responder::Outcome::Empty {}
    assert_eq!(app.replied_to(), senders, "each message answered once");
    let deadline = Instant::now() + Duration::from_secs(5);
    while responder.metrics().webhooks_in_progress() > 0 {
        assert!(Instant::now() < deadline, "the handlings left behind finish once the store is back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
