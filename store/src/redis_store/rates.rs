//! The rate governor on Redis ([`RateStore`]): one script per call on the bucket's key
//! (`scripts/rate.lua`, the same arithmetic as `store::gcra`), timed by the server's
//! clock, so every process on one Redis shares each business number's bucket.

use std::time::Duration;

use async_trait::async_trait;
use schemas::Key;

use super::RedisStore;
use crate::{Permits, Rate, RateOp, RateStore, Result};

impl RedisStore {
    async fn rate(&self, bucket: &Key, rate: Rate, op: RateOp) -> Result<Permits> {
        let (name, amount, window) = op.script_args();
        let (granted, next_in): (u32, u64) = self
            .scripts
            .rate
            .key(bucket.as_str())
            .arg(rate.interval_us())
            .arg(rate.burst.max(1))
            .arg(name)
            .arg(amount)
            .arg(window)
            .invoke_async(&mut self.con())
            .await?;
        Ok(Permits { granted, next_in: Duration::from_micros(next_in) })
    }
}

#[async_trait]
impl RateStore for RedisStore {
    async fn take_permits(&self, bucket: &Key, rate: Rate, want: u32) -> Result<Permits> {
        self.rate(bucket, rate, RateOp::Take(want)).await
    }

    async fn charge_permits(&self, bucket: &Key, rate: Rate, used: u32, over: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Charge { used, over }).await.map(drop)
    }

    async fn pause_permits(&self, bucket: &Key, rate: Rate, pause: Duration) -> Result<()> {
        self.rate(bucket, rate, RateOp::Pause(pause)).await.map(drop)
    }
}
