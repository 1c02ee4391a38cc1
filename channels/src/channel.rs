//! The contract every messaging platform implements ([`Channel`]), with the webhook routes,
//! requests and rejections it deals in.

use async_trait::async_trait;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use schemas::{Answer, ChannelKind};
use store::Rate;

use crate::{InboundEvent, Outbound, SendError, Sent};

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

    /// What a failed delivery status's error `code` means, in the same classes as a failed
    /// send: the status hook acts on it as the sender would, and never reads a code itself.
    fn classify_failure(&self, code: u32) -> SendError;

    /// Sends one message through the platform's API.
    async fn send(&self, message: &Outbound) -> Result<Sent, SendError>;

    /// The send rate per business number (inbound included), if the platform imposes one.
    fn rate(&self) -> Option<Rate>;

    /// The pace of Conéctate broadcasts per business number: the platform's own rate where it
    /// imposes one (shared with the replies through the same bucket, [`rate_bucket`]), else
    /// the rate the channel is configured with.
    fn broadcast_rate(&self) -> Rate;

    /// Values that must never appear in a log or a stored error (tokens, secrets).
    fn redact_values(&self) -> Vec<String>;
}

/// The rate governor's bucket for a business number of a channel.
pub fn rate_bucket(channel: ChannelKind, business_number: &str) -> String {
    format!("{}:{business_number}", channel.as_str())
}
