//! Queues on Redis ([`QueueStore`]): a stream and a consumer group per queue (`XADD`,
//! `XREADGROUP`, `XACK` + `XDEL`, `XAUTOCLAIM`), a sorted set of delayed entries moved in by
//! the claim, and the once-marks beside the stream, checked and written with their entries by
//! one script per batch (`scripts/enqueue_once.lua`). Lines (one citizen's replies in order)
//! are kept by the claim, ack, retry and re-claim scripts (`lines`). Queues
//! are read without `BLOCK` (a short poll, woken at once by work added in this process), so no
//! Cluster connection is ever held by a blocked read.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::{AsyncCommands, Value};

use super::{RedisStore, bulk_bytes, bulk_string, millis, queue_index};
use crate::{EntryId, KvOp, KvStore, Mark, OnceOp, QueueDepth, QueueEntry, QueueName, QueueStore, Result, StoreError};

/// How often a blocked `claim` looks again when nothing in this process announced work.
const CLAIM_POLL: Duration = Duration::from_millis(50);

impl RedisStore {
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
            return Err(StoreError::backend(format!(
                "{} operaciones únicas recibieron {} respuestas",
                ops.len(),
                found.len()
            )));
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
                    return Err(StoreError::unavailable_from(
                        format!("la cola {queue} perdió su grupo de consumidores"),
                        e,
                    ));
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
