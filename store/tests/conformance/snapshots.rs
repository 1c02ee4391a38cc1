//! [`SnapshotStore`](store::SnapshotStore): publish, read, roll back, prune, announce; a stale
//! publisher gets a conflict and a reader never sees a partly written version.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use schemas::{Actor, SnapshotContent, SnapshotVersion};
use store::{StoreConfig, StoreError};
use testkit::StoreKind;

use crate::{content, marker_of};

pub(crate) async fn snapshots_publish_read_and_roll_back(kind: StoreKind) {
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

pub(crate) async fn a_stale_publisher_gets_a_conflict_and_writes_nothing(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let v1 = s.publish(&content(1, 5), None, 5).await.unwrap();
    let err = s.publish(&content(2, 5), None, 5).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: None, found: Some(v) } if v == v1.version), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(s.current_version().await.unwrap(), Some(v1.version));
    assert_eq!(s.versions().await.unwrap().len(), 1);
}

pub(crate) async fn only_the_newest_versions_are_kept_and_never_the_current_one(kind: StoreKind) {
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

pub(crate) async fn a_reader_never_sees_a_partly_written_snapshot(kind: StoreKind) {
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

pub(crate) async fn new_versions_are_announced(kind: StoreKind) {
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
