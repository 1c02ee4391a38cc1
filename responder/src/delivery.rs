//! Delivery statuses of the messages we sent (Meta `statuses`, Twilio status callbacks) and
//! the delivery report of each Conéctate content they feed.
//!
//! A status finds its content and delivery by the tag the message carried
//! ([`Tag`](channels::delivery::Tag)). It then, in one store call
//! ([`ReportStore::advance_report`](store::ReportStore)), moves its message forward (statuses
//! arrive out of order; a message never moves backwards: read stays read) with the content's
//! counts, and records the recipient as reached. It also makes the delivery's idempotency key
//! final: a sender that died between handing the message to the platform and hearing back
//! leaves its delivery in doubt, and the platform's status is what settles it, so the delivery
//! is not sent twice.
//!
//! A failed status acts like the same error on a send: its channel classifies each code into a
//! [`SendError`] ([`Channel::classify_failure`](channels::Channel::classify_failure)), and an
//! opt-out ends the subscription, an unreachable citizen is flagged, one held back for
//! engagement waits a day, and a free-form message refused for being outside the 24-hour
//! window is sent again as the template. Statuses of replies (untagged) are only counted on `/metrics`.

use std::sync::Arc;

use channels::consent::opt_out_after_failure;
use channels::delivery::{Delivery, DeliveryConfig, DeliveryId, OUTCOME_RANK, Outcome, SETTLED, Tag, message_step};
use channels::flags::{engagement_flag, flag_until, unreachable_flag};
use channels::{Channels, DeliveryState, SendError, StatusEvent};
use jiff::Timestamp;
use metrics::Metrics;
use store::{KvOp, QueueName, ReportUpdate, SharedStore, StoreError};

/// Where every status goes.
#[derive(Clone)]
pub struct DeliveryStatuses {
    metrics: Arc<Metrics>,
    store: SharedStore,
    channels: Channels,
    config: DeliveryConfig,
}

impl DeliveryStatuses {
    pub fn new(
        metrics: Arc<Metrics>,
        store: SharedStore,
        channels: Channels,
        config: DeliveryConfig,
    ) -> DeliveryStatuses {
        DeliveryStatuses { metrics, store, channels, config }
    }

    /// Takes the statuses of one webhook. A store failure is returned so the platform retries
    /// the webhook (recording again is harmless: nothing moves twice).
    pub async fn record(&self, statuses: &[StatusEvent]) -> Result<(), StoreError> {
        let keys = self.store.keys();
        let mut updates = Vec::new();
        let mut marks = Vec::new();
        let mut tagged = Vec::new();
        for status in statuses {
            self.metrics.delivery_status(status.state.as_str());
            tracing::debug!(
                channel = status.channel.as_str(),
                message_id = %status.message_id,
                state = ?status.state,
                errors = ?status.errors,
                tag = status.tag.as_deref().unwrap_or(""),
                "Delivery status received."
            );
            let Some(tag) = status.tag.as_deref().and_then(Tag::parse) else { continue };
            let id = tag.id;
            let (rank, label) = message_step(status.state, &status.errors);
            updates.push(ReportUpdate {
                content: id.content,
                item: format!("m:{}", status.message_id),
                rank,
                label: id.label(&label),
            });
            // The platform has the message: the recipient was reached, whatever the sender
            // heard back (it may have died before).
            updates.push(ReportUpdate {
                content: id.content,
                item: id.recipient_item(),
                rank: OUTCOME_RANK,
                label: id.label(&Outcome::Sent { template: tag.template }.label()),
            });
            marks.push(KvOp::Put {
                key: id.idempotency_key(keys),
                value: SETTLED.to_vec(),
                ttl: Some(self.config.keep),
            });
            tagged.push((status, tag));
        }
        if updates.is_empty() {
            return Ok(());
        }
        let moved = self.store.advance_report(&updates, self.config.keep).await?;
        self.store.batch(&marks).await?;
        for (i, (status, tag)) in tagged.into_iter().enumerate() {
            // Only a failure seen for the first time acts (a platform retry changes nothing).
            if status.state == DeliveryState::Failed && moved[2 * i] {
                self.act_on_failure(status, tag).await?;
            }
        }
        Ok(())
    }

    /// What a failed status asks for, by its error codes as its channel classifies them.
    async fn act_on_failure(&self, status: &StatusEvent, tag: Tag) -> Result<(), StoreError> {
        let keys = self.store.keys();
        let user = tag.id.user;
        let at = status.at.unwrap_or_else(Timestamp::now);
        let Some(channel) = self.channels.get(status.channel) else { return Ok(()) };
        for &code in &status.errors {
            match channel.classify_failure(code) {
                SendError::OptedOut { code } => {
                    opt_out_after_failure(&self.store, user, code, at).await?;
                }
                SendError::Unreachable { .. } => {
                    let until = flag_until(self.config.unreachable_for);
                    self.store.put(&unreachable_flag(keys, &user), &until, Some(self.config.unreachable_for)).await?;
                    tracing::info!(user = %user, "A Conéctate recipient is unreachable; skipped for a while.");
                }
                SendError::EngagementLimited { .. } => {
                    let until = flag_until(self.config.engagement_pause);
                    self.store.put(&engagement_flag(keys, &user), &until, Some(self.config.engagement_pause)).await?;
                    tracing::info!(user = %user, "Meta holds a Conéctate recipient back for a day.");
                }
                SendError::NeedsTemplate { .. } if !tag.template && tag.id.canary.is_none() => {
                    // The free-form message found the window closed: the template goes instead,
                    // under a key of its own so it is sent once.
                    let again = Delivery {
                        id: DeliveryId { resend: true, ..tag.id },
                        to: None,
                        attempt: 0,
                        template_only: true,
                    };
                    self.store.enqueue(QueueName::Broadcast, &[again.encode()]).await?;
                    tracing::info!(user = %user, content = tag.id.content, "The window had closed; the template goes instead.");
                }
                _ => {}
            }
        }
        Ok(())
    }
}
