//! Conéctate's contents, delivery reports and messaging-limit window on Redis.
//!
//! | contract | Redis |
//! |---|---|
//! | contents | one hash, field = id, value = `revision|record`; compare-and-set in a script; ids from INCR |
//! | reports | per content a hash of items (`rank|label`) and a hash of counts under one hash tag; one script per batch moves both |
//! | messaging limit | a sorted set of users scored by when they were last reached; one script prunes and admits, timed by the server's clock |

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, Script, Value};
use schemas::UserKey;

use super::{RedisStore, millis};
use crate::{ContentStore, Reach, ReachStore, ReportStore, ReportUpdate, Result, Revised, StoreError};

static PUT_CONTENT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/put_content.lua")));

static ADVANCE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/advance_report.lua")));

static REACH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/reach.lua")));

fn revised(id: u64, stored: &[u8]) -> Result<Revised> {
    let corrupt = || StoreError::corrupt(format!("content {id}"), "no revision before the record");
    let sep = stored.iter().position(|b| *b == b'|').ok_or_else(corrupt)?;
    let revision = std::str::from_utf8(&stored[..sep]).ok().and_then(|r| r.parse().ok()).ok_or_else(corrupt)?;
    Ok(Revised { revision, record: stored[sep + 1..].to_vec() })
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        _ => 0,
    }
}

#[async_trait]
impl ContentStore for RedisStore {
    async fn next_content_id(&self) -> Result<u64> {
        Ok(self.con().incr(self.keys.content_seq().as_str(), 1u64).await?)
    }

    async fn content_record(&self, id: u64) -> Result<Option<Revised>> {
        let stored: Option<Vec<u8>> = self.con().hget(self.keys.contents().as_str(), id).await?;
        stored.map(|s| revised(id, &s)).transpose()
    }

    async fn put_content_record(&self, id: u64, expected: u64, record: &[u8]) -> Result<Option<u64>> {
        let revision: i64 = PUT_CONTENT
            .key(self.keys.contents().as_str())
            .arg(id)
            .arg(expected)
            .arg(record)
            .invoke_async(&mut self.con())
            .await?;
        Ok(u64::try_from(revision).ok())
    }

    async fn content_records(&self, after: u64, limit: usize) -> Result<Vec<(u64, Revised)>> {
        let mut con = self.con();
        let last: Option<u64> = con.get(self.keys.content_seq().as_str()).await?;
        let last = last.unwrap_or(0);
        let mut out = Vec::new();
        let mut next = after.saturating_add(1);
        // Ids are consecutive but one may be missing (taken by a create that never wrote).
        while next <= last && out.len() < limit {
            let ids: Vec<u64> = (next..=last).take((limit - out.len()).max(16)).collect();
            next = ids.last().map_or(last, |l| l + 1);
            let records: Vec<Option<Vec<u8>>> =
                redis::cmd("HMGET").arg(self.keys.contents().as_str()).arg(&ids).query_async(&mut con).await?;
            for (id, stored) in ids.into_iter().zip(records) {
                if let Some(stored) = stored
                    && out.len() < limit
                {
                    out.push((id, revised(id, &stored)?));
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl ReportStore for RedisStore {
    async fn advance_report(&self, updates: &[ReportUpdate], keep: Duration) -> Result<Vec<bool>> {
        let mut moved = vec![false; updates.len()];
        // One script per content: its keys share a hash tag, another content's do not.
        let mut contents: Vec<u64> = updates.iter().map(|u| u.content).collect();
        contents.sort_unstable();
        contents.dedup();
        for content in contents {
            let positions: Vec<usize> = (0..updates.len()).filter(|&i| updates[i].content == content).collect();
            let mut invocation = ADVANCE.key(self.keys.report_items(content).as_str());
            invocation.key(self.keys.report_counts(content).as_str()).arg(millis(keep));
            for &i in &positions {
                invocation.arg(&updates[i].item).arg(updates[i].rank).arg(&updates[i].label);
            }
            let answers: Vec<i64> = invocation.invoke_async(&mut self.con()).await?;
            for (&i, answer) in positions.iter().zip(answers) {
                moved[i] = answer == 1;
            }
        }
        Ok(moved)
    }

    async fn report_counts(&self, content: u64) -> Result<BTreeMap<String, u64>> {
        let counts: BTreeMap<String, i64> = self.con().hgetall(self.keys.report_counts(content).as_str()).await?;
        Ok(counts
            .into_iter()
            .filter_map(|(label, n)| u64::try_from(n).ok().filter(|n| *n > 0).map(|n| (label, n)))
            .collect())
    }
}

#[async_trait]
impl ReachStore for RedisStore {
    async fn reach(&self, users: &[UserKey], window: Duration, limit: u64) -> Result<Reach> {
        let mut invocation = REACH.key(self.keys.reached().as_str());
        // Lua numbers are doubles: an unlimited tier is any figure far beyond the real ones.
        invocation.arg(millis(window)).arg(limit.min(1 << 50));
        for user in users {
            invocation.arg(user.to_string());
        }
        let reply: Value = invocation.invoke_async(&mut self.con()).await?;
        let Value::Array(parts) = reply else {
            return Err(StoreError::backend("el script del límite de mensajes no respondió una lista"));
        };
        let admitted = match parts.first() {
            Some(Value::Array(flags)) => flags.iter().map(|f| int(f) == 1).collect(),
            _ => Vec::new(),
        };
        let next_in = parts.get(1).map_or(-1, int);
        let next_free_in = u64::try_from(next_in).ok().map(Duration::from_millis);
        let in_window = parts.get(2).map_or(0, |v| u64::try_from(int(v)).unwrap_or(0));
        Ok(Reach { admitted, next_free_in, in_window })
    }

    async fn reached(&self, window: Duration) -> Result<u64> {
        let now = jiff::Timestamp::now().as_millisecond();
        let since = now - i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
        Ok(self.con().zcount(self.keys.reached().as_str(), since, "+inf").await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_its_revision_apart() {
        assert_eq!(
            revised(3, b"12|{\"a\":\"x|y\"}").unwrap(),
            Revised { revision: 12, record: b"{\"a\":\"x|y\"}".to_vec() }
        );
        assert!(revised(3, b"no revision").is_err());
    }
}
