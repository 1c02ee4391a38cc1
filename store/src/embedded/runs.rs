//! The ingest run log in the embedded store ([`RunLog`]): one row per run, by id.

use async_trait::async_trait;
use redb::TableDefinition;
use schemas::{IngestRun, RunFilter};

use super::{EmbeddedStore, decode, encode, meta_next};
use crate::{Result, RunLog};

pub(super) const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");

#[async_trait]
impl RunLog for EmbeddedStore {
    async fn record_run(&self, run: &IngestRun) -> Result<u64> {
        let run = run.clone();
        self.writer
            .write(move |tx| {
                let id = meta_next(tx, "run_seq")?;
                let mut run = run.clone();
                run.id = id;
                tx.open_table(RUNS)?.insert(id, encode(&run).as_slice())?;
                Ok(id)
            })
            .await
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<IngestRun>> {
        let rx = self.read()?;
        let table = rx.open_table(RUNS)?;
        let limit = if filter.limit == 0 { usize::MAX } else { filter.limit };
        let mut out = Vec::new();
        for row in table.range::<u64>(..)?.rev() {
            let (_, v) = row?;
            let run: IngestRun = decode("ingest run", v.value())?;
            if crate::run_matches(filter, &run) {
                out.push(run);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
