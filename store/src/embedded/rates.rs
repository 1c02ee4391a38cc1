//! The rate governor in the embedded store ([`RateStore`]): the buckets live in memory,
//! because only this process sends through the embedded store (several processes share a
//! governor through Redis); the arithmetic is the crate's `gcra`, the same as Redis runs.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use schemas::Key;

use super::EmbeddedStore;
use crate::{Permits, Rate, RateOp, RateStore, Result};

impl EmbeddedStore {
    fn rate(&self, bucket: &Key, rate: Rate, op: RateOp) -> Permits {
        let now = u64::try_from(Timestamp::now().as_microsecond()).unwrap_or(0);
        let mut rates = self.rates.lock().expect("rate buckets lock");
        let tat = rates.get(bucket.as_str()).copied().unwrap_or(0);
        let (tat, permits) = crate::gcra(tat, now, rate, op);
        // Forget buckets that are full again, so the map holds only busy numbers.
        rates.retain(|_, t| *t > now);
        rates.insert(bucket.as_str().to_owned(), tat);
        permits
    }
}

#[async_trait]
impl RateStore for EmbeddedStore {
    async fn take_permits(&self, bucket: &Key, rate: Rate, want: u32) -> Result<Permits> {
        Ok(self.rate(bucket, rate, RateOp::Take(want)))
    }

    async fn charge_permits(&self, bucket: &Key, rate: Rate, used: u32, over: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Charge { used, over });
        Ok(())
    }

    async fn pause_permits(&self, bucket: &Key, rate: Rate, pause: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Pause(pause));
        Ok(())
    }
}
