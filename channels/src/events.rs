//! What a platform tells us, in one shape for every channel: citizens' messages, statuses of
//! our messages, preference changes, platform errors and template category changes.

use jiff::Timestamp;
use schemas::{ChannelKind, TemplateCategory, UserAddress};
use serde::{Deserialize, Serialize};

/// Something a platform told us, in one shape for every channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboundEvent {
    Message(InboundMessage),
    Status(StatusEvent),
    Preference(PreferenceEvent),
    /// An error the platform reports about the number or the app (`value.errors`).
    PlatformError(PlatformError),
    /// Meta changed (or will change) a template's category (`template_category_update`).
    TemplateCategory(TemplateCategoryEvent),
    /// A part of a post we cannot use (no sender, no id, a group message): logged without
    /// any number and skipped, while the rest of the post is handled.
    Unusable {
        reason: String,
    },
}

/// A message from a citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub channel: ChannelKind,
    /// The platform's id (`wamid.…`, `SM…`): the dedupe key.
    pub id: String,
    /// The business number it was sent to (Meta `phone_number_id`, Twilio `To`); the reply
    /// leaves from the same one.
    pub business_number: String,
    /// Who wrote: the phone number when the platform gives one, else the business-scoped id.
    pub from: UserAddress,
    /// When the citizen sent it, per the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    pub content: Content,
}

/// What a message holds, as far as the bot cares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
    },
    /// A tap on a reply button or list row we sent; `id` is ours (`t:confirmados`, `m:cifras`).
    Reply {
        id: String,
        title: String,
    },
    /// A quick-reply button of a template (`BAJA` under a Conéctate broadcast).
    Button {
        payload: String,
        text: String,
    },
    Location,
    /// An image, video, document, audio or sticker; never fetched.
    Media {
        kind: String,
    },
    /// A reaction to one of our messages: nothing to answer.
    Reaction,
    Contacts,
    Order,
    /// The citizen changed phone number or business-scoped id (`system` message): the
    /// message's `from` is the old address, `new` the new one.
    NumberChanged {
        new: Option<UserAddress>,
    },
    /// A notice the platform puts in the chat that the citizen did not write and that asks
    /// for nothing (a `system` message of a kind we do not act on): never answered.
    System {
        kind: String,
    },
    /// Any type we do not handle (`unsupported`, `unknown`, polls, Flows replies…).
    Unsupported {
        kind: String,
    },
}

impl Content {
    /// Whether the platform, not the citizen, wrote it (a number change, another `system`
    /// notice): it is never answered, and it neither opens the 24-hour window nor counts in
    /// the flood limit.
    pub fn is_platform_notice(&self) -> bool {
        matches!(self, Content::NumberChanged { .. } | Content::System { .. })
    }
}

/// The delivery state of one of our messages, in the order it can only move forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Accepted or queued by the platform.
    Queued,
    Sent,
    Delivered,
    /// Read (or, for a voice note, played).
    Read,
    /// Failed or undelivered; `errors` says why.
    Failed,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }
}

/// A status of a message we sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub channel: ChannelKind,
    /// Our message's id, as the platform gave it when we sent it.
    pub message_id: String,
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<UserAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The platform's error codes on a failure (131050 means the citizen opted out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<u32>,
    /// What we attached when sending (Meta `biz_opaque_callback_data`), to find the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A citizen's marketing preference changed on the platform (Meta `user_preferences`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceEvent {
    pub channel: ChannelKind,
    pub business_number: String,
    pub user: UserAddress,
    pub preference: Preference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    Stop,
    Resume,
}

/// A template's category changed on Meta, or is about to: only a completed change (`impending`
/// false) moves where the template is sent (Meta's "Route template messages by category").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCategoryEvent {
    pub name: String,
    pub language: String,
    /// The category from now on; for an impending change, the one Meta will set.
    pub category: TemplateCategory,
    /// A notice of a change still to come (`correct_category`), not a change.
    pub impending: bool,
}

/// An error the platform reports outside any message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformError {
    pub channel: ChannelKind,
    pub code: u32,
    pub title: String,
}
