//! The conformance suite of Conéctate's store capabilities (contents, delivery reports, the
//! messaging-limit window), run against both stores and the Redis Cluster like `conformance/`.

use std::collections::BTreeMap;
use std::time::Duration;

use store::ReportUpdate;
use testkit::StoreKind;

testkit::on_both_stores!(
    on_cluster;
    watch_slots;
    contents_change_only_from_the_revision_they_were_read_at,
    contents_are_listed_in_id_order_past_gaps,
    a_report_item_never_moves_backwards_and_counts_follow_it,
    concurrent_report_updates_keep_the_counts_exact,
    the_messaging_limit_admits_at_most_its_unique_users,
    two_senders_never_overshoot_the_messaging_limit_together,
);

async fn contents_change_only_from_the_revision_they_were_read_at(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    assert_eq!(s.content_record(1).await.unwrap(), None);
    let (a, b) = (s.next_content_id().await.unwrap(), s.next_content_id().await.unwrap());
    assert_eq!((a, b), (1, 2));
    assert_eq!(s.put_content_record(a, 0, br#"{"v":1}"#).await.unwrap(), Some(1));
    assert_eq!(s.put_content_record(a, 0, br#"{"v":"other"}"#).await.unwrap(), None, "already created");
    assert_eq!(s.put_content_record(a, 1, br#"{"v":2,"t":"a|b"}"#).await.unwrap(), Some(2));
    assert_eq!(s.put_content_record(a, 1, br#"{"v":3}"#).await.unwrap(), None, "a stale writer loses");
    let stored = s.content_record(a).await.unwrap().unwrap();
    assert_eq!((stored.revision, stored.record.as_slice()), (2, br#"{"v":2,"t":"a|b"}"#.as_slice()));
    // Two writers from the same revision: exactly one wins.
    let (x, y) = tokio::join!(s.put_content_record(a, 2, b"x"), s.put_content_record(a, 2, b"y"));
    assert_eq!([x.unwrap(), y.unwrap()].iter().flatten().count(), 1);
}

async fn contents_are_listed_in_id_order_past_gaps(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    for n in 1..=5u64 {
        let id = s.next_content_id().await.unwrap();
        // Id 3 is taken and never written, like a create that crashed.
        if n != 3 {
            s.put_content_record(id, 0, format!("c{id}").as_bytes()).await.unwrap();
        }
    }
    let ids = |v: Vec<(u64, store::Revised)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(s.content_records(0, 100).await.unwrap()), vec![1, 2, 4, 5]);
    assert_eq!(ids(s.content_records(1, 2).await.unwrap()), vec![2, 4]);
    assert_eq!(ids(s.content_records(4, 10).await.unwrap()), vec![5]);
    assert!(s.content_records(5, 10).await.unwrap().is_empty());
    assert_eq!(s.content_records(0, 1).await.unwrap()[0].1.record, b"c1");
}

fn update(content: u64, item: &str, rank: u8, label: &str) -> ReportUpdate {
    ReportUpdate { content, item: item.into(), rank, label: label.into() }
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

async fn a_report_item_never_moves_backwards_and_counts_follow_it(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let keep = Duration::from_secs(3600);
    // Out of order: read arrives before delivered, and a repeated sent changes nothing.
    let moved = s
        .advance_report(
            &[
                update(7, "m:a", 1, "queued"),
                update(7, "m:a", 4, "read"),
                update(7, "m:a", 3, "delivered"),
                update(7, "m:b", 2, "sent"),
                update(7, "m:b", 2, "sent"),
                update(7, "m:c", 2, "sent"),
                update(7, "m:c", 5, "failed:131050"),
                update(8, "m:a", 2, "sent"),
            ],
            keep,
        )
        .await
        .unwrap();
    assert_eq!(moved, vec![true, true, false, true, false, true, true, true]);
    assert_eq!(s.report_counts(7).await.unwrap(), counts(&[("read", 1), ("sent", 1), ("failed:131050", 1)]));
    assert_eq!(s.report_counts(8).await.unwrap(), counts(&[("sent", 1)]));
    assert!(s.report_counts(9).await.unwrap().is_empty());
    // Equal ranks: the first one stays (a recipient's outcome is final).
    let moved = s
        .advance_report(&[update(7, "r:u1", 1, "sent:template"), update(7, "r:u1", 1, "skipped:unsubscribed")], keep)
        .await
        .unwrap();
    assert_eq!(moved, vec![true, false]);
    assert_eq!(s.report_counts(7).await.unwrap()["sent:template"], 1);
    assert!(!s.report_counts(7).await.unwrap().contains_key("skipped:unsubscribed"));
}

async fn concurrent_report_updates_keep_the_counts_exact(kind: StoreKind) {
    let f = kind.open().await;
    let s = f.store.clone();
    let keep = Duration::from_secs(3600);
    // Two webhooks race over the same 200 messages with different statuses.
    let batch = |states: &'static [(u8, &'static str)]| {
        (0..200)
            .flat_map(move |i| states.iter().map(move |(r, l)| update(3, &format!("m:{i}"), *r, l)))
            .collect::<Vec<_>>()
    };
    let one = batch(&[(2, "sent"), (4, "read")]);
    let two = batch(&[(3, "delivered"), (1, "queued")]);
    let (a, b) = (s.clone(), s.clone());
    let (x, y) = tokio::join!(
        tokio::spawn(async move { a.advance_report(&one, keep).await }),
        tokio::spawn(async move { b.advance_report(&two, keep).await })
    );
    x.unwrap().unwrap();
    y.unwrap().unwrap();
    assert_eq!(s.report_counts(3).await.unwrap(), counts(&[("read", 200)]));
}

fn users(range: std::ops::Range<u32>) -> Vec<schemas::UserKey> {
    range.map(|i| format!("{i:032x}").parse().unwrap()).collect()
}

async fn the_messaging_limit_admits_at_most_its_unique_users(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let window = Duration::from_millis(600);
    let u = users(0..5);
    let first = s.reach(&u[..3], window, 3).await.unwrap();
    assert_eq!((first.admitted, first.next_free_in, first.in_window), (vec![true; 3], None, 3));
    // A user already reached stays admitted; a fourth one waits.
    let again = s.reach(&[u[1], u[3]], window, 3).await.unwrap();
    assert_eq!(again.admitted, vec![true, false]);
    let wait = again.next_free_in.expect("when a place frees");
    assert!(wait <= window, "{wait:?}");
    assert_eq!(s.reached(window).await.unwrap(), 3);
    // Once the window has passed, there is room again.
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assert_eq!(s.reached(window).await.unwrap(), 0);
    let later = s.reach(&u[3..5], window, 3).await.unwrap();
    assert_eq!((later.admitted, later.in_window), (vec![true, true], 2));
    // Unlimited: everyone.
    assert!(s.reach(&users(10..60), window, u64::MAX).await.unwrap().admitted.iter().all(|a| *a));
}

async fn two_senders_never_overshoot_the_messaging_limit_together(kind: StoreKind) {
    let f = kind.open().await;
    let window = Duration::from_secs(60);
    let (a, b) = (f.store.clone(), f.store.clone());
    let one = tokio::spawn(async move {
        let mut admitted = 0;
        for chunk in users(0..80).chunks(8) {
            admitted += a.reach(chunk, window, 100).await.unwrap().admitted.iter().filter(|x| **x).count();
        }
        admitted
    });
    let two = tokio::spawn(async move {
        let mut admitted = 0;
        for chunk in users(1000..1080).chunks(8) {
            admitted += b.reach(chunk, window, 100).await.unwrap().admitted.iter().filter(|x| **x).count();
        }
        admitted
    });
    let total = one.await.unwrap() + two.await.unwrap();
    assert_eq!(total, 100);
    assert_eq!(f.store.reached(window).await.unwrap(), 100);
}
