//! In-process counters of what the responder did, served as text on the internal port's
//! `/metrics` (a placeholder until the ops issue brings the Prometheus registry). No label
//! carries a user: only channels, states and error classes.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::channels::DeliveryState;

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $name:ident),* $(,)?) => {
        /// Counters since the process started.
        #[derive(Default, Debug)]
        pub struct Stats {
            $($(#[doc = $doc])* pub $name: AtomicU64,)*
            /// Delivery statuses received, by state (see [`DeliveryState`]).
            pub statuses: [AtomicU64; 5],
        }

        impl Stats {
            /// `responder_<name> <value>` lines.
            pub fn render(&self) -> String {
                let mut out = String::new();
                $(let _ = writeln!(out, concat!("responder_", stringify!($name), " {}"), self.$name.load(Ordering::Relaxed));)*
                for (state, n) in STATES.iter().zip(&self.statuses) {
                    let _ = writeln!(out, "responder_statuses{{state=\"{state:?}\"}} {}", n.load(Ordering::Relaxed));
                }
                out
            }
        }
    };
}

stats!(
    /// Webhook requests that passed the signature check.
    webhooks,
    /// Webhook requests turned away (bad or missing signature, unreadable body).
    rejected,
    /// Messages from citizens read from webhooks.
    messages,
    /// Messages seen before (a platform retry): not answered again.
    duplicates,
    /// Messages over the flood limit.
    flooded,
    /// Messages to a business number we do not serve.
    unserved,
    /// Parts of webhooks that could not be used.
    unusable,
    /// Reactions (nothing to answer).
    reactions,
    /// Replies put in the outbox.
    enqueued,
    /// Replies sent inline (Twilio).
    inline,
    /// Replies the platform accepted.
    sent,
    /// Failed sends that will be retried.
    retried,
    /// Replies that failed for good (recorded with their error class).
    failed,
    /// Replies dropped because the 24-hour window closed before they could be sent.
    expired,
    /// Consent changes applied (Conéctate).
    consent_changes,
    /// Errors the platforms reported outside messages.
    platform_errors,
);

const STATES: [DeliveryState; 5] =
    [DeliveryState::Queued, DeliveryState::Sent, DeliveryState::Delivered, DeliveryState::Read, DeliveryState::Failed];

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status(&self, state: DeliveryState) {
        let i = STATES.iter().position(|s| *s == state).expect("every state is listed");
        Stats::bump(&self.statuses[i]);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
