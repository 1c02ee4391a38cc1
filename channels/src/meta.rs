//! Meta's WhatsApp Cloud API (docs/protocols.md §1–2).
//!
//! Inbound: `GET /webhooks/meta` is the subscription handshake; `POST /webhooks/meta` carries
//! batches of messages, statuses, errors and preference changes, signed with
//! `X-Hub-Signature-256` over the exact bytes Meta sent (its wire form escapes non-ASCII as
//! `\u00e9` and `/` as `\/`, so re-serialised JSON would not match). Every entry, change and
//! item is read on its own, so one unusable message never costs the others their answer.
//!
//! Outbound: [`GraphClient`] posts to `/{version}/{phone_number_id}/messages` (a MARKETING
//! template to `/marketing_messages` when Meta's Marketing Messages API is configured) and
//! classifies the Graph API's error codes into [`SendError`]. A `template_category_update` keeps
//! each template's category current; like statuses, it is never answered.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use schemas::{Answer, Bsuid, ChannelKind, Interactive, PhoneNumber, TemplateCategory, UserAddress};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::Sha256;
use store::Rate;
use subtle::ConstantTimeEq;

use crate::error::{retry_after_header, scrub};
use crate::{
    Channel, Content, DeliveryState, Hook, InboundEvent, InboundMessage, Outbound, OutboundContent, PlatformError,
    Preference, PreferenceEvent, Rejection, RouteSpec, SendError, Sent, StatusEvent, TemplateCategoryEvent,
    ThrottleScope, WebhookRequest,
};

/// The header Meta signs with: `sha256=` and 64 lower-case hex digits.
/// This channel's name: in stored subscribers, metric labels, and rate and window keys.
pub const KIND: ChannelKind = ChannelKind::named("meta");

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Meta's Cloud API, when configured.
#[derive(Clone)]
pub struct MetaConfig {
    pub app_secret: String,
    pub verify_token: String,
    pub access_token: String,
    pub phone_number_ids: Vec<String>,
    pub graph_base_url: String,
    pub graph_version: String,
    pub messages_per_second: u32,
    pub graph_timeout: Duration,
    /// MARKETING templates go to `/marketing_messages` (Meta's Marketing Messages API).
    pub marketing_messages: bool,
}

impl fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaConfig")
            .field("phone_number_ids", &self.phone_number_ids)
            .field("graph_base_url", &self.graph_base_url)
            .field("graph_version", &self.graph_version)
            .field("messages_per_second", &self.messages_per_second)
            .field("marketing_messages", &self.marketing_messages)
            .finish_non_exhaustive()
    }
}

/// The Meta channel.
pub struct Meta {
    config: MetaConfig,
    /// Keyed once; each verification clones it instead of re-deriving the key.
    mac: Hmac<Sha256>,
    graph: GraphClient,
}

impl Meta {
    pub fn new(config: MetaConfig, http: reqwest::Client) -> Meta {
        let mac = Hmac::<Sha256>::new_from_slice(config.app_secret.as_bytes()).expect("HMAC takes any key length");
        let graph = GraphClient::new(&config, http);
        Meta { config, mac, graph }
    }
}

/// What must never be logged or kept in an error: every secret of the channel.
fn secrets(config: &MetaConfig) -> Vec<String> {
    vec![config.app_secret.clone(), config.verify_token.clone(), config.access_token.clone()]
}

/// `X-Hub-Signature-256` for `body` under `app_secret`, as Meta computes it (tests and the
/// benchmark sign with it).
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl Channel for Meta {
    fn kind(&self) -> ChannelKind {
        KIND
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec { method: Method::GET, path: "/webhooks/meta", hook: Hook::Handshake },
            RouteSpec { method: Method::POST, path: "/webhooks/meta", hook: Hook::Events },
        ]
    }

    /// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: the challenge is echoed
    /// when the token matches (compared in constant time).
    fn handshake(&self, query: Option<&str>) -> Result<String, Rejection> {
        let (mut mode, mut token, mut challenge) = (None, None, None);
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                "hub.mode" => mode = Some(value),
                "hub.verify_token" => token = Some(value),
                "hub.challenge" => challenge = Some(value),
                _ => {}
            }
        }
        let token_ok = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(self.config.verify_token.as_bytes())));
        match (mode.as_deref(), token_ok, challenge) {
            (Some("subscribe"), true, Some(c)) if !c.is_empty() && c.len() <= 256 => Ok(c.into_owned()),
            _ => Err(Rejection::Forbidden),
        }
    }

    fn verify(&self, _hook: Hook, request: &WebhookRequest<'_>) -> Result<(), Rejection> {
        // Only the SHA-256 header counts; the legacy `X-Hub-Signature: sha1=…` is ignored.
        let header = request.headers.get(SIGNATURE_HEADER).ok_or(Rejection::Unsigned)?;
        let hex_digest = header.as_bytes().strip_prefix(b"sha256=").ok_or(Rejection::BadSignature)?;
        let mut given = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut given).map_err(|_| Rejection::BadSignature)?;
        let mut mac = self.mac.clone();
        mac.update(request.body);
        mac.verify_slice(&given).map_err(|_| Rejection::BadSignature)
    }

    fn parse(&self, _hook: Hook, request: &WebhookRequest<'_>) -> Result<Vec<InboundEvent>, Rejection> {
        parse_notification(request.body)
    }

    fn serves(&self, business_number: &str) -> bool {
        self.config.phone_number_ids.iter().any(|id| id == business_number)
    }

    fn respond(&self, _replies: &[&Answer]) -> Response {
        StatusCode::OK.into_response()
    }

    async fn send(&self, message: &Outbound) -> Result<Sent, SendError> {
        self.graph.send(message).await
    }

    fn rate(&self) -> Option<Rate> {
        Some(Rate::per_second(self.config.messages_per_second))
    }

    fn broadcast_rate(&self) -> Rate {
        Rate::per_second(self.config.messages_per_second)
    }

    fn redact_values(&self) -> Vec<String> {
        secrets(&self.config)
    }

    fn classify_failure(&self, code: u32) -> SendError {
        classify(400, Some(code), None, "")
    }
}

// ---------------------------------------------------------------------------------------------
// Inbound wire types. Lenient on purpose: every field is optional and unknown fields are
// skipped, so a new field or type from Meta never rejects a batch.
// ---------------------------------------------------------------------------------------------

/// The envelope (captured shape, 2026):
///
/// ```json
/// {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[
///   {"field":"messages","value":{"messaging_product":"whatsapp",
///    "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
///    "contacts":[{"profile":{"name":"Sheena"},"wa_id":"5214771234567"}],
///    "messages":[…]}}]}]}
/// ```
#[derive(Deserialize)]
struct Notification<'a> {
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow)]
    entry: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default, borrow)]
    changes: Vec<Change<'a>>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(default, borrow)]
    field: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: Option<String>,
}

/// `value` of a `messages` change. Items stay raw until read one by one.
#[derive(Deserialize)]
struct MessagesValue<'a> {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default, borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    statuses: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    errors: Vec<&'a RawValue>,
}

/// `value` of a `user_preferences` change:
///
/// ```json
/// {"messaging_product":"whatsapp","metadata":{…},"contacts":[…],
///  "user_preferences":[{"wa_id":"5214771234567","detail":"User requested to stop marketing messages",
///                       "category":"marketing_messages","value":"stop","timestamp":1749416383}]}
/// ```
#[derive(Deserialize)]
struct PreferencesValue<'a> {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default, borrow)]
    user_preferences: Vec<&'a RawValue>,
}

/// One message (captured shape, text):
///
/// ```json
/// {"from":"5214771234567","from_user_id":"MX.1038472951662094","id":"wamid.HBgN…",
///  "timestamp":"1749416383","type":"text","text":{"body":"casos en Le\u00f3n"}}
/// ```
///
/// Users who hide their number (2026) arrive with `from_user_id` only.
#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default)]
    timestamp: Option<Seconds>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<RawText>,
    #[serde(default)]
    interactive: Option<RawInteractive>,
    #[serde(default)]
    button: Option<RawButton>,
    #[serde(default)]
    system: Option<RawSystem>,
    #[serde(default)]
    unsupported: Option<RawUnsupported>,
    #[serde(default)]
    group_id: Option<String>,
}

#[derive(Deserialize)]
struct RawText {
    #[serde(default)]
    body: Option<String>,
}

/// `{"type":"button_reply","button_reply":{"id":"t:sintomas","title":"Síntomas"}}` or the
/// same with `list_reply`.
#[derive(Deserialize)]
struct RawInteractive {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    button_reply: Option<RawReply>,
    #[serde(default)]
    list_reply: Option<RawReply>,
}

#[derive(Deserialize)]
struct RawReply {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// A template's quick-reply button: `{"payload":"BAJA","text":"Dejar de recibir"}`.
#[derive(Deserialize)]
struct RawButton {
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// `{"body":"User A changed from … to …","wa_id":"5214779876543","type":"user_changed_number"}`,
/// or for a new business-scoped id (Meta's system messages reference, August 2026):
/// `{"body":"…","user_id":"MX.2…","previous_user_id":"MX.1…","type":"user_changed_user_id"}`.
#[derive(Deserialize)]
struct RawSystem {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    previous_user_id: Option<String>,
}

#[derive(Deserialize)]
struct RawUnsupported {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// One status of our message:
///
/// ```json
/// {"id":"wamid.HBgN…","status":"failed","timestamp":"1749416400","recipient_id":"5214771234567",
///  "biz_opaque_callback_data":"contenido-17","errors":[{"code":131050,"title":"…"}]}
/// ```
#[derive(Deserialize)]
struct RawStatus {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    timestamp: Option<Seconds>,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    recipient_user_id: Option<String>,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    errors: Vec<RawError>,
}

/// `{"code":130429,"title":"Rate limit hit","message":"…","error_data":{"details":"…"}}`
#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct RawPreference {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    timestamp: Option<Seconds>,
}

/// `value` of a `template_category_update` change (Meta's webhook reference): a completed change
///
/// ```json
/// {"message_template_id":12345678,"message_template_name":"aviso_conectate",
///  "message_template_language":"es_MX","previous_category":"MARKETING","new_category":"UTILITY"}
/// ```
///
/// or, for a change still to come, `correct_category` (the one it will get),
/// `new_category` (the current one) and `category_update_timestamp`.
#[derive(Deserialize)]
struct RawCategoryUpdate {
    #[serde(default)]
    message_template_name: Option<String>,
    #[serde(default)]
    message_template_language: Option<String>,
    #[serde(default)]
    new_category: Option<String>,
    #[serde(default)]
    correct_category: Option<String>,
}

/// Unix seconds, which Meta sends as a string in messages and as a number in preferences.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Text(String),
    Number(i64),
}

impl Seconds {
    fn timestamp(&self) -> Option<Timestamp> {
        let secs = match self {
            Seconds::Text(s) => s.trim().parse().ok()?,
            Seconds::Number(n) => *n,
        };
        Timestamp::from_second(secs).ok()
    }
}

/// A JSON error as it may be logged: serde quotes the offending value ("invalid type: integer
/// `5214771234567`"), so anything that looks like a phone number is taken out.
fn quiet(error: &serde_json::Error) -> String {
    scrub(&error.to_string(), &[])
}

fn unusable(reason: impl Into<String>) -> InboundEvent {
    InboundEvent::Unusable { reason: reason.into() }
}

/// Reads a whole POST body. Only a body that is not a notification at all is an error.
pub fn parse_notification(body: &[u8]) -> Result<Vec<InboundEvent>, Rejection> {
    let notification: Notification<'_> = serde_json::from_slice(body)
        .map_err(|e| Rejection::Unparseable(format!("not a Meta notification: {}", quiet(&e))))?;
    if let Some(object) = notification.object.as_deref()
        && object != "whatsapp_business_account"
    {
        return Ok(vec![unusable(format!("a notification for object `{object}`"))]);
    }
    let mut events = Vec::new();
    for change in notification.entry.iter().flat_map(|e| &e.changes) {
        let Some(value) = change.value else {
            events.push(unusable("a change without a value"));
            continue;
        };
        match change.field.as_deref().unwrap_or("messages") {
            "messages" => parse_messages_value(value, &mut events),
            "user_preferences" => parse_preferences_value(value, &mut events),
            "template_category_update" => events.push(template_category_event(value)),
            // Template status, quality, account and capability updates: nothing for the bot to do.
            _ => {}
        }
    }
    Ok(events)
}

fn business_number(metadata: &Option<Metadata>) -> Option<String> {
    metadata.as_ref().and_then(|m| m.phone_number_id.clone()).filter(|id| !id.is_empty())
}

fn parse_messages_value(value: &RawValue, events: &mut Vec<InboundEvent>) {
    let value: MessagesValue<'_> = match serde_json::from_str(value.get()) {
        Ok(v) => v,
        Err(e) => return events.push(unusable(format!("a `messages` value that cannot be read: {}", quiet(&e)))),
    };
    let number = business_number(&value.metadata);
    for raw in &value.messages {
        events.push(match (&number, serde_json::from_str::<RawMessage>(raw.get())) {
            (None, _) => unusable("a message without metadata.phone_number_id"),
            (_, Err(e)) => unusable(format!("a message that cannot be read: {}", quiet(&e))),
            (Some(number), Ok(m)) => message_event(number, m),
        });
    }
    for raw in &value.statuses {
        events.push(match serde_json::from_str::<RawStatus>(raw.get()) {
            Ok(s) => status_event(s),
            Err(e) => unusable(format!("a status that cannot be read: {}", quiet(&e))),
        });
    }
    for raw in &value.errors {
        events.push(match serde_json::from_str::<RawError>(raw.get()) {
            Ok(RawError { code: Some(code), title }) => {
                InboundEvent::PlatformError(PlatformError { channel: KIND, code, title: title.unwrap_or_default() })
            }
            _ => unusable("an error without a code"),
        });
    }
}

/// The sender: the phone number when Meta gives one, else the business-scoped user id.
fn address(phone: Option<&str>, user_id: Option<&str>) -> Option<UserAddress> {
    phone
        .and_then(|p| PhoneNumber::parse(p).ok().map(UserAddress::Phone))
        .or_else(|| user_id.and_then(|u| Bsuid::parse(u).ok().map(UserAddress::Bsuid)))
}

/// A `system` message saying the citizen's identity changed: who changed (the address their
/// subscription is under) and the change. `None` for other system types.
///
/// `user_changed_number` gives the new number in `system.wa_id`. `user_changed_user_id` gives
/// the new business-scoped id in `system.user_id` and no phone number; the old id is
/// `system.previous_user_id` (documented since August 2026), else, in earlier captures, the
/// message's `from_user_id` or the body's "… changed from MX.1… to MX.2…". A subscription is
/// under the phone number whenever the citizen showed one, so a new business-scoped id moves
/// only what is under the old id, even when the message also carries the number.
fn identity_change(m: &RawMessage) -> Option<(UserAddress, Content)> {
    let system = m.system.as_ref()?;
    match system.kind.as_deref()? {
        "user_changed_number" => {
            let from = address(m.from.as_deref(), m.from_user_id.as_deref().or(system.previous_user_id.as_deref()))?;
            Some((from, Content::NumberChanged { new: address(system.wa_id.as_deref(), None) }))
        }
        "user_changed_user_id" => {
            let new = system.user_id.as_deref().and_then(|u| Bsuid::parse(u).ok());
            let in_body = system
                .body
                .as_deref()
                .and_then(|b| b.rsplit_once(" from "))
                .and_then(|(_, r)| r.split_whitespace().next());
            let old = [system.previous_user_id.as_deref(), m.from_user_id.as_deref(), in_body]
                .into_iter()
                .flatten()
                .filter_map(|u| Bsuid::parse(u).ok())
                .find(|old| Some(old) != new.as_ref());
            match old {
                Some(old) => {
                    Some((UserAddress::Bsuid(old), Content::NumberChanged { new: new.map(UserAddress::Bsuid) }))
                }
                // Nothing known to move from: the event is kept, and moves nothing.
                None => {
                    Some((address(m.from.as_deref(), m.from_user_id.as_deref())?, Content::NumberChanged { new: None }))
                }
            }
        }
        _ => None,
    }
}

fn message_event(number: &str, m: RawMessage) -> InboundEvent {
    let (from, change) = if m.kind.as_deref() == Some("system")
        && let Some((from, content)) = identity_change(&m)
    {
        (Some(from), Some(content))
    } else {
        (None, None)
    };
    let Some(id) = m.id.filter(|id| !id.is_empty()) else { return unusable("a message without an id") };
    let Some(from) = from.or_else(|| address(m.from.as_deref(), m.from_user_id.as_deref())) else {
        return unusable("a message without a usable sender");
    };
    if m.group_id.is_some() {
        return unusable("a group message");
    }
    let kind = m.kind.unwrap_or_default();
    let content = match kind.as_str() {
        "text" => match m.text.and_then(|t| t.body) {
            Some(body) => Content::Text { body },
            None => return unusable("a text message without a body"),
        },
        "interactive" => {
            let interactive = m.interactive;
            let sub = interactive.as_ref().and_then(|i| i.kind.clone()).unwrap_or_default();
            match interactive.and_then(|i| i.button_reply.or(i.list_reply)) {
                Some(RawReply { id: Some(id), title }) => Content::Reply { id, title: title.unwrap_or_default() },
                _ => Content::Unsupported { kind: format!("interactive/{sub}") },
            }
        }
        "button" => match m.button {
            Some(RawButton { payload, text }) if payload.is_some() || text.is_some() => {
                let text = text.unwrap_or_default();
                Content::Button { payload: payload.unwrap_or_else(|| text.clone()), text }
            }
            _ => return unusable("a button message without a payload"),
        },
        "location" => Content::Location,
        "image" | "video" | "document" | "audio" | "sticker" => Content::Media { kind },
        "reaction" => Content::Reaction,
        "contacts" => Content::Contacts,
        "order" => Content::Order,
        "system" => match change {
            Some(content) => content,
            None => Content::System { kind: m.system.and_then(|s| s.kind).unwrap_or_else(|| "unknown".to_owned()) },
        },
        "unsupported" => Content::Unsupported {
            kind: m
                .unsupported
                .and_then(|u| u.kind)
                .map_or_else(|| "unsupported".into(), |k| format!("unsupported/{k}")),
        },
        _ => Content::Unsupported { kind },
    };
    InboundEvent::Message(InboundMessage {
        channel: KIND,
        id,
        business_number: number.to_owned(),
        from,
        sent_at: m.timestamp.as_ref().and_then(Seconds::timestamp),
        content,
    })
}

fn status_event(s: RawStatus) -> InboundEvent {
    let Some(message_id) = s.id.filter(|id| !id.is_empty()) else { return unusable("a status without an id") };
    let state = match s.status.as_deref() {
        Some("sent") => DeliveryState::Sent,
        Some("delivered") => DeliveryState::Delivered,
        Some("read" | "played") => DeliveryState::Read,
        Some("failed") => DeliveryState::Failed,
        Some("accepted" | "queued" | "held_for_quality_assessment") => DeliveryState::Queued,
        other => return unusable(format!("a status `{}`", other.unwrap_or("missing"))),
    };
    InboundEvent::Status(StatusEvent {
        channel: KIND,
        message_id,
        state,
        recipient: address(s.recipient_id.as_deref(), s.recipient_user_id.as_deref()),
        at: s.timestamp.as_ref().and_then(Seconds::timestamp),
        errors: s.errors.iter().filter_map(|e| e.code).collect(),
        tag: s.biz_opaque_callback_data,
    })
}

/// A template's category changed, or will: never a message to anyone.
fn template_category_event(value: &RawValue) -> InboundEvent {
    let Ok(raw) = serde_json::from_str::<RawCategoryUpdate>(value.get()) else {
        return unusable("a template category update that cannot be read");
    };
    let impending = raw.correct_category.is_some();
    let category = if impending { raw.correct_category } else { raw.new_category };
    match (raw.message_template_name, raw.message_template_language, category.map(|c| c.parse())) {
        (Some(name), Some(language), Some(Ok(category))) if !name.is_empty() => {
            InboundEvent::TemplateCategory(TemplateCategoryEvent { name, language, category, impending })
        }
        (_, _, Some(Err(e))) => unusable(format!("a template category update: {e}")),
        _ => unusable("a template category update without a name, language or category"),
    }
}

fn parse_preferences_value(value: &RawValue, events: &mut Vec<InboundEvent>) {
    let value: PreferencesValue<'_> = match serde_json::from_str(value.get()) {
        Ok(v) => v,
        Err(e) => {
            return events.push(unusable(format!("a `user_preferences` value that cannot be read: {}", quiet(&e))));
        }
    };
    let Some(number) = business_number(&value.metadata) else {
        return events.push(unusable("a preference change without metadata.phone_number_id"));
    };
    for raw in &value.user_preferences {
        let Ok(p) = serde_json::from_str::<RawPreference>(raw.get()) else {
            events.push(unusable("a preference that cannot be read"));
            continue;
        };
        let preference = match p.value.as_deref() {
            Some("stop") => Preference::Stop,
            Some("resume") => Preference::Resume,
            other => {
                events.push(unusable(format!("a preference `{}`", other.unwrap_or("missing"))));
                continue;
            }
        };
        let Some(user) = address(p.wa_id.as_deref(), p.user_id.as_deref()) else {
            events.push(unusable("a preference change without a usable user"));
            continue;
        };
        events.push(InboundEvent::Preference(PreferenceEvent {
            channel: KIND,
            business_number: number.clone(),
            user,
            preference,
            at: p.timestamp.as_ref().and_then(Seconds::timestamp),
        }));
    }
}

// ---------------------------------------------------------------------------------------------
// Outbound: the Graph API.
// ---------------------------------------------------------------------------------------------

/// The Graph API client for sending WhatsApp messages. Shared by the outbox (replies) and the
/// Conéctate sender (templates).
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: String,
    version: String,
    token: String,
    timeout: Duration,
    /// MARKETING templates go to the Marketing Messages API.
    marketing_messages: bool,
    /// Scrubbed from every error the API returns.
    redact: Vec<String>,
}

/// Graph's error body:
///
/// ```json
/// {"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
///           "error_data":{"messaging_product":"whatsapp","details":"…"},"fbtrace_id":"Az8or…"}}
/// ```
#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// `{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.…"}]}`
#[derive(Deserialize)]
struct GraphSent {
    #[serde(default)]
    messages: Vec<GraphSentMessage>,
}

#[derive(Deserialize)]
struct GraphSentMessage {
    id: String,
}

impl GraphClient {
    pub fn new(config: &MetaConfig, http: reqwest::Client) -> GraphClient {
        GraphClient {
            http,
            base_url: config.graph_base_url.trim_end_matches('/').to_owned(),
            version: config.graph_version.clone(),
            token: config.access_token.clone(),
            timeout: config.graph_timeout,
            marketing_messages: config.marketing_messages,
            redact: secrets(config),
        }
    }

    /// The URL a message from `phone_number_id` is posted to.
    pub fn messages_url(&self, phone_number_id: &str) -> String {
        format!("{}/{}/{phone_number_id}/messages", self.base_url, self.version)
    }

    /// Where `message` is posted: a MARKETING template to the Marketing Messages API
    /// (`/{phone_number_id}/marketing_messages`, the same body) when it is configured,
    /// everything else to `/{phone_number_id}/messages`.
    pub fn url_for(&self, message: &Outbound) -> String {
        let marketing =
            matches!(&message.content, OutboundContent::Template(t) if t.category == TemplateCategory::Marketing);
        if self.marketing_messages && marketing {
            format!("{}/{}/{}/marketing_messages", self.base_url, self.version, message.business_number)
        } else {
            self.messages_url(&message.business_number)
        }
    }

    /// Sends one message and classifies any failure.
    pub async fn send(&self, message: &Outbound) -> Result<Sent, SendError> {
        let redact = &self.redact;
        let response = self
            .http
            .post(self.url_for(message))
            .bearer_auth(&self.token)
            .timeout(self.timeout)
            .json(&request_body(message))
            .send()
            .await
            .map_err(|e| SendError::from_transport(&e, redact))?;
        let status = response.status();
        let retry_after = retry_after_header(response.headers());
        let bytes = response.bytes().await.map_err(|e| SendError::from_transport(&e, redact))?;
        if status.is_success() {
            let sent: GraphSent = serde_json::from_slice(&bytes).map_err(|e| SendError::Transient {
                code: None,
                reason: format!("the Graph API accepted the message but its answer cannot be read: {e}"),
            })?;
            return match sent.messages.into_iter().next() {
                Some(m) => Ok(Sent { message_id: m.id }),
                None => Err(SendError::Transient { code: None, reason: "the Graph API returned no message id".into() }),
            };
        }
        let (code, message) = match serde_json::from_slice::<GraphErrorBody>(&bytes) {
            Ok(body) => (body.error.code, body.error.message.unwrap_or_default()),
            Err(_) => (None, format!("HTTP {status}")),
        };
        Err(classify(status.as_u16(), code, retry_after, &scrub(&message, redact)))
    }
}

/// What the Graph API's error code means for the sender (docs/protocols.md §2.2). The code decides;
/// the HTTP status only when there is no code.
pub fn classify(http_status: u16, code: Option<u32>, retry_after: Option<Duration>, reason: &str) -> SendError {
    let reason = reason.to_owned();
    let throttled = |scope| SendError::Throttled { scope, retry_after, code };
    match code {
        Some(130429) => throttled(ThrottleScope::BusinessNumber),
        Some(131056) => throttled(ThrottleScope::Recipient),
        Some(4 | 80007) => throttled(ThrottleScope::Account),
        // Per-user marketing limit: no retry for at least a day.
        Some(c @ 131049) => SendError::EngagementLimited { code: c, retry_after: Duration::from_secs(24 * 3600) },
        Some(c @ (131048 | 131031 | 368)) => SendError::Frozen { code: c, reason },
        Some(c @ 131050) => SendError::OptedOut { code: c },
        Some(c @ 131047) => SendError::NeedsTemplate { code: c },
        Some(c @ 131026) => SendError::Unreachable { code: c },
        Some(0 | 190 | 131030) => SendError::Config { code, reason },
        Some(131000 | 131016 | 1 | 2) => SendError::Transient { code, reason },
        Some(c) if (132000..133000).contains(&c) => SendError::Permanent { code, reason },
        Some(_) if http_status >= 500 => SendError::Transient { code, reason },
        Some(_) => SendError::Permanent { code, reason },
        None if http_status == 429 => throttled(ThrottleScope::BusinessNumber),
        None if http_status == 401 || http_status == 403 => SendError::Config { code, reason },
        None if http_status >= 500 || http_status == 408 => SendError::Transient { code, reason },
        None => SendError::Permanent { code, reason },
    }
}

/// The JSON body of a send (docs/protocols.md §2): `to` for a phone number, `recipient` for a
/// business-scoped user id.
pub fn request_body(message: &Outbound) -> Value {
    let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual"});
    match &message.to {
        UserAddress::Phone(p) => body["to"] = json!(p.as_str()),
        UserAddress::Bsuid(b) => body["recipient"] = json!(b.as_str()),
    }
    match &message.content {
        OutboundContent::Answer(answer) => match answer.interactive() {
            None => {
                body["type"] = json!("text");
                body["text"] = json!({"body": answer.body()});
            }
            Some(interactive) => {
                body["type"] = json!("interactive");
                body["interactive"] = interactive_body(answer.body(), interactive);
            }
        },
        OutboundContent::Template(t) => {
            body["type"] = json!("template");
            let mut template = json!({"name": t.name, "language": {"code": t.language}});
            if !t.parameters.is_empty() {
                let parameters: Vec<Value> = t.parameters.iter().map(|p| json!({"type": "text", "text": p})).collect();
                template["components"] = json!([{"type": "body", "parameters": parameters}]);
            }
            body["template"] = template;
        }
        OutboundContent::Text { body: text, preview_url } => {
            body["type"] = json!("text");
            body["text"] = json!({"body": text, "preview_url": preview_url});
        }
        OutboundContent::Image { link, caption } => {
            body["type"] = json!("image");
            body["image"] = json!({"link": link, "caption": caption});
        }
    }
    if let Some(tag) = &message.tag {
        body["biz_opaque_callback_data"] = json!(tag);
    }
    body
}

fn interactive_body(text: &str, interactive: &Interactive) -> Value {
    match interactive {
        Interactive::List(list) => {
            let sections: Vec<Value> = list
                .sections
                .iter()
                .map(|s| {
                    let rows: Vec<Value> = s
                        .rows
                        .iter()
                        .map(|r| {
                            let mut row = json!({"id": r.id, "title": r.title});
                            if let Some(d) = &r.description {
                                row["description"] = json!(d);
                            }
                            row
                        })
                        .collect();
                    let mut section = json!({"rows": rows});
                    if let Some(t) = &s.title {
                        section["title"] = json!(t);
                    }
                    section
                })
                .collect();
            let mut body = json!({"type": "list", "body": {"text": text}, "action": {"button": list.button, "sections": sections}});
            if let Some(h) = &list.header {
                body["header"] = json!({"type": "text", "text": h});
            }
            if let Some(f) = &list.footer {
                body["footer"] = json!({"text": f});
            }
            body
        }
        Interactive::Buttons(buttons) => {
            let list: Vec<Value> = buttons
                .buttons
                .iter()
                .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                .collect();
            let mut body = json!({"type": "button", "body": {"text": text}, "action": {"buttons": list}});
            if let Some(f) = &buttons.footer {
                body["footer"] = json!({"text": f});
            }
            body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_code_has_its_action() {
        let cases: [(u32, &str, bool); 17] = [
            (130429, "throttled", true),
            (131056, "throttled", true),
            (4, "throttled", true),
            (80007, "throttled", true),
            (131049, "engagement_limited", true),
            (131048, "frozen", false),
            (131031, "frozen", false),
            (368, "frozen", false),
            (131050, "opted_out", false),
            (131047, "needs_template", false),
            (131026, "unreachable", false),
            (131051, "permanent", false),
            (132001, "permanent", false),
            (132015, "permanent", false),
            (0, "config", false),
            (190, "config", false),
            (131000, "transient", true),
        ];
        for (code, class, retry) in cases {
            let e = classify(400, Some(code), None, "");
            assert_eq!((e.class(), e.is_retryable()), (class, retry), "code {code}");
            assert_eq!(e.code(), Some(code));
        }
        assert_eq!(classify(503, None, None, "").class(), "transient");
        assert_eq!(classify(500, Some(99999), None, "").class(), "transient");
        assert_eq!(classify(400, Some(100), None, "").class(), "permanent");
        let throttled = classify(429, None, Some(Duration::from_secs(7)), "");
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(classify(400, Some(131049), None, "").retry_after(), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn a_template_category_update_is_read_as_a_made_or_an_announced_change() {
        let events = |value: &str| {
            let body = format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","time":1765000000,"changes":[{{"field":"template_category_update","value":{value}}}]}}]}}"#
            );
            parse_notification(body.as_bytes()).unwrap()
        };
        let made = events(
            r#"{"message_template_id":1234567,"message_template_name":"aviso_conectate","message_template_language":"es_MX","previous_category":"MARKETING","new_category":"UTILITY"}"#,
        );
        let expected = |category, impending| {
            vec![InboundEvent::TemplateCategory(TemplateCategoryEvent {
                name: "aviso_conectate".into(),
                language: "es_MX".into(),
                category,
                impending,
            })]
        };
        assert_eq!(made, expected(TemplateCategory::Utility, false));
        let announced = events(
            r#"{"message_template_id":1234567,"message_template_name":"aviso_conectate","message_template_language":"es_MX","correct_category":"UTILITY","new_category":"MARKETING","category_update_timestamp":1765086400}"#,
        );
        assert_eq!(announced, expected(TemplateCategory::Utility, true));
        let unknown = events(
            r#"{"message_template_name":"aviso_conectate","message_template_language":"es_MX","new_category":"PROMO"}"#,
        );
        assert!(matches!(&unknown[..], [InboundEvent::Unusable { reason }] if reason.contains("PROMO")), "{unknown:?}");
    }

    #[test]
    fn the_signature_is_over_the_escaped_bytes() {
        // Vectors computed independently (Python's hmac module).
        assert_eq!(
            signature("secret", b"{}"),
            "sha256=77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13"
        );
        let wire = br#"{"text":{"body":"Le\u00f3n"}}"#;
        assert_eq!(
            signature("secret", wire),
            "sha256=2efce961b2a77f8bceb8d8115a0e43f0bc97b302550dd00c34b0d123976b36f1"
        );
        let reserialised = serde_json::to_vec(&serde_json::from_slice::<Value>(wire).unwrap()).unwrap();
        assert_ne!(
            signature("secret", wire),
            signature("secret", &reserialised),
            "re-serialised JSON signs differently"
        );
    }
}
