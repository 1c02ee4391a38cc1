//! Conéctate subscribers on Redis ([`SubscriberStore`]): one key per subscriber, a
//! lexicographic sorted set of their user keys for paging, and the consent ledger as a stream
//! whose ids are the ledger's sequence. One script per consent change
//! (`scripts/apply_consent.lua`) applies it and ledgers it together.

use async_trait::async_trait;
use redis::{AsyncCommands, Value};
use schemas::{ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, Subscriber, UserKey};

use super::{RedisStore, bulk_bytes, bulk_string, decode, encode};
use crate::{Result, StoreError, SubscriberStore};

#[async_trait]
impl SubscriberStore for RedisStore {
    async fn apply_consent(&self, change: &ConsentChange) -> Result<ConsentOutcome> {
        let subscriber = crate::subscriber_of(change);
        // The seq and outcome are filled in by the script; the record carries placeholders.
        let record = crate::ledger_record(0, change, ConsentOutcome::NotSubscribed);
        let action = match change.action {
            ConsentAction::Subscribe => "subscribe",
            ConsentAction::Unsubscribe => "unsubscribe",
        };
        let outcome: String = self
            .scripts
            .apply_consent
            .key(self.keys.subscriber(&change.user).as_str())
            .key(self.keys.subscribers_active().as_str())
            .key(self.keys.consent_ledger().as_str())
            .key(self.keys.consent_seq().as_str())
            .arg(action)
            .arg(change.user.to_string())
            .arg(encode(&subscriber))
            .arg(encode(&record))
            .invoke_async(&mut self.con())
            .await?;
        parse_outcome(&outcome)
    }

    async fn subscriber(&self, user: &UserKey) -> Result<Option<Subscriber>> {
        let bytes: Option<Vec<u8>> = self.con().get(self.keys.subscriber(user).as_str()).await?;
        bytes.map(|b| decode("subscriber", &b)).transpose()
    }

    async fn subscribers(&self, after: Option<&UserKey>, limit: usize) -> Result<Vec<Subscriber>> {
        let start = after.map(|u| format!("({u}")).unwrap_or_else(|| "-".into());
        let mut con = self.con();
        let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(self.keys.subscribers_active().as_str())
            .arg(start)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut con)
            .await?;
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = members
            .iter()
            .filter_map(|m| m.parse::<UserKey>().ok())
            .map(|u| self.keys.subscriber(&u).as_str().to_owned())
            .collect();
        let records: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(keys).query_async(&mut con).await?;
        records.into_iter().flatten().map(|b| decode("subscriber", &b)).collect()
    }

    async fn subscriber_count(&self) -> Result<u64> {
        Ok(self.con().zcard(self.keys.subscribers_active().as_str()).await?)
    }

    async fn consent_records(&self, after: u64, limit: usize) -> Result<Vec<ConsentRecord>> {
        let reply: Value = redis::cmd("XRANGE")
            .arg(self.keys.consent_ledger().as_str())
            .arg(format!("({after}-1"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.con())
            .await?;
        let Value::Array(items) = reply else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Array(mut parts) = item else { continue };
            let Some(Value::Array(fields)) = parts.pop() else { continue };
            let Some(id) = parts.pop().and_then(bulk_string) else { continue };
            let seq: u64 = id.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut outcome = None;
            let mut record: Option<ConsentRecord> = None;
            let mut it = fields.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                match bulk_string(k).as_deref() {
                    Some("outcome") => outcome = bulk_string(v),
                    Some("rec") => record = bulk_bytes(v).map(|b| decode("consent record", &b)).transpose()?,
                    _ => {}
                }
            }
            if let (Some(mut record), Some(outcome)) = (record, outcome) {
                record.seq = seq;
                record.outcome = parse_outcome(&outcome)?;
                out.push(record);
            }
        }
        Ok(out)
    }
}

fn parse_outcome(s: &str) -> Result<ConsentOutcome> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StoreError::corrupt("consent outcome", e))
}
