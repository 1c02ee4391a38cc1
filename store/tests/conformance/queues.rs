//! [`QueueStore`](store::QueueStore)'s entries: claim, acknowledge, re-claim a dead consumer's,
//! delay, and entries added together with the marks of their work.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use store::{KvOp, QueueName};
use testkit::StoreKind;

pub(crate) async fn two_concurrent_claimers_never_get_the_same_entry(kind: StoreKind) {
    let f = kind.open().await;
    const N: usize = 400;
    let s = f.store.clone();
    let payloads: Vec<Vec<u8>> = (0..N).map(|i| format!("reply-{i}").into_bytes()).collect();
    for chunk in payloads.chunks(100) {
        s.enqueue(QueueName::Outbox, chunk).await.unwrap();
    }
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().ready, N as u64);
    let worker = |name: &'static str| {
        let s = s.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s.claim(QueueName::Outbox, name, 7, Duration::from_millis(20)).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                s.ack(QueueName::Outbox, &batch.iter().map(|e| e.id.clone()).collect::<Vec<_>>()).await.unwrap();
                got.extend(batch.into_iter().map(|e| String::from_utf8(e.payload).unwrap()));
            }
        })
    };
    let (a, b) = (worker("sender-a"), worker("sender-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(!a.is_empty() && !b.is_empty(), "both consumers should get work: {} / {}", a.len(), b.len());
    let all: BTreeSet<&String> = a.iter().chain(&b).collect();
    assert_eq!(a.len() + b.len(), N, "an entry was handed out twice");
    assert_eq!(all.len(), N);
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
}

pub(crate) async fn entries_of_a_dead_consumer_are_reclaimed(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let payloads: Vec<Vec<u8>> = (0..5).map(|i| vec![i]).collect();
    s.enqueue(QueueName::Broadcast, &payloads).await.unwrap();
    // sender-a claims and dies without acknowledging.
    let lost = s.claim(QueueName::Broadcast, "sender-a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(lost.len(), 5);
    assert_eq!(s.depth(QueueName::Broadcast).await.unwrap().pending, 5);
    // Nothing is new, and nothing is stale yet.
    assert!(s.claim(QueueName::Broadcast, "sender-b", 10, Duration::ZERO).await.unwrap().is_empty());
    let idle = Duration::from_millis(250);
    assert!(s.reclaim(QueueName::Broadcast, "sender-b", idle, 10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let taken = s.reclaim(QueueName::Broadcast, "sender-b", idle, 10).await.unwrap();
    let mut got: Vec<u8> = taken.iter().map(|e| e.payload[0]).collect();
    got.sort();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(taken.iter().all(|e| e.deliveries == 2), "{taken:?}");
    // Just re-claimed: not idle, so nobody else takes them.
    assert!(s.reclaim(QueueName::Broadcast, "sender-c", idle, 10).await.unwrap().is_empty());
    s.ack(QueueName::Broadcast, &taken.iter().map(|e| e.id.clone()).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(s.depth(QueueName::Broadcast).await.unwrap().total(), 0);
}

pub(crate) async fn delayed_entries_wait_for_their_time(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let at = Timestamp::now() + Duration::from_millis(300);
    s.enqueue_at(QueueName::Outbox, b"retry", at).await.unwrap();
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().delayed, 1);
    assert!(s.claim(QueueName::Outbox, "w", 10, Duration::ZERO).await.unwrap().is_empty());
    let got = s.claim(QueueName::Outbox, "w", 10, Duration::from_secs(3)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, b"retry");
    assert!(Timestamp::now() >= at);
    s.ack(QueueName::Outbox, &[got[0].id.clone()]).await.unwrap();
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
}

pub(crate) async fn entries_and_their_marks_are_written_together(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let done = s.keys().seen_message("meta", "wamid.E1");
    let then = [KvOp::Put { key: done.clone(), value: b"d".to_vec(), ttl: Some(Duration::from_secs(60)) }];
    let ids = s.enqueue_then(QueueName::Outbox, &[b"one".to_vec(), b"two".to_vec()], &then).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(s.get(&done).await.unwrap().as_deref(), Some(&b"d"[..]));
    let got = s.claim(QueueName::Outbox, "w", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(), vec![b"one".to_vec(), b"two".to_vec()]);
    assert!(s.enqueue_then(QueueName::Outbox, &[], &[]).await.unwrap().is_empty());
}
