//! «Sin entender» in the embedded store: one row per phrase (first seen, last seen and the
//! sorted citizen marks) and an index by last seen, to forget and evict the oldest first.
//! A batch is one write transaction through the group-commit writer.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::EmbeddedStore;
use super::conectate::read_table;
use crate::unmatched::{
    MAX_CITIZENS, MAX_PHRASES, UnmatchedMessage, UnmatchedPhrase, UnmatchedStore, citizen_mark, cutoff_ms, epoch_ms,
    from_epoch_ms, sort_phrases,
};
use crate::{Result, StoreError};

/// phrase → first seen (ms, 8 bytes big-endian), last seen (ms, 8 bytes), then the citizen
/// marks (4 bytes each, ascending).
const PHRASES: TableDefinition<&str, &[u8]> = TableDefinition::new("unmatched_phrases");
/// (last seen ms, phrase): the phrases in the order they are forgotten.
const BY_LAST_SEEN: TableDefinition<(u64, &str), ()> = TableDefinition::new("unmatched_by_last_seen");

/// A phrase's row.
struct Row {
    first: u64,
    last: u64,
    marks: BTreeSet<u32>,
}

impl Row {
    fn decode(phrase: &str, bytes: &[u8]) -> Result<Row> {
        let corrupt = || StoreError::corrupt(format!("unmatched {phrase}"), "not first, last and marks");
        if bytes.len() < 16 || !(bytes.len() - 16).is_multiple_of(4) {
            return Err(corrupt());
        }
        let u64_at = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let marks = bytes[16..].chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes"))).collect();
        Ok(Row { first: u64_at(0), last: u64_at(8), marks })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 4 * self.marks.len());
        out.extend(self.first.to_be_bytes());
        out.extend(self.last.to_be_bytes());
        self.marks.iter().for_each(|m| out.extend(m.to_be_bytes()));
        out
    }
}

#[async_trait]
impl UnmatchedStore for EmbeddedStore {
    async fn record_unmatched(&self, batch: &[UnmatchedMessage], now: Timestamp, keep: Duration) -> Result<()> {
        // Folded by phrase here, outside the writer.
        let mut seen: BTreeMap<String, Row> = BTreeMap::new();
        for m in batch {
            let at = epoch_ms(m.at);
            let row = seen.entry(m.phrase.clone()).or_insert(Row { first: at, last: at, marks: BTreeSet::new() });
            row.first = row.first.min(at);
            row.last = row.last.max(at);
            row.marks.insert(citizen_mark(&m.user, &m.phrase));
        }
        let cutoff = cutoff_ms(now, keep);
        self.writer
            .write(move |tx| {
                let mut phrases = tx.open_table(PHRASES)?;
                let mut order = tx.open_table(BY_LAST_SEEN)?;
                for (phrase, new) in &seen {
                    let stored = phrases.get(phrase.as_str())?.map(|v| Row::decode(phrase, v.value())).transpose()?;
                    let mut row = match stored {
                        Some(row) => {
                            order.remove((row.last, phrase.as_str()))?;
                            Row { first: row.first.min(new.first), last: row.last.max(new.last), marks: row.marks }
                        }
                        None => {
                            // A new phrase beyond the bound evicts the one unseen longest.
                            while phrases.len()? >= MAX_PHRASES as u64 {
                                let Some((oldest, _)) = order.pop_first()? else { break };
                                let (_, gone) = oldest.value();
                                phrases.remove(gone)?;
                            }
                            Row { first: new.first, last: new.last, marks: BTreeSet::new() }
                        }
                    };
                    for mark in &new.marks {
                        if row.marks.len() >= MAX_CITIZENS {
                            break;
                        }
                        row.marks.insert(*mark);
                    }
                    phrases.insert(phrase.as_str(), row.encode().as_slice())?;
                    order.insert((row.last, phrase.as_str()), ())?;
                }
                // Forget what nobody wrote within `keep`.
                loop {
                    let Some(first) = order.first()? else { break };
                    let (last, phrase) = first.0.value();
                    if last >= cutoff {
                        break;
                    }
                    let phrase = phrase.to_owned();
                    drop(first);
                    order.remove((last, phrase.as_str()))?;
                    phrases.remove(phrase.as_str())?;
                }
                Ok(())
            })
            .await
    }

    async fn unmatched(&self, min_citizens: u64, now: Timestamp, keep: Duration) -> Result<Vec<UnmatchedPhrase>> {
        let rx = self.read()?;
        let Some(phrases) = read_table(&rx, PHRASES)? else { return Ok(Vec::new()) };
        let cutoff = cutoff_ms(now, keep);
        let mut out = Vec::new();
        for row in phrases.iter()? {
            let (phrase, value) = row?;
            let phrase = phrase.value();
            let row = Row::decode(phrase, value.value())?;
            let citizens = row.marks.len() as u64;
            if row.last >= cutoff && citizens >= min_citizens {
                out.push(UnmatchedPhrase {
                    phrase: phrase.to_owned(),
                    citizens,
                    first_seen: from_epoch_ms(row.first),
                    last_seen: from_epoch_ms(row.last),
                });
            }
        }
        sort_phrases(&mut out);
        Ok(out)
    }
}
