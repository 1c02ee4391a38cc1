//! [`CounterStore`](store::CounterStore): interactions and unique users per day, failed replies
//! per day and reason.

use jiff::civil::date;
use schemas::{PhoneNumber, Topic, UserAddress, UserHasher};
use store::Interaction;
use testkit::StoreKind;

pub(crate) async fn interactions_and_unique_users_are_counted_per_day(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let user = |i: u64| hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147700{i:05}")).unwrap()));
    let (d1, d2) = (date(2020, 5, 27), date(2020, 5, 28));
    let mut batch = Vec::new();
    for i in 0..2_000u64 {
        batch.push(Interaction { day: d1, topic: Topic::from_static("confirmados"), user: user(i) });
        if i % 2 == 0 {
            batch.push(Interaction { day: d1, topic: Topic::from_static("sintomas"), user: user(i) });
        }
    }
    for i in 1_000..3_000u64 {
        batch.push(Interaction { day: d2, topic: Topic::MENU, user: user(i) });
    }
    for chunk in batch.chunks(512) {
        s.record_interactions(chunk).await.unwrap();
    }
    let days = s.interactions(date(2020, 5, 26), date(2020, 5, 30)).await.unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].day, Some(d1));
    assert_eq!(days[0].by_topic[&Topic::from_static("confirmados")], 2_000);
    assert_eq!(days[0].by_topic[&Topic::from_static("sintomas")], 1_000);
    assert_eq!(days[0].total(), 3_000);
    assert_eq!(days[1].by_topic[&Topic::MENU], 2_000);
    let within = |got: u64, want: f64| (got as f64 - want).abs() <= want * 0.02;
    assert!(within(days[0].unique_users, 2_000.0), "{}", days[0].unique_users);
    let both = s.unique_users(d1, d2).await.unwrap();
    assert!(within(both, 3_000.0), "union of two days: {both}");
    assert_eq!(s.unique_users(date(2021, 1, 1), date(2021, 1, 31)).await.unwrap(), 0);
}

pub(crate) async fn failed_replies_are_counted_per_day_and_reason(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let (d1, d2) = (date(2020, 5, 27), date(2020, 6, 1));
    let failure = |day, reason: &str| (day, reason.to_owned());
    s.record_failed_replies(&[failure(d1, "unreachable:131026"), failure(d1, "expired")]).await.unwrap();
    s.record_failed_replies(&[failure(d1, "unreachable:131026"), failure(d2, "opted_out:131050")]).await.unwrap();
    s.record_failed_replies(&[]).await.unwrap();
    let days = s.failed_replies(date(2020, 5, 1), date(2020, 6, 30)).await.unwrap();
    assert_eq!(days.iter().map(|d| d.day).collect::<Vec<_>>(), vec![d1, d2], "only days with failures");
    assert_eq!(days[0].by_reason["unreachable:131026"], 2);
    assert_eq!(days[0].by_reason["expired"], 1);
    assert_eq!(days[1].by_reason.len(), 1);
    assert_eq!(days[1].by_reason["opted_out:131050"], 1);
    assert_eq!(s.failed_replies(date(2020, 5, 28), date(2020, 5, 31)).await.unwrap(), vec![]);
}
