//! [`KvStore`](store::KvStore): values with a TTL, the dedupe primitive, windows, batches.

use std::time::Duration;

use schemas::UserKey;
use store::{KvOp, KvReply};
use testkit::StoreKind;

pub(crate) async fn keys_expire_after_their_ttl(kind: StoreKind) {
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

pub(crate) async fn a_kv_batch_answers_each_operation_in_place(kind: StoreKind) {
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
