//! Never lost, never twice while a Redis Cluster changes under the responder: citizens keep
//! writing while each primary in turn hands over to its replica (planned maintenance, `CLUSTER
//! FAILOVER`), or while the outbox's slot moves to another primary (resharding), and every
//! message is answered once and counted once. The platform's retries are played as Meta plays
//! them: a 503 is posted again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::date;
use responder::{Responder, ResponderConfig};
use schemas::{KeyLayout, QueueName, Topic};
use testkit::PrivateCluster;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_answered_and_counted_once_while_each_primary_fails_over() {
    answered_and_counted_once_while(|cluster, _| cluster.fail_over_every_primary()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_answered_and_counted_once_while_the_outbox_slot_moves() {
    answered_and_counted_once_while(|cluster, keys| {
        // The outbox's stream, its once-marks and flood windows share one slot: it moves to
        // the next primary and on to the third, ten keys at a time, as `redis-cli --cluster
        // reshard` moves slots. While it moves, a webhook's script finds some of its keys moved
        // and others not (`TRYAGAIN`), so webhooks wait or are told to come back (503) until
        // it has moved: the migration must be short here, as it is in production only for a
        // quiet outbox.
        let slot = cluster.slot_of(keys.queue_stream(QueueName::Outbox).as_str());
        std::thread::sleep(Duration::from_secs(1)); // marks and replies to move
        for _ in 0..2 {
            let from = cluster.owner(slot);
            let primaries = cluster.primaries();
            let to = primaries[(primaries.iter().position(|&p| p == from).unwrap() + 1) % primaries.len()];
            cluster.move_slot(slot, to);
        }
    })
    .await;
}

/// Runs a responder and its outbox worker on a private Cluster while four citizens write one
/// message after another, until `change` (run on a thread of its own) has changed the Cluster;
/// then checks that every message was answered once and counted once.
async fn answered_and_counted_once_while(change: impl FnOnce(&PrivateCluster, &KeyLayout) + Send + 'static) {
    let cluster = Arc::new(tokio::task::spawn_blocking(|| PrivateCluster::start(3)).await.unwrap());
    let app = spawn_app(StoreKind::Embedded).await; // for its Graph stand-in
    let keys = testkit::unique_keys();
    let config = store::StoreConfig::Redis { url: cluster.url(), keys: keys.clone() };
    let store = store::open(&config).await.expect("connect to the private Cluster");
    store.publish(&fixture_snapshot(), None, 5).await.unwrap();
    // A reply whose send was not acknowledged is taken over after 2 s, so a lost
    // acknowledgement would show up within the test as a second reply.
    let options = TestOptions { reclaim_idle_secs: 2, ..TestOptions::default() };
    let mut settings = settings(&app.graph_url(), &options);
    let responder = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), store.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/meta", public.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(responder.clone().run(public, internal, async {
        let _ = stopped.await;
    }));

    let changing = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, url, changing) = (app.http.clone(), url.clone(), changing.clone());
            tokio::spawn(async move {
                let mut senders = Vec::new();
                while changing.load(Ordering::SeqCst) || senders.len() < 10 {
                    let (n, from) = (senders.len(), format!("521477{w}{:06}", senders.len()));
                    let body = meta_text(PNID, &from, &format!("wamid.CHANGE-{w}-{n}"), "casos en León");
                    post_until_accepted(&http, &url, &body).await;
                    senders.push(from);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                senders
            })
        })
        .collect();
    let changed = cluster.clone();
    tokio::task::spawn_blocking(move || change(&changed, &keys)).await.unwrap();
    changing.store(false, Ordering::SeqCst);
    let mut senders = Vec::new();
    for writer in writers {
        senders.extend(writer.await.unwrap());
    }
    senders.sort();

    // A poll: on a loaded machine the outbox may need a while to catch up after the change.
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.graph.requests().len() < senders.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // time for a second copy to show up
    assert_eq!(app.replied_to(), senders, "each of {} messages answered once", senders.len());

    responder.flush_counters().await;
    let days = store.interactions(date(2020, 5, 27), date(2020, 5, 27)).await.unwrap();
    let counted = days.first().and_then(|d| d.by_topic.get(&Topic::from_static("confirmados")).copied());
    assert_eq!(counted, Some(senders.len() as u64), "each message counted once");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
