//! Snapshots in the embedded store ([`SnapshotStore`]): one row per version (the whole
//! snapshot), the current pointer in the meta table and the pointer history. A publish or a
//! rollback is one write transaction, so a reader (an MVCC read transaction) never sees a
//! version half written; the watcher also polls the pointer, for moves made by another
//! process on the same files.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, TableDefinition};
use schemas::{Actor, Snapshot, SnapshotContent, SnapshotVersion};
use tokio::sync::watch;

use super::handle::Handle;
use super::{EmbeddedStore, decode, encode, meta_get, meta_next, meta_set, read_meta};
use crate::{PointerChange, PointerReason, Result, SnapshotStore, StoreError, VersionSummary};

pub(super) const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
pub(super) const POINTER_HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("pointer_history");

#[async_trait]
impl SnapshotStore for EmbeddedStore {
    async fn publish(
        &self,
        content: &SnapshotContent,
        expected: Option<SnapshotVersion>,
        keep: usize,
    ) -> Result<Snapshot> {
        let content = content.clone();
        let keep = keep.max(1);
        let snapshot = self
            .writer
            .write(move |tx| {
                let found = meta_get(tx, "snapshot_current")?.map(SnapshotVersion);
                if found != expected {
                    return Err(StoreError::Conflict { expected, found });
                }
                let version = SnapshotVersion(meta_next(tx, "snapshot_seq")?);
                let snapshot = Snapshot { version, created_at: Timestamp::now(), content: content.clone() };
                tx.open_table(SNAPSHOTS)?.insert(version.0, encode(&snapshot).as_slice())?;
                meta_set(tx, "snapshot_current", version.0)?;
                let change = PointerChange {
                    version,
                    at: snapshot.created_at,
                    reason: PointerReason::Publish,
                    from: found,
                    by: None,
                };
                let seq = meta_next(tx, "history_seq")?;
                tx.open_table(POINTER_HISTORY)?.insert(seq, encode(&change).as_slice())?;
                let mut snapshots = tx.open_table(SNAPSHOTS)?;
                let kept: Vec<u64> = snapshots
                    .range::<u64>(..)?
                    .rev()
                    .map(|r| r.map(|(k, _)| k.value()))
                    .collect::<std::result::Result<_, _>>()?;
                for old in kept.into_iter().skip(keep) {
                    if old != version.0 {
                        snapshots.remove(old)?;
                    }
                }
                Ok(snapshot)
            })
            .await?;
        self.current.send_replace(Some(snapshot.version));
        Ok(snapshot)
    }

    async fn current_version(&self) -> Result<Option<SnapshotVersion>> {
        Ok(read_meta(&self.read()?, "snapshot_current")?.map(SnapshotVersion))
    }

    async fn snapshot(&self, version: SnapshotVersion) -> Result<Option<Snapshot>> {
        let rx = self.read()?;
        let table = rx.open_table(SNAPSHOTS)?;
        table.get(version.0)?.map(|v| decode(format!("snapshot {version}"), v.value())).transpose()
    }

    async fn current_snapshot(&self) -> Result<Option<Snapshot>> {
        // One read transaction: the pointer and the version it names are from the same commit.
        let rx = self.read()?;
        let Some(version) = read_meta(&rx, "snapshot_current")? else { return Ok(None) };
        let table = rx.open_table(SNAPSHOTS)?;
        let bytes =
            table.get(version)?.ok_or_else(|| StoreError::corrupt("snapshot_current", "names a missing version"))?;
        decode(format!("snapshot v{version}"), bytes.value()).map(Some)
    }

    async fn versions(&self) -> Result<Vec<VersionSummary>> {
        let rx = self.read()?;
        let current = read_meta(&rx, "snapshot_current")?;
        let table = rx.open_table(SNAPSHOTS)?;
        let mut out = Vec::new();
        for row in table.range::<u64>(..)?.rev() {
            let (k, v) = row?;
            let snapshot: Snapshot = decode(format!("snapshot v{}", k.value()), v.value())?;
            out.push(VersionSummary {
                version: snapshot.version,
                created_at: snapshot.created_at,
                answers: snapshot.content.answers.len(),
                current: Some(k.value()) == current,
            });
        }
        Ok(out)
    }

    async fn rollback(&self, to: Option<SnapshotVersion>, by: Actor) -> Result<SnapshotVersion> {
        let version = self
            .writer
            .write(move |tx| {
                let current = meta_get(tx, "snapshot_current")?;
                let snapshots = tx.open_table(SNAPSHOTS)?;
                let target = match to {
                    Some(v) => {
                        if snapshots.get(v.0)?.is_none() {
                            return Err(StoreError::NoSuchVersion(v));
                        }
                        v
                    }
                    None => {
                        let below = current.unwrap_or(0);
                        let prev = snapshots.range(..below)?.next_back().transpose()?.map(|(k, _)| k.value());
                        SnapshotVersion(prev.ok_or(StoreError::NothingToRollBack)?)
                    }
                };
                drop(snapshots);
                meta_set(tx, "snapshot_current", target.0)?;
                let change = PointerChange {
                    version: target,
                    at: Timestamp::now(),
                    reason: PointerReason::Rollback,
                    from: current.map(SnapshotVersion),
                    by: Some(by),
                };
                let seq = meta_next(tx, "history_seq")?;
                tx.open_table(POINTER_HISTORY)?.insert(seq, encode(&change).as_slice())?;
                Ok(target)
            })
            .await?;
        self.current.send_replace(Some(version));
        Ok(version)
    }

    async fn pointer_history(&self, limit: usize) -> Result<Vec<PointerChange>> {
        let rx = self.read()?;
        let table = rx.open_table(POINTER_HISTORY)?;
        let mut out = Vec::new();
        for row in table.range::<u64>(..)?.rev().take(limit) {
            let (k, v) = row?;
            out.push(decode(format!("pointer change {}", k.value()), v.value())?);
        }
        Ok(out)
    }

    async fn watch_current(&self, poll: Duration) -> Result<watch::Receiver<Option<SnapshotVersion>>> {
        let receiver = self.current.subscribe();
        if self.poller.set(()).is_ok() {
            // Another process (an `ingest --once` beside `run`) may move the pointer; only
            // polling sees that.
            let db: Weak<Handle> = Arc::downgrade(&self.db);
            let sender = self.current.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(poll.max(Duration::from_millis(10)));
                loop {
                    tick.tick().await;
                    let Some(db) = db.upgrade() else { return };
                    let Ok(rx) = db.begin_read() else { continue };
                    if let Ok(now) = read_meta(&rx, "snapshot_current") {
                        let now = now.map(SnapshotVersion);
                        sender.send_if_modified(|v| {
                            let changed = *v != now;
                            *v = now;
                            changed
                        });
                    }
                }
            });
        }
        Ok(receiver)
    }
}
