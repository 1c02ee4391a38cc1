//! Small values with a TTL on Redis ([`KvStore`]): `SET NX PX`, `SET PX`, `INCR` with
//! `PEXPIRE NX`. A batch is one pipeline on one server; on a Cluster its keys are unrelated
//! (a dedupe mark beside a session, across users), so it splits itself per slot and sends the
//! pieces at once.

use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, Value};
use schemas::Key;

use super::{RedisStore, bulk_bytes, millis};
use crate::{KvOp, KvReply, KvStore, Result, StoreError};

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
                    return Err(StoreError::backend(format!(
                        "un lote de {} operaciones recibió {} respuestas",
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
