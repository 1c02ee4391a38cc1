//! Conéctate subscribers in the embedded store ([`SubscriberStore`]): one row per subscriber,
//! keyed by the user key so paging goes in key order, and the consent ledger by sequence. A
//! consent change and its ledger record are one write transaction.

use async_trait::async_trait;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use schemas::{ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, Subscriber, UserKey};

use super::{EmbeddedStore, decode, encode, meta_next};
use crate::{Result, SubscriberStore, ledger_record, subscriber_of};

pub(super) const SUBSCRIBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscribers");
pub(super) const LEDGER: TableDefinition<u64, &[u8]> = TableDefinition::new("consent_ledger");

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
}
