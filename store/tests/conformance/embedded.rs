//! What only the embedded store must do: keep everything across a restart, and share its
//! once-marks with another process on the same files.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::date;
use schemas::{
    ChannelKind, ConsentAction, ConsentChange, ConsentSignal, IngestRun, KeyLayout, PhoneNumber, RunFilter, RunResult,
    Topic, UserAddress, UserHasher,
};
use store::{Interaction, Mark, OnceOp, QueueName, StoreConfig};

use crate::{HOUR, content, marker_of};

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
        users.map(|i| Interaction { day, topic: Topic::from_static("confirmados"), user: user(i) }).collect()
    };
    let version = {
        let s = store::open(&config).await.unwrap();
        s.record_interactions(&wrote(0..1_000)).await.unwrap();
        let v = s.publish(&content(7, 10), None, 5).await.unwrap().version;
        s.enqueue(QueueName::Outbox, &[b"pending reply".to_vec()]).await.unwrap();
        s.apply_consent(&ConsentChange {
            user: hasher.key(&address),
            address: address.clone(),
            channel: ChannelKind::named("twilio"),
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
    assert_eq!(days[0].by_topic[&Topic::from_static("confirmados")], 2_000);
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
