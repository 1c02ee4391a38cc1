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
//!
//! # Layout
//! One file per store trait, each with its tables and saying how it keeps its data:
//! `snapshots`, `counters` (with `hll`), `kv`, `queues` (with `once` and `lines`),
//! `subscribers`, `runs`, `rates`, Conéctate's `conectate` and «Sin entender»'s `unmatched`;
//! `writer` is the group commit, `sweep` deletes what expired, `handle` holds the open
//! database and opens it again after the disk failed (full). This file opens the store
//! and holds the handle, the meta table of sequences and pointers, and the helpers the
//! files share.

mod conectate;
mod counters;
mod handle;
mod hll;
mod kv;
mod once;
mod queues;
mod rates;
mod runs;
mod snapshots;
mod subscribers;
mod sweep;
mod unmatched;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use schemas::{KeyLayout, SnapshotVersion};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, watch};

use self::handle::{Create, Handle};
use self::hll::Hll;
use self::once::Marks;
use self::writer::Writer;
use crate::{QueueName, Result, Store, StoreError};

/// Sequences and pointers: `snapshot_seq`, `snapshot_current`, `history_seq`, `run_seq`,
/// `ledger_seq`, `queue_seq:NAME`, `queue_cursor:NAME`.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub struct EmbeddedStore {
    db: Arc<Handle>,
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4)
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `data_dir`.
    pub fn open(data_dir: &Path, keys: KeyLayout) -> Result<Self> {
        Self::open_with(data_dir, keys, Handle::on_disk())
    }

    /// [`Self::open`] on the file as `create` opens it (tests put a failing disk under it).
    fn open_with(data_dir: &Path, keys: KeyLayout, create: Create) -> Result<Self> {
        let db = Handle::open(data_dir, create)?;
        let tx = db.begin_write()?;
        tx.open_table(kv::KV)?;
        tx.open_table(kv::KV_EXPIRY)?;
        tx.open_table(META)?;
        tx.open_table(snapshots::SNAPSHOTS)?;
        tx.open_table(snapshots::POINTER_HISTORY)?;
        tx.open_table(counters::INTERACTIONS)?;
        tx.open_table(counters::USERS)?;
        tx.open_table(counters::FAILED_REPLIES)?;
        tx.open_table(queues::Q_ENTRIES)?;
        tx.open_table(queues::Q_PENDING)?;
        tx.open_table(queues::Q_DELAYED)?;
        tx.open_table(subscribers::SUBSCRIBERS)?;
        tx.open_table(subscribers::LEDGER)?;
        tx.open_table(subscribers::CONSENT_COUNTS)?;
        tx.open_table(runs::RUNS)?;
        tx.open_table(once::ONCE_LOG)?;
        queues::lines::create_tables(&tx)?;
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
        self.db.begin_read()
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
