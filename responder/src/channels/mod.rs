//! The messaging platforms, one module each behind one trait.
//!
//! A [`Channel`] declares its webhook routes, checks signatures over the raw body bytes,
//! parses what a platform posts into normalised [`InboundEvent`]s, sends through the
//! platform's API and classifies its errors ([`SendError`]). The server mounts the routes of
//! every channel in the [`Channels`] registry and does the rest (dedupe, routing, replies) the
//! same way for all; a third channel (Telegram, SMS) is one new file here plus one line in
//! [`Channels::from_config`].

pub mod error;
pub mod meta;
pub mod twilio;

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use jiff::Timestamp;
use schemas::{Answer, ChannelKind, TemplateCategory, UserAddress};
use serde::{Deserialize, Serialize};
use store::Rate;

pub use error::{SendError, ThrottleScope};

/// What a webhook route is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// A subscription handshake (Meta's `GET` with `hub.challenge`).
    Handshake,
    /// Messages from citizens (and, on Meta, statuses and preferences in the same posts).
    Events,
    /// Delivery statuses of our messages (Twilio's status callback).
    Statuses,
}

/// A route a channel asks the server to mount.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub hook: Hook,
}

/// A webhook request as received: the raw bytes are what the platform signed.
#[derive(Clone, Copy, Debug)]
pub struct WebhookRequest<'a> {
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a webhook request was turned away; nothing of it was processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the request carries no signature")]
    Unsigned,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the handshake was refused")]
    Forbidden,
    #[error("the body cannot be read: {0}")]
    Unparseable(String),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Unsigned => StatusCode::UNAUTHORIZED,
            Rejection::BadSignature | Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::Unparseable(_) => StatusCode::BAD_REQUEST,
        }
    }
}

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

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The business number it leaves from (Meta `phone_number_id`, Twilio `whatsapp:+…`).
    pub business_number: String,
    pub to: UserAddress,
    pub content: OutboundContent,
    /// Echoed back in status webhooks (Meta `biz_opaque_callback_data`), so a status finds the
    /// Conéctate content it belongs to.
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboundContent {
    /// A pre-rendered answer (text, list or buttons): only inside the 24-hour window.
    Answer(Answer),
    /// An approved template: the only thing allowed outside the window.
    Template(Template),
    /// A Conéctate text (only inside the window); WhatsApp previews its first link when asked.
    Text { body: String, preview_url: bool },
    /// A Conéctate image by its public URL, with the text as its caption (only inside the window).
    Image { link: String, caption: String },
}

/// An approved template and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Meta: the template's name. Twilio: the Content API's `ContentSid` (`HX…`).
    pub name: String,
    /// Meta's language code (`es_MX`); Twilio ignores it (the ContentSid fixes it).
    pub language: String,
    /// The body's `{{1}}`, `{{2}}`, … in order.
    pub parameters: Vec<String>,
    /// Meta's latest category of the template: with the Marketing Messages API configured, a
    /// MARKETING one goes there. Twilio ignores it.
    pub category: TemplateCategory,
}

/// A send the platform accepted (accepted is not delivered: statuses tell the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
}

/// One messaging platform.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    fn kind(&self) -> ChannelKind;

    /// The routes to mount on the internet-facing port.
    fn routes(&self) -> Vec<RouteSpec>;

    /// Answers a subscription handshake (Meta's `GET`): the body to echo.
    fn handshake(&self, query: Option<&str>) -> Result<String, Rejection> {
        let _ = query;
        Err(Rejection::Forbidden)
    }

    /// Checks the request's signature over its raw bytes, in constant time.
    fn verify(&self, hook: Hook, request: &WebhookRequest<'_>) -> Result<(), Rejection>;

    /// Reads a verified request into events. Only an unreadable whole is an error; an unusable
    /// part becomes [`InboundEvent::Unusable`].
    fn parse(&self, hook: Hook, request: &WebhookRequest<'_>) -> Result<Vec<InboundEvent>, Rejection>;

    /// Whether we answer messages sent to this business number.
    fn serves(&self, business_number: &str) -> bool;

    /// Whether replies go back in the webhook's own response (Twilio's TwiML) instead of
    /// through the outbox. Such a platform repeats a request only when our response was lost,
    /// so a repeated message id gets the same reply again (counted once).
    fn replies_inline(&self) -> bool {
        false
    }

    /// The webhook response carrying `replies` (for inline channels) or an empty success.
    fn respond(&self, replies: &[&Answer]) -> Response;

    /// Sends one message through the platform's API.
    async fn send(&self, message: &Outbound) -> Result<Sent, SendError>;

    /// The send rate per business number (inbound included), if the platform imposes one.
    fn rate(&self) -> Option<Rate>;

    /// Values that must never appear in a log or a stored error (tokens, secrets).
    fn redact_values(&self) -> Vec<String>;
}

/// The rate governor's bucket for a business number of a channel.
pub fn rate_bucket(channel: ChannelKind, business_number: &str) -> String {
    format!("{}:{business_number}", channel.as_str())
}

/// The configured channels.
#[derive(Clone, Default)]
pub struct Channels {
    all: Vec<Arc<dyn Channel>>,
}

impl Channels {
    /// Every channel whose configuration is present.
    pub fn from_config(config: &crate::config::ResponderConfig, http: &reqwest::Client) -> Channels {
        let mut all: Vec<Arc<dyn Channel>> = Vec::new();
        if let Some(meta) = &config.meta {
            all.push(Arc::new(meta::Meta::new(meta.clone(), http.clone())));
        }
        if let Some(twilio) = &config.twilio {
            all.push(Arc::new(twilio::Twilio::new(twilio.clone(), http.clone())));
        }
        Channels { all }
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        self.all.iter().find(|c| c.kind() == kind)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Channel>> {
        self.all.iter()
    }
}
