//! Counters in the embedded store ([`CounterStore`]): interactions per day and topic, a
//! HyperLogLog per day for unique users ([`Hll`]), failed replies per day and reason. A flush
//! is added up before it reaches the writer, so a second of interactions is a handful of row
//! updates in one commit.

use std::collections::{BTreeMap, btree_map};

use async_trait::async_trait;
use jiff::civil::Date;
use redb::{ReadableTable, TableDefinition};
use schemas::Topic;

use super::EmbeddedStore;
use super::hll::Hll;
use crate::{CounterStore, DayFailures, DayInteractions, Interaction, Result};

/// (day, topic) → count.
pub(super) const INTERACTIONS: TableDefinition<(&str, &str), u64> = TableDefinition::new("interactions");
/// day → HyperLogLog registers.
pub(super) const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users_hll");
/// (day, reason) → replies that failed for good.
pub(super) const FAILED_REPLIES: TableDefinition<(&str, &str), u64> = TableDefinition::new("failed_replies");

#[async_trait]
impl CounterStore for EmbeddedStore {
    async fn record_interactions(&self, batch: &[Interaction]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // Added up here, outside the writer: a flush carries a second's interactions, and one
        // B-tree update per interaction would hold every webhook's commit behind it.
        let mut days: BTreeMap<Date, (BTreeMap<&'static str, u64>, Vec<u64>)> = BTreeMap::new();
        for i in batch {
            let (counts, users) = days.entry(i.day).or_default();
            *counts.entry(i.topic.slug()).or_default() += 1;
            users.push(i.user.hash64());
        }
        let kept = self.sketches.clone();
        self.writer
            .write(move |tx| {
                let mut counts = tx.open_table(INTERACTIONS)?;
                let mut sketches = tx.open_table(USERS)?;
                let mut kept = kept.lock().expect("sketches lock");
                for (day, (by_topic, users)) in &days {
                    let day_key = day.to_string();
                    for (topic, added) in by_topic {
                        let n = counts.get((day_key.as_str(), *topic))?.map(|v| v.value()).unwrap_or(0);
                        counts.insert((day_key.as_str(), *topic), n + added)?;
                    }
                    let sketch = match kept.entry(*day) {
                        btree_map::Entry::Occupied(e) => e.into_mut(),
                        btree_map::Entry::Vacant(e) => e.insert(
                            sketches
                                .get(day_key.as_str())?
                                .map(|v| Hll::from_bytes(v.value()))
                                .unwrap_or_else(Hll::new),
                        ),
                    };
                    // Adding twice is harmless, so a rerun of this operation, or a
                    // transaction abandoned after it, leaves the kept sketch right.
                    users.iter().for_each(|&hash| sketch.add(hash));
                    sketches.insert(day_key.as_str(), sketch.0.as_slice())?;
                }
                // Today's and yesterday's (a flush around midnight) are enough.
                while kept.len() > 2 {
                    kept.pop_first();
                }
                Ok(())
            })
            .await
    }

    async fn interactions(&self, from: Date, to: Date) -> Result<Vec<DayInteractions>> {
        let rx = self.read()?;
        let counts = rx.open_table(INTERACTIONS)?;
        let users = rx.open_table(USERS)?;
        let (lo, hi) = (from.to_string(), to.to_string());
        let mut days: BTreeMap<String, DayInteractions> = Default::default();
        for row in counts.range((lo.as_str(), "")..=(hi.as_str(), "\u{10FFFF}"))? {
            let (k, v) = row?;
            let (day, topic) = k.value();
            let Ok(topic) = topic.parse::<Topic>() else { continue };
            let entry = days.entry(day.to_owned()).or_default();
            entry.day = day.parse().ok();
            entry.by_topic.insert(topic, v.value());
        }
        for (day, entry) in days.iter_mut() {
            entry.unique_users = users.get(day.as_str())?.map(|v| Hll::from_bytes(v.value()).count()).unwrap_or(0);
        }
        Ok(days.into_values().collect())
    }

    async fn unique_users(&self, from: Date, to: Date) -> Result<u64> {
        let rx = self.read()?;
        let users = rx.open_table(USERS)?;
        let mut union = Hll::new();
        for row in users.range(from.to_string().as_str()..=to.to_string().as_str())? {
            let (_, v) = row?;
            union.merge(&Hll::from_bytes(v.value()));
        }
        Ok(union.count())
    }

    async fn record_failed_replies(&self, failures: &[(Date, String)]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let failures = failures.to_vec();
        self.writer
            .write(move |tx| {
                let mut counts = tx.open_table(FAILED_REPLIES)?;
                for (day, reason) in &failures {
                    let day = day.to_string();
                    let n = counts.get((day.as_str(), reason.as_str()))?.map(|v| v.value()).unwrap_or(0);
                    counts.insert((day.as_str(), reason.as_str()), n + 1)?;
                }
                Ok(())
            })
            .await
    }

    async fn failed_replies(&self, from: Date, to: Date) -> Result<Vec<DayFailures>> {
        let rx = self.read()?;
        let counts = rx.open_table(FAILED_REPLIES)?;
        let (lo, hi) = (from.to_string(), to.to_string());
        let mut out: Vec<DayFailures> = Vec::new();
        for row in counts.range((lo.as_str(), "")..=(hi.as_str(), "\u{10FFFF}"))? {
            let (k, v) = row?;
            let (day, reason) = k.value();
            let Ok(day) = day.parse::<Date>() else { continue };
            if out.last().is_none_or(|d| d.day != day) {
                out.push(DayFailures { day, by_reason: Default::default() });
            }
            let last = out.last_mut().expect("pushed above");
            last.by_reason.insert(reason.to_owned(), v.value());
        }
        Ok(out)
    }
}
