//! No duplicates and no losses while a Redis Cluster fails over: a broadcast goes on while each
//! primary in turn hands over to its replica (planned maintenance, `CLUSTER FAILOVER`), and
//! every subscriber gets it exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use conectate::State;
use testkit::{PrivateCluster, TestStore};
use tokio::sync::watch;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_every_subscriber_once_while_each_primary_fails_over() {
    let cluster = Arc::new(tokio::task::spawn_blocking(|| PrivateCluster::start(3)).await.unwrap());
    let config = store::StoreConfig::Redis { url: cluster.url(), keys: testkit::unique_keys() };
    let store = store::open(&config).await.expect("connect to the private Cluster");
    // Paced, so the broadcast lasts through the three hand-overs.
    let options = Options { unpaced: false, messages_per_second: 400, concurrency: 16, ..Options::default() };
    let app = spawn_app_on(TestStore { store, dir: None }, options).await;
    app.subscribe(2_000).await;
    let content = app.broadcast(draft("Aviso mientras cambia el servidor principal.")).await;
    let (stop, stopped) = watch::channel(false);
    let sender = tokio::spawn(app.sender("sender-failover").run(stopped));

    let changed = cluster.clone();
    tokio::task::spawn_blocking(move || changed.fail_over_every_primary()).await.unwrap();
    let during = app.sends().len();
    let start = Instant::now();
    while app.contents.report(content.id).await.ok().map(|r| r.state) != Some(State::Done) {
        assert!(start.elapsed() < Duration::from_secs(90), "the broadcast did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    sender.await.unwrap();

    assert!(during < 2_000, "the broadcast was still going when the last primary handed over ({during} sent)");
    let by_recipient = app.sends_by_recipient();
    assert_eq!(by_recipient.len(), 2_000, "every subscriber reached");
    let twice: Vec<_> = by_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "nobody twice: {twice:?}");
}
