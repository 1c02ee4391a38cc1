//! Publishing one source's answers into a new snapshot.
//!
//! Read the current snapshot, replace this source's answers and provenance (every other
//! source's answers are carried over unchanged), publish against the version read. If another
//! process published meanwhile, the store refuses with `Conflict` and we start over from the
//! newer snapshot, so no source's answers are ever lost to a race. Within one process a mutex
//! serialises publishes, so conflicts only come from other processes.

use std::time::Duration;

use schemas::{Answer, AnswerKey, Provenance, RouterTable, Snapshot};
use store::{Store, StoreError};
use tokio::sync::Mutex;

/// Serialises the publishes of a process.
pub struct Publisher {
    lock: Mutex<()>,
    /// Versions kept for rollback.
    keep: usize,
    /// Conflicts tolerated in a row before giving up.
    attempts: u32,
}

/// A published snapshot and how many conflicts it took.
pub struct Published {
    pub snapshot: Snapshot,
    pub conflicts: u32,
}

impl Publisher {
    pub fn new(keep: usize, attempts: u32) -> Publisher {
        Publisher { lock: Mutex::new(()), keep, attempts: attempts.max(1) }
    }

    /// Publishes `answers` as everything `provenance.source` says now, and `router` as the
    /// router table when the source publishes one (the menu source; every other source leaves
    /// the table as it is).
    #[tracing::instrument(name = "publish", skip_all)]
    pub async fn publish(
        &self,
        store: &dyn Store,
        provenance: &Provenance,
        answers: &[(AnswerKey, Answer)],
        router: Option<&RouterTable>,
    ) -> Result<Published, StoreError> {
        let _serialised = self.lock.lock().await;
        let mut conflicts = 0;
        loop {
            let current = store.current_snapshot().await?;
            let expected = current.as_ref().map(|s| s.version);
            let mut content = current.map(|s| s.content).unwrap_or_default();
            content.replace_source(provenance.clone(), answers.iter().cloned());
            if let Some(router) = router {
                content.router = router.clone();
            }
            match store.publish(&content, expected, self.keep).await {
                Ok(snapshot) => return Ok(Published { snapshot, conflicts }),
                Err(StoreError::Conflict { .. }) if conflicts + 1 < self.attempts => {
                    conflicts += 1;
                    tracing::info!(source = %provenance.source, conflicts, "Another process published first; publishing again on top of it.");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(conflicts))).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
