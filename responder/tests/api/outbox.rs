//! Never twice, never lost: the outbox against a Graph API that fails, throttles, refuses, or
//! is simply slow; a worker that dies; and a 2.5 MB batch of 600 senders answered at the
//! configured rate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use responder::Outcome;
use responder::replies::{OutboxEntry, Reply};
use schemas::{PhoneNumber, Topic, UserAddress};
use serde_json::json;
use store::QueueName;

use crate::helpers::*;
use metrics::SendResult;

fn recipient(body: &serde_json::Value) -> String {
    body["to"].as_str().or_else(|| body["recipient"].as_str()).unwrap().to_owned()
}

/// Runs the worker loop until `done` holds or `limit` passes.
async fn run_worker_until(app: &TestApp, limit: Duration, done: impl Fn() -> bool) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app.worker().run(stopped));
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "the outbox did not finish in {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn the_graph_api_down_for_a_while_then_every_reply_delivered_exactly_once(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let down = Arc::new(AtomicBool::new(true));
    let delivered: Arc<Mutex<Vec<String>>> = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let ok = graph_ok();
    {
        let (down, delivered, failed) = (down.clone(), delivered.clone(), failed.clone());
        app.graph.respond_with(move |r| {
            if down.load(Ordering::SeqCst) {
                failed.fetch_add(1, Ordering::SeqCst);
                return graph_error(StatusCode::SERVICE_UNAVAILABLE, 131000);
            }
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            delivered.lock().unwrap().push(recipient(&body));
            ok(r)
        });
    }
    const N: usize = 40;
    for i in 0..N {
        let body = meta_text(PNID, &format!("52147712{i:05}"), &format!("wamid.DOWN{i}"), "síntomas");
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(app.worker().run(stopped));
    // Down for a while: every attempt fails, replies wait with back-off.
    let start = Instant::now();
    while failed.load(Ordering::SeqCst) < N * 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "the worker should keep retrying");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(delivered.lock().unwrap().is_empty());
    down.store(false, Ordering::SeqCst);
    while delivered.lock().unwrap().len() < N {
        assert!(start.elapsed() < Duration::from_secs(20), "every reply must arrive once the API is back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give any duplicate a chance to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let delivered = delivered.lock().unwrap().clone();
    let distinct: BTreeSet<&String> = delivered.iter().collect();
    assert_eq!(delivered.len(), N, "a reply was delivered twice");
    assert_eq!(distinct.len(), N);
    assert_eq!(app.store.depth(QueueName::Outbox).await.unwrap().total(), 0);
    assert!(app.reply_sends(SendResult::Retry) >= N as u64 * 2);
}

async fn permanent_errors_are_recorded_and_not_retried(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for (i, code) in [131026u32, 131047, 132001, 190].into_iter().enumerate() {
        app.graph.respond_with(move |_| graph_error(StatusCode::BAD_REQUEST, code));
        let body = meta_text(PNID, &format!("521477130{i:04}"), &format!("wamid.PERM{i}"), "casos");
        assert_eq!(app.post_meta(&body).await.status(), 200);
        assert_eq!(app.drain_outbox().await, vec![Outcome::Failed], "code {code}");
    }
    assert_eq!(app.graph.requests().len(), 4, "one attempt each");
    assert_eq!(app.reply_sends(SendResult::Failed), 4);
    assert_eq!(app.store.depth(QueueName::Outbox).await.unwrap().total(), 0);
    assert!(logs().contains("A reply failed for good"), "failures are recorded");
    let today = jiff::ZonedDateTime::now().date();
    let days = app.store.failed_replies(today.yesterday().unwrap(), today.tomorrow().unwrap()).await.unwrap();
    let reasons: Vec<(&str, u64)> =
        days.iter().flat_map(|d| d.by_reason.iter().map(|(r, n)| (r.as_str(), *n))).collect();
    assert_eq!(
        reasons,
        vec![("config:190", 1), ("needs_template:131047", 1), ("permanent:132001", 1), ("unreachable:131026", 1)],
        "each failure is counted by day and reason for the report"
    );
}

async fn throttles_wait_as_told_and_pause_the_number(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let ok = graph_ok();
    {
        let calls = calls.clone();
        app.graph.respond_with(move |r| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                let mut response = graph_error(StatusCode::BAD_REQUEST, 130429);
                response.headers_mut().insert("retry-after", "1".parse().unwrap());
                return response;
            }
            ok(r)
        });
    }
    let body = meta_text(PNID, "5214771301001", "wamid.THR1", "semáforo");
    assert_eq!(app.post_meta(&body).await.status(), 200);
    assert_eq!(app.drain_outbox().await, vec![Outcome::Retry { after: Duration::from_secs(1) }]);
    assert_eq!(app.store.depth(QueueName::Outbox).await.unwrap().delayed, 1, "the reply waits in the outbox");
    // The whole number is paused, for every process on this store.
    let bucket = app.keys().rate(&format!("meta:{PNID}"));
    let permits = app.store.take_permits(&bucket, store::Rate::per_second(1000), 1).await.unwrap();
    assert_eq!(permits.granted, 0);
    assert!(permits.next_in > Duration::from_millis(500));
    assert!(app.drain_outbox().await.is_empty(), "not before its time");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.drain_outbox().await, vec![Outcome::Sent]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn entries_of_a_dead_worker_are_reclaimed(kind: StoreKind) {
    let app = spawn_app_with(kind, TestOptions { reclaim_idle_secs: 1, ..TestOptions::default() }).await;
    let body = meta_text(PNID, "5214771302001", "wamid.DEAD1", "vacunas");
    assert_eq!(app.post_meta(&body).await.status(), 200);
    // Another worker claims the reply and dies before sending it.
    let lost = app.store.claim(QueueName::Outbox, "worker-that-died", 10, Duration::ZERO).await.unwrap();
    assert_eq!(lost.len(), 1);
    assert!(app.drain_outbox().await.is_empty(), "claimed by someone else, and not stale yet");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.drain_outbox().await, vec![Outcome::Sent]);
    assert_eq!(app.graph.requests().len(), 1);
    assert_eq!(app.store.depth(QueueName::Outbox).await.unwrap().total(), 0);
}

async fn a_reply_that_missed_the_24_hour_window_is_dropped_and_recorded(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let to = UserAddress::Phone(PhoneNumber::parse("5214771303001").unwrap());
    let entry = OutboxEntry {
        channel: channels::meta::KIND,
        business_number: PNID.into(),
        user: app.hasher.key(&to),
        to,
        reply: Reply::topic(Topic::from_static("sintomas"), schemas::Scope::Estado),
        in_reply_to: "wamid.OLD".into(),
        received_at: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25),
        attempt: 3,
    };
    app.store.enqueue(QueueName::Outbox, &[entry.encode()]).await.unwrap();
    assert_eq!(app.drain_outbox().await, vec![Outcome::Failed]);
    assert!(app.graph.requests().is_empty());
    assert_eq!(app.reply_sends(SendResult::Expired), 1);
    let today = jiff::ZonedDateTime::now().date();
    let days = app.store.failed_replies(today.yesterday().unwrap(), today.tomorrow().unwrap()).await.unwrap();
    assert_eq!(days.iter().map(|d| d.by_reason.get("expired").copied().unwrap_or(0)).sum::<u64>(), 1);
}

async fn a_batch_of_600_senders_in_one_2_5_mb_post_is_answered_at_the_configured_rate(kind: StoreKind) {
    const RATE: u32 = 300;
    let app = spawn_app_with(kind, TestOptions { messages_per_second: RATE, ..TestOptions::default() }).await;
    let filler = "por favor necesito saber la información oficial más reciente para mi familia ".repeat(52);
    let messages: Vec<serde_json::Value> = (0..600)
        .map(|i| {
            json!({"from": format!("52147740{i:05}"), "id": format!("wamid.BATCH{i:04}"), "timestamp": "1590602400",
                   "type": "text", "text": {"body": format!("Hola, ¿cuántos casos hay en León? {filler}")}})
        })
        .collect();
    let contacts: Vec<serde_json::Value> =
        (0..600).map(|i| json!({"profile": {"name": "Ciudadana"}, "wa_id": format!("52147740{i:05}")})).collect();
    let body =
        wire_form(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": contacts, "messages": messages}}]}]}));
    assert!(body.len() > 2_500_000 && body.len() < 3 << 20, "{} bytes", body.len());
    let response = app.post_meta(&body).await;
    assert_eq!(response.status(), 200, "a legal 2.5 MB body is accepted (axum's default limit is 2 MB)");
    assert_eq!(app.store.depth(QueueName::Outbox).await.unwrap().ready, 600);
    let start = Instant::now();
    run_worker_until(&app, Duration::from_secs(30), || app.graph.requests().len() >= 600).await;
    let elapsed = start.elapsed();
    let sent = app.graph.requests();
    assert_eq!(sent.len(), 600, "no duplicates");
    let recipients: BTreeSet<String> =
        sent.iter().map(|r| recipient(&serde_json::from_slice(&r.body).unwrap())).collect();
    assert_eq!(recipients.len(), 600, "every sender answered once");
    // The rate, read from the fake's own timestamps: no one-second window above the rate, plus
    // the governor's burst of a tenth of a second, plus another tenth for the way: the fake
    // stamps a send when it arrives, and on a loaded machine a send the governor let go on
    // time can arrive up to that late, bunched with the next ones (333 arrived within one
    // second once, against 331). Unpaced, or paced at twice the rate, the 600 arrive far
    // above this.
    let times: Vec<Instant> = sent.iter().map(|r| r.at).collect();
    let most = times
        .iter()
        .map(|start| {
            times.iter().filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1)).count()
        })
        .max()
        .unwrap();
    assert!(most <= (RATE + 2 * (RATE / 10) + 1) as usize, "{most} sends within one second at {RATE}/s");
    assert!(elapsed >= Duration::from_millis(1700), "600 replies at {RATE}/s cannot take {elapsed:?}");
    let per_second: BTreeMap<u64, usize> = times.iter().fold(BTreeMap::new(), |mut m, t| {
        *m.entry(t.duration_since(times[0]).as_secs()).or_default() += 1;
        m
    });
    assert!(per_second.len() >= 2, "{per_second:?}");
}

testkit::on_both_stores!(
    the_graph_api_down_for_a_while_then_every_reply_delivered_exactly_once,
    permanent_errors_are_recorded_and_not_retried,
    throttles_wait_as_told_and_pause_the_number,
    entries_of_a_dead_worker_are_reclaimed,
    a_reply_that_missed_the_24_hour_window_is_dropped_and_recorded,
    a_batch_of_600_senders_in_one_2_5_mb_post_is_answered_at_the_configured_rate,
);
