//! One conformance suite, run against both stores and the Redis store on a Redis Cluster. The
//! Redis runs talk to the real `redis-server` and three-node cluster whose URLs `scripts/test`
//! puts in `CONTACTO_TEST_REDIS_URL` and `CONTACTO_TEST_REDIS_CLUSTER_URL`; every test uses a
//! key prefix of its own, so tests run in parallel on one server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::date;
use schemas::{
    Actor, Answer, AnswerKey, ChannelKind, ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, IngestRun,
    KeyLayout, PhoneNumber, Provenance, RunFilter, RunResult, Scope, SnapshotContent, SnapshotVersion, Topic,
    UserAddress, UserHasher, UserKey,
};
use store::unmatched::{MAX_CITIZENS, MAX_PHRASES};
use store::{
    Interaction, KvOp, KvReply, Line, Mark, OnceOp, QueueName, Rate, StoreConfig, StoreError, UnmatchedMessage, Window,
};

use testkit::StoreKind;

testkit::on_both_stores!(
    on_cluster;
    watch_slots;
    snapshots_publish_read_and_roll_back,
    a_stale_publisher_gets_a_conflict_and_writes_nothing,
    only_the_newest_versions_are_kept_and_never_the_current_one,
    a_reader_never_sees_a_partly_written_snapshot,
    new_versions_are_announced,
    keys_expire_after_their_ttl,
    two_concurrent_claimers_never_get_the_same_entry,
    entries_of_a_dead_consumer_are_reclaimed,
    delayed_entries_wait_for_their_time,
    interactions_and_unique_users_are_counted_per_day,
    failed_replies_are_counted_per_day_and_reason,
    consent_changes_are_applied_once_and_all_ledgered,
    runs_are_listed_newest_first_and_filtered,
    a_kv_batch_answers_each_operation_in_place,
    entries_and_their_marks_are_written_together,
    work_offered_again_is_enqueued_once,
    a_lease_holds_work_until_it_is_done_or_released,
    once_marks_expire_after_their_ttl,
    a_window_adds_its_limit_and_only_marks_the_rest,
    concurrent_offers_of_the_same_work_enqueue_it_once,
    the_rate_governor_grants_at_most_its_rate,
    rate_buckets_are_shared_charged_and_paused,
    a_line_hands_out_one_entry_at_a_time_in_the_order_added,
    concurrent_workers_take_each_line_in_order_one_at_a_time,
    a_dead_holder_delays_its_line_at_most_until_its_reclaim_or_its_lease,
    phrases_not_understood_count_distinct_citizens_expire_and_stay_bounded,
);

/// `n` answers whose every body carries `marker`, so a reader can tell versions apart.
fn content(marker: u64, n: usize) -> SnapshotContent {
    let mut c = SnapshotContent::default();
    let keys = Topic::ALL.into_iter().flat_map(|t| Scope::all().map(move |s| AnswerKey::new(t, s)));
    c.replace_source(
        Provenance {
            source: "covid".parse().unwrap(),
            url: "file:///fixtures/covid.zip".into(),
            fetched_at: Timestamp::now(),
            data_date: date(2020, 5, 27),
            checksum: format!("{marker:064x}"),
            rows: n as u64,
        },
        keys.take(n).map(|k| (k, Answer::text(format!("Casos: {marker} ({k})")).unwrap())),
    );
    c
}

fn marker_of(snapshot: &schemas::Snapshot) -> BTreeSet<String> {
    snapshot.content.answers.values().map(|a| a.answer.body().split(' ').nth(1).unwrap().to_owned()).collect()
}

async fn snapshots_publish_read_and_roll_back(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    assert_eq!(s.current_version().await.unwrap(), None);
    assert!(s.current_snapshot().await.unwrap().is_none());
    assert!(matches!(s.rollback(None, Actor::CommandLine).await, Err(StoreError::NothingToRollBack)));

    let v1 = s.publish(&content(1, 40), None, 5).await.unwrap();
    let v2 = s.publish(&content(2, 40), Some(v1.version), 5).await.unwrap();
    assert!(v2.version > v1.version);
    let current = s.current_snapshot().await.unwrap().unwrap();
    assert_eq!(current, v2);
    assert_eq!(s.snapshot(v1.version).await.unwrap().unwrap().content, content(1, 40).clone_with_time(&v1));

    assert_eq!(s.rollback(None, Actor::CommandLine).await.unwrap(), v1.version);
    assert_eq!(s.current_version().await.unwrap(), Some(v1.version));
    assert_eq!(marker_of(&s.current_snapshot().await.unwrap().unwrap()), BTreeSet::from(["1".to_owned()]));
    assert_eq!(s.rollback(Some(v2.version), Actor::AdminToken).await.unwrap(), v2.version);
    assert!(matches!(
        s.rollback(Some(SnapshotVersion(999)), Actor::AdminToken).await,
        Err(StoreError::NoSuchVersion(_))
    ));

    let history = s.pointer_history(10).await.unwrap();
    let seen: Vec<_> = history.iter().map(|c| (c.version, c.reason, c.from, c.by)).collect();
    use store::PointerReason::*;
    let (one, two) = (v1.version, v2.version);
    assert_eq!(
        seen,
        vec![
            (two, Rollback, Some(one), Some(Actor::AdminToken)),
            (one, Rollback, Some(two), Some(Actor::CommandLine)),
            (two, Publish, Some(one), None),
            (one, Publish, None, None),
        ]
    );
    let versions = s.versions().await.unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.version, v.answers, v.current)).collect::<Vec<_>>(),
        vec![(v2.version, 40, true), (v1.version, 40, false)]
    );
}

trait WithTime {
    fn clone_with_time(&self, published: &schemas::Snapshot) -> SnapshotContent;
}

impl WithTime for SnapshotContent {
    /// The content as published: provenance times are the fixture's own, so compare everything
    /// but `fetched_at`.
    fn clone_with_time(&self, published: &schemas::Snapshot) -> SnapshotContent {
        let mut c = self.clone();
        for (name, p) in c.provenance.iter_mut() {
            p.fetched_at = published.content.provenance[name].fetched_at;
        }
        c
    }
}

async fn a_stale_publisher_gets_a_conflict_and_writes_nothing(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let v1 = s.publish(&content(1, 5), None, 5).await.unwrap();
    let err = s.publish(&content(2, 5), None, 5).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: None, found: Some(v) } if v == v1.version), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(s.current_version().await.unwrap(), Some(v1.version));
    assert_eq!(s.versions().await.unwrap().len(), 1);
}

async fn only_the_newest_versions_are_kept_and_never_the_current_one(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let mut versions = Vec::new();
    let mut current = None;
    for i in 0..5 {
        let snap = s.publish(&content(i, 3), current, 3).await.unwrap();
        current = Some(snap.version);
        versions.push(snap.version);
    }
    let kept: Vec<SnapshotVersion> = s.versions().await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(kept, vec![versions[4], versions[3], versions[2]]);
    assert!(s.snapshot(versions[0]).await.unwrap().is_none());

    // Roll back to the oldest kept, then publish past it: the current one survives pruning.
    s.rollback(Some(versions[2]), Actor::AdminToken).await.unwrap();
    let next = s.publish(&content(9, 3), Some(versions[2]), 2).await.unwrap();
    let kept: Vec<SnapshotVersion> = s.versions().await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(kept, vec![next.version, versions[4]]);
    assert!(s.rollback(None, Actor::CommandLine).await.is_ok());
}

async fn a_reader_never_sees_a_partly_written_snapshot(kind: StoreKind) {
    let f = kind.open().await;
    const ANSWERS: usize = 600;
    const VERSIONS: u64 = 30;
    let s = f.store.clone();
    s.publish(&content(0, ANSWERS), None, 3).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            let mut markers = BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let snap = s.current_snapshot().await.unwrap().unwrap();
                assert_eq!(snap.content.answers.len(), ANSWERS, "a snapshot was read with missing answers");
                let m = marker_of(&snap);
                assert_eq!(m.len(), 1, "answers from two versions were mixed: {m:?}");
                assert_eq!(
                    snap.content.provenance["covid"].checksum,
                    format!("{:064x}", m.first().unwrap().parse::<u64>().unwrap())
                );
                markers.extend(m);
                reads += 1;
            }
            (reads, markers)
        })
    };
    let mut current = s.current_version().await.unwrap();
    for i in 1..=VERSIONS {
        current = Some(s.publish(&content(i, ANSWERS), current, 3).await.unwrap().version);
        tokio::task::yield_now().await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, markers) = reader.await.unwrap();
    assert!(reads > 10, "the reader should have overlapped the publications ({reads} reads)");
    assert!(markers.len() > 1, "the reader saw only {markers:?}");
}

async fn new_versions_are_announced(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let mut rx = s.watch_current(Duration::from_millis(200)).await.unwrap();
    let v1 = s.publish(&content(1, 2), None, 5).await.unwrap().version;
    tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|v| *v == Some(v1))).await.unwrap().unwrap();
    let v2 = s.publish(&content(2, 2), Some(v1), 5).await.unwrap().version;
    tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|v| *v == Some(v2))).await.unwrap().unwrap();
    s.rollback(None, Actor::CommandLine).await.unwrap();
    tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|v| *v == Some(v1))).await.unwrap().unwrap();
}

/// Another process on the same Redis (or on another node of the cluster) hears a publication
/// by pub/sub at once, long before its poll would find it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_hears_a_publication_at_once() {
    for (kind, url) in
        [(StoreKind::Redis, testkit::redis_url()), (StoreKind::RedisCluster, testkit::redis_cluster_url())]
    {
        let f = kind.open().await;
        let other = store::open(&StoreConfig::Redis { url, keys: f.store.keys().clone() }).await.unwrap();
        let mut rx = other.watch_current(Duration::from_secs(600)).await.unwrap();
        // The first version may arrive by the watcher's first poll, which follows its subscription.
        let v1 = f.store.publish(&content(1, 2), None, 5).await.unwrap().version;
        tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|v| *v == Some(v1))).await.unwrap().unwrap();
        let v2 = f.store.publish(&content(2, 2), Some(v1), 5).await.unwrap().version;
        let heard = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|v| *v == Some(v2))).await;
        assert!(heard.is_ok(), "{kind:?}: the announcement of {v2} did not arrive");
    }
}

async fn keys_expire_after_their_ttl(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let k = s.keys().clone();
    let seen = k.seen_message("meta", "wamid.TEST1");
    let ttl = Duration::from_millis(300);
    assert!(s.set_if_absent(&seen, ttl).await.unwrap());
    assert!(!s.set_if_absent(&seen, ttl).await.unwrap(), "a second delivery must be seen as a duplicate");

    let user: UserKey = "00112233445566778899aabbccddeeff".parse().unwrap();
    let session = k.session(&user);
    s.put(&session, b"menu:cifras", Some(ttl)).await.unwrap();
    assert_eq!(s.get(&session).await.unwrap().as_deref(), Some(&b"menu:cifras"[..]));
    let forever = k.flag("sender-paused");
    s.put(&forever, b"1", None).await.unwrap();

    let flood = k.flood(&user, 1);
    assert_eq!(s.incr(&flood, ttl).await.unwrap(), 1);
    assert_eq!(s.incr(&flood, ttl).await.unwrap(), 2);
    assert_eq!(s.incr(&flood, ttl).await.unwrap(), 3);

    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(s.set_if_absent(&seen, ttl).await.unwrap(), "the dedupe marker must expire");
    assert_eq!(s.get(&session).await.unwrap(), None, "the session must expire");
    assert_eq!(s.incr(&flood, ttl).await.unwrap(), 1, "a new window starts at one");
    assert_eq!(s.get(&forever).await.unwrap().as_deref(), Some(&b"1"[..]));
    s.delete(&forever).await.unwrap();
    assert_eq!(s.get(&forever).await.unwrap(), None);
}

async fn two_concurrent_claimers_never_get_the_same_entry(kind: StoreKind) {
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

async fn entries_of_a_dead_consumer_are_reclaimed(kind: StoreKind) {
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

async fn delayed_entries_wait_for_their_time(kind: StoreKind) {
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

async fn interactions_and_unique_users_are_counted_per_day(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let user = |i: u64| hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147700{i:05}")).unwrap()));
    let (d1, d2) = (date(2020, 5, 27), date(2020, 5, 28));
    let mut batch = Vec::new();
    for i in 0..2_000u64 {
        batch.push(Interaction { day: d1, topic: Topic::Confirmados, user: user(i) });
        if i % 2 == 0 {
            batch.push(Interaction { day: d1, topic: Topic::Sintomas, user: user(i) });
        }
    }
    for i in 1_000..3_000u64 {
        batch.push(Interaction { day: d2, topic: Topic::Menu, user: user(i) });
    }
    for chunk in batch.chunks(512) {
        s.record_interactions(chunk).await.unwrap();
    }
    let days = s.interactions(date(2020, 5, 26), date(2020, 5, 30)).await.unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].day, Some(d1));
    assert_eq!(days[0].by_topic[&Topic::Confirmados], 2_000);
    assert_eq!(days[0].by_topic[&Topic::Sintomas], 1_000);
    assert_eq!(days[0].total(), 3_000);
    assert_eq!(days[1].by_topic[&Topic::Menu], 2_000);
    let within = |got: u64, want: f64| (got as f64 - want).abs() <= want * 0.02;
    assert!(within(days[0].unique_users, 2_000.0), "{}", days[0].unique_users);
    let both = s.unique_users(d1, d2).await.unwrap();
    assert!(within(both, 3_000.0), "union of two days: {both}");
    assert_eq!(s.unique_users(date(2021, 1, 1), date(2021, 1, 31)).await.unwrap(), 0);
}

async fn phrases_not_understood_count_distinct_citizens_expire_and_stay_bounded(kind: StoreKind) {
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

async fn failed_replies_are_counted_per_day_and_reason(kind: StoreKind) {
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

async fn consent_changes_are_applied_once_and_all_ledgered(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let change = |phone: &str, action, signal| {
        let address = UserAddress::Phone(PhoneNumber::parse(phone).unwrap());
        ConsentChange {
            user: hasher.key(&address),
            address,
            channel: ChannelKind::Meta,
            business_number: "106540352242922".into(),
            action,
            signal,
            at: Timestamp::now(),
            consent_text_version: "2020-06-01".into(),
            municipio: None,
        }
    };
    let alta = change("5214771234567", ConsentAction::Subscribe, ConsentSignal::Keyword("alta".into()));
    assert_eq!(s.apply_consent(&alta).await.unwrap(), ConsentOutcome::Subscribed);
    assert_eq!(s.apply_consent(&alta).await.unwrap(), ConsentOutcome::AlreadySubscribed);
    assert_eq!(s.subscriber_count().await.unwrap(), 1);
    let sub = s.subscriber(&alta.user).await.unwrap().unwrap();
    assert_eq!(sub.address, alta.address);
    for i in 0..25 {
        let other = change(&format!("52147799{i:05}"), ConsentAction::Subscribe, ConsentSignal::Button("ALTA".into()));
        s.apply_consent(&other).await.unwrap();
    }
    assert_eq!(s.subscriber_count().await.unwrap(), 26);
    // Page through everyone: each exactly once, in key order.
    let mut seen = Vec::new();
    let mut after: Option<UserKey> = None;
    loop {
        let page = s.subscribers(after.as_ref(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = Some(page.last().unwrap().user);
        seen.extend(page.into_iter().map(|p| p.user));
    }
    assert_eq!(seen.len(), 26);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let baja = change("5214771234567", ConsentAction::Unsubscribe, ConsentSignal::Keyword("baja".into()));
    assert_eq!(s.apply_consent(&baja).await.unwrap(), ConsentOutcome::Unsubscribed);
    assert_eq!(s.apply_consent(&baja).await.unwrap(), ConsentOutcome::NotSubscribed);
    assert!(s.subscriber(&alta.user).await.unwrap().is_none());
    assert_eq!(s.subscriber_count().await.unwrap(), 25);

    let ledger = s.consent_records(0, 100).await.unwrap();
    assert_eq!(ledger.len(), 29);
    assert!(ledger.windows(2).all(|w| w[0].seq < w[1].seq));
    let mine: Vec<(ConsentAction, ConsentOutcome)> =
        ledger.iter().filter(|r| r.user == alta.user).map(|r| (r.action, r.outcome)).collect();
    assert_eq!(
        mine,
        vec![
            (ConsentAction::Subscribe, ConsentOutcome::Subscribed),
            (ConsentAction::Subscribe, ConsentOutcome::AlreadySubscribed),
            (ConsentAction::Unsubscribe, ConsentOutcome::Unsubscribed),
            (ConsentAction::Unsubscribe, ConsentOutcome::NotSubscribed),
        ]
    );
    let tail = s.consent_records(ledger[26].seq, 100).await.unwrap();
    assert_eq!(tail.len(), 2);
    let json = serde_json::to_string(&ledger).unwrap();
    assert!(!json.contains("4771234567"), "the ledger must not hold phone numbers");
}

async fn runs_are_listed_newest_first_and_filtered(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let run = |source: &str, result| IngestRun {
        id: 0,
        source: source.parse().unwrap(),
        started_at: Timestamp::now(),
        finished_at: Timestamp::now(),
        bytes: 10,
        rows: 2,
        result,
        error: None,
        data_date: Some(date(2020, 5, 27)),
        version: None,
        source_drift: false,
        forced: false,
        forced_by: None,
        warnings: vec![],
    };
    let a = s.record_run(&run("covid", RunResult::Published)).await.unwrap();
    let b = s.record_run(&run("semaforo", RunResult::Failed)).await.unwrap();
    let c = s.record_run(&run("covid", RunResult::Unchanged)).await.unwrap();
    assert!(a < b && b < c);
    let all = s.runs(&RunFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, b, a]);
    let covid = s.runs(&RunFilter { source: Some("covid".parse().unwrap()), ..Default::default() }).await.unwrap();
    assert_eq!(covid.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, a]);
    let failed = s.runs(&RunFilter { result: Some(RunResult::Failed), ..Default::default() }).await.unwrap();
    assert_eq!(failed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b]);
    let one = s.runs(&RunFilter { limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(one.len(), 1);
}

/// The embedded store keeps everything across a restart.
#[tokio::test]
async fn the_embedded_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Embedded { data_dir: dir.path().to_owned(), keys: KeyLayout::default() };
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let address = UserAddress::Phone(PhoneNumber::parse("5214771234567").unwrap());
    let user = |i: u64| hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147700{i:05}")).unwrap()));
    let day = date(2020, 5, 27);
    let wrote = |users: std::ops::Range<u64>| -> Vec<Interaction> {
        users.map(|i| Interaction { day, topic: Topic::Confirmados, user: user(i) }).collect()
    };
    let version = {
        let s = store::open(&config).await.unwrap();
        s.record_interactions(&wrote(0..1_000)).await.unwrap();
        let v = s.publish(&content(7, 10), None, 5).await.unwrap().version;
        s.enqueue(QueueName::Outbox, &[b"pending reply".to_vec()]).await.unwrap();
        s.apply_consent(&ConsentChange {
            user: hasher.key(&address),
            address: address.clone(),
            channel: ChannelKind::Twilio,
            business_number: "whatsapp:+14155238886".into(),
            action: ConsentAction::Subscribe,
            signal: ConsentSignal::Keyword("alta".into()),
            at: Timestamp::now(),
            consent_text_version: "v1".into(),
            municipio: None,
        })
        .await
        .unwrap();
        s.record_run(&IngestRun {
            id: 0,
            source: "covid".parse().unwrap(),
            started_at: Timestamp::now(),
            finished_at: Timestamp::now(),
            bytes: 1,
            rows: 1,
            result: RunResult::Published,
            error: None,
            data_date: None,
            version: Some(v),
            source_drift: false,
            forced: false,
            forced_by: None,
            warnings: vec![],
        })
        .await
        .unwrap();
        let once = OnceOp::Enqueue {
            id: "meta:wamid.R1".into(),
            payload: None,
            ttl: HOUR,
            leased: false,
            window: None,
            line: None,
        };
        assert_eq!(s.enqueue_once(QueueName::Outbox, &[once]).await.unwrap(), [Mark::Unmarked]);
        v
    };
    // The first store was dropped (its writer thread ends with it); open the files again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = store::open(&config).await.unwrap();
    assert_eq!(s.current_version().await.unwrap(), Some(version));
    assert_eq!(marker_of(&s.current_snapshot().await.unwrap().unwrap()), BTreeSet::from(["7".to_owned()]));
    let got = s.claim(QueueName::Outbox, "after-restart", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, b"pending reply");
    assert_eq!(s.subscriber_count().await.unwrap(), 1);
    assert_eq!(s.runs(&RunFilter::default()).await.unwrap()[0].version, Some(version));
    let again = OnceOp::Enqueue {
        id: "meta:wamid.R1".into(),
        payload: Some(b"x".to_vec()),
        ttl: HOUR,
        leased: false,
        window: None,
        line: None,
    };
    assert_eq!(s.enqueue_once(QueueName::Outbox, &[again]).await.unwrap(), [Mark::Done], "marks survive a restart");
    // The day's counts go on from what was written before the restart.
    s.record_interactions(&wrote(500..1_500)).await.unwrap();
    let days = s.interactions(day, day).await.unwrap();
    assert_eq!(days[0].by_topic[&Topic::Confirmados], 2_000);
    let unique = days[0].unique_users;
    assert!((unique as f64 - 1_500.0).abs() <= 30.0, "the users of both runs, each once: {unique}");
}

/// Another process on the same embedded files (`contacto ingest --once` beside `contacto run`
/// could be one) sees the marks, and its marks are seen.
#[tokio::test]
async fn embedded_once_marks_are_shared_by_every_process_on_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Embedded { data_dir: dir.path().to_owned(), keys: KeyLayout::default() };
    let (a, b) = (store::open(&config).await.unwrap(), store::open(&config).await.unwrap());
    let offer = |id: &str| OnceOp::Enqueue {
        id: id.into(),
        payload: Some(id.as_bytes().to_vec()),
        ttl: HOUR,
        leased: false,
        window: None,
        line: None,
    };
    assert_eq!(a.enqueue_once(QueueName::Outbox, &[offer("one")]).await.unwrap(), [Mark::Unmarked]);
    assert_eq!(
        b.enqueue_once(QueueName::Outbox, &[offer("one"), offer("two")]).await.unwrap(),
        [Mark::Done, Mark::Unmarked]
    );
    assert_eq!(a.enqueue_once(QueueName::Outbox, &[offer("two")]).await.unwrap(), [Mark::Done]);
    let got = a.claim(QueueName::Outbox, "w", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(), vec![b"one".to_vec(), b"two".to_vec()]);
}

async fn a_kv_batch_answers_each_operation_in_place(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let k = s.keys().clone();
    let user: UserKey = "00112233445566778899aabbccddeeff".parse().unwrap();
    let (seen, session, flood) = (k.seen_message("meta", "wamid.B1"), k.session(&user), k.flood(&user, 7));
    let ttl = Duration::from_millis(300);
    s.put(&session, b"principal", None).await.unwrap();
    let replies = s
        .batch(&[
            KvOp::SetIfAbsent { key: seen.clone(), ttl },
            KvOp::SetIfAbsent { key: seen.clone(), ttl },
            KvOp::Incr { key: flood.clone(), ttl },
            KvOp::Incr { key: flood.clone(), ttl },
            KvOp::Get { key: session.clone() },
            KvOp::Put { key: session.clone(), value: b"cifras".to_vec(), ttl: Some(ttl) },
            KvOp::Get { key: session.clone() },
            KvOp::Get { key: k.session(&"ffeeddccbbaa99887766554433221100".parse().unwrap()) },
            KvOp::Delete { key: seen.clone() },
            KvOp::SetIfAbsent { key: seen.clone(), ttl },
        ])
        .await
        .unwrap();
    assert_eq!(
        replies,
        vec![
            KvReply::Set(true),
            KvReply::Set(false),
            KvReply::Count(1),
            KvReply::Count(2),
            KvReply::Value(Some(b"principal".to_vec())),
            KvReply::Done,
            KvReply::Value(Some(b"cifras".to_vec())),
            KvReply::Value(None),
            KvReply::Done,
            KvReply::Set(true),
        ]
    );
    assert_eq!(s.batch(&[]).await.unwrap(), vec![]);
    let reads = s.batch(&[KvOp::Get { key: session.clone() }, KvOp::Get { key: flood.clone() }]).await.unwrap();
    assert_eq!(reads[0], KvReply::Value(Some(b"cifras".to_vec())));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let after = s.batch(&[KvOp::Get { key: session }, KvOp::Incr { key: flood.clone(), ttl }]).await.unwrap();
    assert_eq!(after, vec![KvReply::Value(None), KvReply::Count(1)], "TTLs given in a batch apply");
}

async fn the_rate_governor_grants_at_most_its_rate(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let bucket = s.keys().rate("meta:106540352242922");
    let rate = Rate { per_second: 200, burst: 20 };
    let first = s.take_permits(&bucket, rate, 50).await.unwrap();
    assert_eq!(first.granted, 20, "a fresh bucket grants one burst");
    assert!(first.next_in > Duration::ZERO && first.next_in <= Duration::from_millis(5), "{first:?}");
    let start = std::time::Instant::now();
    let mut granted = u64::from(first.granted);
    while start.elapsed() < Duration::from_millis(500) {
        let p = s.take_permits(&bucket, rate, 7).await.unwrap();
        granted += u64::from(p.granted);
        if p.granted < 7 {
            assert!(p.next_in > Duration::ZERO);
            tokio::time::sleep(p.next_in).await;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let most = 20.0 + 200.0 * elapsed + 1.0;
    assert!((granted as f64) <= most, "{granted} permits in {elapsed:.3}s at 200/s");
    assert!((granted as f64) >= 200.0 * 0.5 * 0.8, "a taker that waits as told gets close to the rate: {granted}");
    let other = s.take_permits(&s.keys().rate("meta:999"), rate, 5).await.unwrap();
    assert_eq!(other.granted, 5, "buckets are independent");
}

async fn rate_buckets_are_shared_charged_and_paused(kind: StoreKind) {
    let f = kind.open().await;
    let s = f.store.clone();
    let rate = Rate { per_second: 100, burst: 10 };
    // Two takers on one bucket share it.
    let bucket = s.keys().rate("shared");
    let taker = |s: store::SharedStore, bucket: schemas::Key| {
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_millis(300) {
                let p = s.take_permits(&bucket, rate, 3).await.unwrap();
                n += u64::from(p.granted);
                tokio::time::sleep(p.next_in.max(Duration::from_millis(1))).await;
            }
            n
        })
    };
    let (a, b) = (taker(s.clone(), bucket.clone()), taker(s.clone(), bucket.clone()));
    let total = a.await.unwrap() + b.await.unwrap();
    assert!(total <= 10 + 100 * 350 / 1000 + 2, "two takers got {total} permits in 0.3 s at 100/s");

    // Inbound messages use the bucket up, and a flood holds permits back for one window, not
    // longer: it leaves no debt.
    let charged = s.keys().rate("charged");
    s.charge_permits(&charged, rate, 5, Duration::ZERO).await.unwrap();
    assert_eq!(s.take_permits(&charged, rate, 10).await.unwrap().granted, 5);
    s.charge_permits(&charged, rate, 10_000, Duration::ZERO).await.unwrap();
    let held = s.take_permits(&charged, rate, 1).await.unwrap();
    assert_eq!(held.granted, 0);
    assert!(held.next_in <= Duration::from_millis(11), "a flood is not a debt: {held:?}");
    let flooded = s.keys().rate("flooded");
    s.charge_permits(&flooded, rate, 10_000, Duration::from_millis(200)).await.unwrap();
    let held = s.take_permits(&flooded, rate, 1).await.unwrap();
    assert_eq!(held.granted, 0);
    // The window less the burst that GCRA lets through at once.
    let window = Duration::from_millis(100)..=Duration::from_millis(111);
    assert!(window.contains(&held.next_in), "held for the window of the flood: {held:?}");
    // A few messages over a window of an idle bucket used room that was there.
    let idle = s.keys().rate("idle");
    s.charge_permits(&idle, rate, 5, Duration::from_millis(100)).await.unwrap();
    assert_eq!(s.take_permits(&idle, rate, 10).await.unwrap().granted, 10);

    // A pause holds every permit back for its length; inbound messages never shorten it.
    let paused = s.keys().rate("paused");
    s.pause_permits(&paused, rate, Duration::from_millis(200)).await.unwrap();
    s.charge_permits(&paused, rate, 3, Duration::ZERO).await.unwrap();
    let p = s.take_permits(&paused, rate, 1).await.unwrap();
    assert_eq!(p.granted, 0);
    assert!(p.next_in > Duration::from_millis(150) && p.next_in <= Duration::from_millis(201), "{p:?}");
    tokio::time::sleep(p.next_in).await;
    assert_eq!(s.take_permits(&paused, rate, 1).await.unwrap().granted, 1);
}

async fn entries_and_their_marks_are_written_together(kind: StoreKind) {
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

const HOUR: Duration = Duration::from_secs(3600);

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

async fn work_offered_again_is_enqueued_once(kind: StoreKind) {
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

async fn a_lease_holds_work_until_it_is_done_or_released(kind: StoreKind) {
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

async fn once_marks_expire_after_their_ttl(kind: StoreKind) {
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

async fn concurrent_offers_of_the_same_work_enqueue_it_once(kind: StoreKind) {
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

async fn a_window_adds_its_limit_and_only_marks_the_rest(kind: StoreKind) {
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

async fn a_line_hands_out_one_entry_at_a_time_in_the_order_added(kind: StoreKind) {
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

async fn concurrent_workers_take_each_line_in_order_one_at_a_time(kind: StoreKind) {
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

async fn a_dead_holder_delays_its_line_at_most_until_its_reclaim_or_its_lease(kind: StoreKind) {
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
