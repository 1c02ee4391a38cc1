//! Counters on Redis ([`CounterStore`]): `HINCRBY` per day × topic and per day × failure
//! reason, `PFADD` / `PFCOUNT` per day for unique users (a HyperLogLog, within about 1 %). A
//! batch is one pipeline; the keys of a day are unrelated to each other, so nothing here needs
//! a script.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use jiff::civil::Date;
use redis::Value;
use schemas::Topic;

use super::RedisStore;
use crate::{CounterStore, DayFailures, DayInteractions, Interaction, Result};

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
