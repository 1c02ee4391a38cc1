//! A citizen's replies leave in the order written, each after the platform accepted the one
//! before, whatever the outbox's concurrency: several messages of one citizen in one post,
//! a first reply that fails for now (the next waits for it) or for good (the next goes).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use schemas::AnswerKey;
use serde_json::{Value, json};

use crate::helpers::*;

/// A Meta message of `from` in a batch.
fn message(from: &str, id: &str, text: &str, timestamp: i64) -> Value {
    json!({"from": from, "id": id, "timestamp": timestamp.to_string(), "type": "text", "text": {"body": text}})
}

/// Every send the stand-in received for `to`, as its text, in the order received.
fn sent_to(app: &TestApp, to: &str) -> Vec<String> {
    app.graph_bodies().iter().filter(|b| b["to"] == to).map(text_of).collect()
}

/// Runs two outbox worker loops side by side until the stand-in has seen `sends` requests.
async fn send_until(app: &TestApp, sends: usize) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = [tokio::spawn(app.worker().run(stopped.clone())), tokio::spawn(app.worker().run(stopped))];
    let start = Instant::now();
    while app.graph.requests().len() < sends {
        assert!(start.elapsed() < Duration::from_secs(20), "sent {} of {sends}", app.graph.requests().len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Give a reply sent twice or late the chance to show.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
}

async fn a_batch_of_several_messages_per_citizen_is_answered_in_the_order_written(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let menu = |id: &str| f.router.menus[&id.parse().unwrap()].answer.body().to_owned();
    let answer = |key: &str| f.answers[&key.parse::<AnswerKey>().unwrap()].answer.body().to_owned();
    // «Hola», «1», «2»: the main menu, the figures' sub-menu, and «2» of that sub-menu.
    let expected = [menu("principal"), menu("cifras"), answer("sospechosos/estado")];
    let (rounds, citizens) = (6, 5);
    for round in 0..rounds {
        let mut messages = Vec::new();
        for c in 0..citizens {
            let from = format!("5214776{round:02}{c:04}");
            let written = [("Hola", 0), ("1", 1), ("2", 2)].map(|(text, k)| {
                // The last citizen's messages sit in the post in reverse, a second apart: the
                // platform's timestamps say the order. The others share one second.
                let at = 1_590_602_400 + if c == citizens - 1 { k } else { 0 };
                message(&from, &format!("wamid.ORD{round}.{c}.{k}"), text, at)
            });
            if c == citizens - 1 {
                messages.extend(written.into_iter().rev());
            } else {
                messages.extend(written);
            }
        }
        let body = meta_value("messages", json!({"messages": messages}));
        assert_eq!(app.post_meta(&body).await.status(), 200);
        send_until(&app, (round + 1) * citizens * 3).await;
        for c in 0..citizens {
            let to = format!("5214776{round:02}{c:04}");
            assert_eq!(sent_to(&app, &to), expected, "round {round}, citizen {c}: answered out of order");
        }
    }
    assert_eq!(app.graph.requests().len(), rounds * citizens * 3, "each message answered once");
}

async fn a_reply_failing_for_now_holds_the_next_and_one_failing_for_good_releases_it(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let (held, released) = ("5214776990001", "5214776990002");
    let f = fixture_snapshot();
    let sintomas = f.answers[&"sintomas/estado".parse::<AnswerKey>().unwrap()].answer.body().to_owned();
    let menu = f.router.menus[&"principal".parse().unwrap()].answer.body().to_owned();
    let attempts = Arc::new(AtomicUsize::new(0));
    let ok = graph_ok();
    {
        let (attempts, menu) = (attempts.clone(), menu.clone());
        app.graph.respond_with(move |r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let first = text_of(&body) == menu;
            match body["to"].as_str() {
                // The first reply to one citizen fails for now, twice; the second is fine.
                Some(to) if to == held && first && attempts.fetch_add(1, Ordering::SeqCst) < 2 => {
                    graph_error(StatusCode::SERVICE_UNAVAILABLE, 131000)
                }
                // The first reply to the other fails for good.
                Some(to) if to == released && first => graph_error(StatusCode::BAD_REQUEST, 131026),
                _ => ok(r),
            }
        });
    }
    let messages: Vec<Value> = [held, released]
        .iter()
        .flat_map(|from| {
            [
                message(from, &format!("wamid.H{from}"), "Hola", 1_590_602_400),
                message(from, &format!("wamid.S{from}"), "síntomas", 1_590_602_401),
            ]
        })
        .collect();
    assert_eq!(app.post_meta(&meta_value("messages", json!({"messages": messages}))).await.status(), 200);
    send_until(&app, 4 + 2).await;
    assert_eq!(
        sent_to(&app, held),
        [menu.clone(), menu.clone(), menu.clone(), sintomas.clone()],
        "the second reply waits until the first is accepted"
    );
    assert_eq!(sent_to(&app, released), [menu, sintomas], "a reply failed for good lets the next go");
    assert_eq!(app.store.depth(store::QueueName::Outbox).await.unwrap().total(), 0);
}

testkit::on_both_stores!(
    on_cluster;
    a_batch_of_several_messages_per_citizen_is_answered_in_the_order_written,
    a_reply_failing_for_now_holds_the_next_and_one_failing_for_good_releases_it,
);
