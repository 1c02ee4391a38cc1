//! «Sin entender» on Redis: three keys under one hash tag (`{P:unmatched}`, so one script
//! changes them together on a Cluster): a sorted set of phrases scored by last seen, a hash of
//! first seen, and a hash of each phrase's citizen marks (8 hex digits each). One script per
//! batch adds, evicts the phrase unseen longest beyond the bound, and forgets the expired.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::Script;

use super::{RedisStore, millis};
use crate::Result;
use crate::unmatched::{
    MAX_CITIZENS, MAX_PHRASES, UnmatchedMessage, UnmatchedPhrase, UnmatchedStore, citizen_mark, cutoff_ms, epoch_ms,
    from_epoch_ms, sort_phrases,
};

/// The digits of one mark.
const MARK_LEN: usize = 8;

static RECORD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/record_unmatched.lua")));

#[async_trait]
impl UnmatchedStore for RedisStore {
    async fn record_unmatched(&self, batch: &[UnmatchedMessage], now: Timestamp, keep: Duration) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut seen: BTreeMap<&str, (u64, u64, BTreeSet<u32>)> = BTreeMap::new();
        for m in batch {
            let at = epoch_ms(m.at);
            let entry = seen.entry(m.phrase.as_str()).or_insert((at, at, BTreeSet::new()));
            entry.0 = entry.0.min(at);
            entry.1 = entry.1.max(at);
            entry.2.insert(citizen_mark(&m.user, &m.phrase));
        }
        let mut invocation = RECORD.key(self.keys.unmatched_phrases().as_str());
        invocation
            .key(self.keys.unmatched_first().as_str())
            .key(self.keys.unmatched_citizens().as_str())
            .arg(cutoff_ms(now, keep))
            .arg(MAX_PHRASES)
            .arg(MAX_CITIZENS)
            .arg(millis(keep));
        for (phrase, (first, last, marks)) in seen {
            let marks: String = marks.iter().map(|m| format!("{m:08x}")).collect();
            invocation.arg(phrase).arg(first).arg(last).arg(marks);
        }
        invocation.invoke_async::<()>(&mut self.con()).await?;
        Ok(())
    }

    async fn unmatched(&self, min_citizens: u64, now: Timestamp, keep: Duration) -> Result<Vec<UnmatchedPhrase>> {
        let (last_seen, first_seen, marks): (Vec<(String, u64)>, HashMap<String, u64>, HashMap<String, Vec<u8>>) =
            redis::pipe()
                .cmd("ZRANGEBYSCORE")
                .arg(self.keys.unmatched_phrases().as_str())
                .arg(cutoff_ms(now, keep))
                .arg("+inf")
                .arg("WITHSCORES")
                .hgetall(self.keys.unmatched_first().as_str())
                .hgetall(self.keys.unmatched_citizens().as_str())
                .query_async(&mut self.con())
                .await?;
        let mut out: Vec<UnmatchedPhrase> = last_seen
            .into_iter()
            .filter_map(|(phrase, last)| {
                let citizens = (marks.get(&phrase).map_or(0, Vec::len) / MARK_LEN) as u64;
                let first = first_seen.get(&phrase).copied().unwrap_or(last);
                (citizens >= min_citizens).then(|| UnmatchedPhrase {
                    citizens,
                    first_seen: from_epoch_ms(first),
                    last_seen: from_epoch_ms(last),
                    phrase,
                })
            })
            .collect();
        sort_phrases(&mut out);
        Ok(out)
    }
}
