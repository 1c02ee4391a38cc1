//! The once-marks of the embedded store ([`QueueStore::enqueue_once`](crate::QueueStore)).
//!
//! A mark is keyed by a platform's message id, a random key: written into a B-tree, each one
//! would copy a page per commit (about 12 µs of CPU apiece on the benchmark machine, more than
//! the rest of a webhook's handling). So done marks are appended to a log table in the order
//! they are made, which touches the log's last page or two per commit, and are looked up in
//! an index in memory, rebuilt from the log when the store opens. Leases only matter while
//! their work is in flight, and windows (flood limits) for a minute, in the one process an
//! embedded store serves, so they live in memory alone.
//!
//! The index follows the transactions ([`TxObserver`]): what a transaction marks is pending
//! until it commits, and is dropped if the transaction is abandoned. Marks written by another
//! process (the multi-writer mode) are read from the log's tail at the start of every batch,
//! inside the write transaction, so the index never misses one.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::handle::Handle;
use super::now_ms;
use super::writer::TxObserver;
use crate::{Mark, OnceOp, QueueName, Result};

/// seq → 8 bytes of big-endian expiry (Unix ms), the queue's index in [`QueueName::ALL`], the id.
pub(super) const ONCE_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("once_log");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Leased,
    Done,
    /// A lease dropped by the open transaction (pending only).
    Released,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    expires_ms: u64,
    state: State,
}

/// The index of every live mark, and the open transaction's changes to it.
pub(super) struct Marks {
    /// Two independent keyed hashes make a mark's 128-bit key, so the index holds no ids.
    hashers: (RandomState, RandomState),
    inner: Mutex<Inner>,
}

/// A window: when it ends (Unix ms) and the offers counted in it.
#[derive(Clone, Copy, Debug)]
struct Count {
    expires_ms: u64,
    n: u64,
}

#[derive(Default)]
struct Inner {
    committed: HashMap<u128, Entry>,
    pending: HashMap<u128, Entry>,
    windows: HashMap<u128, Count>,
    pending_windows: HashMap<u128, Count>,
    /// The last log record merged into `committed`.
    log_seen: u64,
    /// The last log record the open transaction wrote or read.
    pending_log: Option<u64>,
}

impl Inner {
    /// Counts one offer in a window and answers how many it has counted.
    fn count(&mut self, key: u128, now: u64, ttl: u64) -> u64 {
        let live = self.pending_windows.get(&key).or_else(|| self.windows.get(&key)).filter(|c| c.expires_ms > now);
        let count = match live {
            Some(c) => Count { expires_ms: c.expires_ms, n: c.n + 1 },
            None => Count { expires_ms: now + ttl, n: 1 },
        };
        self.pending_windows.insert(key, count);
        count.n
    }

    fn lookup(&self, key: u128, now: u64) -> Mark {
        let entry = match self.pending.get(&key) {
            Some(Entry { state: State::Released, .. }) => return Mark::Unmarked,
            Some(entry) => Some(entry),
            None => self.committed.get(&key),
        };
        match entry {
            Some(e) if e.expires_ms > now && e.state == State::Done => Mark::Done,
            Some(e) if e.expires_ms > now => Mark::Leased,
            _ => Mark::Unmarked,
        }
    }
}

/// What a hashed key names, so a mark and a window never share a key.
const MARK: u8 = 0;
const WINDOW: u8 = 1;

fn queue_index(queue: QueueName) -> u8 {
    QueueName::ALL.iter().position(|q| *q == queue).expect("every queue is in ALL") as u8
}

fn record(expires_ms: u64, queue: QueueName, id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + id.len());
    out.extend_from_slice(&expires_ms.to_be_bytes());
    out.push(queue_index(queue));
    out.extend_from_slice(id.as_bytes());
    out
}

/// (expiry, queue, id) of a log record, if it is one.
fn parse(record: &[u8]) -> Option<(u64, QueueName, &[u8])> {
    let expires = u64::from_be_bytes(record.get(..8)?.try_into().ok()?);
    let queue = *QueueName::ALL.get(usize::from(*record.get(8)?))?;
    Some((expires, queue, &record[9..]))
}

fn ttl_ms(ttl: std::time::Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX / 2).max(1)
}

impl Marks {
    /// Reads every live done mark of the log into a new index.
    pub(super) fn load(db: &Handle) -> Result<Marks> {
        let marks = Marks { hashers: (RandomState::new(), RandomState::new()), inner: Mutex::default() };
        let rx = db.begin_read()?;
        let log = rx.open_table(ONCE_LOG)?;
        let now = now_ms();
        let mut inner = marks.inner.lock().expect("marks lock");
        for row in log.range::<u64>(..)? {
            let (seq, value) = row?;
            inner.log_seen = seq.value();
            if let Some((expires_ms, queue, id)) = parse(value.value())
                && expires_ms > now
            {
                inner.committed.insert(marks.key(queue, MARK, id), Entry { expires_ms, state: State::Done });
            }
        }
        drop(inner);
        Ok(marks)
    }

    fn key(&self, queue: QueueName, what: u8, id: &[u8]) -> u128 {
        let a = self.hashers.0.hash_one((queue_index(queue), what, id));
        let b = self.hashers.1.hash_one((queue_index(queue), what, id));
        (u128::from(a) << 64) | u128::from(b)
    }

    /// Runs `ops` inside `tx` and answers the mark each id had, and which operations' payloads
    /// are to be added (by their position).
    pub(super) fn apply(
        &self,
        tx: &WriteTransaction,
        queue: QueueName,
        ops: &[OnceOp],
    ) -> Result<(Vec<Mark>, Vec<usize>)> {
        let now = now_ms();
        let mut log = tx.open_table(ONCE_LOG)?;
        let mut inner = self.inner.lock().expect("marks lock");
        // Catch up with the log: marks of other processes (and of this transaction's earlier
        // batches, already pending).
        let from = inner.pending_log.unwrap_or(inner.log_seen) + 1;
        for row in log.range(from..)? {
            let (seq, value) = row?;
            inner.pending_log = Some(seq.value());
            if let Some((expires_ms, queue, id)) = parse(value.value()) {
                inner.pending.insert(self.key(queue, MARK, id), Entry { expires_ms, state: State::Done });
            }
        }
        let mut last = inner.pending_log.unwrap_or(inner.log_seen);
        let mut found = Vec::with_capacity(ops.len());
        let mut added = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let id = match op {
                OnceOp::Enqueue { id, .. } | OnceOp::Lease { id, .. } | OnceOp::Release { id } => id,
            };
            let key = self.key(queue, MARK, id.as_bytes());
            let mut mark = inner.lookup(key, now);
            match op {
                OnceOp::Enqueue { payload, ttl, leased, window, .. }
                    if mark == Mark::Unmarked || (mark == Mark::Leased && *leased) =>
                {
                    let expires_ms = now + ttl_ms(*ttl);
                    last += 1;
                    log.insert(last, record(expires_ms, queue, id).as_slice())?;
                    inner.pending.insert(key, Entry { expires_ms, state: State::Done });
                    inner.pending_log = Some(last);
                    if let Some(w) = window.as_ref().filter(|_| !*leased) {
                        let n = inner.count(self.key(queue, WINDOW, w.name.as_bytes()), now, ttl_ms(w.ttl));
                        if n > w.limit {
                            mark = Mark::OverLimit(n);
                        }
                    }
                    if payload.is_some() && !matches!(mark, Mark::OverLimit(_)) {
                        added.push(i);
                    }
                }
                OnceOp::Lease { ttl, window, .. } if mark == Mark::Unmarked => {
                    if let Some(w) = window {
                        let n = inner.count(self.key(queue, WINDOW, w.name.as_bytes()), now, ttl_ms(w.ttl));
                        if n > w.limit {
                            mark = Mark::OverLimit(n);
                        }
                    }
                    if mark == Mark::Unmarked {
                        inner.pending.insert(key, Entry { expires_ms: now + ttl_ms(*ttl), state: State::Leased });
                    }
                }
                OnceOp::Release { .. } if mark == Mark::Leased => {
                    inner.pending.insert(key, Entry { expires_ms: 0, state: State::Released });
                }
                _ => {}
            }
            found.push(mark);
        }
        Ok((found, added))
    }

    /// Deletes expired records from the front of the log and forgets expired marks. Records
    /// are appended in time order, so with one TTL the expired ones are all at the front; a
    /// longer-lived record holds shorter ones behind it until it expires (the index skips them).
    /// How many marks the index holds.
    #[cfg(test)]
    pub(super) fn indexed(&self) -> usize {
        self.inner.lock().expect("marks lock").committed.len()
    }

    pub(super) fn sweep(&self, tx: &WriteTransaction, limit: usize) -> Result<usize> {
        let now = now_ms();
        let mut log = tx.open_table(ONCE_LOG)?;
        let mut expired = Vec::new();
        for row in log.range::<u64>(..)?.take(limit) {
            let (seq, value) = row?;
            match parse(value.value()) {
                Some((expires_ms, ..)) if expires_ms > now => break,
                _ => expired.push(seq.value()),
            }
        }
        for seq in &expired {
            log.remove(seq)?;
        }
        // The index is walked once, with the last part of the log.
        if expired.len() < limit {
            let mut inner = self.inner.lock().expect("marks lock");
            inner.committed.retain(|_, e| e.expires_ms > now);
            inner.windows.retain(|_, c| c.expires_ms > now);
        }
        Ok(expired.len())
    }
}

impl TxObserver for Marks {
    fn committed(&self) {
        let mut inner = self.inner.lock().expect("marks lock");
        let inner = &mut *inner;
        for (key, entry) in inner.pending.drain() {
            if entry.state == State::Released {
                inner.committed.remove(&key);
            } else {
                inner.committed.insert(key, entry);
            }
        }
        if let Some(seq) = inner.pending_log.take() {
            inner.log_seen = seq;
        }
        let windows = std::mem::take(&mut inner.pending_windows);
        inner.windows.extend(windows);
    }

    fn abandoned(&self) {
        let mut inner = self.inner.lock().expect("marks lock");
        inner.pending.clear();
        inner.pending_windows.clear();
        inner.pending_log = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use redb::ReadableTableMetadata;

    use super::*;
    use crate::StoreError;
    use crate::embedded::writer::Writer;

    fn offer(id: &str) -> OnceOp {
        OnceOp::Enqueue {
            id: id.into(),
            payload: Some(vec![1]),
            ttl: Duration::from_secs(60),
            leased: false,
            window: None,
            line: None,
        }
    }

    /// A batch abandoned because another caller's write failed runs each write again alone;
    /// the marks of the abandoned attempt must not count.
    #[tokio::test]
    async fn marks_of_an_abandoned_transaction_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Handle::open(dir.path(), Handle::on_disk()).unwrap());
        let tx = db.begin_write().unwrap();
        tx.open_table(ONCE_LOG).unwrap();
        tx.commit().unwrap();
        let marks = Arc::new(Marks::load(&db).unwrap());
        let writer = Writer::start(db.clone(), marks.clone());
        let once = |ids: Vec<OnceOp>| {
            let marks = marks.clone();
            writer.write(move |tx| marks.apply(tx, QueueName::Outbox, &ids).map(|(found, _)| found))
        };
        // Hold the writer busy so the next three writes queue up and share one transaction.
        let busy = writer.write(|_| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        let later = |ms| tokio::time::sleep(Duration::from_millis(ms));
        let (_, first, failing, second) = tokio::join!(
            busy,
            async {
                later(20).await;
                once(vec![offer("a"), offer("b")]).await
            },
            async {
                later(30).await;
                writer.write(|_| Err::<(), _>(StoreError::backend("refused"))).await
            },
            async {
                later(40).await;
                once(vec![offer("b"), offer("c")]).await
            },
        );
        assert!(failing.is_err());
        assert_eq!(first.unwrap(), [Mark::Unmarked, Mark::Unmarked]);
        assert_eq!(second.unwrap(), [Mark::Done, Mark::Unmarked]);
        let found = once(vec![offer("a"), offer("b"), offer("c"), offer("d")]).await.unwrap();
        assert_eq!(found, [Mark::Done, Mark::Done, Mark::Done, Mark::Unmarked]);
        let logged = db.begin_read().unwrap().open_table(ONCE_LOG).unwrap().len().unwrap();
        assert_eq!(logged, 4, "one record per mark, none left by the abandoned attempt");
    }
}
