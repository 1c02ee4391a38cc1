//! Conéctate subscribers on Redis ([`SubscriberStore`]): one key per subscriber, a
//! lexicographic sorted set of their user keys for paging, and the consent ledger as a stream
//! whose ids are the ledger's sequence, and a hash of the ledger counted per quarter hour
//! ([`crate::consent_counts`]). One script per consent change (`scripts/apply_consent.lua`)
//! applies it, ledgers it and counts it together; the records of a ledger older than the
//! counts are counted once (`scripts/backfill_consent_counts.lua`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::{AsyncCommands, Value};
use schemas::{ConsentAction, ConsentChange, ConsentOutcome, ConsentRecord, ConsentSignal, Subscriber, UserKey};

use super::{RedisStore, bulk_bytes, bulk_string, decode, encode};
use crate::consent_counts::{ConsentCounts, ConsentQuarter, Tally, quarter_of, quarter_start, tally};
use crate::{Result, StoreError, SubscriberStore};

/// Ledger records read per page when counting a ledger older than the counts.
const LEDGER_PAGE: usize = 10_000;

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
            .key(self.keys.consent_counts().as_str())
            .key(self.keys.consent_counts_from().as_str())
            .arg(action)
            .arg(change.user.to_string())
            .arg(encode(&subscriber))
            .arg(encode(&record))
            .arg(quarter_of(change.at))
            .arg(u8::from(change.signal != ConsentSignal::NumberChanged))
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

    async fn consent_counts(&self, since: Timestamp) -> Result<ConsentCounts> {
        self.backfill_consent_counts().await?;
        let (subscribers, fields): (u64, BTreeMap<String, i64>) = redis::pipe()
            .atomic()
            .cmd("ZCARD")
            .arg(self.keys.subscribers_active().as_str())
            .cmd("HGETALL")
            .arg(self.keys.consent_counts().as_str())
            .query_async(&mut self.con())
            .await?;
        let first = quarter_of(since);
        let mut quarters: BTreeMap<i64, ConsentQuarter> = BTreeMap::new();
        for (field, value) in fields {
            let parsed = field.split_once(':').and_then(|(q, kind)| Some((q.parse::<i64>().ok()?, kind)));
            let Some((quarter, kind)) = parsed else {
                return Err(StoreError::corrupt("consent count", format!("campo «{field}» no reconocido")));
            };
            if quarter < first {
                continue;
            }
            let q = quarters
                .entry(quarter)
                .or_insert_with(|| ConsentQuarter { start: quarter_start(quarter), ..Default::default() });
            match kind {
                "n" => q.new = value.max(0) as u64,
                "l" => q.left = value.max(0) as u64,
                _ => q.net = value,
            }
        }
        Ok(ConsentCounts { subscribers, quarters: quarters.into_values().collect() })
    }
}

impl RedisStore {
    /// Counts, once, the ledger records written before the counts existed: those before the
    /// first seq the consent script counted (or all of them, if it has not run yet).
    async fn backfill_consent_counts(&self) -> Result<()> {
        let mut con = self.con();
        if con.exists(self.keys.consent_counts_backfilled().as_str()).await? {
            return Ok(());
        }
        let seq: Option<u64> = con.get(self.keys.consent_seq().as_str()).await?;
        // From here on the script counts every record; one it ran first set this already.
        let _: Option<String> = redis::cmd("SET")
            .arg(self.keys.consent_counts_from().as_str())
            .arg(seq.unwrap_or(0) + 1)
            .arg("NX")
            .query_async(&mut con)
            .await?;
        let counted_from: u64 = con.get(self.keys.consent_counts_from().as_str()).await?;
        let mut older = Tally::new();
        let mut after = 0;
        'pages: loop {
            let page = self.consent_records(after, LEDGER_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in page {
                if record.seq >= counted_from {
                    break 'pages;
                }
                tally(&mut older, &record);
            }
        }
        let mut script = self.scripts.backfill_consent_counts.prepare_invoke();
        script.key(self.keys.consent_counts().as_str()).key(self.keys.consent_counts_backfilled().as_str());
        for (quarter, (new, left, net)) in older {
            script.arg(format!("{quarter}:n")).arg(new).arg(format!("{quarter}:l")).arg(left);
            script.arg(format!("{quarter}:d")).arg(net);
        }
        let _: i64 = script.invoke_async(&mut con).await?;
        Ok(())
    }
}

fn parse_outcome(s: &str) -> Result<ConsentOutcome> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StoreError::corrupt("consent outcome", e))
}
