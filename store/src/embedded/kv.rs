//! Small values with a TTL in the embedded store ([`KvStore`]): one table of values, each
//! prefixed with its expiry, and an index by expiry for the sweeper. A batch of writes is one
//! write transaction through the group-commit writer, its tables opened once ([`KvTables`]);
//! a batch of reads is one read transaction and commits nothing.

use std::time::Duration;

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use schemas::Key;

use super::{EmbeddedStore, now_ms};
use crate::{KvOp, KvReply, KvStore, Result};

/// Value: 8 bytes of big-endian expiry (Unix ms, 0 = never) followed by the value.
pub(super) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// (expiry ms, key): what the sweeper deletes once expired.
pub(super) const KV_EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("kv_expiry");

pub(super) fn sweep_expired(tx: &WriteTransaction, limit: usize) -> Result<usize> {
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

pub(super) fn kv_apply_all(tx: &WriteTransaction, ops: &[KvOp]) -> Result<Vec<KvReply>> {
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
