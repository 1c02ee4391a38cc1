//! Snapshots on Redis ([`SnapshotStore`]): one hash per version (its answers as `a:KEY` and
//! the rest as `meta`), the `current` pointer, a `versions` sorted set and a `history` stream,
//! all under the snapshots' hash tag. Publish and rollback are one script each
//! (`scripts/publish.lua`, `scripts/rollback.lua`), so a reader never sees a version half
//! written and a stale publisher gets a conflict; `PUBLISH` announces a new version, and a
//! watcher also polls the pointer in case it missed one.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use jiff::Timestamp;
use redis::{AsyncCommands, Value};
use schemas::{Actor, Provenance, RouterTable, Snapshot, SnapshotContent, SnapshotVersion, SourceName};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::connection::Announcements;
use super::{RedisStore, bulk_bytes, decode, encode};
use crate::{PointerChange, PointerReason, Result, SnapshotStore, StoreError, VersionSummary};

/// How many pointer changes the history keeps (approximately).
const HISTORY_MAX: usize = 10_000;

/// The non-answer part of a snapshot, stored in the `meta` field of its hash.
#[derive(Serialize, Deserialize)]
struct StoredMeta {
    version: SnapshotVersion,
    created_at: Timestamp,
    provenance: BTreeMap<SourceName, Provenance>,
    router: RouterTable,
}

impl RedisStore {
    async fn announce(&self, version: SnapshotVersion) {
        self.current.send_replace(Some(version));
        let published: redis::RedisResult<i64> =
            self.con().publish(self.keys.snapshot_channel(), version.0.to_string()).await;
        if let Err(error) = published {
            // Responders also poll the pointer, so a lost announcement only delays them.
            tracing::warn!(%error, %version, "Announcing the new snapshot failed.");
        }
    }

    async fn history_entry(
        &self,
        version: SnapshotVersion,
        reason: PointerReason,
        from: Option<SnapshotVersion>,
        by: Option<Actor>,
    ) -> String {
        encode(&PointerChange { version, at: Timestamp::now(), reason, from, by })
    }
}

#[async_trait]
impl SnapshotStore for RedisStore {
    async fn publish(
        &self,
        content: &SnapshotContent,
        expected: Option<SnapshotVersion>,
        keep: usize,
    ) -> Result<Snapshot> {
        let mut con = self.con();
        let version = SnapshotVersion(con.incr(self.keys.snapshot_seq().as_str(), 1u64).await?);
        let snapshot = Snapshot { version, created_at: Timestamp::now(), content: content.clone() };
        let meta = StoredMeta {
            version,
            created_at: snapshot.created_at,
            provenance: content.provenance.clone(),
            router: content.router.clone(),
        };
        let mut invocation = self.scripts.publish.prepare_invoke();
        invocation
            .key(self.keys.snapshot_current().as_str())
            .key(self.keys.snapshot(version).as_str())
            .key(self.keys.snapshot_versions().as_str())
            .key(self.keys.snapshot_history().as_str())
            .arg(expected.map(|v| v.0.to_string()).unwrap_or_default())
            .arg(version.0)
            .arg(self.history_entry(version, PointerReason::Publish, expected, None).await)
            .arg("meta")
            .arg(encode(&meta));
        for (key, answer) in &content.answers {
            invocation.arg(format!("a:{key}")).arg(encode(answer));
        }
        let (ok, found): (i64, String) = invocation.invoke_async(&mut con).await?;
        if ok == 0 {
            return Err(StoreError::Conflict { expected, found: found.parse().ok().map(SnapshotVersion) });
        }
        self.announce(version).await;
        // Prune beyond `keep`, never the current version (it may be an old one after rollback).
        let old: Vec<u64> = con.zrevrange(self.keys.snapshot_versions().as_str(), keep.max(1) as isize, -1).await?;
        let current = self.current_version().await?;
        let prunable: Vec<u64> = old.into_iter().filter(|v| Some(SnapshotVersion(*v)) != current).collect();
        if !prunable.is_empty() {
            let mut pipe = redis::pipe();
            for v in prunable {
                pipe.del(self.keys.snapshot(SnapshotVersion(v)).as_str()).ignore();
                pipe.zrem(self.keys.snapshot_versions().as_str(), v).ignore();
            }
            pipe.query_async::<()>(&mut con).await?;
        }
        Ok(snapshot)
    }

    async fn current_version(&self) -> Result<Option<SnapshotVersion>> {
        let v: Option<u64> = self.con().get(self.keys.snapshot_current().as_str()).await?;
        Ok(v.map(SnapshotVersion))
    }

    async fn snapshot(&self, version: SnapshotVersion) -> Result<Option<Snapshot>> {
        let fields: Vec<(String, Vec<u8>)> = self.con().hgetall(self.keys.snapshot(version).as_str()).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let mut meta: Option<StoredMeta> = None;
        let mut answers = BTreeMap::new();
        for (field, value) in fields {
            if field == "meta" {
                meta = Some(decode(format!("snapshot {version} meta"), &value)?);
            } else if let Some(key) = field.strip_prefix("a:") {
                let key = key.parse().map_err(|e| StoreError::corrupt(format!("snapshot {version} {field}"), e))?;
                answers.insert(key, decode(format!("snapshot {version} {field}"), &value)?);
            }
        }
        let meta = meta.ok_or_else(|| StoreError::corrupt(format!("snapshot {version}"), "no meta field"))?;
        Ok(Some(Snapshot {
            version: meta.version,
            created_at: meta.created_at,
            content: SnapshotContent { provenance: meta.provenance, answers, router: meta.router },
        }))
    }

    async fn versions(&self) -> Result<Vec<VersionSummary>> {
        let mut con = self.con();
        let kept: Vec<u64> = con.zrevrange(self.keys.snapshot_versions().as_str(), 0, -1).await?;
        let current = self.current_version().await?;
        let mut out = Vec::with_capacity(kept.len());
        for v in kept {
            let version = SnapshotVersion(v);
            let key = self.keys.snapshot(version);
            let (meta, fields): (Option<Vec<u8>>, usize) =
                redis::pipe().hget(key.as_str(), "meta").hlen(key.as_str()).query_async(&mut con).await?;
            let Some(meta) = meta else { continue };
            let meta: StoredMeta = decode(format!("snapshot {version} meta"), &meta)?;
            out.push(VersionSummary {
                version,
                created_at: meta.created_at,
                answers: fields.saturating_sub(1),
                current: Some(version) == current,
            });
        }
        Ok(out)
    }

    async fn rollback(&self, to: Option<SnapshotVersion>, by: Actor) -> Result<SnapshotVersion> {
        let mut con = self.con();
        let current = self.current_version().await?;
        let target = match to {
            Some(v) => v,
            None => {
                let below = current.map(|c| c.0).unwrap_or(0);
                let prev: Vec<u64> = redis::cmd("ZREVRANGEBYSCORE")
                    .arg(self.keys.snapshot_versions().as_str())
                    .arg(format!("({below}"))
                    .arg("-inf")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(1)
                    .query_async(&mut con)
                    .await?;
                SnapshotVersion(*prev.first().ok_or(StoreError::NothingToRollBack)?)
            }
        };
        let done: i64 = self
            .scripts
            .rollback
            .key(self.keys.snapshot_current().as_str())
            .key(self.keys.snapshot_history().as_str())
            .key(self.keys.snapshot(target).as_str())
            .arg(target.0)
            .arg(current.map(|v| v.0.to_string()).unwrap_or_default())
            .arg(self.history_entry(target, PointerReason::Rollback, current, Some(by)).await)
            .invoke_async(&mut con)
            .await?;
        match done {
            1 => {
                self.announce(target).await;
                Ok(target)
            }
            0 => Err(StoreError::NoSuchVersion(target)),
            _ => Err(StoreError::Conflict { expected: current, found: self.current_version().await? }),
        }
    }

    async fn pointer_history(&self, limit: usize) -> Result<Vec<PointerChange>> {
        let reply: Value = redis::cmd("XREVRANGE")
            .arg(self.keys.snapshot_history().as_str())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit.min(HISTORY_MAX))
            .query_async(&mut self.con())
            .await?;
        let Value::Array(items) = reply else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for item in items {
            let Value::Array(mut parts) = item else { continue };
            let Some(Value::Array(fields)) = parts.pop() else { continue };
            if let Some(bytes) = fields.into_iter().nth(1).and_then(bulk_bytes) {
                out.push(decode("pointer change", &bytes)?);
            }
        }
        Ok(out)
    }

    async fn watch_current(&self, poll: Duration) -> Result<watch::Receiver<Option<SnapshotVersion>>> {
        let receiver = self.current.subscribe();
        if self.listener.set(()).is_ok() {
            let sender = self.current.clone();
            let mut announcements = Announcements::new(&self.target)?;
            let mut con = self.con();
            let channel = self.keys.snapshot_channel();
            let pointer = self.keys.snapshot_current();
            tokio::spawn(async move {
                let poll = poll.max(Duration::from_millis(10));
                loop {
                    if sender.is_closed() && sender.receiver_count() == 0 {
                        return;
                    }
                    let mut pubsub = announcements.subscribe(&channel).await;
                    let mut tick = tokio::time::interval(poll);
                    loop {
                        let message = async {
                            match pubsub.as_mut() {
                                Some(p) => p.on_message().next().await,
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            msg = message => match msg {
                                Some(msg) => {
                                    if let Ok(v) = msg.get_payload::<u64>() {
                                        sender.send_replace(Some(SnapshotVersion(v)));
                                    }
                                }
                                None => break, // the subscription dropped: resubscribe
                            },
                            _ = tick.tick() => {
                                let now: redis::RedisResult<Option<u64>> = con.get(pointer.as_str()).await;
                                if let Ok(now) = now {
                                    let now = now.map(SnapshotVersion);
                                    sender.send_if_modified(|v| {
                                        let changed = *v != now;
                                        *v = now;
                                        changed
                                    });
                                }
                                if pubsub.is_none() {
                                    break; // try to subscribe again
                                }
                                if sender.receiver_count() == 0 {
                                    return;
                                }
                            }
                        }
                    }
                    tokio::time::sleep(poll).await;
                }
            });
        }
        Ok(receiver)
    }
}
