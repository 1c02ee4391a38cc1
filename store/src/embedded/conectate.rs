//! Conéctate's contents, delivery reports and messaging-limit window in the embedded store.
//!
//! Each call is one write transaction through the group-commit writer, so a status and the
//! counts it moves are committed together. Tables are created by the first write; a read
//! before it finds them empty.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, TableError, WriteTransaction};
use schemas::UserKey;

use super::{EmbeddedStore, meta_next, millis, now_ms};
use crate::{ContentStore, Reach, ReachStore, ReportStore, ReportUpdate, Result, Revised, StoreError};

/// id → revision (8 bytes, big-endian) followed by the record.
const CONTENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("conectate_contents");
/// (content, item) → `rank|label`.
const REPORT_ITEMS: TableDefinition<(u64, &str), &str> = TableDefinition::new("conectate_report_items");
/// (content, label) → items in that state.
const REPORT_COUNTS: TableDefinition<(u64, &str), u64> = TableDefinition::new("conectate_report_counts");
/// content → (last update ms, how long its items are kept in ms).
const REPORT_TOUCHED: TableDefinition<u64, (u64, u64)> = TableDefinition::new("conectate_report_touched");
/// user → when last reached (ms).
const REACHED: TableDefinition<&str, u64> = TableDefinition::new("conectate_reached");
/// (ms, user): the same, in time order, to let the oldest out of the window.
const REACHED_BY_TIME: TableDefinition<(u64, &str), ()> = TableDefinition::new("conectate_reached_by_time");

/// Opens a table for reading; `None` while no write has created it.
pub(super) fn read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    rx: &ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match rx.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn revised(id: u64, stored: &[u8]) -> Result<Revised> {
    let revision = stored
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::corrupt(format!("content {id}"), "shorter than its revision"))?;
    Ok(Revised { revision, record: stored[8..].to_vec() })
}

#[async_trait]
impl ContentStore for EmbeddedStore {
    async fn next_content_id(&self) -> Result<u64> {
        self.writer.write(|tx| meta_next(tx, "content_seq")).await
    }

    async fn content_record(&self, id: u64) -> Result<Option<Revised>> {
        let rx = self.read()?;
        let Some(table) = read_table(&rx, CONTENTS)? else { return Ok(None) };
        table.get(id)?.map(|v| revised(id, v.value())).transpose()
    }

    async fn put_content_record(&self, id: u64, expected: u64, record: &[u8]) -> Result<Option<u64>> {
        let record = record.to_vec();
        self.writer
            .write(move |tx| {
                let mut table = tx.open_table(CONTENTS)?;
                let current = table.get(id)?.map(|v| revised(id, v.value())).transpose()?.map_or(0, |r| r.revision);
                if current != expected {
                    return Ok(None);
                }
                let mut stored = (current + 1).to_be_bytes().to_vec();
                stored.extend_from_slice(&record);
                table.insert(id, stored.as_slice())?;
                Ok(Some(current + 1))
            })
            .await
    }

    async fn content_records(&self, after: u64, limit: usize) -> Result<Vec<(u64, Revised)>> {
        let rx = self.read()?;
        let Some(table) = read_table(&rx, CONTENTS)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for row in table.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = row?;
            out.push((k.value(), revised(k.value(), v.value())?));
        }
        Ok(out)
    }
}

/// The report tables of one write transaction, opened once for a whole batch of updates.
struct ReportTables<'t> {
    items: redb::Table<'t, (u64, &'static str), &'static str>,
    counts: redb::Table<'t, (u64, &'static str), u64>,
}

impl ReportTables<'_> {
    /// Applies one update; whether it moved its item.
    fn advance(&mut self, update: &ReportUpdate) -> Result<bool> {
        let key = (update.content, update.item.as_str());
        let previous = match self.items.get(key)?.map(|v| v.value().to_owned()) {
            Some(stored) => {
                let (rank, label) = stored
                    .split_once('|')
                    .and_then(|(r, l)| Some((r.parse::<u8>().ok()?, l.to_owned())))
                    .ok_or_else(|| StoreError::corrupt(format!("report item {}", update.item), &stored))?;
                if rank >= update.rank {
                    return Ok(false);
                }
                Some(label)
            }
            None => None,
        };
        self.items.insert(key, format!("{}|{}", update.rank, update.label).as_str())?;
        if let Some(label) = previous {
            let n = self.counts.get((update.content, label.as_str()))?.map_or(0, |v| v.value());
            if n <= 1 {
                self.counts.remove((update.content, label.as_str()))?;
            } else {
                self.counts.insert((update.content, label.as_str()), n - 1)?;
            }
        }
        let n = self.counts.get((update.content, update.label.as_str()))?.map_or(0, |v| v.value());
        self.counts.insert((update.content, update.label.as_str()), n + 1)?;
        Ok(true)
    }
}

/// Forgets the items of contents untouched for longer than they were to be kept (the counts
/// stay), like the Redis store's expiring hash.
fn forget_old_items(tx: &WriteTransaction, now: u64) -> Result<()> {
    let mut touched = tx.open_table(REPORT_TOUCHED)?;
    let old: Vec<u64> = touched
        .iter()?
        .filter_map(|row| row.ok())
        .filter(|(_, v)| {
            let (at, keep) = v.value();
            at.saturating_add(keep) < now
        })
        .map(|(k, _)| k.value())
        .collect();
    if old.is_empty() {
        return Ok(());
    }
    let mut items = tx.open_table(REPORT_ITEMS)?;
    for content in old {
        touched.remove(content)?;
        let keys: Vec<String> = items
            .range((content, "")..(content.saturating_add(1), ""))?
            .map(|row| row.map(|(k, _)| k.value().1.to_owned()))
            .collect::<std::result::Result<_, _>>()?;
        for item in keys {
            items.remove((content, item.as_str()))?;
        }
    }
    Ok(())
}

#[async_trait]
impl ReportStore for EmbeddedStore {
    async fn advance_report(&self, updates: &[ReportUpdate], keep: Duration) -> Result<Vec<bool>> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let updates = updates.to_vec();
        let keep = millis(keep);
        self.writer
            .write(move |tx| {
                let now = now_ms();
                forget_old_items(tx, now)?;
                let mut tables =
                    ReportTables { items: tx.open_table(REPORT_ITEMS)?, counts: tx.open_table(REPORT_COUNTS)? };
                let moved = updates.iter().map(|u| tables.advance(u)).collect::<Result<Vec<bool>>>()?;
                drop(tables);
                let mut touched = tx.open_table(REPORT_TOUCHED)?;
                let mut contents: Vec<u64> = updates.iter().map(|u| u.content).collect();
                contents.dedup();
                for content in contents {
                    touched.insert(content, (now, keep))?;
                }
                Ok(moved)
            })
            .await
    }

    async fn report_counts(&self, content: u64) -> Result<BTreeMap<String, u64>> {
        let rx = self.read()?;
        let Some(counts) = read_table(&rx, REPORT_COUNTS)? else { return Ok(BTreeMap::new()) };
        let mut out = BTreeMap::new();
        for row in counts.range((content, "")..(content.saturating_add(1), ""))? {
            let (k, v) = row?;
            if v.value() > 0 {
                out.insert(k.value().1.to_owned(), v.value());
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl ReachStore for EmbeddedStore {
    async fn reach(&self, users: &[UserKey], window: Duration, limit: u64) -> Result<Reach> {
        let users: Vec<String> = users.iter().map(UserKey::to_string).collect();
        let window = millis(window);
        self.writer
            .write(move |tx| {
                let now = now_ms();
                let mut reached = tx.open_table(REACHED)?;
                let mut by_time = tx.open_table(REACHED_BY_TIME)?;
                let gone: Vec<(u64, String)> = by_time
                    .range((0, "")..(now.saturating_sub(window), ""))?
                    .map(|row| row.map(|(k, _)| (k.value().0, k.value().1.to_owned())))
                    .collect::<std::result::Result<_, _>>()?;
                for (at, user) in &gone {
                    by_time.remove((*at, user.as_str()))?;
                    reached.remove(user.as_str())?;
                }
                let mut in_window = reached.len()?;
                let mut admitted = Vec::with_capacity(users.len());
                for user in &users {
                    let last = reached.get(user.as_str())?.map(|v| v.value());
                    let ok = match last {
                        Some(at) => {
                            by_time.remove((at, user.as_str()))?;
                            true
                        }
                        None if in_window < limit => {
                            in_window += 1;
                            true
                        }
                        None => false,
                    };
                    if ok {
                        reached.insert(user.as_str(), now)?;
                        by_time.insert((now, user.as_str()), ())?;
                    }
                    admitted.push(ok);
                }
                let next_free_in = if admitted.iter().all(|a| *a) {
                    None
                } else {
                    let oldest = by_time.first()?.map_or(now, |(k, _)| k.value().0);
                    Some(Duration::from_millis(oldest.saturating_add(window).saturating_sub(now).max(1)))
                };
                Ok(Reach { admitted, next_free_in, in_window })
            })
            .await
    }

    async fn reached(&self, window: Duration) -> Result<u64> {
        let rx = self.read()?;
        let Some(by_time) = read_table(&rx, REACHED_BY_TIME)? else { return Ok(0) };
        let since = now_ms().saturating_sub(millis(window));
        Ok(by_time.range((since, "")..)?.count() as u64)
    }
}
