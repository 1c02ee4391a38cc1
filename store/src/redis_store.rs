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

mod conectate;
mod connection;
mod lines;
mod unmatched;

pub use connection::RedisTarget;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use jiff::Timestamp;
use jiff::civil::Date;
use redis::{AsyncCommands, Script, Value};
use schemas::{
    Actor, ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, IngestRun, Key, KeyLayout, Provenance,
    RouterTable, RunFilter, Snapshot, SnapshotContent, SnapshotVersion, SourceName, Subscriber, Topic, UserKey,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::sync::{Notify, watch};

use self::connection::{Announcements, Connection};
use crate::{
    CounterStore, DayFailures, DayInteractions, EntryId, Interaction, KvOp, KvReply, KvStore, Mark, OnceOp, Permits,
    PointerChange, PointerReason, QueueDepth, QueueEntry, QueueName, QueueStore, Rate, RateOp, RateStore, Result,
    RunLog, SnapshotStore, Store, StoreError, SubscriberStore, VersionSummary,
};

/// How many runs the log keeps.
const RUN_LOG_MAX: isize = 50_000;
/// How many pointer changes the history keeps (approximately).
const HISTORY_MAX: usize = 10_000;
/// How often a blocked `claim` looks again when nothing in this process announced work.
const CLAIM_POLL: Duration = Duration::from_millis(50);

const PUBLISH: &str = r"
-- KEYS: current, snapshot hash, versions, history
-- ARGV: expected current ('' for none), new version, history entry, then field/value pairs
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {0, cur} end
redis.call('DEL', KEYS[2])
local i = 4
while i <= #ARGV do
  local last = math.min(i + 199, #ARGV)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'c', ARGV[3])
return {1, ARGV[2]}
";

const ROLLBACK: &str = r"
-- KEYS: current, history, target hash; ARGV: target, expected current, history entry
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[2] then return -1 end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'c', ARGV[3])
return 1
";

const ENQUEUE_ONCE: &str = r"
-- KEYS[1]: the queue's stream; then two per operation: its once-mark and its window (the mark
-- again when it has none).
-- ARGV: seven per operation: kind (e: enqueue, E: enqueue under our lease, m and M: the same
-- without a payload, l: lease, r: release), ttl (ms), payload, window limit ('' for none),
-- window ttl (ms), line ('' for none) and its lease (ms): an entry of a line carries them in
-- its fields `g` and `l` (see the `lines` module).
-- Answers per operation: 0 unmarked, 1 leased, 2 done, or -n: the window's nth offer, over its
-- limit.
local function add(a)
  if ARGV[a + 6] == '' then
    redis.call('XADD', KEYS[1], '*', 'p', ARGV[a + 3])
  else
    redis.call('XADD', KEYS[1], '*', 'p', ARGV[a + 3], 'g', ARGV[a + 6], 'l', ARGV[a + 7])
  end
end
local found = {}
for i = 1, (#KEYS - 1) / 2 do
  local mark, window = KEYS[2 * i], KEYS[2 * i + 1]
  local a = 7 * (i - 1)
  local kind, ttl = ARGV[a + 1], ARGV[a + 2]
  if kind == 'e' or kind == 'm' then
    -- Marked done now if it was not marked at all; otherwise left as it was.
    local was = redis.call('SET', mark, 'd', 'PX', ttl, 'NX', 'GET')
    if was == 'l' then found[i] = 1 elseif was then found[i] = 2 else
      found[i] = 0
      if ARGV[a + 4] ~= '' then
        local n = redis.call('INCR', window)
        if n == 1 then redis.call('PEXPIRE', window, ARGV[a + 5]) end
        if n > tonumber(ARGV[a + 4]) then found[i] = -n end
      end
      if found[i] == 0 and kind == 'e' then add(a) end
    end
  else
    local was = redis.call('GET', mark)
    local m = 0
    if was == 'l' then m = 1 elseif was then m = 2 end
    found[i] = m
    if kind == 'r' then
      if m == 1 then redis.call('DEL', mark) end
    elseif kind == 'l' then
      if m == 0 and ARGV[a + 4] ~= '' then
        local n = redis.call('INCR', window)
        if n == 1 then redis.call('PEXPIRE', window, ARGV[a + 5]) end
        if n > tonumber(ARGV[a + 4]) then found[i] = -n end
      end
      if found[i] == 0 then redis.call('SET', mark, 'l', 'PX', ttl) end
    elseif m < 2 then
      if kind == 'E' then add(a) end
      redis.call('SET', mark, 'd', 'PX', ttl)
    end
  end
end
return found
";

const APPLY_CONSENT: &str = r"
-- KEYS: subscriber, active set, ledger, ledger seq
-- ARGV: action, user key, subscriber record, ledger record
local exists = redis.call('EXISTS', KEYS[1]) == 1
local outcome
if ARGV[1] == 'subscribe' then
  if exists then outcome = 'already_subscribed' else
    redis.call('SET', KEYS[1], ARGV[3])
    redis.call('ZADD', KEYS[2], 0, ARGV[2])
    outcome = 'subscribed'
  end
else
  if exists then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[2])
    outcome = 'unsubscribed'
  else outcome = 'not_subscribed' end
end
local seq = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], seq .. '-1', 'outcome', outcome, 'rec', ARGV[4])
return outcome
";

const RATE: &str = r"
-- The generic cell rate algorithm of store::gcra, in microseconds on the server's clock.
-- KEYS: bucket; ARGV: interval, burst, op (take | charge | pause), amount (permits or µs),
-- window (µs, for charge)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local amount = tonumber(ARGV[4])
local limit = now + burst * interval
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local granted, next_in = 0, 0
if ARGV[3] == 'take' then
  granted = math.min(math.max(math.floor((limit - tat) / interval), 0), amount)
  tat = tat + granted * interval
  if granted < amount then next_in = math.max(tat + interval - limit, 0) end
elseif ARGV[3] == 'charge' then
  local window = tonumber(ARGV[5])
  local spent = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now - window) + amount * interval
  tat = math.max(tat, math.min(spent, now + math.max(window, burst * interval)))
else
  tat = math.max(tat, now + amount + (burst - 1) * interval)
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
return {granted, next_in}
";

struct Scripts {
    rate: Script,
    publish: Script,
    rollback: Script,
    lines: lines::LineScripts,
    apply_consent: Script,
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

/// The non-answer part of a snapshot, stored in the `meta` field of its hash.
#[derive(Serialize, Deserialize)]
struct StoredMeta {
    version: SnapshotVersion,
    created_at: Timestamp,
    provenance: BTreeMap<SourceName, Provenance>,
    router: RouterTable,
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
        let target = RedisTarget::parse(url).map_err(|e| StoreError::Backend(format!("invalid Redis URL: {e}")))?;
        let mut con = Connection::open(&target).await?;
        let current: Option<u64> = con.get(keys.snapshot_current().as_str()).await?;
        Ok(RedisStore {
            target,
            con,
            keys,
            scripts: Arc::new(Scripts {
                rate: Script::new(RATE),
                publish: Script::new(PUBLISH),
                rollback: Script::new(ROLLBACK),
                lines: lines::LineScripts::new(),
                apply_consent: Script::new(APPLY_CONSENT),
                enqueue_once: Script::new(ENQUEUE_ONCE),
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

    /// Creates the consumer group of a queue once per process (and again if it vanished).
    async fn ensure_group(&self, queue: QueueName) -> Result<()> {
        if self.groups_ready[queue_index(queue)].get().is_some() {
            return Ok(());
        }
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.queue_stream(queue).as_str())
            .arg(self.keys.queue_group(queue))
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.con())
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(e.into()),
        }
        let _ = self.groups_ready[queue_index(queue)].set(());
        Ok(())
    }

    fn forget_group(&self, queue: QueueName, error: &redis::RedisError) -> bool {
        // OnceLock cannot be reset; NOGROUP is only possible if someone deleted the stream, and
        // then the next ensure_group after a restart recreates it. Report it clearly meanwhile.
        error.code() == Some("NOGROUP") && self.groups_ready[queue_index(queue)].get().is_some()
    }

    async fn deliveries(&self, queue: QueueName, consumer: &str, ids: &[String]) -> Result<HashMap<String, u64>> {
        let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else { return Ok(HashMap::new()) };
        let rows: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(self.keys.queue_stream(queue).as_str())
            .arg(self.keys.queue_group(queue))
            .arg(first)
            .arg(last)
            .arg(ids.len() * 2 + 10)
            .arg(consumer)
            .query_async(&mut self.con())
            .await?;
        Ok(rows.into_iter().map(|(id, _, _, count)| (id, count)).collect())
    }
}

/// Reads `[[id, [field, value, …]], …]`, the entries of a stream reply, keeping field `p`.
fn stream_entries(value: Value) -> Vec<(String, Vec<u8>)> {
    let Value::Array(items) = value else { return Vec::new() };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(mut parts) = item else { return None };
            if parts.len() != 2 {
                return None;
            }
            let fields = parts.pop()?;
            let id = bulk_string(parts.pop()?)?;
            let Value::Array(fields) = fields else { return None };
            let mut payload = None;
            let mut it = fields.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if bulk_string(k).as_deref() == Some("p") {
                    payload = bulk_bytes(v);
                }
            }
            Some((id, payload?))
        })
        .collect()
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

#[async_trait]
impl KvStore for RedisStore {
    async fn set_if_absent(&self, key: &Key, ttl: Duration) -> Result<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(key.as_str())
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.con())
            .await?;
        Ok(set.is_some())
    }

    async fn put(&self, key: &Key, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key.as_str()).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(millis(ttl));
        }
        cmd.query_async::<()>(&mut self.con()).await?;
        Ok(())
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        Ok(self.con().get(key.as_str()).await?)
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.con().del::<_, ()>(key.as_str()).await?;
        Ok(())
    }

    async fn batch(&self, ops: &[KvOp]) -> Result<Vec<KvReply>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        // One pipeline on one server; on a cluster one per slot (the keys are unrelated, a
        // session beside a dedupe mark), all sent at once, each keeping its operations' order.
        let con = self.con();
        let mut pipes: Vec<(Option<redis::cluster_routing::Slot>, redis::Pipeline, Vec<usize>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let slot = con.slot_of(op.key().as_str());
            let at = match pipes.iter().position(|(s, _, _)| *s == slot) {
                Some(at) => at,
                None => {
                    pipes.push((slot, redis::pipe(), Vec::new()));
                    pipes.len() - 1
                }
            };
            let (_, pipe, positions) = &mut pipes[at];
            positions.push(i);
            match op {
                KvOp::SetIfAbsent { key, ttl } => {
                    pipe.cmd("SET").arg(key.as_str()).arg(1).arg("NX").arg("PX").arg(millis(*ttl));
                }
                KvOp::Put { key, value, ttl } => {
                    pipe.cmd("SET").arg(key.as_str()).arg(value.as_slice());
                    if let Some(ttl) = ttl {
                        pipe.arg("PX").arg(millis(*ttl));
                    }
                }
                KvOp::Get { key } => {
                    pipe.cmd("GET").arg(key.as_str());
                }
                KvOp::Incr { key, ttl } => {
                    pipe.cmd("INCR").arg(key.as_str());
                    pipe.cmd("PEXPIRE").arg(key.as_str()).arg(millis(*ttl)).arg("NX").ignore();
                }
                KvOp::Delete { key } => {
                    pipe.cmd("DEL").arg(key.as_str());
                }
            }
        }
        let answered = futures::future::try_join_all(pipes.iter().map(|(_, pipe, positions)| {
            let mut con = con.clone();
            async move {
                let replies: Vec<Value> = pipe.query_async(&mut con).await?;
                if replies.len() != positions.len() {
                    return Err(StoreError::Backend(format!(
                        "a batch of {} got {} replies",
                        positions.len(),
                        replies.len()
                    )));
                }
                Ok(positions.iter().copied().zip(replies))
            }
        }))
        .await?;
        let mut replies = vec![Value::Nil; ops.len()];
        for (i, reply) in answered.into_iter().flatten() {
            replies[i] = reply;
        }
        ops.iter()
            .zip(replies)
            .map(|(op, reply)| {
                Ok(match op {
                    KvOp::SetIfAbsent { .. } => KvReply::Set(!matches!(reply, Value::Nil)),
                    KvOp::Put { .. } | KvOp::Delete { .. } => KvReply::Done,
                    KvOp::Get { .. } => KvReply::Value(bulk_bytes(reply)),
                    KvOp::Incr { .. } => {
                        KvReply::Count(redis::from_redis_value_ref(&reply).map_err(redis::RedisError::from)?)
                    }
                })
            })
            .collect()
    }

    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64> {
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(key.as_str())
            .cmd("PEXPIRE")
            .arg(key.as_str())
            .arg(millis(ttl))
            .arg("NX")
            .query_async(&mut self.con())
            .await?;
        Ok(count)
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

#[async_trait]
impl CounterStore for RedisStore {
    async fn record_interactions(&self, batch: &[Interaction]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut counts: BTreeMap<(Date, Topic), u64> = BTreeMap::new();
        let mut users: BTreeMap<Date, Vec<String>> = BTreeMap::new();
        for i in batch {
            *counts.entry((i.day, i.topic)).or_default() += 1;
            users.entry(i.day).or_default().push(i.user.to_string());
        }
        let mut pipe = redis::pipe();
        for ((day, topic), n) in counts {
            pipe.hincr(self.keys.interactions(day).as_str(), topic.slug(), n).ignore();
        }
        for (day, members) in users {
            pipe.cmd("PFADD").arg(self.keys.users(day).as_str()).arg(members).ignore();
        }
        pipe.query_async::<()>(&mut self.con()).await?;
        Ok(())
    }

    async fn interactions(&self, from: Date, to: Date) -> Result<Vec<DayInteractions>> {
        let days: Vec<Date> = from.series(jiff::Span::new().days(1)).take_while(|d| *d <= to).collect();
        let mut out = Vec::new();
        for chunk in days.chunks(100) {
            let mut pipe = redis::pipe();
            for day in chunk {
                pipe.hgetall(self.keys.interactions(*day).as_str());
                pipe.cmd("PFCOUNT").arg(self.keys.users(*day).as_str());
            }
            let replies: Vec<Value> = pipe.query_async(&mut self.con()).await?;
            for (day, pair) in chunk.iter().zip(replies.chunks(2)) {
                let by_topic: HashMap<String, u64> =
                    redis::from_redis_value_ref(&pair[0]).map_err(redis::RedisError::from)?;
                if by_topic.is_empty() {
                    continue;
                }
                let unique_users: u64 = redis::from_redis_value_ref(&pair[1]).map_err(redis::RedisError::from)?;
                out.push(DayInteractions {
                    day: Some(*day),
                    by_topic: by_topic.into_iter().filter_map(|(t, n)| t.parse().ok().map(|t| (t, n))).collect(),
                    unique_users,
                });
            }
        }
        Ok(out)
    }

    async fn record_failed_replies(&self, failures: &[(Date, String)]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let mut counts: BTreeMap<(Date, &str), u64> = BTreeMap::new();
        for (day, reason) in failures {
            *counts.entry((*day, reason.as_str())).or_default() += 1;
        }
        let mut pipe = redis::pipe();
        for ((day, reason), n) in counts {
            pipe.hincr(self.keys.failed_replies(day).as_str(), reason, n).ignore();
        }
        pipe.query_async::<()>(&mut self.con()).await?;
        Ok(())
    }

    async fn failed_replies(&self, from: Date, to: Date) -> Result<Vec<DayFailures>> {
        let days: Vec<Date> = from.series(jiff::Span::new().days(1)).take_while(|d| *d <= to).collect();
        let mut out = Vec::new();
        for chunk in days.chunks(100) {
            let mut pipe = redis::pipe();
            for day in chunk {
                pipe.hgetall(self.keys.failed_replies(*day).as_str());
            }
            let replies: Vec<BTreeMap<String, u64>> = pipe.query_async(&mut self.con()).await?;
            for (day, by_reason) in chunk.iter().zip(replies) {
                if !by_reason.is_empty() {
                    out.push(DayFailures { day: *day, by_reason });
                }
            }
        }
        Ok(out)
    }

    async fn unique_users(&self, from: Date, to: Date) -> Result<u64> {
        let keys: Vec<String> = from
            .series(jiff::Span::new().days(1))
            .take_while(|d| *d <= to)
            .map(|d| self.keys.users(d).as_str().to_owned())
            .collect();
        if keys.is_empty() {
            return Ok(0);
        }
        Ok(redis::cmd("PFCOUNT").arg(keys).query_async(&mut self.con()).await?)
    }
}

#[async_trait]
impl QueueStore for RedisStore {
    async fn enqueue(&self, queue: QueueName, payloads: &[Vec<u8>]) -> Result<Vec<EntryId>> {
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        let stream = self.keys.queue_stream(queue);
        let mut pipe = redis::pipe();
        for p in payloads {
            pipe.cmd("XADD").arg(stream.as_str()).arg("*").arg("p").arg(p.as_slice());
        }
        let ids: Vec<String> = pipe.query_async(&mut self.con()).await?;
        self.queue_ready[queue_index(queue)].notify_waiters();
        Ok(ids.into_iter().map(EntryId).collect())
    }

    async fn enqueue_then(&self, queue: QueueName, payloads: &[Vec<u8>], then: &[KvOp]) -> Result<Vec<EntryId>> {
        // Two round trips: the keys live in different slots, so no transaction spans them.
        let ids = self.enqueue(queue, payloads).await?;
        self.batch(then).await?;
        Ok(ids)
    }

    async fn enqueue_once(&self, queue: QueueName, ops: &[OnceOp]) -> Result<Vec<Mark>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.scripts.enqueue_once.prepare_invoke();
        invocation.key(self.keys.queue_stream(queue).as_str());
        let mut added = false;
        for op in ops {
            let (id, kind, ttl, payload, window, line) = match op {
                OnceOp::Enqueue { id, payload, ttl, leased, window, line } => {
                    added |= payload.is_some();
                    let kind = match (payload.is_some(), leased) {
                        (true, false) => "e",
                        (true, true) => "E",
                        (false, false) => "m",
                        (false, true) => "M",
                    };
                    let window = window.as_ref().filter(|_| !leased);
                    (id, kind, *ttl, payload.as_deref().unwrap_or_default(), window, line.as_ref())
                }
                OnceOp::Lease { id, ttl, window } => (id, "l", *ttl, &[][..], window.as_ref(), None),
                OnceOp::Release { id } => (id, "r", Duration::ZERO, &[][..], None, None),
            };
            let mark = self.keys.queue_once(queue, id);
            invocation.key(mark.as_str()).arg(kind).arg(millis(ttl)).arg(payload);
            match window {
                Some(w) => {
                    invocation.key(self.keys.queue_window(queue, &w.name).as_str()).arg(w.limit).arg(millis(w.ttl))
                }
                None => invocation.key(mark.as_str()).arg("").arg(0),
            };
            match line {
                Some(line) => invocation.arg(line.name.as_str()).arg(millis(line.lease).max(1)),
                None => invocation.arg("").arg(0),
            };
        }
        let found: Vec<i64> = invocation.invoke_async(&mut self.con()).await?;
        if found.len() != ops.len() {
            return Err(StoreError::Backend(format!("{} once-operations got {} answers", ops.len(), found.len())));
        }
        if added {
            self.queue_ready[queue_index(queue)].notify_waiters();
        }
        Ok(found
            .into_iter()
            .map(|m| match m {
                0 => Mark::Unmarked,
                1 => Mark::Leased,
                2 => Mark::Done,
                n => Mark::OverLimit(n.unsigned_abs()),
            })
            .collect())
    }

    async fn enqueue_at(&self, queue: QueueName, payload: &[u8], at: Timestamp) -> Result<()> {
        let mut member = format!("{:016x}:", rand::random::<u64>()).into_bytes();
        member.extend_from_slice(payload);
        let _: i64 = self.con().zadd(self.keys.queue_delayed(queue).as_str(), member, at.as_millisecond()).await?;
        Ok(())
    }

    async fn claim(&self, queue: QueueName, consumer: &str, max: usize, wait: Duration) -> Result<Vec<QueueEntry>> {
        self.ensure_group(queue).await?;
        let deadline = tokio::time::Instant::now() + wait;
        let stream = self.keys.queue_stream(queue);
        loop {
            let notified = self.queue_ready[queue_index(queue)].notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let mut con = self.con();
            // Due delayed entries move in, and the new entries are read, in one script: an
            // entry of a line takes its turn in the step that hands it out.
            let reply: redis::RedisResult<Vec<Vec<u8>>> = self
                .scripts
                .lines
                .claim
                .key(stream.as_str())
                .key(self.keys.queue_delayed(queue).as_str())
                .key(self.keys.queue_parked(queue).as_str())
                .arg(self.keys.queue_group(queue))
                .arg(consumer)
                .arg(max)
                .arg(Timestamp::now().as_millisecond())
                .invoke_async(&mut con)
                .await;
            let reply = match reply {
                Ok(v) => v,
                Err(e) if self.forget_group(queue, &e) => {
                    return Err(StoreError::Unavailable(format!("the {queue} stream lost its consumer group: {e}")));
                }
                Err(e) => return Err(e.into()),
            };
            let mut claimed = Vec::with_capacity(reply.len() / 2);
            let mut parts = reply.into_iter();
            while let (Some(id), Some(payload)) = (parts.next(), parts.next()) {
                let id = String::from_utf8(id).map_err(|e| StoreError::corrupt("a stream entry id", e))?;
                claimed.push(QueueEntry { id: EntryId(id), payload, deliveries: 1 });
            }
            let now = tokio::time::Instant::now();
            if !claimed.is_empty() || now >= deadline {
                return Ok(claimed);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep((deadline - now).min(CLAIM_POLL)) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueName, ids: &[EntryId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut invocation = self.scripts.lines.ack.prepare_invoke();
        invocation
            .key(self.keys.queue_stream(queue).as_str())
            .key(self.keys.queue_parked(queue).as_str())
            .arg(self.keys.queue_group(queue));
        for id in ids {
            invocation.arg(id.0.as_str());
        }
        let passed: u64 = invocation.invoke_async(&mut self.con()).await?;
        if passed > 0 {
            self.queue_ready[queue_index(queue)].notify_waiters();
        }
        Ok(())
    }

    async fn retry(&self, queue: QueueName, id: &EntryId, payload: &[u8], at: Timestamp) -> Result<()> {
        let () = self
            .scripts
            .lines
            .retry
            .key(self.keys.queue_stream(queue).as_str())
            .key(self.keys.queue_delayed(queue).as_str())
            .arg(self.keys.queue_group(queue))
            .arg(id.0.as_str())
            .arg(payload)
            .arg(at.as_millisecond())
            .arg(Timestamp::now().as_millisecond())
            .arg(format!("{:016x}", rand::random::<u64>()))
            .invoke_async::<i64>(&mut self.con())
            .await
            .map(drop)?;
        Ok(())
    }

    async fn reclaim(
        &self,
        queue: QueueName,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>> {
        self.ensure_group(queue).await?;
        let stream = self.keys.queue_stream(queue);
        let mut cursor = "0-0".to_owned();
        let mut taken: Vec<(String, Vec<u8>)> = Vec::new();
        let mut vanished: Vec<EntryId> = Vec::new();
        for _ in 0..16 {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(stream.as_str())
                .arg(self.keys.queue_group(queue))
                .arg(consumer)
                .arg(millis(min_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(max - taken.len())
                .query_async(&mut self.con())
                .await?;
            let Value::Array(mut parts) = reply else { break };
            // [next cursor, entries, deleted ids] (Redis 7).
            let deleted = if parts.len() >= 3 { parts.pop() } else { None };
            let entries = parts.pop();
            let next = parts.pop().and_then(bulk_string).unwrap_or_else(|| "0-0".into());
            if let Some(entries) = entries {
                taken.extend(stream_entries(entries));
            }
            if let Some(Value::Array(deleted)) = deleted {
                vanished.extend(deleted.into_iter().filter_map(bulk_string).map(EntryId));
            }
            if next == "0-0" || taken.len() >= max {
                break;
            }
            cursor = next;
        }
        if !vanished.is_empty() {
            self.ack(queue, &vanished).await?;
        }
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        // Each entry of a line takes its turn again, or waits for it.
        let mut invocation = self.scripts.lines.admit.prepare_invoke();
        invocation
            .key(self.keys.queue_stream(queue).as_str())
            .key(self.keys.queue_parked(queue).as_str())
            .arg(self.keys.queue_group(queue));
        for (id, _) in &taken {
            invocation.arg(id.as_str());
        }
        let admitted: Vec<i64> = invocation.invoke_async(&mut self.con()).await?;
        let mut admitted = admitted.into_iter();
        taken.retain(|_| admitted.next() != Some(0));
        let ids: Vec<String> = taken.iter().map(|(id, _)| id.clone()).collect();
        let counts = self.deliveries(queue, consumer, &ids).await?;
        Ok(taken
            .into_iter()
            .map(|(id, payload)| {
                let deliveries = counts.get(&id).copied().unwrap_or(2);
                QueueEntry { id: EntryId(id), payload, deliveries }
            })
            .collect())
    }

    async fn depth(&self, queue: QueueName) -> Result<QueueDepth> {
        self.ensure_group(queue).await?;
        let stream = self.keys.queue_stream(queue);
        let (len, pending, delayed, parked): (u64, Value, u64, Option<u64>) = redis::pipe()
            .cmd("XLEN")
            .arg(stream.as_str())
            .cmd("XPENDING")
            .arg(stream.as_str())
            .arg(self.keys.queue_group(queue))
            .cmd("ZCARD")
            .arg(self.keys.queue_delayed(queue).as_str())
            .cmd("GET")
            .arg(self.keys.queue_parked(queue).as_str())
            .query_async(&mut self.con())
            .await?;
        let pending = match pending {
            Value::Array(parts) => parts.into_iter().next().and_then(|v| match v {
                Value::Int(n) => u64::try_from(n).ok(),
                other => bulk_string(other).and_then(|s| s.parse().ok()),
            }),
            _ => None,
        }
        .unwrap_or(0);
        Ok(QueueDepth { ready: len.saturating_sub(pending) + parked.unwrap_or(0), pending, delayed })
    }
}

#[async_trait]
impl SubscriberStore for RedisStore {
    async fn apply_consent(&self, change: &ConsentChange) -> Result<ConsentOutcome> {
        let subscriber = Subscriber {
            user: change.user,
            address: change.address.clone(),
            channel: change.channel,
            business_number: change.business_number.clone(),
            since: change.at,
            consent_text_version: change.consent_text_version.clone(),
            municipio: change.municipio,
        };
        // The seq and outcome are filled in by the script; the record carries placeholders.
        let record = crate::embedded::ledger_record(0, change, ConsentOutcome::NotSubscribed);
        let action = match change.action {
            ConsentAction::Subscribe => "subscribe",
            ConsentAction::Unsubscribe => "unsubscribe",
        };
        let outcome: String = self
            .scripts
            .apply_consent
            .key(self.keys.subscriber(&change.user).as_str())
            .key(self.keys.subscribers_active().as_str())
            .key(self.keys.consent_ledger().as_str())
            .key(self.keys.consent_seq().as_str())
            .arg(action)
            .arg(change.user.to_string())
            .arg(encode(&subscriber))
            .arg(encode(&record))
            .invoke_async(&mut self.con())
            .await?;
        parse_outcome(&outcome)
    }

    async fn subscriber(&self, user: &UserKey) -> Result<Option<Subscriber>> {
        let bytes: Option<Vec<u8>> = self.con().get(self.keys.subscriber(user).as_str()).await?;
        bytes.map(|b| decode("subscriber", &b)).transpose()
    }

    async fn subscribers(&self, after: Option<&UserKey>, limit: usize) -> Result<Vec<Subscriber>> {
        let start = after.map(|u| format!("({u}")).unwrap_or_else(|| "-".into());
        let mut con = self.con();
        let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(self.keys.subscribers_active().as_str())
            .arg(start)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut con)
            .await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = members
            .iter()
            .filter_map(|m| m.parse::<UserKey>().ok())
            .map(|u| self.keys.subscriber(&u).as_str().to_owned())
            .collect();
        let records: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(keys).query_async(&mut con).await?;
        records.into_iter().flatten().map(|b| decode("subscriber", &b)).collect()
    }

    async fn subscriber_count(&self) -> Result<u64> {
        Ok(self.con().zcard(self.keys.subscribers_active().as_str()).await?)
    }

    async fn consent_records(&self, after: u64, limit: usize) -> Result<Vec<ConsentRecord>> {
        let reply: Value = redis::cmd("XRANGE")
            .arg(self.keys.consent_ledger().as_str())
            .arg(format!("({after}-1"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.con())
            .await?;
        let Value::Array(items) = reply else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Array(mut parts) = item else { continue };
            let Some(Value::Array(fields)) = parts.pop() else { continue };
            let Some(id) = parts.pop().and_then(bulk_string) else { continue };
            let seq: u64 = id.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut outcome = None;
            let mut record: Option<ConsentRecord> = None;
            let mut it = fields.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                match bulk_string(k).as_deref() {
                    Some("outcome") => outcome = bulk_string(v),
                    Some("rec") => record = bulk_bytes(v).map(|b| decode("consent record", &b)).transpose()?,
                    _ => {}
                }
            }
            if let (Some(mut record), Some(outcome)) = (record, outcome) {
                record.seq = seq;
                record.outcome = parse_outcome(&outcome)?;
                out.push(record);
            }
        }
        Ok(out)
    }
}

fn parse_outcome(s: &str) -> Result<ConsentOutcome> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StoreError::corrupt("consent outcome", e))
}

#[async_trait]
impl RunLog for RedisStore {
    async fn record_run(&self, run: &IngestRun) -> Result<u64> {
        let mut con = self.con();
        let id: u64 = con.incr(self.keys.run_seq().as_str(), 1u64).await?;
        let mut run = run.clone();
        run.id = id;
        redis::pipe()
            .lpush(self.keys.run_log().as_str(), encode(&run))
            .ignore()
            .ltrim(self.keys.run_log().as_str(), 0, RUN_LOG_MAX - 1)
            .ignore()
            .query_async::<()>(&mut con)
            .await?;
        Ok(id)
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<IngestRun>> {
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut con = self.con();
        let mut out = Vec::new();
        let mut start = 0isize;
        const PAGE: isize = 500;
        loop {
            let page: Vec<Vec<u8>> = con.lrange(self.keys.run_log().as_str(), start, start + PAGE - 1).await?;
            let done = (page.len() as isize) < PAGE;
            for bytes in page {
                let run: IngestRun = decode("ingest run", &bytes)?;
                if crate::run_matches(filter, &run) {
                    out.push(run);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if done {
                return Ok(out);
            }
            start += PAGE;
        }
    }
}

impl RedisStore {
    async fn rate(&self, bucket: &Key, rate: Rate, op: RateOp) -> Result<Permits> {
        let (name, amount, window) = op.script_args();
        let (granted, next_in): (u32, u64) = self
            .scripts
            .rate
            .key(bucket.as_str())
            .arg(rate.interval_us())
            .arg(rate.burst.max(1))
            .arg(name)
            .arg(amount)
            .arg(window)
            .invoke_async(&mut self.con())
            .await?;
        Ok(Permits { granted, next_in: Duration::from_micros(next_in) })
    }
}

#[async_trait]
impl RateStore for RedisStore {
    async fn take_permits(&self, bucket: &Key, rate: Rate, want: u32) -> Result<Permits> {
        self.rate(bucket, rate, RateOp::Take(want)).await
    }

    async fn charge_permits(&self, bucket: &Key, rate: Rate, used: u32, over: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Charge { used, over }).await.map(drop)
    }

    async fn pause_permits(&self, bucket: &Key, rate: Rate, pause: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Pause(pause)).await.map(drop)
    }
}

impl Store for RedisStore {
    fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
