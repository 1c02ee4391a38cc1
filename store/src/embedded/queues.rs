//! Queues in the embedded store ([`QueueStore`]): entries by (queue, sequence), the pending
//! claims beside them, delayed entries by due time, and one cursor per queue for its consumer
//! group. Each call is one write transaction (a claim too, so two consumers never get one
//! entry); the once-marks are [`once`](super::once)'s and the turns of lines
//! [`lines`]'s. A claim that finds nothing costs a read transaction, no commit.

pub(super) mod lines;

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use self::lines::{Place, Q_DELAYED_LINED, Q_LINED};
use super::kv::kv_apply_all;
use super::{EmbeddedStore, decode, encode, meta_get, meta_next, meta_set, millis, now_ms, queue_index, read_meta};
use crate::{EntryId, KvOp, Mark, OnceOp, QueueDepth, QueueEntry, QueueName, QueueStore, Result, StoreError};

/// (queue, seq) → payload, for entries not yet acknowledged.
pub(super) const Q_ENTRIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_entries");
/// (queue, seq) → [`Claim`] for entries handed to a consumer.
pub(super) const Q_PENDING: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_pending");
/// (queue, due ms, seq) → payload.
pub(super) const Q_DELAYED: TableDefinition<(&str, u64, u64), &[u8]> = TableDefinition::new("queue_delayed");

/// How often a blocked `claim` looks again (for due delayed entries and other processes).
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// Who holds a pending entry.
#[derive(Serialize, Deserialize)]
struct Claim {
    consumer: String,
    claimed_ms: u64,
    deliveries: u64,
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
pub(super) fn append_entries<'p>(
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
