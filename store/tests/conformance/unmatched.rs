//! [`UnmatchedStore`](store::UnmatchedStore): «Sin entender» counts distinct citizens, forgets
//! what expired and stays bounded.

use std::time::Duration;

use jiff::Timestamp;
use schemas::{PhoneNumber, UserAddress, UserHasher};
use store::UnmatchedMessage;
use store::unmatched::{MAX_CITIZENS, MAX_PHRASES};
use testkit::StoreKind;

pub(crate) async fn phrases_not_understood_count_distinct_citizens_expire_and_stay_bounded(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let user = |i: u64| hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147700{i:05}")).unwrap()));
    let now: Timestamp = "2020-05-27T18:00:00Z".parse().unwrap();
    let keep = Duration::from_secs(30 * 86_400);
    let minutes = |m: i64| now - jiff::SignedDuration::from_mins(m);
    let said = |phrase: &str, i: u64, at: Timestamp| UnmatchedMessage { phrase: phrase.into(), user: user(i), at };
    // Five citizens, one of them ten times; four citizens; one phrase last seen 31 days ago.
    let mut batch: Vec<UnmatchedMessage> = (0..10).map(|m| said("donde hay oxigeno", 0, minutes(m))).collect();
    batch.extend((1..5).map(|i| said("donde hay oxigeno", i, minutes(60 + i as i64))));
    batch.extend((0..4).map(|i| said("cuanto cuesta la prueba", i, minutes(5))));
    s.record_unmatched(&batch[..7], now, keep).await.unwrap();
    s.record_unmatched(&batch[7..], now, keep).await.unwrap();
    s.record_unmatched(&[said("ya paso", 9, minutes(31 * 24 * 60))], minutes(31 * 24 * 60), keep).await.unwrap();
    let shown = s.unmatched(5, now, keep).await.unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!((shown[0].phrase.as_str(), shown[0].citizens), ("donde hay oxigeno", 5));
    assert_eq!((shown[0].first_seen, shown[0].last_seen), (minutes(64), now));
    let all: Vec<(String, u64)> =
        s.unmatched(1, now, keep).await.unwrap().into_iter().map(|p| (p.phrase, p.citizens)).collect();
    assert_eq!(all, [("donde hay oxigeno".into(), 5), ("cuanto cuesta la prueba".into(), 4)], "«ya paso» expired");
    // Another replica adding to the same phrase: the same citizens count once.
    let again: Vec<UnmatchedMessage> = (0..6).map(|i| said("cuanto cuesta la prueba", i, now)).collect();
    s.record_unmatched(&again, now, keep).await.unwrap();
    assert_eq!(s.unmatched(5, now, keep).await.unwrap().iter().map(|p| p.citizens).collect::<Vec<_>>(), [6, 5]);
    // A phrase's count stops at MAX_CITIZENS.
    let crowd: Vec<UnmatchedMessage> =
        (0..MAX_CITIZENS as u64 + 5).map(|i| said("vacuna para ninos", i, now)).collect();
    s.record_unmatched(&crowd, now, keep).await.unwrap();
    assert_eq!(s.unmatched(MAX_CITIZENS as u64, now, keep).await.unwrap()[0].citizens, MAX_CITIZENS as u64);
    // Beyond MAX_PHRASES, a new phrase evicts the one unseen longest.
    let many: Vec<UnmatchedMessage> = (0..MAX_PHRASES as i64)
        .map(|i| said(&format!("frase {i}"), 1, now + jiff::SignedDuration::from_secs(i + 1)))
        .collect();
    let later = now + jiff::SignedDuration::from_hours(1);
    s.record_unmatched(&many, later, keep).await.unwrap();
    let kept = s.unmatched(1, later, keep).await.unwrap();
    assert_eq!(kept.len(), MAX_PHRASES);
    assert!(kept.iter().all(|p| p.phrase.starts_with("frase ")), "the older phrases were evicted first");
}
