//! The one store contract of Contacto Ciudadano, and its two implementations.
//!
//! Everything the system keeps goes through the traits below, so `contacto run` works on one
//! machine with the [embedded] store (redb files in the data directory) and several
//! processes share one [Redis](redis_store) (a server or a Redis Cluster) with no other
//! coordination. Both pass the same conformance suite (`tests/conformance/`); its Redis runs
//! talk to a real `redis-server` and to a real three-node Redis Cluster.
//!
//! # Layout
//! - [`SnapshotStore`]: versioned snapshots, the atomic current pointer, announcements,
//!   rollback and the audit trail of pointer changes.
//! - [`CounterStore`]: interactions by day and topic, unique users per day (HyperLogLog).
//! - [`KvStore`]: small values with a TTL: sessions, message dedupe, flood windows, flags;
//!   [`KvStore::batch`] runs many of them in one round trip.
//! - [`QueueStore`]: durable queues with one consumer group each (the outbox, the broadcast
//!   queue): add, add once per unit of work ([`QueueStore::enqueue_once`]), delay, claim, ack,
//!   retry in place, re-claim the entries of a consumer that died; entries in a [`Line`] (one
//!   citizen's replies) leave one at a time, in the order added.
//! - [`SubscriberStore`]: Conéctate subscribers and the consent ledger, counted per quarter
//!   hour as it is written ([`consent_counts`]) so reports read counters, not the ledger.
//! - [`RunLog`]: the ingest run log.
//! - [`RateStore`]: the rate governor every process on one store shares (GCRA buckets), so
//!   replies and broadcasts together stay under a business number's messages per second.
//! - [`conectate`]: Conéctate's contents ([`ContentStore`]), delivery reports ([`ReportStore`])
//!   and the messaging-limit window ([`ReachStore`]).
//! - [`unmatched`]: «Sin entender», the masked phrases the bot did not understand with a count
//!   of distinct citizens that holds no user key ([`UnmatchedStore`]).
//! - [`Store`]: all of the above; [`open`] picks the implementation from [`StoreConfig`].
//! - [`deployment_state`]: one store, one state: [`claim_state`] refuses a process configured
//!   for another state than the one whose data the store holds.
//! - [`error`]: [`StoreError`], which says whether retrying can help.

pub mod conectate;
pub mod consent_counts;
pub mod deployment_state;
pub mod embedded;
pub mod error;
pub mod redis_store;
pub mod unmatched;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use conectate::{ContentStore, Reach, ReachStore, ReportStore, ReportUpdate, Revised};
pub use consent_counts::{ConsentCounts, ConsentQuarter};
pub use deployment_state::{StateClaimError, claim_state};
pub use error::StoreError;
pub use schemas::keys::QueueName;
use schemas::{
    Actor, ConsentChange, ConsentOutcome, ConsentRecord, IngestRun, Key, KeyLayout, RunFilter, Snapshot,
    SnapshotContent, SnapshotVersion, Subscriber, Topic, UserKey,
};
pub use unmatched::{UnmatchedMessage, UnmatchedPhrase, UnmatchedStore};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why the current pointer moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointerReason {
    Publish,
    Rollback,
}

/// One move of the current pointer: from `at` on, `version` was what citizens read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointerChange {
    pub version: SnapshotVersion,
    pub at: Timestamp,
    pub reason: PointerReason,
    /// The version current before (none for the first publication, and in records written
    /// before this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SnapshotVersion>,
    /// Who rolled back (a publication's author is in the run that published it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Actor>,
}

/// A kept version, without its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub version: SnapshotVersion,
    pub created_at: Timestamp,
    pub answers: usize,
    pub current: bool,
}

/// Versioned snapshots behind one atomic pointer.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Writes `content` as a new version and flips the current pointer to it in one atomic step,
    /// then announces it and prunes versions beyond the newest `keep` (never the current one).
    ///
    /// `expected` is the version the content was built on: if another publisher moved the
    /// pointer meanwhile, nothing is written and [`StoreError::Conflict`] says so, so a source's
    /// answers are never published over answers it did not see.
    async fn publish(
        &self,
        content: &SnapshotContent,
        expected: Option<SnapshotVersion>,
        keep: usize,
    ) -> Result<Snapshot>;

    /// The version citizens are reading now.
    async fn current_version(&self) -> Result<Option<SnapshotVersion>>;

    /// One kept version, whole.
    async fn snapshot(&self, version: SnapshotVersion) -> Result<Option<Snapshot>>;

    /// The current snapshot, whole and consistent (never partly written).
    async fn current_snapshot(&self) -> Result<Option<Snapshot>> {
        // A publish can prune the version between the two reads only if `keep` versions are
        // published in between; reading again then finds the newer one.
        for _ in 0..5 {
            let Some(version) = self.current_version().await? else { return Ok(None) };
            if let Some(snapshot) = self.snapshot(version).await? {
                return Ok(Some(snapshot));
            }
        }
        Err(StoreError::unavailable("la versión actual cambió una y otra vez mientras se leía"))
    }

    /// Kept versions, newest first.
    async fn versions(&self) -> Result<Vec<VersionSummary>>;

    /// Points back to `to`, or to the newest kept version older than the current one, and
    /// records in the pointer history that `by` did it.
    async fn rollback(&self, to: Option<SnapshotVersion>, by: Actor) -> Result<SnapshotVersion>;

    /// Pointer moves, newest first: which version was current at any moment.
    async fn pointer_history(&self, limit: usize) -> Result<Vec<PointerChange>>;

    /// A receiver that sees every change of the current version: announced at once within a
    /// process (embedded) or over pub/sub (Redis), and polled every `poll` as a fallback.
    async fn watch_current(&self, poll: Duration) -> Result<watch::Receiver<Option<SnapshotVersion>>>;
}

/// One answered message, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub day: Date,
    pub topic: Topic,
    pub user: UserKey,
}

/// The counters of one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayInteractions {
    pub day: Option<Date>,
    pub by_topic: std::collections::BTreeMap<Topic, u64>,
    pub unique_users: u64,
}

impl DayInteractions {
    pub fn total(&self) -> u64 {
        self.by_topic.values().sum()
    }
}

/// The replies that failed for good on one day, by reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFailures {
    pub day: Date,
    pub by_reason: std::collections::BTreeMap<String, u64>,
}

/// Interactions by day and topic, unique users by day, and the replies that failed for good.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Counts a batch of interactions (the responder batches them; order does not matter).
    async fn record_interactions(&self, batch: &[Interaction]) -> Result<()>;

    /// Counts replies that failed for good, one per `(day, reason)`; a reason is a short slug
    /// such as `unreachable:131026` or `expired`.
    async fn record_failed_replies(&self, failures: &[(Date, String)]) -> Result<()>;

    /// Every day of `from..=to` with failed replies, in date order.
    async fn failed_replies(&self, from: Date, to: Date) -> Result<Vec<DayFailures>>;

    /// Every day of `from..=to` that has interactions, in date order.
    async fn interactions(&self, from: Date, to: Date) -> Result<Vec<DayInteractions>>;

    /// Distinct users over `from..=to` (an estimate within about 1 %).
    async fn unique_users(&self, from: Date, to: Date) -> Result<u64>;
}

/// One operation of a [`KvStore::batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// [`KvStore::set_if_absent`]: answers [`KvReply::Set`].
    SetIfAbsent { key: Key, ttl: Duration },
    /// [`KvStore::put`]: answers [`KvReply::Done`].
    Put { key: Key, value: Vec<u8>, ttl: Option<Duration> },
    /// [`KvStore::get`]: answers [`KvReply::Value`].
    Get { key: Key },
    /// [`KvStore::incr`]: answers [`KvReply::Count`].
    Incr { key: Key, ttl: Duration },
    /// [`KvStore::delete`]: answers [`KvReply::Done`].
    Delete { key: Key },
}

impl KvOp {
    /// The key the operation reads or writes.
    pub fn key(&self) -> &Key {
        match self {
            KvOp::SetIfAbsent { key, .. }
            | KvOp::Put { key, .. }
            | KvOp::Get { key }
            | KvOp::Incr { key, .. }
            | KvOp::Delete { key } => key,
        }
    }
}

/// The answer to one [`KvOp`], in the same position as the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvReply {
    Set(bool),
    Done,
    Value(Option<Vec<u8>>),
    Count(u64),
}

/// Small values with an optional TTL.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// Sets the key if it does not exist; `true` if this call set it. The dedupe primitive.
    async fn set_if_absent(&self, key: &Key, ttl: Duration) -> Result<bool>;

    async fn put(&self, key: &Key, value: &[u8], ttl: Option<Duration>) -> Result<()>;

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>>;

    async fn delete(&self, key: &Key) -> Result<()>;

    /// Adds one and returns the new count; a new key lives for `ttl` (a fixed window).
    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64>;

    /// Runs `ops` in order in one round trip (a Redis pipeline, one embedded write transaction)
    /// and answers each in its position. Each operation is atomic on its own; the batch is not
    /// a transaction. A busy service folds the operations of many requests into one batch.
    async fn batch(&self, ops: &[KvOp]) -> Result<Vec<KvReply>> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                KvOp::SetIfAbsent { key, ttl } => KvReply::Set(self.set_if_absent(key, *ttl).await?),
                KvOp::Put { key, value, ttl } => {
                    self.put(key, value, *ttl).await?;
                    KvReply::Done
                }
                KvOp::Get { key } => KvReply::Value(self.get(key).await?),
                KvOp::Incr { key, ttl } => KvReply::Count(self.incr(key, *ttl).await?),
                KvOp::Delete { key } => {
                    self.delete(key).await?;
                    KvReply::Done
                }
            });
        }
        Ok(out)
    }
}

/// The id of a queue entry, increasing within a queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryId(pub String);

/// A claimed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: EntryId,
    pub payload: Vec<u8>,
    /// How many times it has been handed to a consumer, this one included.
    pub deliveries: u64,
}

/// How much work a queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// Added and not yet claimed, or waiting for their line's turn.
    pub ready: u64,
    /// Claimed and not yet acknowledged.
    pub pending: u64,
    /// Waiting for their time.
    pub delayed: u64,
}

impl QueueDepth {
    pub fn total(&self) -> u64 {
        self.ready + self.pending + self.delayed
    }
}

/// An operation of [`QueueStore::enqueue_once`] on the once-mark of a unit of work, known by
/// an id that comes back whenever the work is offered again (a platform's message id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnceOp {
    /// Unless `id` is marked, adds `payload` (if any) and marks `id` done for `ttl`. With
    /// `leased`, the caller holds the lease on `id` ([`OnceOp::Lease`]), which does not stop it.
    /// Otherwise, with a `window`, the offer counts in it first, and beyond its limit `id` is
    /// marked done without its entry ([`Mark::OverLimit`]).
    /// With a `line`, the entry waits its turn in it ([`Line`]).
    Enqueue {
        id: String,
        payload: Option<Vec<u8>>,
        ttl: Duration,
        leased: bool,
        window: Option<Window>,
        line: Option<Line>,
    },
    /// Unless `id` is marked, marks it in flight for `ttl`: for work that must be done
    /// elsewhere before its entry is known (a consent change). With a `window`, the offer
    /// counts in it first, and beyond its limit nothing is leased nor marked
    /// ([`Mark::OverLimit`]).
    Lease { id: String, ttl: Duration, window: Option<Window> },
    /// Drops the lease on `id` (its work failed, so a retry may take it at once); a done mark
    /// stays.
    Release { id: String },
}

/// A window that counts a sender's new work (a flood limit): the first `limit` offers in it
/// are added and the others only marked. It is named by its sender and period
/// (`USER:MINUTE`) and lives for `ttl` from its first offer. A store that serves one process
/// may keep windows in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub name: String,
    pub limit: u64,
    pub ttl: Duration,
}

/// A line of entries that leave one at a time, in the order they were added (one citizen's
/// replies: a second answer must not overtake the first). A claim hands out an entry of a line
/// only while no other entry of the line is out: the one handed out holds the line's turn until
/// it is acknowledged, or until it comes back by [`QueueStore::retry`], which keeps the turn
/// for it; the others wait, parked in the store, and the acknowledgement hands the turn to
/// the next. Adding an entry only records its line with it: the turn is taken in the claim's
/// own atomic step. The turn is a lease: held for `lease` from its claim (or past a retry's
/// time), so a worker that died holding it delays its line at most that long; an entry
/// re-claimed from a dead worker while it still holds the turn goes on in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Names the line (a [`UserKey`](schemas::UserKey), never an address).
    pub name: String,
    pub lease: Duration,
}

/// What an id was marked with when its [`OnceOp`] ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Nothing: an `Enqueue` added its entry, a `Lease` took the lease.
    Unmarked,
    /// In flight, under a lease.
    Leased,
    /// Done: the work was taken care of before.
    Done,
    /// Nothing, but the offer was its window's `n`th, over the limit: an `Enqueue` marked its id
    /// done without adding its entry, a `Lease` left it as it was.
    OverLimit(u64),
}

/// Durable queues, each consumed by one consumer group (Redis Streams semantics).
#[async_trait]
pub trait QueueStore: Send + Sync {
    async fn enqueue(&self, queue: QueueName, payloads: &[Vec<u8>]) -> Result<Vec<EntryId>>;

    /// Adds `payloads`, then runs the KV operations `then` (marking the work they stand for as
    /// taken care of), in as few round trips as the store allows: one transaction on the
    /// embedded store; on Redis the operations run only once every entry was added. Either
    /// way `then` never takes effect without the entries.
    async fn enqueue_then(&self, queue: QueueName, payloads: &[Vec<u8>], then: &[KvOp]) -> Result<Vec<EntryId>>;

    /// Runs `ops` in order as one atomic step in one round trip (a script on Redis, one
    /// transaction on the embedded store) and answers the mark each id had before its
    /// operation. An `Enqueue` adds its entry exactly when it answers `Unmarked` (or `Leased`,
    /// with `leased`), so work offered again, at once or after a crash, is added once while its
    /// mark lives, and a done mark never exists without its entry unless its window refused
    /// it. The marks and windows live with the queue (in its hash slot on Redis).
    async fn enqueue_once(&self, queue: QueueName, ops: &[OnceOp]) -> Result<Vec<Mark>>;

    /// Adds an entry that becomes claimable at `at` (retries with back-off, scheduled work).
    async fn enqueue_at(&self, queue: QueueName, payload: &[u8], at: Timestamp) -> Result<()>;

    /// Claims up to `max` entries no consumer has had, waiting up to `wait` for one to arrive.
    /// An entry goes to exactly one live consumer; it stays pending until acknowledged.
    async fn claim(&self, queue: QueueName, consumer: &str, max: usize, wait: Duration) -> Result<Vec<QueueEntry>>;

    /// Done with these entries: they are removed, and the turn of each one's [`Line`] goes to
    /// the line's next entry.
    async fn ack(&self, queue: QueueName, ids: &[EntryId]) -> Result<()>;

    /// Done with this claim of entry `id` for now: it is removed and `payload` comes back in
    /// its place at `at`, keeping its place in its [`Line`] (it holds the line's turn until
    /// `at` plus the line's lease), in one atomic step.
    async fn retry(&self, queue: QueueName, id: &EntryId, payload: &[u8], at: Timestamp) -> Result<()>;

    /// Takes over entries pending for longer than `min_idle` (their consumer died or hangs).
    async fn reclaim(
        &self,
        queue: QueueName,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>>;

    async fn depth(&self, queue: QueueName) -> Result<QueueDepth>;
}

/// Conéctate subscribers and the consent ledger.
#[async_trait]
pub trait SubscriberStore: Send + Sync {
    /// Applies one consent change and appends it, with its outcome, to the ledger, atomically.
    async fn apply_consent(&self, change: &ConsentChange) -> Result<ConsentOutcome>;

    async fn subscriber(&self, user: &UserKey) -> Result<Option<Subscriber>>;

    /// Subscribers in key order after `after`, for paging through all of them.
    async fn subscribers(&self, after: Option<&UserKey>, limit: usize) -> Result<Vec<Subscriber>>;

    async fn subscriber_count(&self) -> Result<u64>;

    /// Ledger records with `seq > after`, oldest first.
    async fn consent_records(&self, after: u64, limit: usize) -> Result<Vec<ConsentRecord>>;

    /// The subscribers now and the ledger's changes counted per quarter hour, from the
    /// quarter `since` falls in on, read together ([`consent_counts`]). The first call on a
    /// ledger older than the counters counts its older records once.
    async fn consent_counts(&self, since: Timestamp) -> Result<ConsentCounts>;
}

/// The ingest run log.
#[async_trait]
pub trait RunLog: Send + Sync {
    /// Records a run and returns its id.
    async fn record_run(&self, run: &IngestRun) -> Result<u64>;

    /// Runs matching the filter, newest first.
    async fn runs(&self, filter: &RunFilter) -> Result<Vec<IngestRun>>;
}

/// A rate: `per_second` permits a second, of which at most `burst` may be taken at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    /// `per_second` with bursts of a tenth of a second's worth (at least one), so that no
    /// one-second window sees much more than `per_second`.
    pub fn per_second(per_second: u32) -> Rate {
        let per_second = per_second.max(1);
        Rate { per_second, burst: (per_second / 10).max(1) }
    }

    pub(crate) fn interval_us(self) -> u64 {
        (1_000_000 / u64::from(self.per_second.max(1))).max(1)
    }

    /// How long charging `used` inbound messages over `over` ([`RateStore::charge_permits`])
    /// holds replies back while replies keep the bucket busy: the time of `used` permits, but
    /// at most the window (or one burst, if longer) less the burst the replies already hold,
    /// since a flood leaves no debt ([`gcra`]). Added up over the responder's counting flushes,
    /// it is the time inbound messages took of the rate, which the press-conference drill adds
    /// to its floor (`bench/press.sh`).
    pub fn inbound_hold(self, used: u32, over: Duration) -> Duration {
        let interval = Duration::from_micros(self.interval_us());
        let burst = interval.saturating_mul(self.burst.max(1));
        interval.saturating_mul(used).min(over.max(burst) - burst)
    }
}

/// What [`RateStore::take_permits`] granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permits {
    /// How many of the permits asked for may be used now (possibly none).
    pub granted: u32,
    /// When fewer were granted than asked: how long until one more is free.
    pub next_in: Duration,
}

/// What a rate bucket is asked to do; both stores run the same arithmetic ([`gcra`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RateOp {
    Take(u32),
    /// `used` permits spent over the last `over`.
    Charge {
        used: u32,
        over: Duration,
    },
    Pause(Duration),
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 4)
}

impl RateOp {
    /// The operation's name, amount and window as passed to the Redis script.
    pub(crate) fn script_args(self) -> (&'static str, u64, u64) {
        match self {
            RateOp::Take(n) => ("take", u64::from(n), 0),
            RateOp::Charge { used, over } => ("charge", u64::from(used), micros(over)),
            RateOp::Pause(d) => ("pause", micros(d), 0),
        }
    }
}

/// The generic cell rate algorithm on one bucket, in microseconds. `tat` is the bucket's
/// theoretical arrival time of the next permit; a permit conforms while it stays within one
/// burst of `now`. Returns the new `tat` and what was granted. The Redis store runs the same
/// steps in Lua (`redis_store/scripts/rate.lua`).
pub(crate) fn gcra(tat: u64, now: u64, rate: Rate, op: RateOp) -> (u64, Permits) {
    let interval = rate.interval_us();
    let limit = now + u64::from(rate.burst.max(1)) * interval;
    let stored = tat;
    let tat = tat.max(now);
    let none = Permits { granted: 0, next_in: Duration::ZERO };
    match op {
        RateOp::Take(want) => {
            let room = limit.saturating_sub(tat) / interval;
            let granted = u32::try_from(room).unwrap_or(u32::MAX).min(want);
            let tat = tat + u64::from(granted) * interval;
            let next_in = if granted < want { (tat + interval).saturating_sub(limit) } else { 0 };
            (tat, Permits { granted, next_in: Duration::from_micros(next_in) })
        }
        // Messages that already happened (inbound, counted over the last `over`) used the
        // bucket then: they count from `now - over` on, and push the next permit at most one
        // window (or burst) ahead, so a flood holds replies back while it lasts and no longer.
        // A pause already further ahead stays as it is.
        RateOp::Charge { used, over } => {
            let window = micros(over);
            let spent = stored.max(now.saturating_sub(window)) + u64::from(used) * interval;
            (tat.max(spent.min(now + window.max(limit - now))), none)
        }
        RateOp::Pause(pause) => {
            let until = now + micros(pause);
            (tat.max(until + u64::from(rate.burst.max(1) - 1) * interval), none)
        }
    }
}

/// The rate governor: buckets named by [`KeyLayout::rate`] that every process on one store
/// shares (on Redis, one script per call; embedded, in this process). The outbox and the
/// Conéctate senders take permits from the same bucket per business number.
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Takes up to `want` permits now.
    async fn take_permits(&self, bucket: &Key, rate: Rate, want: u32) -> Result<Permits>;

    /// Counts `used` messages that happened over the last `over` (inbound messages count
    /// against a number's throughput too). They hold permits back for at most one window (or
    /// one burst, if longer): a flood pauses replies while it lasts and leaves no debt.
    async fn charge_permits(&self, bucket: &Key, rate: Rate, used: u32, over: Duration) -> Result<()>;

    /// No permits for `pause` (the platform said to slow down).
    async fn pause_permits(&self, bucket: &Key, rate: Rate, pause: Duration) -> Result<()>;
}

/// Everything the system keeps.
pub trait Store:
    SnapshotStore
    + CounterStore
    + KvStore
    + QueueStore
    + SubscriberStore
    + RunLog
    + RateStore
    + ContentStore
    + ReportStore
    + ReachStore
    + UnmatchedStore
{
    /// The key layout (and prefix) this store writes under.
    fn keys(&self) -> &KeyLayout;

    /// `embedded` or `redis`, for logs and health.
    fn kind(&self) -> &'static str;
}

/// A store shared by every task of a process.
pub type SharedStore = Arc<dyn Store>;

/// Which store to open.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// redb files under this directory.
    Embedded { data_dir: std::path::PathBuf, keys: KeyLayout },
    /// A Redis server (`redis://…`) or a Redis Cluster (`redis+cluster://host:port,host:port`),
    /// see [`redis_store::RedisTarget`].
    Redis { url: String, keys: KeyLayout },
}

/// Opens the configured store.
pub async fn open(config: &StoreConfig) -> Result<SharedStore> {
    Ok(match config {
        StoreConfig::Embedded { data_dir, keys } => Arc::new(embedded::EmbeddedStore::open(data_dir, keys.clone())?),
        StoreConfig::Redis { url, keys } => Arc::new(redis_store::RedisStore::connect(url, keys.clone()).await?),
    })
}

/// The subscriber a subscribing consent change makes. Shared by both stores.
pub(crate) fn subscriber_of(change: &ConsentChange) -> Subscriber {
    Subscriber {
        user: change.user,
        address: change.address.clone(),
        channel: change.channel,
        business_number: change.business_number.clone(),
        since: change.at,
        consent_text_version: change.consent_text_version.clone(),
        municipio: change.municipio,
    }
}

/// The ledger line for a consent change: the user's key, never the address. Shared by both
/// stores (Redis fills in the seq and outcome in its script).
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

/// Whether a run passes a filter; shared by both stores so they filter alike.
pub(crate) fn run_matches(filter: &RunFilter, run: &IngestRun) -> bool {
    filter.source.as_ref().is_none_or(|s| *s == run.source) && filter.result.is_none_or(|r| r == run.result)
}
