//! The ingest run log on Redis ([`RunLog`]): a capped list, newest first, with ids from a
//! counter.

use async_trait::async_trait;
use redis::AsyncCommands;
use schemas::{IngestRun, RunFilter};

use super::{RedisStore, decode, encode};
use crate::{Result, RunLog};

/// How many runs the log keeps.
const RUN_LOG_MAX: isize = 50_000;

#[async_trait]
impl RunLog for RedisStore {
    async fn record_run(&self, run: &IngestRun) -> Result<u64> {
        let mut con = self.con();
        let id: u64 = con.incr(self.keys.run_seq().as_str(), 1u64).await?;
        let mut run = run.clone();
        run.id = id;
        redis::pipe()
            .lpush(self.keys.run_log().as_str(), encode(&run))
            .ignore()
            .ltrim(self.keys.run_log().as_str(), 0, RUN_LOG_MAX - 1)
            .ignore()
            .query_async::<()>(&mut con)
            .await?;
        Ok(id)
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<IngestRun>> {
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut con = self.con();
        let mut out = Vec::new();
        let mut start = 0isize;
        const PAGE: isize = 500;
        loop {
            let page: Vec<Vec<u8>> = con.lrange(self.keys.run_log().as_str(), start, start + PAGE - 1).await?;
            let done = (page.len() as isize) < PAGE;
            for bytes in page {
                let run: IngestRun = decode("ingest run", &bytes)?;
                if crate::run_matches(filter, &run) {
                    out.push(run);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if done {
                return Ok(out);
            }
            start += PAGE;
        }
    }
}
