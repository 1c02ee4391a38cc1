//! [`Loopback`]: a third messaging platform, as small as the [`channels::Channel`] contract
//! allows, that proves a channel is its own file plus its registration.
//!
//! It stands in for an outside platform the way the Graph API stand-in does, only it is a
//! whole platform of its own design: a citizen's message arrives as a JSON post to
//! `/webhooks/loopback`, signed with HMAC-SHA256 of the raw body under a shared secret
//! (`x-loopback-signature: <hex>`); we send by posting JSON to the platform's API
//! ([`LoopbackConfig::api_url`], a [`crate::RecordingServer`] in tests, which records every
//! send), and it answers `{"id": "…"}`. Nothing outside this file knows it: a test registers
//! it with `Channels::with` and the responder and the Conéctate sender treat it as any other.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use channels::{
    Channel, Content, Hook, InboundEvent, InboundMessage, Outbound, OutboundContent, Rejection, RouteSpec, SendError,
    Sent, WebhookRequest,
};
use hmac::{Hmac, Mac};
use schemas::{Answer, ChannelKind, PhoneNumber, UserAddress};
use serde::Deserialize;
use sha2::Sha256;
use store::Rate;

/// The loopback platform's name.
pub const LOOPBACK: ChannelKind = ChannelKind::named("loopback");
/// The header that carries the signature of a loopback webhook.
pub const LOOPBACK_SIGNATURE: &str = "x-loopback-signature";
/// The route the loopback platform posts citizens' messages to.
pub const LOOPBACK_PATH: &str = "/webhooks/loopback";

/// The loopback channel's settings.
#[derive(Clone, Debug)]
pub struct LoopbackConfig {
    /// The secret webhooks are signed with.
    pub secret: String,
    /// Our number on the platform: messages to it are answered, broadcasts leave from it.
    pub business_number: String,
    /// Where sends are posted.
    pub api_url: String,
}

/// The loopback channel.
pub struct Loopback {
    config: LoopbackConfig,
    http: reqwest::Client,
}

impl Loopback {
    pub fn new(config: LoopbackConfig) -> Loopback {
        Loopback { config, http: reqwest::Client::new() }
    }
}

/// The signature the platform puts on `body`.
pub fn loopback_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A citizen's text as the loopback platform posts it.
pub fn loopback_text(business_number: &str, from: &str, id: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"to": business_number, "from": from, "id": id, "text": text})).expect("JSON")
}

#[derive(Deserialize)]
struct Post {
    to: String,
    from: String,
    id: String,
    text: String,
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
}

#[async_trait]
impl Channel for Loopback {
    fn kind(&self) -> ChannelKind {
        LOOPBACK
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![RouteSpec { method: Method::POST, path: LOOPBACK_PATH, hook: Hook::Events }]
    }

    fn verify(&self, _hook: Hook, request: &WebhookRequest<'_>) -> Result<(), Rejection> {
        let given = request.headers.get(LOOPBACK_SIGNATURE).ok_or(Rejection::Unsigned)?;
        let given = hex::decode(given.as_bytes()).map_err(|_| Rejection::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.config.secret.as_bytes()).expect("any key length");
        mac.update(request.body);
        mac.verify_slice(&given).map_err(|_| Rejection::BadSignature)
    }

    fn parse(&self, _hook: Hook, request: &WebhookRequest<'_>) -> Result<Vec<InboundEvent>, Rejection> {
        let post: Post = serde_json::from_slice(request.body).map_err(|e| Rejection::Unparseable(e.to_string()))?;
        let Ok(from) = PhoneNumber::parse(&post.from) else {
            return Ok(vec![InboundEvent::Unusable { reason: "the sender is not a phone number".into() }]);
        };
        Ok(vec![InboundEvent::Message(InboundMessage {
            channel: LOOPBACK,
            id: post.id,
            business_number: post.to,
            from: UserAddress::Phone(from),
            sent_at: None,
            content: Content::Text { body: post.text },
        })])
    }

    fn serves(&self, business_number: &str) -> bool {
        business_number == self.config.business_number
    }

    fn respond(&self, _replies: &[&Answer]) -> Response {
        StatusCode::OK.into_response()
    }

    fn classify_failure(&self, code: u32) -> SendError {
        SendError::Permanent { code: Some(code), reason: "the loopback platform refused it".into() }
    }

    async fn send(&self, message: &Outbound) -> Result<Sent, SendError> {
        let text = match &message.content {
            OutboundContent::Answer(answer) => answer.body().to_owned(),
            OutboundContent::Text { body, .. } => body.clone(),
            OutboundContent::Image { caption, .. } => caption.clone(),
            OutboundContent::Template(template) => template.parameters.join(" "),
        };
        let to = match &message.to {
            UserAddress::Phone(phone) => phone.as_str().to_owned(),
            UserAddress::Bsuid(_) => return Err(SendError::Permanent { code: None, reason: "no phone number".into() }),
        };
        let body = serde_json::json!({"from": message.business_number, "to": to, "text": text, "tag": message.tag});
        let response = self
            .http
            .post(&self.config.api_url)
            .timeout(Duration::from_secs(2))
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Transient { code: None, reason: e.to_string() })?;
        let status = response.status();
        if !status.is_success() {
            return Err(SendError::Transient { code: Some(u32::from(status.as_u16())), reason: status.to_string() });
        }
        let accepted: Accepted =
            response.json().await.map_err(|e| SendError::Transient { code: None, reason: e.to_string() })?;
        Ok(Sent { message_id: accepted.id })
    }

    fn rate(&self) -> Option<Rate> {
        None
    }

    fn broadcast_rate(&self) -> Rate {
        Rate::per_second(100)
    }

    fn redact_values(&self) -> Vec<String> {
        vec![self.config.secret.clone()]
    }
}
