//! The in-process mirror of the current snapshot.
//!
//! Answers are read from memory: the hot path loads an `Arc` (no lock, no store round trip)
//! and never renders anything. A background task follows the store's announcements
//! ([`store::SnapshotStore::watch_current`], which also polls as a fallback), reads a new
//! version once, indexes its router table and swaps it in; requests in flight keep the
//! version they started with.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use schemas::{Snapshot, SnapshotVersion};
use store::SharedStore;
use tokio::sync::watch;

use crate::understanding::Understanding;

/// A snapshot ready to answer from.
pub struct Prepared {
    pub snapshot: Snapshot,
    pub understanding: Understanding,
}

impl Prepared {
    pub fn new(snapshot: Snapshot) -> Prepared {
        let understanding = Understanding::compile(&snapshot.content.router);
        Prepared { snapshot, understanding }
    }
}

/// The current snapshot, or none yet (ingest has not published anything).
#[derive(Default)]
pub struct Mirror {
    current: ArcSwapOption<Prepared>,
    loaded: watch::Sender<Option<SnapshotVersion>>,
}

impl Mirror {
    pub fn current(&self) -> Option<Arc<Prepared>> {
        self.current.load_full()
    }

    pub fn version(&self) -> Option<SnapshotVersion> {
        self.current.load().as_ref().map(|p| p.snapshot.version)
    }

    /// Sees every version swapped in (tests wait on it).
    pub fn loaded(&self) -> watch::Receiver<Option<SnapshotVersion>> {
        self.loaded.subscribe()
    }

    fn install(&self, snapshot: Snapshot) {
        let version = snapshot.version;
        let answers = snapshot.content.answers.len();
        self.current.store(Some(Arc::new(Prepared::new(snapshot))));
        self.loaded.send_replace(Some(version));
        tracing::info!(%version, answers, "Loaded a new snapshot to answer from.");
    }

    /// Loads the current snapshot now, unless it is the one in memory (then only the pointer is
    /// read). A store error leaves the mirror as it was.
    pub async fn refresh(&self, store: &SharedStore) -> Result<(), store::StoreError> {
        let current = store.current_version().await?;
        if let Some(version) = current.filter(|v| Some(*v) != self.version())
            // Pruned since the pointer was read: the next refresh finds the newer one.
            && let Some(snapshot) = store.snapshot(version).await?
        {
            self.install(snapshot);
        }
        Ok(())
    }

    /// Follows the store's current version until `stop` fires.
    pub async fn follow(self: Arc<Self>, store: SharedStore, poll: Duration, mut stop: watch::Receiver<bool>) {
        let mut changes = loop {
            match store.watch_current(poll).await {
                Ok(rx) => break rx,
                Err(error) => {
                    tracing::warn!(%error, "Cannot watch the current snapshot; trying again.");
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => continue,
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        loop {
            let wanted = *changes.borrow_and_update();
            if wanted.is_some() && wanted != self.version() {
                let loaded = match wanted {
                    Some(v) => store.snapshot(v).await,
                    None => Ok(None),
                };
                match loaded {
                    Ok(Some(snapshot)) => self.install(snapshot),
                    // Pruned or moved meanwhile: the next change or poll brings the newer one.
                    Ok(None) => {
                        if let Err(error) = self.refresh(&store).await {
                            tracing::warn!(%error, "Reading the current snapshot failed.");
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Reading the announced snapshot failed; trying again.");
                        tokio::select! {
                            _ = tokio::time::sleep(poll) => continue,
                            _ = stop.changed() => return,
                        }
                    }
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = stop.changed() => return,
            }
        }
    }
}
