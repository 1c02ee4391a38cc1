//! The Redis store: what several processes (responders, senders, ingest) share.
//!
//! One multiplexed connection carries every command (it reconnects by itself),
//! to one server or to a Redis Cluster, as the URL says ([`RedisTarget`]); a second connection
//! listens for snapshot announcements. Where several keys must change together the change is
//! one Lua script, and those keys share a hash tag (see [`schemas::keys`]), so the same code
//! runs on a Redis Cluster: every script, transaction and multi-key command stays in one slot,
//! and the one pipeline of unrelated keys ([`KvStore::batch`]) splits itself per slot there.
//! Queues are read without `BLOCK` (a short poll, woken at once by work added in the same
//! process), so no cluster connection is ever held by a blocked read.
//!
//! | contract | Redis |
//! |---|---|
//! | snapshots | one hash per version, `current` pointer, `versions` sorted set, `history` stream; publish and rollback are scripts; PUBLISH announces |
//! | counters | HINCRBY per day × topic, PFADD / PFCOUNT per day |
//! | KV with TTL | SET NX PX, SET PX, INCR + PEXPIRE NX; a batch is one pipeline |
//! | rate governor | one GCRA script per call on the bucket's key, timed by the server's clock |
//! | queues | a stream and a consumer group per queue: XADD, XREADGROUP, XACK + XDEL, XAUTOCLAIM; a sorted set of delayed entries moved in by a script; once-marks beside the stream, checked and written with their entries by one script per batch; lines (turns and parked entries beside the stream) taken and passed on by the claim, ack, retry and re-claim scripts (`lines`) |
//! | subscribers | one key per subscriber, a lexicographic set for paging, the ledger as a stream; one script per consent change |
//! | run log | a capped list |
//!
//! # Layout
//! One file per store trait, each saying how it keeps its data: `snapshots`, `counters`,
//! `kv`, `queues` (with `lines`, the turns of one citizen's replies), `subscribers`,
//! `runs`, `rates`, Conéctate's `conectate` and «Sin entender»'s `unmatched`; the
//! connection to a server or a Cluster in `connection`. This file holds the store's handle
//! and the helpers they share. Every Lua script is a file of its own under `scripts/`, loaded
//! with `include_str!` so it can be read, linted and diffed as Lua; each opens with what it
//! does, its `KEYS` and its `ARGV`.

mod conectate;
mod connection;
mod counters;
mod kv;
mod lines;
mod queues;
mod rates;
mod runs;
mod snapshots;
mod subscribers;
mod unmatched;

pub use connection::RedisTarget;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::{AsyncCommands, Script, Value};
use schemas::{KeyLayout, SnapshotVersion};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, watch};

use self::connection::Connection;
use crate::{QueueName, Result, Store, StoreError};

/// The scripts the store runs more than once per process, loaded once; conectate's and
/// unmatched's are statics of their own files.
struct Scripts {
    rate: Script,
    publish: Script,
    rollback: Script,
    lines: lines::LineScripts,
    apply_consent: Script,
    backfill_consent_counts: Script,
    enqueue_once: Script,
}

pub struct RedisStore {
    target: RedisTarget,
    con: Connection,
    keys: KeyLayout,
    scripts: Arc<Scripts>,
    current: watch::Sender<Option<SnapshotVersion>>,
    listener: OnceLock<()>,
    groups_ready: [OnceLock<()>; QueueName::ALL.len()],
    queue_ready: [Notify; QueueName::ALL.len()],
}

fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store records serialise to JSON")
}

fn decode<T: DeserializeOwned>(what: impl std::fmt::Display, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(what.to_string(), e))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn queue_index(queue: QueueName) -> usize {
    QueueName::ALL.iter().position(|q| *q == queue).expect("every queue is in ALL")
}

impl RedisStore {
    /// Connects to `url` (one server, or a cluster: see [`RedisTarget`]) and checks it answers.
    pub async fn connect(url: &str, keys: KeyLayout) -> Result<Self> {
        let target =
            RedisTarget::parse(url).map_err(|e| StoreError::backend(format!("la URL de Redis no es válida: {e}")))?;
        let mut con = Connection::open(&target).await?;
        let current: Option<u64> = con.get(keys.snapshot_current().as_str()).await?;
        Ok(RedisStore {
            target,
            con,
            keys,
            scripts: Arc::new(Scripts {
                rate: Script::new(include_str!("redis_store/scripts/rate.lua")),
                publish: Script::new(include_str!("redis_store/scripts/publish.lua")),
                rollback: Script::new(include_str!("redis_store/scripts/rollback.lua")),
                lines: lines::LineScripts::new(),
                apply_consent: Script::new(include_str!("redis_store/scripts/apply_consent.lua")),
                backfill_consent_counts: Script::new(include_str!("redis_store/scripts/backfill_consent_counts.lua")),
                enqueue_once: Script::new(include_str!("redis_store/scripts/enqueue_once.lua")),
            }),
            current: watch::Sender::new(current.map(SnapshotVersion)),
            listener: OnceLock::new(),
            groups_ready: std::array::from_fn(|_| OnceLock::new()),
            queue_ready: std::array::from_fn(|_| Notify::new()),
        })
    }

    fn con(&self) -> Connection {
        self.con.clone()
    }
}

fn bulk_bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        _ => None,
    }
}

fn bulk_string(v: Value) -> Option<String> {
    bulk_bytes(v).and_then(|b| String::from_utf8(b).ok())
}

impl Store for RedisStore {
    fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
