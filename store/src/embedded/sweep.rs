//! Expiry on disk for the embedded store: reads already ignore an expired key or once-mark,
//! and a sweeper deletes them now and then, in chunks, so the table does not grow with every
//! message ever deduplicated and no sweep holds the webhooks' commits behind it for long.

use std::sync::Arc;
use std::time::Duration;

use super::EmbeddedStore;
use super::kv::sweep_expired;
use super::once::Marks;
use super::writer::Writer;
use crate::Result;

/// How often expired keys are swept from disk (reads ignore them before that).
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Expired records deleted per sweeping transaction (see [`sweep`]).
const SWEEP_CHUNK: usize = 2_000;

impl EmbeddedStore {
    /// Deletes expired keys now and then, if a Tokio runtime is running.
    pub(super) fn spawn_sweeper(&self) {
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

#[cfg(test)]
mod tests {
    use redb::{ReadableTableMetadata, TableDefinition};
    use schemas::KeyLayout;

    use super::*;
    use crate::embedded::kv::{KV, KV_EXPIRY};
    use crate::embedded::once::ONCE_LOG;
    use crate::{KvOp, KvStore, Mark, OnceOp, QueueName, QueueStore};

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
