//! Two senders, each with its own connection to one real Redis (as two processes would have),
//! share one broadcast through the queue's consumer group: every subscriber once, and both did
//! part of the work.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use channels::Channels;
use conectate::{Sender, State};
use responder::ResponderConfig;
use tokio::sync::watch;

use crate::helpers::*;

/// A sender on a connection of its own, sending to the stand-in under `path` so the test can
/// tell the two apart.
async fn sender_on_its_own_connection(app: &TestApp, path: &str, name: &str) -> Sender {
    let store = store::open(&store::StoreConfig::Redis { url: testkit::redis_url(), keys: app.store.keys().clone() })
        .await
        .expect("a second connection to the test Redis");
    let mut settings =
        settings(&format!("{}{path}", app.settings_graph_url), "http://127.0.0.1:9", &Options::default());
    let config = ResponderConfig::from_settings(&mut settings).unwrap();
    let channels = Channels::from_config(&config.channels, &reqwest::Client::new());
    Sender::new(store, channels, app.config.clone(), name.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_on_one_redis_share_a_broadcast_without_duplicates() {
    let app = spawn_app(StoreKind::Redis, Options { concurrency: 16, ..Options::default() }).await;
    app.subscribe(3_000).await;
    let content = app.broadcast(draft("Aviso para todas y todos.")).await;
    let (stop, stopped) = watch::channel(false);
    let a = tokio::spawn(sender_on_its_own_connection(&app, "/a", "sender-a").await.run(stopped.clone()));
    let b = tokio::spawn(sender_on_its_own_connection(&app, "/b", "sender-b").await.run(stopped));
    let start = Instant::now();
    while app.contents.report(content.id).await.unwrap().state != State::Done {
        assert!(start.elapsed() < Duration::from_secs(60), "the broadcast did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let requests = app.graph.requests();
    let mut per_sender: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        *per_sender.entry(r.uri[..2].to_owned()).or_default() += 1;
    }
    assert!(per_sender["/a"] > 0 && per_sender["/b"] > 0, "both senders worked: {per_sender:?}");
    assert_eq!(per_sender["/a"] + per_sender["/b"], 3_000);
    let by_recipient = app.sends_by_recipient();
    assert_eq!(by_recipient.len(), 3_000);
    assert!(by_recipient.values().all(|n| *n == 1), "nobody twice");
}
