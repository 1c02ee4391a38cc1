//! [`SubscriberStore`](store::SubscriberStore): consent changes applied once and all ledgered.

use jiff::Timestamp;
use schemas::{
    ChannelKind, ConsentAction, ConsentChange, ConsentOutcome, ConsentSignal, PhoneNumber, UserAddress, UserHasher,
    UserKey,
};
use testkit::StoreKind;

pub(crate) async fn consent_changes_are_applied_once_and_all_ledgered(kind: StoreKind) {
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
