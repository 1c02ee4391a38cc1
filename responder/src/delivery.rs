//! Delivery statuses of the messages we sent (Meta `statuses`, Twilio status callbacks), in
//! their normalised form ([`StatusEvent`]).
//!
//! For now they are counted per state (`responder_statuses{state=…}` on `/metrics`) and logged
//! with the platform's message id, never the recipient. The Conéctate issue fills
//! [`DeliveryStatuses::record`] in with delivery reports per content: find the content by
//! `tag` (Meta `biz_opaque_callback_data`, Twilio's `?tag=` on the callback URL), keep the most
//! advanced state per message (`DeliveryState` is ordered; statuses arrive out of order), and
//! treat error 131050 as an opt-out.

use std::sync::Arc;

use crate::channels::StatusEvent;
use crate::stats::Stats;

/// Where every status goes.
#[derive(Clone)]
pub struct DeliveryStatuses {
    stats: Arc<Stats>,
}

impl DeliveryStatuses {
    pub fn new(stats: Arc<Stats>) -> DeliveryStatuses {
        DeliveryStatuses { stats }
    }

    /// Takes the statuses of one webhook.
    pub async fn record(&self, statuses: &[StatusEvent]) {
        for status in statuses {
            self.stats.status(status.state);
            tracing::debug!(
                channel = status.channel.as_str(),
                message_id = %status.message_id,
                state = ?status.state,
                errors = ?status.errors,
                tag = status.tag.as_deref().unwrap_or(""),
                "Delivery status received."
            );
        }
    }
}
