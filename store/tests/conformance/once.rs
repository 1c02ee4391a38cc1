//! [`QueueStore::enqueue_once`](store::QueueStore::enqueue_once): work offered again is added
//! once, leases, expiry, concurrent offers, flood windows.

use std::time::Duration;

use store::{Mark, OnceOp, QueueName, Window};
use testkit::StoreKind;

use crate::HOUR;

fn offer(id: &str, payload: Option<&str>) -> OnceOp {
    OnceOp::Enqueue {
        id: id.into(),
        payload: payload.map(|p| p.as_bytes().to_vec()),
        ttl: HOUR,
        leased: false,
        window: None,
        line: None,
    }
}

async fn claimed_payloads(s: &store::SharedStore) -> Vec<String> {
    let got = s.claim(QueueName::Outbox, "w", 1000, Duration::ZERO).await.unwrap();
    s.ack(QueueName::Outbox, &got.iter().map(|e| e.id.clone()).collect::<Vec<_>>()).await.unwrap();
    got.into_iter().map(|e| String::from_utf8(e.payload).unwrap()).collect()
}

pub(crate) async fn work_offered_again_is_enqueued_once(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let first = [offer("meta:A", Some("reply A")), offer("meta:B", None), offer("meta:A", Some("A again"))];
    let found = s.enqueue_once(QueueName::Outbox, &first).await.unwrap();
    assert_eq!(found, [Mark::Unmarked, Mark::Unmarked, Mark::Done], "the same id twice in one batch");
    assert_eq!(claimed_payloads(s).await, ["reply A"], "a mark without a payload adds nothing");
    let again = [offer("meta:B", Some("B now")), offer("meta:A", Some("A later")), offer("meta:C", Some("reply C"))];
    assert_eq!(s.enqueue_once(QueueName::Outbox, &again).await.unwrap(), [Mark::Done, Mark::Done, Mark::Unmarked]);
    assert_eq!(claimed_payloads(s).await, ["reply C"]);
    // Marks belong to their queue.
    let other = s.enqueue_once(QueueName::Broadcast, &[offer("meta:A", None)]).await.unwrap();
    assert_eq!(other, [Mark::Unmarked]);
    assert!(s.enqueue_once(QueueName::Outbox, &[]).await.unwrap().is_empty());
    assert_eq!(s.depth(QueueName::Outbox).await.unwrap().total(), 0);
}

pub(crate) async fn a_lease_holds_work_until_it_is_done_or_released(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let lease = |id: &str| OnceOp::Lease { id: id.into(), ttl: HOUR, window: None };
    let release = |id: &str| OnceOp::Release { id: id.into() };
    let finish = |id: &str| OnceOp::Enqueue {
        id: id.into(),
        payload: Some(format!("done {id}").into_bytes()),
        ttl: HOUR,
        leased: true,
        window: None,
        line: None,
    };
    let q = QueueName::Outbox;
    assert_eq!(s.enqueue_once(q, &[lease("L1"), lease("L1")]).await.unwrap(), [Mark::Unmarked, Mark::Leased]);
    // Someone else offering the same work while it is in flight is told so and adds nothing.
    assert_eq!(s.enqueue_once(q, &[offer("L1", Some("not me"))]).await.unwrap(), [Mark::Leased]);
    assert_eq!(s.enqueue_once(q, &[finish("L1")]).await.unwrap(), [Mark::Leased]);
    assert_eq!(s.enqueue_once(q, &[lease("L1"), finish("L1"), release("L1")]).await.unwrap(), [Mark::Done; 3]);
    assert_eq!(claimed_payloads(s).await, ["done L1"]);
    // A released lease lets the work be taken again at once.
    assert_eq!(s.enqueue_once(q, &[lease("L2"), release("L2")]).await.unwrap(), [Mark::Unmarked, Mark::Leased]);
    assert_eq!(s.enqueue_once(q, &[lease("L2")]).await.unwrap(), [Mark::Unmarked]);
    assert_eq!(
        s.enqueue_once(q, &[release("L2"), offer("L2", Some("L2"))]).await.unwrap(),
        [Mark::Leased, Mark::Unmarked]
    );
    assert_eq!(s.enqueue_once(q, &[release("never")]).await.unwrap(), [Mark::Unmarked]);
    assert_eq!(claimed_payloads(s).await, ["L2"]);
}

pub(crate) async fn once_marks_expire_after_their_ttl(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let q = QueueName::Outbox;
    let short = |id: &str| OnceOp::Enqueue {
        id: id.into(),
        payload: Some(id.as_bytes().to_vec()),
        ttl: Duration::from_millis(300),
        leased: false,
        window: None,
        line: None,
    };
    let lease = OnceOp::Lease { id: "X2".into(), ttl: Duration::from_millis(300), window: None };
    assert_eq!(s.enqueue_once(q, &[short("X1"), lease.clone()]).await.unwrap(), [Mark::Unmarked; 2]);
    assert_eq!(s.enqueue_once(q, &[short("X1"), lease.clone()]).await.unwrap(), [Mark::Done, Mark::Leased]);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(s.enqueue_once(q, &[short("X1"), lease]).await.unwrap(), [Mark::Unmarked; 2], "marks expire");
    assert_eq!(claimed_payloads(s).await, ["X1", "X1"]);
}

pub(crate) async fn concurrent_offers_of_the_same_work_enqueue_it_once(kind: StoreKind) {
    let f = kind.open().await;
    const IDS: usize = 60;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = f.store.clone();
            tokio::spawn(async move {
                let mut added = 0;
                for chunk in (0..IDS).collect::<Vec<_>>().chunks(7 + t) {
                    let ops: Vec<OnceOp> =
                        chunk.iter().map(|i| offer(&format!("meta:C{i}"), Some(&format!("{i}")))).collect();
                    let found = s.enqueue_once(QueueName::Outbox, &ops).await.unwrap();
                    added += found.iter().filter(|m| **m == Mark::Unmarked).count();
                }
                added
            })
        })
        .collect();
    let mut added = 0;
    for t in tasks {
        added += t.await.unwrap();
    }
    assert_eq!(added, IDS, "each id is added by exactly one offer");
    let mut got: Vec<usize> = claimed_payloads(&f.store).await.iter().map(|p| p.parse().unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..IDS).collect::<Vec<_>>());
}

pub(crate) async fn a_window_adds_its_limit_and_only_marks_the_rest(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let q = QueueName::Outbox;
    let window = |name: &str| Window { name: name.into(), limit: 2, ttl: Duration::from_millis(400) };
    let flood = |id: &str, sender: &str| OnceOp::Enqueue {
        id: id.into(),
        payload: Some(id.as_bytes().to_vec()),
        ttl: HOUR,
        leased: false,
        window: Some(window(sender)),
        line: None,
    };
    let first = [flood("F1", "u1"), flood("F2", "u1"), flood("F3", "u1"), flood("F1", "u1"), flood("G1", "u2")];
    let found = s.enqueue_once(q, &first).await.unwrap();
    assert_eq!(found, [Mark::Unmarked, Mark::Unmarked, Mark::OverLimit(3), Mark::Done, Mark::Unmarked]);
    // A refused offer is marked done; a repeat does not count again.
    let found = s.enqueue_once(q, &[flood("F3", "u1"), flood("F4", "u1")]).await.unwrap();
    assert_eq!(found, [Mark::Done, Mark::OverLimit(4)]);
    // A lease counts in its window, and beyond the limit takes nothing; the work it finishes
    // counted there already.
    let lease = |id: &str, sender: &str| OnceOp::Lease { id: id.into(), ttl: HOUR, window: Some(window(sender)) };
    let finish = OnceOp::Enqueue {
        id: "G2".into(),
        payload: Some(b"G2".to_vec()),
        ttl: HOUR,
        leased: true,
        window: Some(window("u2")),
        line: None,
    };
    let found = s.enqueue_once(q, &[lease("F5", "u1"), lease("G2", "u2"), finish, lease("F5", "u1")]).await.unwrap();
    assert_eq!(found, [Mark::OverLimit(5), Mark::Unmarked, Mark::Leased, Mark::OverLimit(6)]);
    assert_eq!(s.enqueue_once(q, &[flood("G3", "u2")]).await.unwrap(), [Mark::OverLimit(3)]);
    assert_eq!(claimed_payloads(s).await, ["F1", "F2", "G1", "G2"]);
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(s.enqueue_once(q, &[flood("F6", "u1")]).await.unwrap(), [Mark::Unmarked], "a window ends");
    assert_eq!(claimed_payloads(s).await, ["F6"]);
}
