//! Conéctate subscribers in the embedded store ([`SubscriberStore`]): one row per subscriber,
//! keyed by the user key so paging goes in key order, the consent ledger by sequence, and the
//! ledger counted per quarter hour ([`crate::consent_counts`]). A consent change, its ledger
//! record and its count are one write transaction; the records of a ledger older than the
//! counts are counted once, in one write transaction, on the first read of the counts.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use schemas::{ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, Subscriber, UserKey};

use super::{EmbeddedStore, decode, encode, meta_get, meta_next, meta_set, read_meta};
use crate::consent_counts::{ConsentCounts, ConsentQuarter, Tally, quarter_of, quarter_start, step, tally};
use crate::{Result, SubscriberStore, ledger_record, subscriber_of};

pub(super) const SUBSCRIBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscribers");
pub(super) const LEDGER: TableDefinition<u64, &[u8]> = TableDefinition::new("consent_ledger");
/// Quarter hour → (new, left, net).
pub(super) const CONSENT_COUNTS: TableDefinition<i64, (u64, u64, i64)> = TableDefinition::new("consent_counts");
/// The first ledger seq the counts include as it is written.
const COUNTED_FROM: &str = "consent_counts_from";
/// Set once the ledger records older than the counts have been counted.
const BACKFILLED: &str = "consent_counts_backfilled";

/// Adds `(new, left, net)` to a quarter's counts.
fn add_counts(tx: &WriteTransaction, quarter: i64, (new, left, net): (u64, u64, i64)) -> Result<()> {
    let mut table = tx.open_table(CONSENT_COUNTS)?;
    let (n, l, d) = table.get(quarter)?.map(|v| v.value()).unwrap_or_default();
    table.insert(quarter, (n + new, l + left, d + net))?;
    Ok(())
}

#[async_trait]
impl SubscriberStore for EmbeddedStore {
    async fn apply_consent(&self, change: &ConsentChange) -> Result<ConsentOutcome> {
        let change = change.clone();
        self.writer
            .write(move |tx| {
                let user = change.user.to_string();
                let mut subscribers = tx.open_table(SUBSCRIBERS)?;
                let exists = subscribers.get(user.as_str())?.is_some();
                let outcome = match (change.action, exists) {
                    (ConsentAction::Subscribe, true) => ConsentOutcome::AlreadySubscribed,
                    (ConsentAction::Subscribe, false) => {
                        let subscriber = subscriber_of(&change);
                        subscribers.insert(user.as_str(), encode(&subscriber).as_slice())?;
                        ConsentOutcome::Subscribed
                    }
                    (ConsentAction::Unsubscribe, true) => {
                        subscribers.remove(user.as_str())?;
                        ConsentOutcome::Unsubscribed
                    }
                    (ConsentAction::Unsubscribe, false) => ConsentOutcome::NotSubscribed,
                };
                drop(subscribers);
                let seq = meta_next(tx, "ledger_seq")?;
                let record = ledger_record(seq, &change, outcome);
                tx.open_table(LEDGER)?.insert(seq, encode(&record).as_slice())?;
                if meta_get(tx, COUNTED_FROM)?.is_none() {
                    meta_set(tx, COUNTED_FROM, seq)?;
                }
                let counts = step(&change.signal, outcome);
                if counts != (0, 0, 0) {
                    add_counts(tx, quarter_of(change.at), counts)?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn subscriber(&self, user: &UserKey) -> Result<Option<Subscriber>> {
        let rx = self.read()?;
        let table = rx.open_table(SUBSCRIBERS)?;
        table.get(user.to_string().as_str())?.map(|v| decode("subscriber", v.value())).transpose()
    }

    async fn subscribers(&self, after: Option<&UserKey>, limit: usize) -> Result<Vec<Subscriber>> {
        let rx = self.read()?;
        let table = rx.open_table(SUBSCRIBERS)?;
        let start = after.map(|u| u.to_string()).unwrap_or_default();
        let mut out = Vec::new();
        for row in table.range(start.as_str()..)? {
            let (k, v) = row?;
            if after.is_some() && k.value() == start {
                continue;
            }
            out.push(decode("subscriber", v.value())?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    async fn subscriber_count(&self) -> Result<u64> {
        Ok(self.read()?.open_table(SUBSCRIBERS)?.len()?)
    }

    async fn consent_records(&self, after: u64, limit: usize) -> Result<Vec<ConsentRecord>> {
        let rx = self.read()?;
        let table = rx.open_table(LEDGER)?;
        table
            .range(after.saturating_add(1)..)?
            .take(limit)
            .map(|row| {
                let (_, v) = row?;
                decode("consent record", v.value())
            })
            .collect()
    }

    async fn consent_counts(&self, since: Timestamp) -> Result<ConsentCounts> {
        if read_meta(&self.read()?, BACKFILLED)?.is_none() {
            self.writer.write(backfill_counts).await?;
        }
        let rx = self.read()?;
        let subscribers = rx.open_table(SUBSCRIBERS)?.len()?;
        let quarters = rx
            .open_table(CONSENT_COUNTS)?
            .range(quarter_of(since)..)?
            .map(|row| -> Result<ConsentQuarter> {
                let (k, v) = row?;
                let (new, left, net) = v.value();
                Ok(ConsentQuarter { start: quarter_start(k.value()), new, left, net })
            })
            .collect::<Result<_>>()?;
        Ok(ConsentCounts { subscribers, quarters })
    }
}

/// Counts, once, the ledger records written before the counts existed: those before the
/// first seq a consent change counted (or all of them, if none has yet).
fn backfill_counts(tx: &WriteTransaction) -> Result<()> {
    if meta_get(tx, BACKFILLED)?.is_some() {
        return Ok(());
    }
    let counted_from = match meta_get(tx, COUNTED_FROM)? {
        Some(seq) => seq,
        None => {
            let next = meta_get(tx, "ledger_seq")?.unwrap_or(0) + 1;
            meta_set(tx, COUNTED_FROM, next)?;
            next
        }
    };
    let mut older = Tally::new();
    for row in tx.open_table(LEDGER)?.range(..counted_from)? {
        let (_, v) = row?;
        tally(&mut older, &decode::<ConsentRecord>("consent record", v.value())?);
    }
    for (quarter, counts) in older {
        add_counts(tx, quarter, counts)?;
    }
    meta_set(tx, BACKFILLED, 1)
}
