//! From a scheduled content to deliveries: every sender does this on its schedule poll, and
//! whichever gets there first does each step (compare-and-set on the content, a lease on its
//! fan-out).
//!
//! 1. A content whose time has come moves to `sending`.
//! 2. Its fan-out pages through the subscribers in key order, a thousand at a time, and puts
//!    one delivery per targeted subscriber in the broadcast queue, together with the cursor
//!    (one transaction on the embedded store; on Redis the cursor moves only once the page is
//!    in). A fan-out that crashes resumes at its cursor: at worst one page is queued twice,
//!    and the deliveries' idempotency keys make the repeats no-ops. Nothing is lost.
//! 3. Once fanned out, it is `done` when every delivery is settled in its report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use channels::delivery::{Delivery, DeliveryId};
use jiff::Timestamp;
use schemas::UserKey;
use serde::{Deserialize, Serialize};
use store::{KvOp, QueueName, SharedStore};

use crate::content::Content;
use crate::contents::Contents;
use crate::error::ConectateError;
use crate::state::State;

/// Subscribers read (and deliveries queued) per step of a fan-out.
const PAGE: usize = 1000;

/// How far a fan-out has come, kept beside the queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    /// The last subscriber considered.
    cursor: Option<UserKey>,
    /// Deliveries queued so far.
    queued: u64,
}

/// Starts, fans out and finishes contents.
#[derive(Clone)]
pub struct Broadcasts {
    store: SharedStore,
    contents: Contents,
    keep: Duration,
    /// A fan-out whose sender went silent this long is taken over by another.
    lease: Duration,
    /// Every content up to this id is done or cancelled (this process need not read them).
    settled_up_to: Arc<AtomicU64>,
}

impl Broadcasts {
    pub fn new(store: SharedStore, contents: Contents, keep: Duration, lease: Duration) -> Broadcasts {
        Broadcasts { store, contents, keep, lease, settled_up_to: Arc::default() }
    }

    /// One pass over the open contents.
    pub async fn tick(&self) -> Result<(), ConectateError> {
        let now = Timestamp::now();
        let open = self.contents.list_after(self.settled_up_to.load(Ordering::Relaxed)).await?;
        let mut all_final_so_far = true;
        for content in open {
            if all_final_so_far && content.state.is_final() {
                self.settled_up_to.store(content.id, Ordering::Relaxed);
                continue;
            }
            all_final_so_far = false;
            match content.state {
                State::Scheduled if content.is_due(now) => {
                    let started = match self.contents.update(content.id, |c| c.start(Timestamp::now())).await {
                        Ok((c, ())) => c,
                        // Another sender started it first (or it was cancelled at the last moment).
                        Err(ConectateError::WrongState { .. } | ConectateError::Conflict(_)) => continue,
                        Err(e) => return Err(e),
                    };
                    tracing::info!(content = started.id, "A Conéctate content's time has come; sending.");
                    self.fan_out(&started).await?;
                }
                State::Sending if content.deliveries.is_none() => self.fan_out(&content).await?,
                State::Sending => self.finish_if_settled(&content).await?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Queues one delivery per targeted subscriber, resuming where a previous fan-out stopped.
    async fn fan_out(&self, content: &Content) -> Result<(), ConectateError> {
        let keys = self.store.keys();
        let lease = keys.flag(&format!("conectate:fanout-lease:{}", content.id));
        if !self.store.set_if_absent(&lease, self.lease).await? {
            return Ok(()); // another sender is at it
        }
        let progress_key = keys.fanout(content.id);
        let mut progress: Progress = match self.store.get(&progress_key).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|cause| ConectateError::Corrupt {
                record: format!("avance del envío {}", content.id),
                cause,
            })?,
            None => Progress::default(),
        };
        loop {
            let page = self.store.subscribers(progress.cursor.as_ref(), PAGE).await?;
            let Some(last) = page.last().map(|s| s.user) else { break };
            let deliveries: Vec<Vec<u8>> = page
                .iter()
                .filter(|s| content.targets(s.municipio))
                .map(|s| {
                    Delivery {
                        id: DeliveryId { content: content.id, user: s.user, canary: None, resend: false },
                        to: None,
                        attempt: 0,
                        template_only: false,
                    }
                    .encode()
                })
                .collect();
            progress = Progress { cursor: Some(last), queued: progress.queued + deliveries.len() as u64 };
            let then = [
                KvOp::Put {
                    key: progress_key.clone(),
                    value: serde_json::to_vec(&progress).expect("progress serialises"),
                    ttl: Some(self.keep),
                },
                KvOp::Put { key: lease.clone(), value: b"1".to_vec(), ttl: Some(self.lease) },
            ];
            self.store.enqueue_then(QueueName::Broadcast, &deliveries, &then).await?;
        }
        let queued = progress.queued;
        self.contents
            .update(content.id, |c| {
                c.deliveries = Some(queued);
                Ok(())
            })
            .await?;
        self.store.delete(&lease).await?;
        tracing::info!(content = content.id, deliveries = queued, "A Conéctate content is fanned out.");
        Ok(())
    }

    /// Marks a fanned-out content done once every delivery is settled in its report.
    async fn finish_if_settled(&self, content: &Content) -> Result<(), ConectateError> {
        let planned = content.deliveries.unwrap_or(u64::MAX);
        let counts = self.store.report_counts(content.id).await?;
        let settled: u64 = counts.iter().filter(|(label, _)| label.starts_with("rcpt.")).map(|(_, n)| n).sum();
        if settled < planned {
            return Ok(());
        }
        let result = self
            .contents
            .update(content.id, |c| {
                if c.state != State::Sending {
                    return Err(ConectateError::WrongState { id: c.id, state: c.state, what: "ya terminó" });
                }
                c.state = State::Done;
                c.finished_at = Some(Timestamp::now());
                Ok(())
            })
            .await;
        match result {
            Ok(_) => {
                tracing::info!(content = content.id, deliveries = planned, "A Conéctate content is done.");
                Ok(())
            }
            Err(ConectateError::WrongState { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
