//! [`SubscriberStore`](store::SubscriberStore): consent changes applied once, all ledgered and
//! counted per quarter hour, and a ledger older than the counts counted once.

use jiff::Timestamp;
use schemas::{
    ChannelKind, ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, KeyLayout, PhoneNumber, UserAddress,
    UserHasher, UserKey,
};
use store::{ConsentCounts, ConsentQuarter, Store, StoreConfig};
use testkit::StoreKind;

pub(crate) async fn consent_changes_are_applied_once_and_all_ledgered(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    let change = |phone: &str, action, signal| change_at(&hasher, phone, action, signal, Timestamp::now());
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

/// A consent change made by `phone` at `at`.
fn change_at(
    hasher: &UserHasher,
    phone: &str,
    action: ConsentAction,
    signal: ConsentSignal,
    at: Timestamp,
) -> ConsentChange {
    let address = UserAddress::Phone(PhoneNumber::parse(phone).unwrap());
    ConsentChange {
        user: hasher.key(&address),
        address,
        channel: ChannelKind::named("meta"),
        business_number: "106540352242922".into(),
        action,
        signal,
        at,
        consent_text_version: "2020-06-01".into(),
        municipio: None,
    }
}

/// Two quarter hours of consent changes: three subscriptions at 10:00 (and one repeated),
/// then at 10:20 an opt-out (and one repeated) and a number change, which moves a
/// subscription without being new or left.
async fn apply_two_quarters(s: &dyn Store, hasher: &UserHasher) {
    let (ten, twenty_past) = quarters();
    let alta = ConsentSignal::Keyword("alta".into());
    let baja = ConsentSignal::Keyword("baja".into());
    for phone in ["5214771000001", "5214771000002", "5214771000003", "5214771000001"] {
        s.apply_consent(&change_at(hasher, phone, ConsentAction::Subscribe, alta.clone(), ten)).await.unwrap();
    }
    for _ in 0..2 {
        let leaves = change_at(hasher, "5214771000002", ConsentAction::Unsubscribe, baja.clone(), twenty_past);
        s.apply_consent(&leaves).await.unwrap();
    }
    let moved = ConsentSignal::NumberChanged;
    let old = change_at(hasher, "5214771000003", ConsentAction::Unsubscribe, moved.clone(), twenty_past);
    s.apply_consent(&old).await.unwrap();
    let new = change_at(hasher, "5214771000004", ConsentAction::Subscribe, moved, twenty_past);
    s.apply_consent(&new).await.unwrap();
}

/// 27 May 2020 at 10:00:10 and 10:20:00 UTC.
fn quarters() -> (Timestamp, Timestamp) {
    ("2020-05-27T10:00:10Z".parse().unwrap(), "2020-05-27T10:20:00Z".parse().unwrap())
}

/// What [`apply_two_quarters`] counts.
fn assert_two_quarters(counts: &ConsentCounts) {
    assert_eq!(counts.subscribers, 2);
    assert_eq!(
        counts.quarters,
        vec![
            ConsentQuarter { start: "2020-05-27T10:00:00Z".parse().unwrap(), new: 3, left: 0, net: 3 },
            ConsentQuarter { start: "2020-05-27T10:15:00Z".parse().unwrap(), new: 0, left: 1, net: -1 },
        ]
    );
}

pub(crate) async fn consent_changes_are_counted_per_quarter_hour(kind: StoreKind) {
    let f = kind.open().await;
    let s = &*f.store;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    assert_eq!(s.consent_counts(Timestamp::UNIX_EPOCH).await.unwrap(), ConsentCounts::default());
    apply_two_quarters(s, &hasher).await;
    assert_two_quarters(&s.consent_counts(Timestamp::UNIX_EPOCH).await.unwrap());
    // From a moment on: the quarter it falls in and the later ones.
    let later = s.consent_counts("2020-05-27T10:29:59Z".parse().unwrap()).await.unwrap();
    assert_eq!(later.subscribers, 2);
    assert_eq!(later.quarters.len(), 1);
    assert_eq!(later.quarters[0].net, -1);
}

/// A ledger written before the counts existed is counted once, on the first read, and a
/// change made after that is counted once too.
async fn a_ledger_older_than_the_counts_is_counted_once(s: &dyn Store, hasher: &UserHasher) {
    let (ten, _) = quarters();
    let later =
        change_at(hasher, "5214771000005", ConsentAction::Subscribe, ConsentSignal::Keyword("alta".into()), ten);
    assert_eq!(s.apply_consent(&later).await.unwrap(), ConsentOutcome::Subscribed);
    for _ in 0..2 {
        let counts = s.consent_counts(Timestamp::UNIX_EPOCH).await.unwrap();
        assert_eq!(counts.subscribers, 3);
        assert_eq!(
            counts.quarters[0],
            ConsentQuarter { start: "2020-05-27T10:00:00Z".parse().unwrap(), new: 4, left: 0, net: 4 }
        );
        assert_eq!(counts.quarters[1].net, -1);
        assert_eq!(counts.quarters.len(), 2);
    }
}

#[tokio::test]
async fn a_ledger_older_than_the_counts_is_counted_once_on_redis() {
    let f = StoreKind::Redis.open().await;
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    apply_two_quarters(&*f.store, &hasher).await;
    // As a store from before the counts left it: the ledger and no counts.
    let keys = f.store.keys();
    let client = redis::Client::open(testkit::redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("DEL")
        .arg(keys.consent_counts().as_str())
        .arg(keys.consent_counts_from().as_str())
        .arg(keys.consent_counts_backfilled().as_str())
        .query_async(&mut con)
        .await
        .unwrap();
    a_ledger_older_than_the_counts_is_counted_once(&*f.store, &hasher).await;
}

#[tokio::test]
async fn a_ledger_older_than_the_counts_is_counted_once_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Embedded { data_dir: dir.path().to_owned(), keys: KeyLayout::default() };
    let hasher = UserHasher::new(b"conformance-test-key").unwrap();
    {
        let s = store::open(&config).await.unwrap();
        apply_two_quarters(&*s, &hasher).await;
    }
    // As a database from before the counts left it: the ledger, no counts table, no markers
    // (opened beside the store's own handle, as another process on the same files would).
    {
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(dir.path().join("contacto.redb"))
            .unwrap();
        let tx = db.begin_write().unwrap();
        let counts: redb::TableDefinition<i64, (u64, u64, i64)> = redb::TableDefinition::new("consent_counts");
        assert!(tx.delete_table(counts).unwrap(), "the store keeps its counts in the table this test removes");
        {
            let mut meta = tx.open_table(redb::TableDefinition::<&str, u64>::new("meta")).unwrap();
            assert!(meta.remove("consent_counts_from").unwrap().is_some());
            meta.remove("consent_counts_backfilled").unwrap();
        }
        tx.commit().unwrap();
    }
    let s = store::open(&config).await.unwrap();
    a_ledger_older_than_the_counts_is_counted_once(&*s, &hasher).await;
}
