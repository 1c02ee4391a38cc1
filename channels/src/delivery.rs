//! A Conéctate delivery, as the broadcast queue carries it and as its statuses find it again.
//!
//! Every Conéctate message carries a tag ([`Tag`]: Meta's `biz_opaque_callback_data`, the
//! `?tag=` of Twilio's status callback URL) naming its content and its delivery
//! ([`DeliveryId`]), so a status finds both. The sender and the responder's status hook share
//! these types: the broadcast queue's entry ([`Delivery`]), the idempotency key each delivery
//! is claimed under, and the report's ranks and labels ([`message_step`], [`Outcome`]).

use std::time::Duration;

use schemas::{ChannelKind, Key, KeyLayout, UserAddress, UserKey};
use serde::{Deserialize, Serialize};

use crate::DeliveryState;

/// The value of an idempotency key once its delivery is settled (sent, or for good not).
pub const SETTLED: &[u8] = b"d";

/// The rank of a recipient's outcome: the first one recorded stays.
pub const OUTCOME_RANK: u8 = 1;

/// Which delivery of a content a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryId {
    #[serde(rename = "c")]
    pub content: u64,
    #[serde(rename = "u")]
    pub user: UserKey,
    /// The canary round, for a canary to the staff list; `None` for the broadcast.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<u32>,
    /// The template sent again after a free-form message found the window closed.
    #[serde(rename = "t", default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
}

impl DeliveryId {
    fn audience(&self) -> String {
        match self.canary {
            Some(round) => format!("p{round}"),
            None => "b".into(),
        }
    }

    fn suffix(&self) -> &'static str {
        if self.resend { ":t" } else { "" }
    }

    /// The key a sender claims before sending (with a lease) and that becomes final once the
    /// send, or a status, says the platform has the message: a retried delivery is a no-op.
    pub fn idempotency_key(&self, keys: &KeyLayout) -> Key {
        keys.idempotency("conectate", &format!("{}:{}:{}{}", self.content, self.audience(), self.user, self.suffix()))
    }

    /// The recipient's item in the content's report.
    pub fn recipient_item(&self) -> String {
        format!("r:{}:{}{}", self.audience(), self.user, self.suffix())
    }

    /// `label` as counted for this delivery: a canary's counts and those of templates resent
    /// are kept apart from the broadcast's own.
    pub fn label(&self, label: &str) -> String {
        match (self.canary, self.resend) {
            (Some(_), _) => format!("canary.{label}"),
            (None, true) => format!("resend.{label}"),
            (None, false) => label.to_owned(),
        }
    }

    /// The tag a message of this delivery carries.
    pub fn tag(&self, template: bool) -> Tag {
        Tag { id: *self, template }
    }
}

/// What a Conéctate message carries so its statuses find it:
/// `cc1:CONTENT:AUDIENCE:FORM:USER`, e.g. `cc1:17:b:t:00112233445566778899aabbccddeeff`
/// (audience `b` broadcast or `pN` canary round N; form `t` template, `x` free-form, `r` the
/// template resent). The user is the keyed hash, never an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub id: DeliveryId,
    /// Whether the message is the template (else free-form text or image).
    pub template: bool,
}

impl Tag {
    pub fn parse(text: &str) -> Option<Tag> {
        let mut parts = text.strip_prefix("cc1:")?.splitn(4, ':');
        let content = parts.next()?.parse().ok()?;
        let canary = match parts.next()? {
            "b" => None,
            p => Some(p.strip_prefix('p')?.parse().ok()?),
        };
        let (template, resend) = match parts.next()? {
            "t" => (true, false),
            "x" => (false, false),
            "r" => (true, true),
            _ => return None,
        };
        let user = parts.next()?.parse().ok()?;
        Some(Tag { id: DeliveryId { content, user, canary, resend }, template })
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let form = match (self.template, self.id.resend) {
            (_, true) => 'r',
            (true, false) => 't',
            (false, false) => 'x',
        };
        write!(f, "cc1:{}:{}:{form}:{}", self.id.content, self.id.audience(), self.id.user)
    }
}

/// Where a delivery goes when the recipient is not a subscriber (the staff of a canary).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub address: UserAddress,
    pub channel: ChannelKind,
    pub business_number: String,
}

/// One entry of the broadcast queue ([`QueueName::Broadcast`]): a content for one recipient.
/// A subscriber's address is read at send time (so a number change or an opt-out counts);
/// only a canary's staff address travels in the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    #[serde(flatten)]
    pub id: DeliveryId,
    #[serde(rename = "to", default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Recipient>,
    /// Failed attempts so far.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// The platform refused the free-form message (window closed): only the template now.
    #[serde(rename = "f", default, skip_serializing_if = "std::ops::Not::not")]
    pub template_only: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Delivery {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a delivery serialises")
    }

    pub fn decode(bytes: &[u8]) -> Result<Delivery, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// A message's rank and label in the report for a delivery state.
pub fn message_step(state: DeliveryState, errors: &[u32]) -> (u8, String) {
    match state {
        DeliveryState::Queued => (1, "msg.queued".into()),
        DeliveryState::Sent => (2, "msg.sent".into()),
        DeliveryState::Delivered => (3, "msg.delivered".into()),
        DeliveryState::Read => (4, "msg.read".into()),
        DeliveryState::Failed => {
            (5, format!("msg.failed.{}", errors.first().map_or_else(|| "unknown".to_owned(), u32::to_string)))
        }
    }
}

/// How a delivery ended for its recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the message (delivery and reading come with the statuses).
    Sent { template: bool },
    /// Not sent, by design: the citizen left, is unreachable, no template exists for outside
    /// the window, the number is not served any more.
    Skipped(&'static str),
    /// Refused by the platform for good (its error code, or the error class without one).
    Failed(String),
}

impl Outcome {
    pub fn label(&self) -> String {
        match self {
            Outcome::Sent { template: true } => "rcpt.sent.template".into(),
            Outcome::Sent { template: false } => "rcpt.sent.text".into(),
            Outcome::Skipped(reason) => format!("rcpt.skipped.{reason}"),
            Outcome::Failed(reason) => format!("rcpt.failed.{reason}"),
        }
    }
}

/// How long the delivery hook and the sender remember what they did.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Idempotency keys and per-message report items live this long.
    pub keep: Duration,
    /// A citizen found unreachable (131026) is skipped this long.
    pub unreachable_for: Duration,
    /// A citizen Meta held back (131049) gets nothing for this long.
    pub engagement_pause: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            keep: Duration::from_secs(30 * 86_400),
            unreachable_for: Duration::from_secs(30 * 86_400),
            engagement_pause: Duration::from_secs(86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_carry_the_delivery_and_parse_back() {
        let user: UserKey = "00112233445566778899aabbccddeeff".parse().unwrap();
        let cases = [
            (
                DeliveryId { content: 17, user, canary: None, resend: false },
                true,
                "cc1:17:b:t:00112233445566778899aabbccddeeff",
            ),
            (
                DeliveryId { content: 17, user, canary: None, resend: false },
                false,
                "cc1:17:b:x:00112233445566778899aabbccddeeff",
            ),
            (
                DeliveryId { content: 3, user, canary: Some(2), resend: false },
                false,
                "cc1:3:p2:x:00112233445566778899aabbccddeeff",
            ),
            (
                DeliveryId { content: 3, user, canary: None, resend: true },
                true,
                "cc1:3:b:r:00112233445566778899aabbccddeeff",
            ),
        ];
        for (id, template, text) in cases {
            let tag = id.tag(template);
            assert_eq!(tag.to_string(), text);
            assert_eq!(Tag::parse(text), Some(tag));
        }
        for bad in ["", "contenido-17", "cc1:x:b:t:0011", "cc1:1:q:t:00112233445566778899aabbccddeeff", "cc1:1:b:z:0"] {
            assert_eq!(Tag::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_delivery_has_its_own_key_and_items() {
        let keys = KeyLayout::default();
        let user: UserKey = "00112233445566778899aabbccddeeff".parse().unwrap();
        let broadcast = DeliveryId { content: 5, user, canary: None, resend: false };
        let canary = DeliveryId { canary: Some(1), ..broadcast };
        let resend = DeliveryId { resend: true, ..broadcast };
        let all = [broadcast, canary, resend];
        let keys: std::collections::BTreeSet<_> = all.iter().map(|d| d.idempotency_key(&keys)).collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(canary.label("msg.read"), "canary.msg.read");
        assert_eq!(broadcast.label("msg.read"), "msg.read");
        assert_eq!(resend.label("rcpt.sent.template"), "resend.rcpt.sent.template");
        assert_eq!(message_step(DeliveryState::Failed, &[131050]), (5, "msg.failed.131050".into()));
        assert_eq!(message_step(DeliveryState::Failed, &[]).1, "msg.failed.unknown");
        let delivery = Delivery { id: canary, to: None, attempt: 2, template_only: true };
        assert_eq!(Delivery::decode(&delivery.encode()).unwrap(), delivery);
    }
}
