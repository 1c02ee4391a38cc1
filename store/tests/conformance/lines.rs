//! [`Line`](store::Line)s of a queue: one entry at a time, in the order added, across workers
//! and past a dead holder.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use store::{Line, OnceOp, QueueName};
use testkit::StoreKind;

use crate::HOUR;

/// `payload` offered as its own id, in `line`.
fn in_line(payload: &str, line: &str, lease: Duration) -> OnceOp {
    OnceOp::Enqueue {
        id: payload.into(),
        payload: Some(payload.as_bytes().to_vec()),
        ttl: HOUR,
        leased: false,
        window: None,
        line: Some(Line { name: line.into(), lease }),
    }
}

fn payloads(entries: &[store::QueueEntry]) -> Vec<String> {
    entries.iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect()
}

async fn claim_now(s: &store::SharedStore, consumer: &str) -> Vec<store::QueueEntry> {
    s.claim(QueueName::Outbox, consumer, 100, Duration::ZERO).await.unwrap()
}

pub(crate) async fn a_line_hands_out_one_entry_at_a_time_in_the_order_added(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let lease = Duration::from_secs(30);
    let ops =
        [in_line("a1", "a", lease), in_line("b1", "b", lease), in_line("a2", "a", lease), in_line("a3", "a", lease)];
    s.enqueue_once(QueueName::Outbox, &ops).await.unwrap();
    s.enqueue(QueueName::Outbox, &[b"plain".to_vec()]).await.unwrap();
    let first = claim_now(s, "w").await;
    assert_eq!(payloads(&first), ["a1", "b1", "plain"], "one entry per line is out; the rest wait their turn");
    let depth = s.depth(QueueName::Outbox).await.unwrap();
    assert_eq!((depth.ready, depth.pending, depth.total()), (2, 3, 5), "waiting entries count as ready");
    assert!(claim_now(s, "w2").await.is_empty(), "nothing goes while a1 holds the turn");
    s.ack(QueueName::Outbox, &[first[0].id.clone(), first[2].id.clone()]).await.unwrap();
    let second = claim_now(s, "w2").await;
    assert_eq!(payloads(&second), ["a2"]);
    // A retry keeps the turn: a3 waits while a2 waits for its time.
    let at = Timestamp::now() + Duration::from_millis(300);
    s.retry(QueueName::Outbox, &second[0].id, b"a2 again", at).await.unwrap();
    assert!(claim_now(s, "w").await.is_empty(), "a3 waits for a2's retry");
    let again = s.claim(QueueName::Outbox, "w", 100, Duration::from_secs(3)).await.unwrap();
    assert_eq!(payloads(&again), ["a2 again"]);
    assert!(Timestamp::now() >= at);
    assert!(claim_now(s, "w").await.is_empty());
    s.ack(QueueName::Outbox, &[again[0].id.clone()]).await.unwrap();
    let last = claim_now(s, "w").await;
    assert_eq!(payloads(&last), ["a3"]);
    s.ack(QueueName::Outbox, &[last[0].id.clone(), first[1].id.clone()]).await.unwrap();
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
    // A free line hands out its next entry at once; a retried entry without a line comes back.
    s.enqueue_once(QueueName::Outbox, &[in_line("a4", "a", lease)]).await.unwrap();
    s.enqueue(QueueName::Outbox, &[b"plain2".to_vec()]).await.unwrap();
    let got = claim_now(s, "w").await;
    assert_eq!(payloads(&got), ["a4", "plain2"]);
    s.retry(QueueName::Outbox, &got[1].id, b"plain2 again", Timestamp::now()).await.unwrap();
    s.ack(QueueName::Outbox, &[got[0].id.clone()]).await.unwrap();
    let got = s.claim(QueueName::Outbox, "w", 100, Duration::from_secs(3)).await.unwrap();
    assert_eq!(payloads(&got), ["plain2 again"]);
}

pub(crate) async fn concurrent_workers_take_each_line_in_order_one_at_a_time(kind: StoreKind) {
    let f = kind.open().await;
    let s = f.store.clone();
    let lease = Duration::from_secs(30);
    let (lines, per_line) = (12usize, 4usize);
    // Interleaved, in batches, as webhooks add them.
    for round in 0..per_line {
        let ops: Vec<OnceOp> =
            (0..lines).map(|l| in_line(&format!("{l}:{round}"), &format!("line{l}"), lease)).collect();
        s.enqueue_once(QueueName::Outbox, &ops).await.unwrap();
    }
    let out = Arc::new(std::sync::Mutex::new(BTreeSet::<String>::new()));
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let (s, out, seen) = (s.clone(), out.clone(), seen.clone());
            tokio::spawn(async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while seen.lock().unwrap().len() < lines * per_line {
                    assert!(std::time::Instant::now() < deadline, "the lines did not drain");
                    let got = s.claim(QueueName::Outbox, &format!("w{w}"), 5, Duration::from_millis(50)).await.unwrap();
                    for entry in &got {
                        let text = String::from_utf8(entry.payload.clone()).unwrap();
                        let line = text.split(':').next().unwrap().to_owned();
                        assert!(out.lock().unwrap().insert(line), "two entries of one line out at once: {text}");
                        seen.lock().unwrap().push(text);
                    }
                    tokio::time::sleep(Duration::from_millis(rand::random_range(0..5))).await;
                    for entry in &got {
                        let text = String::from_utf8(entry.payload.clone()).unwrap();
                        out.lock().unwrap().remove(text.split(':').next().unwrap());
                        s.ack(QueueName::Outbox, std::slice::from_ref(&entry.id)).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    for l in 0..lines {
        let order: Vec<&String> = seen.iter().filter(|t| t.starts_with(&format!("{l}:"))).collect();
        let expected: Vec<String> = (0..per_line).map(|r| format!("{l}:{r}")).collect();
        assert_eq!(order, expected.iter().collect::<Vec<_>>(), "line {l} out of order");
    }
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
}

pub(crate) async fn a_dead_holder_delays_its_line_at_most_until_its_reclaim_or_its_lease(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let lease = Duration::from_millis(400);
    s.enqueue_once(QueueName::Outbox, &[in_line("a1", "a", lease), in_line("a2", "a", lease)]).await.unwrap();
    assert_eq!(payloads(&claim_now(s, "dead").await), ["a1"]);
    // Re-claimed from the dead worker within its lease, a1 goes on holding the turn.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let taken = s.reclaim(QueueName::Outbox, "w", Duration::from_millis(100), 10).await.unwrap();
    assert_eq!(payloads(&taken), ["a1"]);
    assert!(claim_now(s, "w").await.is_empty(), "a2 still waits");
    s.ack(QueueName::Outbox, &[taken[0].id.clone()]).await.unwrap();
    let next = claim_now(s, "w").await;
    assert_eq!(payloads(&next), ["a2"]);
    // A holder that stays silent past its lease no longer blocks the line.
    s.enqueue_once(QueueName::Outbox, &[in_line("a3", "a", lease)]).await.unwrap();
    assert!(claim_now(s, "w").await.is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.enqueue_once(QueueName::Outbox, &[in_line("a4", "a", lease)]).await.unwrap();
    let late = claim_now(s, "w").await;
    assert_eq!(payloads(&late), ["a4"], "the lease ran out: the line moves on");
    s.ack(QueueName::Outbox, &[late[0].id.clone()]).await.unwrap();
    let waited = claim_now(s, "w").await;
    assert_eq!(payloads(&waited), ["a3"], "what waited comes next");
    s.ack(QueueName::Outbox, &[waited[0].id.clone(), next[0].id.clone()]).await.unwrap();
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
}
