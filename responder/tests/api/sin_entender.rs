//! «Sin entender», end to end: what citizens wrote that ended in the help answer is kept
//! masked, counted by distinct citizens, and shown only once enough of them wrote it.

use std::time::Duration;

use jiff::Timestamp;
use responder::{Responder, ResponderConfig};
use store::UnmatchedPhrase;

use crate::helpers::*;

const KEEP: Duration = Duration::from_secs(30 * 86_400);
const K: u64 = 5;

/// The phrases at least `min` citizens wrote, as the store shows them.
async fn shown(app: &TestApp, min: u64) -> Vec<UnmatchedPhrase> {
    app.responder.flush_counters().await;
    app.store.unmatched(min, Timestamp::now(), KEEP).await.unwrap()
}

fn phone(i: usize) -> String {
    format!("52147755{i:05}")
}

const NAMES: [&str; 5] = ["Ana Pérez", "Berta Gómez", "Carla Núñez", "Diego Ramos", "Elena María Vargas"];

/// What citizen `i` writes: the same request, each with a phone number and a name of their own.
fn unrecognised(i: usize) -> String {
    format!("Me llamo {}, ¿hay brigadas para fumigar mi calle? llámenme al 477 555 98{i}7", NAMES[i])
}

const MASKED: &str = "me llamo [nombre] hay brigadas para fumigar mi calle llamenme al #";

async fn phrases_five_citizens_wrote_are_shown_masked_and_four_are_not(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for i in 0..K as usize {
        let body = meta_text(PNID, &phone(i), &format!("wamid.SIN{i}"), &unrecognised(i));
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    for i in 0..4 {
        let body = meta_text(PNID, &phone(i), &format!("wamid.CASI{i}"), "¿hay brigadas de fumigación?");
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    // Understood messages are not phrases not understood.
    for i in 0..K as usize {
        let body = meta_text(PNID, &phone(i), &format!("wamid.OK{i}"), "casos en León");
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    let shown = shown(&app, K).await;
    let all = app.store.unmatched(1, Timestamp::now(), KEEP).await.unwrap();
    assert_eq!(shown.len(), 1, "{all:?}");
    assert_eq!((shown[0].phrase.as_str(), shown[0].citizens), (MASKED, K));
    let all = app.store.unmatched(1, Timestamp::now(), KEEP).await.unwrap();
    assert_eq!(all.len(), 2, "four citizens' phrase is kept, only not shown: {all:?}");
    assert!(all.iter().all(|p| !p.phrase.contains("477") && !p.phrase.contains("perez")), "{all:?}");
    app.shutdown().await;
}

async fn the_same_citizen_writing_ten_times_counts_once(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for n in 0..10 {
        let body = meta_text(PNID, &phone(7), &format!("wamid.REP{n}"), "¿hay brigadas de fumigación?");
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    let all = shown(&app, 1).await;
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].phrase.as_str(), all[0].citizens), ("hay brigadas de fumigacion", 1));
    assert!(shown(&app, K).await.is_empty());
    app.shutdown().await;
}

testkit::on_both_stores!(
    phrases_five_citizens_wrote_are_shown_masked_and_four_are_not,
    the_same_citizen_writing_ten_times_counts_once
);

/// Two responder processes on one Redis count the same phrase together, each citizen once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_responders_on_one_redis_count_a_phrase_together() {
    let app = spawn_app(StoreKind::Redis).await;
    let mut settings = settings(&app.graph_url(), &TestOptions::default());
    let other = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), app.store.clone()).await;
    let served = testkit::serve(other.app()).await;
    for i in 0..K as usize {
        // Citizens 0–2 write to this one, 2–4 to the other: citizen 2 to both.
        if i <= 2 {
            let body = meta_text(PNID, &phone(i), &format!("wamid.A{i}"), &unrecognised(i));
            assert_eq!(app.post_meta(&body).await.status(), 200);
        }
        if i >= 2 {
            let body = meta_text(PNID, &phone(i), &format!("wamid.B{i}"), &unrecognised(i));
            let status = post_signed(&app.http, served.url("/webhooks/meta"), body).await;
            assert_eq!(status, 200);
        }
    }
    other.flush_counters().await;
    let shown = shown(&app, K).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!((shown[0].phrase.as_str(), shown[0].citizens), (MASKED, K));
    app.shutdown().await;
}
