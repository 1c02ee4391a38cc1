//! The embedded store: redb files in the data directory.
//!
//! It is what `contacto run` uses on one machine with nothing else installed, and it is durable:
//! subscribers, the consent ledger, the outbox, the run log and snapshots survive a restart.
//! Every write goes through one group-commit writer (`writer`) so a burst of webhooks costs one
//! fsync per batch, not one per message. Reads use redb's MVCC read transactions, so a reader
//! never sees a half-written snapshot. The queues' once-marks are a log on disk and an index in
//! memory (`once`), so marking a message costs no random B-tree write. Lines of entries (one
//! citizen's replies, in order) are kept by claims and acknowledgements (`lines`).
//!
//! The database is opened in redb's multi-writer mode, so `contacto ingest --once` or
//! `contacto rollback` can run beside `contacto run` on the same directory; the running
//! responder then learns of the new version by polling the pointer.

mod conectate;
mod hll;
mod lines;
mod once;
mod unmatched;
mod writer;

use std::collections::{BTreeMap, btree_map};
use std::path::Path;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use redb::{
    ConcurrencyMode, Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, WriteTransaction,
};
use schemas::{
    Actor, ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, IngestRun, Key, KeyLayout, RunFilter, Snapshot,
    SnapshotContent, SnapshotVersion, Subscriber, Topic, UserKey,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, watch};

use self::hll::Hll;
use self::lines::{Place, Q_DELAYED_LINED, Q_LINED};
use self::once::{Marks, ONCE_LOG};
use self::writer::Writer;
use crate::{
    CounterStore, DayFailures, DayInteractions, EntryId, Interaction, KvOp, KvReply, KvStore, Mark, OnceOp, Permits,
    PointerChange, PointerReason, QueueDepth, QueueEntry, QueueName, QueueStore, Rate, RateOp, RateStore, Result,
    RunLog, SnapshotStore, Store, StoreError, SubscriberStore, VersionSummary,
};

/// Value: 8 bytes of big-endian expiry (Unix ms, 0 = never) followed by the value.
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// (expiry ms, key): what the sweeper deletes once expired.
const KV_EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("kv_expiry");
/// Sequences and pointers: `snapshot_seq`, `snapshot_current`, `history_seq`, `run_seq`,
/// `ledger_seq`, `queue_seq:NAME`, `queue_cursor:NAME`.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
const POINTER_HISTORY: TableDefinition<u64, &[u8]> = TableDefinition::new("pointer_history");
/// (day, topic) → count.
const INTERACTIONS: TableDefinition<(&str, &str), u64> = TableDefinition::new("interactions");
/// day → HyperLogLog registers.
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users_hll");
/// (day, reason) → replies that failed for good.
const FAILED_REPLIES: TableDefinition<(&str, &str), u64> = TableDefinition::new("failed_replies");
/// (queue, seq) → payload, for entries not yet acknowledged.
const Q_ENTRIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_entries");
/// (queue, seq) → [`Claim`] for entries handed to a consumer.
const Q_PENDING: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_pending");
/// (queue, due ms, seq) → payload.
const Q_DELAYED: TableDefinition<(&str, u64, u64), &[u8]> = TableDefinition::new("queue_delayed");
const SUBSCRIBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscribers");
const LEDGER: TableDefinition<u64, &[u8]> = TableDefinition::new("consent_ledger");
const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");

/// How often expired keys are swept from disk (reads ignore them before that).
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Expired records deleted per sweeping transaction (see [`sweep`]).
const SWEEP_CHUNK: usize = 2_000;
/// How often a blocked `claim` looks again (for due delayed entries and other processes).
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// Who holds a pending entry.
#[derive(Serialize, Deserialize)]
struct Claim {
    consumer: String,
    claimed_ms: u64,
    deliveries: u64,
}

pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: Writer,
    marks: Arc<Marks>,
    keys: KeyLayout,
    current: watch::Sender<Option<SnapshotVersion>>,
    poller: OnceLock<()>,
    queue_ready: [Notify; QueueName::ALL.len()],
    /// Rate buckets: key → theoretical arrival time (µs). In memory, because only this process
    /// sends through the embedded store; several processes share a governor through Redis.
    rates: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// The unique-user sketches of the days being counted, as last written: a flush adds to
    /// them and writes them without reading the 16 KiB value back first, a read that now and
    /// then held the writer (and every webhook behind it) for milliseconds. Only this process
    /// counts interactions, so the table never holds more than what is kept here.
    sketches: Arc<std::sync::Mutex<BTreeMap<Date, Hll>>>,
}

fn now_ms() -> u64 {
    u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0)
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records serialise to JSON")
}

fn decode<T: DeserializeOwned>(what: impl std::fmt::Display, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(what.to_string(), e))
}

fn queue_index(queue: QueueName) -> usize {
    QueueName::ALL.iter().position(|q| *q == queue).expect("every queue is in ALL")
}

fn meta_get(tx: &WriteTransaction, name: &str) -> Result<Option<u64>> {
    Ok(tx.open_table(META)?.get(name)?.map(|v| v.value()))
}

fn meta_set(tx: &WriteTransaction, name: &str, value: u64) -> Result<()> {
    tx.open_table(META)?.insert(name, value)?;
    Ok(())
}

/// Adds one to a sequence and returns the new value (the first is 1).
fn meta_next(tx: &WriteTransaction, name: &str) -> Result<u64> {
    let next = meta_get(tx, name)?.unwrap_or(0) + 1;
    meta_set(tx, name, next)?;
    Ok(next)
}

fn read_meta(rx: &ReadTransaction, name: &str) -> Result<Option<u64>> {
    Ok(rx.open_table(META)?.get(name)?.map(|v| v.value()))
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir`.
    pub fn open(data_dir: &Path, keys: KeyLayout) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!("cannot create the data directory {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join("contacto.redb");
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .create(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open the embedded store {}: {e}", path.display())))?;
        let tx = db.begin_write()?;
        tx.open_table(KV)?;
        tx.open_table(KV_EXPIRY)?;
        tx.open_table(META)?;
        tx.open_table(SNAPSHOTS)?;
        tx.open_table(POINTER_HISTORY)?;
        tx.open_table(INTERACTIONS)?;
        tx.open_table(USERS)?;
        tx.open_table(FAILED_REPLIES)?;
        tx.open_table(Q_ENTRIES)?;
        tx.open_table(Q_PENDING)?;
        tx.open_table(Q_DELAYED)?;
        tx.open_table(SUBSCRIBERS)?;
        tx.open_table(LEDGER)?;
        tx.open_table(RUNS)?;
        tx.open_table(ONCE_LOG)?;
        lines::create_tables(&tx)?;
        tx.commit()?;
        let db = Arc::new(db);
        let current = read_meta(&db.begin_read()?, "snapshot_current")?.map(SnapshotVersion);
        let marks = Arc::new(Marks::load(&db)?);
        let store = EmbeddedStore {
            writer: Writer::start(db.clone(), marks.clone()),
            marks,
            db,
            keys,
            current: watch::Sender::new(current),
            poller: OnceLock::new(),
            queue_ready: std::array::from_fn(|_| Notify::new()),
            rates: Default::default(),
            sketches: Default::default(),
        };
        store.spawn_sweeper();
        Ok(store)
    }

    fn read(&self) -> Result<ReadTransaction> {
        Ok(self.db.begin_read()?)
    }

    /// Deletes expired keys now and then, if a Tokio runtime is running.
    fn spawn_sweeper(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        let writer = self.writer.clone();
        let db = Arc::downgrade(&self.db);
        let marks = Arc::downgrade(&self.marks);
        handle.spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (Some(_), Some(marks)) = (db.upgrade(), marks.upgrade()) else { return };
                if let Err(error) = sweep(&writer, &marks).await {
                    tracing::warn!(%error, "Sweeping expired keys failed.");
                }
            }
        });
    }
}

/// Deletes expired keys and once-marks, [`SWEEP_CHUNK`] records of each per transaction, so
/// the webhooks' commits queued meanwhile go between two chunks instead of waiting behind one
/// long sweep (the marks of a peak minute expire together eight days later). Returns how many
/// records it deleted.
async fn sweep(writer: &Writer, marks: &Arc<Marks>) -> Result<usize> {
    let mut swept = 0;
    loop {
        let marks = marks.clone();
        let (keys, logged) =
            writer.write(move |tx| Ok((sweep_expired(tx, SWEEP_CHUNK)?, marks.sweep(tx, SWEEP_CHUNK)?))).await?;
        swept += keys + logged;
        if keys < SWEEP_CHUNK && logged < SWEEP_CHUNK {
            return Ok(swept);
        }
    }
}

fn sweep_expired(tx: &WriteTransaction, limit: usize) -> Result<usize> {
    let now = now_ms();
    let mut index = tx.open_table(KV_EXPIRY)?;
    let mut kv = tx.open_table(KV)?;
    let due: Vec<(u64, String)> = index
        .range((1u64, "")..(now, ""))?
        .take(limit)
        .map(|r| r.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
        .collect::<std::result::Result<_, _>>()?;
    for (expiry, key) in &due {
        index.remove((*expiry, key.as_str()))?;
        // The key may have been written again since with another expiry: only delete it if
        // this index entry is still the one that applies.
        let still = kv.get(key.as_str())?.map(|v| expiry_of(v.value()) == *expiry).unwrap_or(false);
        if still {
            kv.remove(key.as_str())?;
        }
    }
    Ok(due.len())
}

fn expiry_of(stored: &[u8]) -> u64 {
    stored.get(..8).map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes"))).unwrap_or(0)
}

/// The value of a stored KV entry if it has not expired at `now`.
fn live_value(stored: &[u8], now: u64) -> Option<&[u8]> {
    let expiry = expiry_of(stored);
    (stored.len() >= 8 && (expiry == 0 || expiry > now)).then(|| &stored[8..])
}

/// The KV tables of one write transaction, opened once for however many operations.
struct KvTables<'t> {
    kv: redb::Table<'t, &'static str, &'static [u8]>,
    expiry: redb::Table<'t, (u64, &'static str), ()>,
    now: u64,
}

impl<'t> KvTables<'t> {
    fn open(tx: &'t WriteTransaction) -> Result<Self> {
        Ok(KvTables { kv: tx.open_table(KV)?, expiry: tx.open_table(KV_EXPIRY)?, now: now_ms() })
    }

    fn write(&mut self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let expiry = ttl.map(|t| self.now + u64::try_from(t.as_millis()).unwrap_or(u64::MAX / 2).max(1)).unwrap_or(0);
        let mut stored = Vec::with_capacity(8 + value.len());
        stored.extend_from_slice(&expiry.to_be_bytes());
        stored.extend_from_slice(value);
        self.kv.insert(key, stored.as_slice())?;
        if expiry != 0 {
            self.expiry.insert((expiry, key), ())?;
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.kv.get(key)?.and_then(|v| live_value(v.value(), self.now).map(<[u8]>::to_vec)))
    }

    fn set_if_absent(&mut self, key: &str, ttl: Duration) -> Result<bool> {
        if self.kv.get(key)?.is_some_and(|v| live_value(v.value(), self.now).is_some()) {
            return Ok(false);
        }
        self.write(key, b"1", Some(ttl))?;
        Ok(true)
    }

    fn incr(&mut self, key: &str, ttl: Duration) -> Result<u64> {
        let now = self.now;
        let existing = self.kv.get(key)?.and_then(|v| {
            let stored = v.value();
            live_value(stored, now).map(|val| (expiry_of(stored), val.try_into().map(u64::from_be_bytes)))
        });
        match existing {
            Some((expiry, Ok(count))) => {
                let mut stored = expiry.to_be_bytes().to_vec();
                stored.extend_from_slice(&(count + 1).to_be_bytes());
                self.kv.insert(key, stored.as_slice())?;
                Ok(count + 1)
            }
            _ => {
                self.write(key, &1u64.to_be_bytes(), Some(ttl))?;
                Ok(1)
            }
        }
    }

    fn delete(&mut self, key: &str) -> Result<()> {
        self.kv.remove(key)?;
        Ok(())
    }

    fn apply(&mut self, op: &KvOp) -> Result<KvReply> {
        Ok(match op {
            KvOp::SetIfAbsent { key, ttl } => KvReply::Set(self.set_if_absent(key.as_str(), *ttl)?),
            KvOp::Put { key, value, ttl } => {
                self.write(key.as_str(), value, *ttl)?;
                KvReply::Done
            }
            KvOp::Get { key } => KvReply::Value(self.get(key.as_str())?),
            KvOp::Incr { key, ttl } => KvReply::Count(self.incr(key.as_str(), *ttl)?),
            KvOp::Delete { key } => {
                self.delete(key.as_str())?;
                KvReply::Done
            }
        })
    }
}

fn kv_apply_all(tx: &WriteTransaction, ops: &[KvOp]) -> Result<Vec<KvReply>> {
    let mut tables = KvTables::open(tx)?;
    ops.iter().map(|op| tables.apply(op)).collect()
}

fn kv_get(table: &impl ReadableTable<&'static str, &'static [u8]>, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(table.get(key)?.and_then(|v| live_value(v.value(), now_ms()).map(<[u8]>::to_vec)))
}

#[async_trait]
impl KvStore for EmbeddedStore {
    async fn set_if_absent(&self, key: &Key, ttl: Duration) -> Result<bool> {
        let key = key.as_str().to_owned();
        self.writer.write(move |tx| KvTables::open(tx)?.set_if_absent(&key, ttl)).await
    }

    async fn put(&self, key: &Key, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let (key, value) = (key.as_str().to_owned(), value.to_vec());
        self.writer.write(move |tx| KvTables::open(tx)?.write(&key, &value, ttl)).await
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let rx = self.read()?;
        kv_get(&rx.open_table(KV)?, key.as_str())
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        let key = key.as_str().to_owned();
        self.writer.write(move |tx| KvTables::open(tx)?.delete(&key)).await
    }

    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64> {
        let key = key.as_str().to_owned();
        self.writer.write(move |tx| KvTables::open(tx)?.incr(&key, ttl)).await
    }

    async fn batch(&self, ops: &[KvOp]) -> Result<Vec<KvReply>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        // Reads only: a read transaction, no commit.
        if ops.iter().all(|op| matches!(op, KvOp::Get { .. })) {
            let rx = self.read()?;
            let table = rx.open_table(KV)?;
            return ops
                .iter()
                .map(|op| match op {
                    KvOp::Get { key } => kv_get(&table, key.as_str()).map(KvReply::Value),
                    _ => unreachable!("only reads here"),
                })
                .collect();
        }
        let ops = ops.to_vec();
        self.writer.write(move |tx| kv_apply_all(tx, &ops)).await
    }
}

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
            let db: Weak<Database> = Arc::downgrade(&self.db);
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

#[async_trait]
impl CounterStore for EmbeddedStore {
    async fn record_interactions(&self, batch: &[Interaction]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // Added up here, outside the writer: a flush carries a second's interactions, and one
        // B-tree update per interaction would hold every webhook's commit behind it.
        let mut days: BTreeMap<Date, (BTreeMap<&'static str, u64>, Vec<u64>)> = BTreeMap::new();
        for i in batch {
            let (counts, users) = days.entry(i.day).or_default();
            *counts.entry(i.topic.slug()).or_default() += 1;
            users.push(i.user.hash64());
        }
        let kept = self.sketches.clone();
        self.writer
            .write(move |tx| {
                let mut counts = tx.open_table(INTERACTIONS)?;
                let mut sketches = tx.open_table(USERS)?;
                let mut kept = kept.lock().expect("sketches lock");
                for (day, (by_topic, users)) in &days {
                    let day_key = day.to_string();
                    for (topic, added) in by_topic {
                        let n = counts.get((day_key.as_str(), *topic))?.map(|v| v.value()).unwrap_or(0);
                        counts.insert((day_key.as_str(), *topic), n + added)?;
                    }
                    let sketch = match kept.entry(*day) {
                        btree_map::Entry::Occupied(e) => e.into_mut(),
                        btree_map::Entry::Vacant(e) => e.insert(
                            sketches
                                .get(day_key.as_str())?
                                .map(|v| Hll::from_bytes(v.value()))
                                .unwrap_or_else(Hll::new),
                        ),
                    };
                    // Adding twice is harmless, so a rerun of this operation, or a
                    // transaction abandoned after it, leaves the kept sketch right.
                    users.iter().for_each(|&hash| sketch.add(hash));
                    sketches.insert(day_key.as_str(), sketch.0.as_slice())?;
                }
                // Today's and yesterday's (a flush around midnight) are enough.
                while kept.len() > 2 {
                    kept.pop_first();
                }
                Ok(())
            })
            .await
    }

    async fn interactions(&self, from: Date, to: Date) -> Result<Vec<DayInteractions>> {
        let rx = self.read()?;
        let counts = rx.open_table(INTERACTIONS)?;
        let users = rx.open_table(USERS)?;
        let (lo, hi) = (from.to_string(), to.to_string());
        let mut days: BTreeMap<String, DayInteractions> = Default::default();
        for row in counts.range((lo.as_str(), "")..=(hi.as_str(), "\u{10FFFF}"))? {
            let (k, v) = row?;
            let (day, topic) = k.value();
            let Ok(topic) = topic.parse::<Topic>() else { continue };
            let entry = days.entry(day.to_owned()).or_default();
            entry.day = day.parse().ok();
            entry.by_topic.insert(topic, v.value());
        }
        for (day, entry) in days.iter_mut() {
            entry.unique_users = users.get(day.as_str())?.map(|v| Hll::from_bytes(v.value()).count()).unwrap_or(0);
        }
        Ok(days.into_values().collect())
    }

    async fn unique_users(&self, from: Date, to: Date) -> Result<u64> {
        let rx = self.read()?;
        let users = rx.open_table(USERS)?;
        let mut union = Hll::new();
        for row in users.range(from.to_string().as_str()..=to.to_string().as_str())? {
            let (_, v) = row?;
            union.merge(&Hll::from_bytes(v.value()));
        }
        Ok(union.count())
    }

    async fn record_failed_replies(&self, failures: &[(Date, String)]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let failures = failures.to_vec();
        self.writer
            .write(move |tx| {
                let mut counts = tx.open_table(FAILED_REPLIES)?;
                for (day, reason) in &failures {
                    let day = day.to_string();
                    let n = counts.get((day.as_str(), reason.as_str()))?.map(|v| v.value()).unwrap_or(0);
                    counts.insert((day.as_str(), reason.as_str()), n + 1)?;
                }
                Ok(())
            })
            .await
    }

    async fn failed_replies(&self, from: Date, to: Date) -> Result<Vec<DayFailures>> {
        let rx = self.read()?;
        let counts = rx.open_table(FAILED_REPLIES)?;
        let (lo, hi) = (from.to_string(), to.to_string());
        let mut out: Vec<DayFailures> = Vec::new();
        for row in counts.range((lo.as_str(), "")..=(hi.as_str(), "\u{10FFFF}"))? {
            let (k, v) = row?;
            let (day, reason) = k.value();
            let Ok(day) = day.parse::<Date>() else { continue };
            if out.last().is_none_or(|d| d.day != day) {
                out.push(DayFailures { day, by_reason: Default::default() });
            }
            let last = out.last_mut().expect("pushed above");
            last.by_reason.insert(reason.to_owned(), v.value());
        }
        Ok(out)
    }
}

#[async_trait]
impl QueueStore for EmbeddedStore {
    async fn enqueue(&self, queue: QueueName, payloads: &[Vec<u8>]) -> Result<Vec<EntryId>> {
        self.enqueue_then(queue, payloads, &[]).await
    }

    async fn enqueue_then(&self, queue: QueueName, payloads: &[Vec<u8>], then: &[KvOp]) -> Result<Vec<EntryId>> {
        let (payloads, then) = (payloads.to_vec(), then.to_vec());
        let ids = self
            .writer
            .write(move |tx| {
                let ids = append_entries(tx, queue, payloads.iter().map(Vec::as_slice))?;
                kv_apply_all(tx, &then)?;
                Ok(ids)
            })
            .await?;
        if !ids.is_empty() {
            self.queue_ready[queue_index(queue)].notify_waiters();
        }
        Ok(ids)
    }

    async fn enqueue_once(&self, queue: QueueName, ops: &[OnceOp]) -> Result<Vec<Mark>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (ops, marks) = (ops.to_vec(), self.marks.clone());
        let (found, added) = self
            .writer
            .write(move |tx| {
                let (found, added) = marks.apply(tx, queue, &ops)?;
                let entries: Vec<(&[u8], Option<&crate::Line>)> = added
                    .iter()
                    .filter_map(|&i| match &ops[i] {
                        OnceOp::Enqueue { payload: Some(p), line, .. } => Some((p.as_slice(), line.as_ref())),
                        _ => None,
                    })
                    .collect();
                let ids = append_entries(tx, queue, entries.iter().map(|(p, _)| *p))?;
                // An entry of a line is known by the sequence number it is added under.
                let mut lined = tx.open_table(Q_LINED)?;
                for (id, (_, line)) in ids.iter().zip(&entries) {
                    if let Some(line) = line {
                        let seq = entry_seq(id)?;
                        let place = Place { line: line.name.clone(), lease_ms: millis(line.lease), token: seq };
                        lined.insert((queue.as_str(), seq), place.encode().as_slice())?;
                    }
                }
                Ok((found, !added.is_empty()))
            })
            .await?;
        if added {
            self.queue_ready[queue_index(queue)].notify_waiters();
        }
        Ok(found)
    }

    async fn enqueue_at(&self, queue: QueueName, payload: &[u8], at: Timestamp) -> Result<()> {
        let payload = payload.to_vec();
        let due = u64::try_from(at.as_millisecond()).unwrap_or(0);
        self.writer
            .write(move |tx| {
                let seq = meta_next(tx, &format!("queue_seq:{queue}"))?;
                tx.open_table(Q_DELAYED)?.insert((queue.as_str(), due, seq), payload.as_slice())?;
                Ok(())
            })
            .await
    }

    async fn claim(&self, queue: QueueName, consumer: &str, max: usize, wait: Duration) -> Result<Vec<QueueEntry>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.queue_ready[queue_index(queue)].notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Look first with a read transaction: a claim that finds nothing costs no commit.
            let claimed = if self.claimable(queue)? {
                let consumer_name = consumer.to_owned();
                self.writer.write(move |tx| claim_ready(tx, queue, &consumer_name, max)).await?
            } else {
                Vec::new()
            };
            let now = tokio::time::Instant::now();
            if !claimed.is_empty() || now >= deadline {
                return Ok(claimed);
            }
            let nap = (deadline - now).min(CLAIM_POLL);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueName, ids: &[EntryId]) -> Result<()> {
        let seqs: Vec<u64> = ids.iter().filter_map(|id| id.0.parse().ok()).collect();
        let passed = self
            .writer
            .write(move |tx| {
                let now = now_ms();
                let mut passed = false;
                for seq in &seqs {
                    if let Some(place) = remove_entry(tx, queue, *seq)? {
                        passed |= lines::pass_turn(tx, queue, &place, now)?.is_some();
                    }
                }
                Ok(passed)
            })
            .await?;
        if passed {
            self.queue_ready[queue_index(queue)].notify_waiters();
        }
        Ok(())
    }

    async fn retry(&self, queue: QueueName, id: &EntryId, payload: &[u8], at: Timestamp) -> Result<()> {
        let (seq, payload) = (entry_seq(id)?, payload.to_vec());
        let due = u64::try_from(at.as_millisecond()).unwrap_or(0);
        self.writer
            .write(move |tx| {
                let now = now_ms();
                let place = remove_entry(tx, queue, seq)?;
                let again = meta_next(tx, &format!("queue_seq:{queue}"))?;
                tx.open_table(Q_DELAYED)?.insert((queue.as_str(), due, again), payload.as_slice())?;
                if let Some(place) = place {
                    lines::hold_turn(tx, queue, &place, due, now)?;
                    tx.open_table(Q_DELAYED_LINED)?.insert((queue.as_str(), due, again), place.encode().as_slice())?;
                }
                Ok(())
            })
            .await
    }

    async fn reclaim(
        &self,
        queue: QueueName,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>> {
        let consumer = consumer.to_owned();
        let min_idle = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
        self.writer
            .write(move |tx| {
                let now = now_ms();
                let mut pending = tx.open_table(Q_PENDING)?;
                let entries = tx.open_table(Q_ENTRIES)?;
                let mut stale = Vec::new();
                for row in pending.range((queue.as_str(), 0)..=(queue.as_str(), u64::MAX))? {
                    let (k, v) = row?;
                    let claim: Claim = decode("queue claim", v.value())?;
                    if now.saturating_sub(claim.claimed_ms) >= min_idle {
                        stale.push((k.value().1, claim));
                        if stale.len() >= max {
                            break;
                        }
                    }
                }
                let mut out = Vec::with_capacity(stale.len());
                for (seq, claim) in stale {
                    let Some(payload) = entries.get((queue.as_str(), seq))?.map(|v| v.value().to_vec()) else {
                        pending.remove((queue.as_str(), seq))?;
                        continue;
                    };
                    let taken = Claim { consumer: consumer.clone(), claimed_ms: now, deliveries: claim.deliveries + 1 };
                    pending.insert((queue.as_str(), seq), encode(&taken).as_slice())?;
                    out.push(QueueEntry { id: EntryId(seq.to_string()), payload, deliveries: taken.deliveries });
                }
                drop((entries, pending));
                // Each entry of a line takes its turn again, or waits for it.
                let mut admitted = Vec::with_capacity(out.len());
                for entry in out {
                    let seq = entry_seq(&entry.id)?;
                    if let Some(place) = place_of(tx, queue, seq)?
                        && !lines::admit(tx, queue, seq, &place, &entry.payload, now)?
                    {
                        continue;
                    }
                    admitted.push(entry);
                }
                Ok(admitted)
            })
            .await
    }

    async fn depth(&self, queue: QueueName) -> Result<QueueDepth> {
        let rx = self.read()?;
        let q = queue.as_str();
        let cursor = read_meta(&rx, &format!("queue_cursor:{queue}"))?.unwrap_or(0);
        let entries = rx.open_table(Q_ENTRIES)?;
        let pending = rx.open_table(Q_PENDING)?;
        let delayed = rx.open_table(Q_DELAYED)?;
        Ok(QueueDepth {
            ready: entries.range((q, cursor + 1)..=(q, u64::MAX))?.count() as u64 + lines::parked(&rx, queue)?,
            pending: pending.range((q, 0)..=(q, u64::MAX))?.count() as u64,
            delayed: delayed.range((q, 0, 0)..=(q, u64::MAX, u64::MAX))?.count() as u64,
        })
    }
}

/// The sequence number of an embedded entry id.
fn entry_seq(id: &EntryId) -> Result<u64> {
    id.0.parse().map_err(|e| StoreError::corrupt(format!("queue entry id {}", id.0), e))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4)
}

/// The place in its line of the entry `seq`, if it has one.
fn place_of(tx: &WriteTransaction, queue: QueueName, seq: u64) -> Result<Option<Place>> {
    let lined = tx.open_table(Q_LINED)?;
    let place = lined.get((queue.as_str(), seq))?.map(|v| Place::decode(v.value())).transpose()?;
    Ok(place)
}

/// Removes the entry `seq` (claimed or not) and answers its place in its line, if it had one.
fn remove_entry(tx: &WriteTransaction, queue: QueueName, seq: u64) -> Result<Option<Place>> {
    tx.open_table(Q_ENTRIES)?.remove((queue.as_str(), seq))?;
    tx.open_table(Q_PENDING)?.remove((queue.as_str(), seq))?;
    let removed =
        tx.open_table(Q_LINED)?.remove((queue.as_str(), seq))?.map(|v| Place::decode(v.value())).transpose()?;
    Ok(removed)
}

/// Adds entries at the end of `queue`, in order, and answers their ids.
fn append_entries<'p>(
    tx: &WriteTransaction,
    queue: QueueName,
    payloads: impl Iterator<Item = &'p [u8]>,
) -> Result<Vec<EntryId>> {
    let seq_name = format!("queue_seq:{queue}");
    let first = meta_get(tx, &seq_name)?.unwrap_or(0) + 1;
    let mut next = first;
    {
        let mut entries = tx.open_table(Q_ENTRIES)?;
        for p in payloads {
            entries.insert((queue.as_str(), next), p)?;
            next += 1;
        }
    }
    if next > first {
        meta_set(tx, &seq_name, next - 1)?;
    }
    Ok((first..next).map(|seq| EntryId(seq.to_string())).collect())
}

impl EmbeddedStore {
    /// Whether `queue` has an entry past the group's cursor or a delayed entry that is due.
    fn claimable(&self, queue: QueueName) -> Result<bool> {
        let rx = self.read()?;
        let q = queue.as_str();
        let cursor = read_meta(&rx, &format!("queue_cursor:{queue}"))?.unwrap_or(0);
        if rx.open_table(Q_ENTRIES)?.range((q, cursor + 1)..=(q, u64::MAX))?.next().is_some() {
            return Ok(true);
        }
        let due = rx.open_table(Q_DELAYED)?.range((q, 0, 0)..=(q, now_ms(), u64::MAX))?.next().is_some();
        Ok(due)
    }
}

/// Moves due delayed entries into the queue, then hands out up to `max` entries past the
/// group's cursor. Runs inside one write transaction, so two consumers never get one entry.
fn claim_ready(tx: &WriteTransaction, queue: QueueName, consumer: &str, max: usize) -> Result<Vec<QueueEntry>> {
    let q = queue.as_str();
    let now = now_ms();
    {
        let mut delayed = tx.open_table(Q_DELAYED)?;
        let due: Vec<((u64, u64), Vec<u8>)> = delayed
            .range((q, 0, 0)..=(q, now, u64::MAX))?
            .map(|r| r.map(|(k, v)| ((k.value().1, k.value().2), v.value().to_vec())))
            .collect::<std::result::Result<_, _>>()?;
        let mut entries = tx.open_table(Q_ENTRIES)?;
        let mut delayed_lined = tx.open_table(Q_DELAYED_LINED)?;
        let mut lined = tx.open_table(Q_LINED)?;
        for ((due_ms, seq), payload) in due {
            delayed.remove((q, due_ms, seq))?;
            // A delayed entry takes a fresh sequence number so it lands behind the cursor.
            let fresh = meta_next(tx, &format!("queue_seq:{queue}"))?;
            entries.insert((q, fresh), payload.as_slice())?;
            if let Some(place) = delayed_lined.remove((q, due_ms, seq))? {
                lined.insert((q, fresh), place.value())?;
            }
        }
    }
    let cursor_name = format!("queue_cursor:{queue}");
    let mut cursor = meta_get(tx, &cursor_name)?.unwrap_or(0);
    let mut out = Vec::new();
    // Entries parked for their line's turn do not count: look further until `max` are out.
    while out.len() < max {
        let rows: Vec<(u64, Vec<u8>)> = tx
            .open_table(Q_ENTRIES)?
            .range((q, cursor + 1)..=(q, u64::MAX))?
            .take(max - out.len())
            .map(|r| r.map(|(k, v)| (k.value().1, v.value().to_vec())))
            .collect::<std::result::Result<_, _>>()?;
        let Some(&(last, _)) = rows.last() else { break };
        for (seq, payload) in rows {
            if let Some(place) = place_of(tx, queue, seq)?
                && !lines::admit(tx, queue, seq, &place, &payload, now)?
            {
                continue;
            }
            let claim = Claim { consumer: consumer.to_owned(), claimed_ms: now, deliveries: 1 };
            tx.open_table(Q_PENDING)?.insert((q, seq), encode(&claim).as_slice())?;
            out.push(QueueEntry { id: EntryId(seq.to_string()), payload, deliveries: 1 });
        }
        cursor = last;
        meta_set(tx, &cursor_name, cursor)?;
    }
    Ok(out)
}

#[async_trait]
impl SubscriberStore for EmbeddedStore {
    async fn apply_consent(&self, change: &ConsentChange) -> Result<ConsentOutcome> {
        let change = change.clone();
        self.writer
            .write(move |tx| {
                let user = change.user.to_string();
                let mut subscribers = tx.open_table(SUBSCRIBERS)?;
                let exists = subscribers.get(user.as_str())?.is_some();
                let outcome = match (change.action, exists) {
                    (ConsentAction::Subscribe, true) => ConsentOutcome::AlreadySubscribed,
                    (ConsentAction::Subscribe, false) => {
                        let subscriber = Subscriber {
                            user: change.user,
                            address: change.address.clone(),
                            channel: change.channel,
                            business_number: change.business_number.clone(),
                            since: change.at,
                            consent_text_version: change.consent_text_version.clone(),
                            municipio: change.municipio,
                        };
                        subscribers.insert(user.as_str(), encode(&subscriber).as_slice())?;
                        ConsentOutcome::Subscribed
                    }
                    (ConsentAction::Unsubscribe, true) => {
                        subscribers.remove(user.as_str())?;
                        ConsentOutcome::Unsubscribed
                    }
                    (ConsentAction::Unsubscribe, false) => ConsentOutcome::NotSubscribed,
                };
                drop(subscribers);
                let seq = meta_next(tx, "ledger_seq")?;
                let record = ledger_record(seq, &change, outcome);
                tx.open_table(LEDGER)?.insert(seq, encode(&record).as_slice())?;
                Ok(outcome)
            })
            .await
    }

    async fn subscriber(&self, user: &UserKey) -> Result<Option<Subscriber>> {
        let rx = self.read()?;
        let table = rx.open_table(SUBSCRIBERS)?;
        table.get(user.to_string().as_str())?.map(|v| decode("subscriber", v.value())).transpose()
    }

    async fn subscribers(&self, after: Option<&UserKey>, limit: usize) -> Result<Vec<Subscriber>> {
        let rx = self.read()?;
        let table = rx.open_table(SUBSCRIBERS)?;
        let start = after.map(|u| u.to_string()).unwrap_or_default();
        let mut out = Vec::new();
        for row in table.range(start.as_str()..)? {
            let (k, v) = row?;
            if after.is_some() && k.value() == start {
                continue;
            }
            out.push(decode("subscriber", v.value())?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    async fn subscriber_count(&self) -> Result<u64> {
        Ok(self.read()?.open_table(SUBSCRIBERS)?.len()?)
    }

    async fn consent_records(&self, after: u64, limit: usize) -> Result<Vec<ConsentRecord>> {
        let rx = self.read()?;
        let table = rx.open_table(LEDGER)?;
        table
            .range(after.saturating_add(1)..)?
            .take(limit)
            .map(|row| {
                let (_, v) = row?;
                decode("consent record", v.value())
            })
            .collect()
    }
}

/// The ledger line for a change: the user's key, never the address.
pub(crate) fn ledger_record(seq: u64, change: &ConsentChange, outcome: ConsentOutcome) -> ConsentRecord {
    ConsentRecord {
        seq,
        user: change.user,
        channel: change.channel,
        action: change.action,
        signal: change.signal.clone(),
        at: change.at,
        consent_text_version: change.consent_text_version.clone(),
        outcome,
    }
}

#[async_trait]
impl RunLog for EmbeddedStore {
    async fn record_run(&self, run: &IngestRun) -> Result<u64> {
        let run = run.clone();
        self.writer
            .write(move |tx| {
                let id = meta_next(tx, "run_seq")?;
                let mut run = run.clone();
                run.id = id;
                tx.open_table(RUNS)?.insert(id, encode(&run).as_slice())?;
                Ok(id)
            })
            .await
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<IngestRun>> {
        let rx = self.read()?;
        let table = rx.open_table(RUNS)?;
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut out = Vec::new();
        for row in table.range::<u64>(..)?.rev() {
            let (_, v) = row?;
            let run: IngestRun = decode("ingest run", v.value())?;
            if crate::run_matches(filter, &run) {
                out.push(run);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

impl EmbeddedStore {
    fn rate(&self, bucket: &Key, rate: Rate, op: RateOp) -> Permits {
        let now = u64::try_from(Timestamp::now().as_microsecond()).unwrap_or(0);
        let mut rates = self.rates.lock().expect("rate buckets lock");
        let tat = rates.get(bucket.as_str()).copied().unwrap_or(0);
        let (tat, permits) = crate::gcra(tat, now, rate, op);
        // Forget buckets that are full again, so the map holds only busy numbers.
        rates.retain(|_, t| *t > now);
        rates.insert(bucket.as_str().to_owned(), tat);
        permits
    }
}

#[async_trait]
impl RateStore for EmbeddedStore {
    async fn take_permits(&self, bucket: &Key, rate: Rate, want: u32) -> Result<Permits> {
        Ok(self.rate(bucket, rate, RateOp::Take(want)))
    }

    async fn charge_permits(&self, bucket: &Key, rate: Rate, used: u32, over: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Charge { used, over });
        Ok(())
    }

    async fn pause_permits(&self, bucket: &Key, rate: Rate, pause: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Pause(pause));
        Ok(())
    }
}

impl Store for EmbeddedStore {
    fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows<K: redb::Key + 'static, V: redb::Value + 'static>(
        store: &EmbeddedStore,
        table: TableDefinition<K, V>,
    ) -> u64 {
        store.read().unwrap().open_table(table).unwrap().len().unwrap()
    }

    /// A sweep deletes every expired key and once-mark, however many expired together, and
    /// keeps the live ones.
    #[tokio::test]
    async fn a_sweep_deletes_what_expired_in_chunks_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), KeyLayout::default()).unwrap();
        let (short, long) = (Duration::from_millis(1), Duration::from_secs(3600));
        let (expiring, live) = (2 * SWEEP_CHUNK + 300, 10);
        let mark = |i: usize, ttl| OnceOp::Enqueue {
            id: format!("meta:wamid.{i}"),
            payload: None,
            ttl,
            leased: false,
            window: None,
            line: None,
        };
        let put = |i: usize, ttl| KvOp::Put { key: store.keys.flag(&format!("f{i}")), value: vec![1], ttl: Some(ttl) };
        let marks: Vec<OnceOp> =
            (0..expiring).map(|i| mark(i, short)).chain((0..live).map(|i| mark(expiring + i, long))).collect();
        store.enqueue_once(QueueName::Outbox, &marks).await.unwrap();
        let puts: Vec<KvOp> =
            (0..expiring).map(|i| put(i, short)).chain((0..live).map(|i| put(expiring + i, long))).collect();
        store.batch(&puts).await.unwrap();
        assert_eq!(rows(&store, ONCE_LOG), (expiring + live) as u64);
        tokio::time::sleep(Duration::from_millis(20)).await;

        assert_eq!(sweep(&store.writer, &store.marks).await.unwrap(), 2 * expiring);
        assert_eq!(rows(&store, ONCE_LOG), live as u64, "expired marks are gone from the log");
        assert_eq!(rows(&store, KV), live as u64, "expired keys are gone");
        assert_eq!(rows(&store, KV_EXPIRY), live as u64, "and their expiry index entries");
        assert_eq!(store.marks.indexed(), live, "and the marks' index");
        let again = store.enqueue_once(QueueName::Outbox, &[mark(expiring, long)]).await.unwrap();
        assert_eq!(again, [Mark::Done], "a live mark is kept");
        assert_eq!(store.get(&store.keys.flag(&format!("f{expiring}"))).await.unwrap(), Some(vec![1]));
    }
}
