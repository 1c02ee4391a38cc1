//! Publishing one source's answers into a new snapshot.
//!
//! Read the current snapshot, read the companions' last good datasets, render this source's
//! answers with them, replace this source's answers and provenance (every other source's
//! answers are carried over unchanged), publish against the version read. If another process
//! published meanwhile, the store refuses with `Conflict` and we start over from the newer
//! snapshot, rendering again, so no source's answers are ever lost to a race. Within one
//! process a mutex serialises publishes, so conflicts only come from other processes.
//!
//! Answers that show a companion's data (the semáforo answer shows the federal and the state
//! colour, each its own source) stay whole however runs interleave: a run saves its dataset
//! as last good *before* it publishes, and every attempt reads the companions after reading
//! the version it publishes against. So a publish that succeeds last has read every
//! companion saved before the previous publish, and each companion publishes after saving.

use std::time::Duration;

use schemas::{Answer, AnswerKey, Provenance, RouterTable, Snapshot, SourceName, TopicCatalogue};
use store::{Store, StoreError};
use tokio::sync::Mutex;

use crate::render::Companions;

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
    /// The answers this source published.
    pub answers: usize,
    pub conflicts: u32,
}

impl Publisher {
    pub fn new(keep: usize, attempts: u32) -> Publisher {
        Publisher { lock: Mutex::new(()), keep, attempts: attempts.max(1) }
    }

    /// Publishes what `render` makes of `companions` (their last good datasets, read afresh for
    /// each attempt) and of the topic catalogue in force (the current snapshot's, or the bundled
    /// one before any menu was published) as everything `provenance.source` says now: its answers, and the router
    /// table when the source publishes one (the menu source; every other source leaves the
    /// table as it is).
    #[tracing::instrument(name = "publish", skip_all)]
    pub async fn publish<E>(
        &self,
        store: &dyn Store,
        provenance: &Provenance,
        companions: &[SourceName],
        render: impl Fn(Companions, &TopicCatalogue) -> Result<Rendered, E>,
    ) -> Result<Published, PublishError<E>> {
        let _serialised = self.lock.lock().await;
        let mut conflicts = 0;
        loop {
            let current = store.current_snapshot().await?;
            let expected = current.as_ref().map(|s| s.version);
            let mut content = current.map(|s| s.content).unwrap_or_default();
            // The snapshot carries the catalogue its answers were rendered for, so the responder
            // routes by it even before any menu source published one.
            if content.router.topics.topics.is_empty() {
                content.router.topics = crate::sources::menu::bundled_topics().clone();
            }
            let (answers, router) = render(crate::state::companions(store, companions).await?, &content.router.topics)
                .map_err(PublishError::Render)?;
            let count = answers.len();
            content.replace_source(provenance.clone(), answers);
            if let Some(router) = router {
                content.router = router;
            }
            match store.publish(&content, expected, self.keep).await {
                Ok(snapshot) => return Ok(Published { snapshot, answers: count, conflicts }),
                Err(StoreError::Conflict { .. }) if conflicts + 1 < self.attempts => {
                    conflicts += 1;
                    tracing::info!(source = %provenance.source, conflicts, "Another process published first; publishing again on top of it.");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(conflicts))).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// A source's answers, and its router table if it publishes one.
pub type Rendered = (Vec<(AnswerKey, Answer)>, Option<RouterTable>);

/// Why a publish did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PublishError<E> {
    /// The answers could not be rendered.
    #[error("{0}")]
    Render(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}
