//! Twilio's WhatsApp API (docs/protocols.md §3).
//!
//! Inbound: one form `POST` per message to `/webhooks/twilio`, signed with
//! `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + every parameter's name and value,
//! sorted by name)). The URL is the public one Twilio was given, not the one this process sees
//! behind a proxy. The reply goes back inline as TwiML. Status callbacks arrive at
//! `/webhooks/twilio/status`, signed the same way with their own URL. A JSON body (Twilio's
//! other webhooks) is signed through the `bodySHA256` its URL carries.
//!
//! Outbound: [`TwilioClient`] posts to the Messages resource (used by the Conéctate sender;
//! replies to citizens are inline) and classifies Twilio's error codes into [`SendError`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use schemas::{Answer, ChannelKind, PhoneNumber, UserAddress};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use store::Rate;
use subtle::ConstantTimeEq;

use crate::error::{retry_after_header, scrub};
use crate::{
    Channel, Content, DeliveryState, Hook, InboundEvent, InboundMessage, Outbound, OutboundContent, Rejection,
    RouteSpec, SendError, Sent, StatusEvent, ThrottleScope, WebhookRequest,
};

/// The header Twilio signs with.
/// This channel's name: in stored subscribers, metric labels, and rate and window keys.
pub const KIND: ChannelKind = ChannelKind::named("twilio");

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Twilio, when configured.
#[derive(Clone)]
pub struct TwilioConfig {
    pub auth_token: String,
    /// The public URL Twilio posts messages to, as configured there (what it signs).
    pub public_url: String,
    /// The public URL of the status callback.
    pub status_url: String,
    pub account_sid: Option<String>,
    /// Our WhatsApp sender (`whatsapp:+…`); when set, messages to any other number are skipped.
    pub from: Option<String>,
    pub api_base_url: String,
    pub timeout: Duration,
    /// Conéctate's pace per sender, which Twilio does not impose on us
    /// (`conectate.twilio_messages_per_second`).
    pub broadcast_messages_per_second: u32,
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("public_url", &self.public_url)
            .field("status_url", &self.status_url)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Twilio's limit on one message body, in characters (errors 21617 / 14103).
pub const MESSAGE_MAX: usize = 1600;

/// The Twilio channel.
pub struct Twilio {
    config: TwilioConfig,
    client: TwilioClient,
}

impl Twilio {
    pub fn new(config: TwilioConfig, http: reqwest::Client) -> Twilio {
        let client = TwilioClient::new(&config, http);
        Twilio { config, client }
    }

    /// The URL Twilio signed for `hook`: the configured public URL (without its query) plus the
    /// query this request carries, so a status callback URL with `?tag=…` verifies too.
    fn signed_url(&self, hook: Hook, request: &WebhookRequest<'_>) -> String {
        let configured = match hook {
            Hook::Statuses => self.config.status_url.as_str(),
            _ => self.config.public_url.as_str(),
        };
        let base = configured.split_once('?').map_or(configured, |(b, _)| b);
        match request.uri.query() {
            Some(q) => format!("{base}?{q}"),
            None => base.to_owned(),
        }
    }
}

/// The form's parameters, decoded (`+` is a space), in the order received.
fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `X-Twilio-Signature` for a request to `url` with these form parameters: the URL, then each
/// parameter's name and value sorted by name (values sorted within a repeated name), HMAC-SHA1
/// with the Auth Token, base64.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    BASE64.encode(mac.finalize().into_bytes())
}

/// The same URL with the scheme's default port written out, or left out if it was written:
/// SDKs sign either form, so both are accepted.
fn other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    Some(match authority.strip_suffix(default) {
        Some(host) => format!("{scheme}://{host}{tail}"),
        None if !authority.contains(':') => format!("{scheme}://{authority}{default}{tail}"),
        None => return None,
    })
}

/// The `bodySHA256` parameter of a signed URL: Twilio adds it, with the hex SHA-256 of the
/// body, to webhooks whose body is JSON rather than a form (docs/protocols.md §3.2).
fn body_sha256(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256").map(|(_, v)| v.into_owned())
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

#[async_trait]
impl Channel for Twilio {
    fn kind(&self) -> ChannelKind {
        KIND
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec { method: Method::POST, path: "/webhooks/twilio", hook: Hook::Events },
            RouteSpec { method: Method::POST, path: "/webhooks/twilio/status", hook: Hook::Statuses },
        ]
    }

    fn verify(&self, hook: Hook, request: &WebhookRequest<'_>) -> Result<(), Rejection> {
        let given = request.headers.get(SIGNATURE_HEADER).ok_or(Rejection::Unsigned)?.as_bytes();
        let url = self.signed_url(hook, request);
        let signed = match body_sha256(&url) {
            // A body that is not a form: the URL alone is signed, and it carries the body's hash.
            Some(hash) if hash.eq_ignore_ascii_case(&hex::encode(Sha256::digest(request.body))) => Vec::new(),
            Some(_) => return Err(Rejection::BadSignature),
            None => form(request.body),
        };
        let matches = |url: &str| {
            let expected = signature(&self.config.auth_token, url, &signed);
            bool::from(expected.as_bytes().ct_eq(given))
        };
        if matches(&url) || other_port_form(&url).is_some_and(|u| matches(&u)) {
            Ok(())
        } else {
            Err(Rejection::BadSignature)
        }
    }

    fn parse(&self, hook: Hook, request: &WebhookRequest<'_>) -> Result<Vec<InboundEvent>, Rejection> {
        let params = form(request.body);
        let missing = |name: &str| Rejection::Unparseable(format!("the form has no `{name}`"));
        let id = get(&params, "MessageSid").or_else(|| get(&params, "SmsSid")).ok_or_else(|| missing("MessageSid"))?;
        if hook == Hook::Statuses {
            let status = get(&params, "MessageStatus").ok_or_else(|| missing("MessageStatus"))?;
            return Ok(vec![status_event(id, status, &params, request)]);
        }
        let business_number = get(&params, "To").ok_or_else(|| missing("To"))?;
        let from = get(&params, "From").ok_or_else(|| missing("From"))?;
        let Ok(from) = PhoneNumber::parse(from) else {
            return Ok(vec![InboundEvent::Unusable { reason: "a message whose `From` is not a phone number".into() }]);
        };
        let content = if let Some(payload) = get(&params, "ButtonPayload") {
            Content::Button { payload: payload.to_owned(), text: get(&params, "ButtonText").unwrap_or("").to_owned() }
        } else if get(&params, "Latitude").is_some() && get(&params, "Longitude").is_some() {
            Content::Location
        } else if get(&params, "NumMedia").is_some_and(|n| n != "0") {
            let kind = get(&params, "MediaContentType0").and_then(|t| t.split('/').next()).unwrap_or("media");
            Content::Media { kind: kind.to_owned() }
        } else {
            // Twilio posts an empty `Body` for messages it has no field for.
            Content::Text { body: params.iter().find(|(k, _)| k == "Body").map(|(_, v)| v.clone()).unwrap_or_default() }
        };
        Ok(vec![InboundEvent::Message(InboundMessage {
            channel: KIND,
            id: id.to_owned(),
            business_number: business_number.to_owned(),
            from: UserAddress::Phone(from),
            sent_at: None,
            content,
        })])
    }

    fn serves(&self, business_number: &str) -> bool {
        let digits = |s: &str| PhoneNumber::parse(s).ok().map(|p| p.as_str().to_owned());
        match &self.config.from {
            Some(from) => digits(from).is_some_and(|ours| digits(business_number).as_deref() == Some(ours.as_str())),
            None => true,
        }
    }

    fn replies_inline(&self) -> bool {
        true
    }

    fn respond(&self, replies: &[&Answer]) -> Response {
        let mut response = twiml(replies.iter().map(|a| a.body())).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
        response
    }

    async fn send(&self, message: &Outbound) -> Result<Sent, SendError> {
        self.client.send(message).await
    }

    fn rate(&self) -> Option<Rate> {
        None
    }

    fn broadcast_rate(&self) -> Rate {
        Rate::per_second(self.config.broadcast_messages_per_second)
    }

    fn redact_values(&self) -> Vec<String> {
        vec![self.config.auth_token.clone()]
    }

    fn classify_failure(&self, code: u32) -> SendError {
        classify(400, Some(code), None, "")
    }
}

fn status_event(id: &str, status: &str, params: &[(String, String)], request: &WebhookRequest<'_>) -> InboundEvent {
    let state = match status {
        "accepted" | "queued" | "sending" | "scheduled" => DeliveryState::Queued,
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" | "undelivered" | "canceled" => DeliveryState::Failed,
        other => return InboundEvent::Unusable { reason: format!("a status `{other}`") },
    };
    let tag = request
        .uri
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "tag").map(|(_, v)| v.into_owned()));
    InboundEvent::Status(StatusEvent {
        channel: KIND,
        message_id: id.to_owned(),
        state,
        recipient: get(params, "To").and_then(|t| PhoneNumber::parse(t).ok()).map(UserAddress::Phone),
        at: None,
        errors: get(params, "ErrorCode").and_then(|c| c.parse().ok()).into_iter().collect(),
        tag,
    })
}

/// Inline TwiML: one `<Message>` per reply, each split into parts of at most 1,600 characters
/// (at a line break or a space when possible), everything XML-escaped.
pub fn twiml<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let mut messages = String::new();
    for text in texts {
        for part in split_message(text, MESSAGE_MAX) {
            messages.push_str("<Message>");
            escape_xml_into(part, &mut messages);
            messages.push_str("</Message>");
        }
    }
    if messages.is_empty() {
        out.push_str("<Response/>");
    } else {
        out.push_str("<Response>");
        out.push_str(&messages);
        out.push_str("</Response>");
    }
    out
}

/// Splits `text` into parts of at most `max` characters, preferring to cut after a line break,
/// then after a space.
pub fn split_message(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max {
        let hard = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let window = &rest[..hard];
        let cut = window.rfind('\n').or_else(|| window.rfind(' ')).filter(|&i| i > 0).map_or(hard, |i| i + 1);
        parts.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start_matches(['\n', ' ']);
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts
}

/// XML text escaping; characters XML 1.0 cannot carry at all are dropped.
fn escape_xml_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outbound: the Messages resource.
// ---------------------------------------------------------------------------------------------

/// Twilio's REST client for WhatsApp sends (Conéctate broadcasts; replies are inline TwiML).
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    api_base_url: String,
    account_sid: Option<String>,
    auth_token: String,
    status_url: String,
    timeout: Duration,
}

/// Twilio's error body: `{"code":63016,"message":"…","more_info":"…","status":400}`.
#[derive(Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// `{"sid":"SM…","status":"queued",…}`
#[derive(Deserialize)]
struct TwilioMessage {
    sid: String,
}

impl TwilioClient {
    pub fn new(config: &TwilioConfig, http: reqwest::Client) -> TwilioClient {
        TwilioClient {
            http,
            api_base_url: config.api_base_url.trim_end_matches('/').to_owned(),
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            status_url: config.status_url.clone(),
            timeout: config.timeout,
        }
    }

    /// The form a send posts: `To`, `From`, then `Body` or `ContentSid` + `ContentVariables`,
    /// and `StatusCallback` (with `?tag=` when the message has a tag).
    pub fn request_form(&self, message: &Outbound) -> Result<Vec<(&'static str, String)>, SendError> {
        let UserAddress::Phone(to) = &message.to else {
            return Err(SendError::Permanent {
                code: None,
                reason: "Twilio cannot send to a business-scoped user id".into(),
            });
        };
        let whatsapp = |s: &str| if s.starts_with("whatsapp:") { s.to_owned() } else { format!("whatsapp:+{s}") };
        let mut form = vec![("To", whatsapp(to.as_str())), ("From", whatsapp(&message.business_number))];
        match &message.content {
            OutboundContent::Answer(answer) => form.push(("Body", answer.body().to_owned())),
            OutboundContent::Template(t) => {
                let variables: serde_json::Map<String, serde_json::Value> =
                    t.parameters.iter().enumerate().map(|(i, p)| ((i + 1).to_string(), p.clone().into())).collect();
                form.push(("ContentSid", t.name.clone()));
                form.push(("ContentVariables", serde_json::Value::Object(variables).to_string()));
            }
            OutboundContent::Text { body, .. } => form.push(("Body", body.clone())),
            OutboundContent::Image { link, caption } => {
                form.push(("Body", caption.clone()));
                form.push(("MediaUrl", link.clone()));
            }
        }
        let callback = match &message.tag {
            Some(tag) => {
                format!(
                    "{}?{}",
                    self.status_url,
                    form_urlencoded::Serializer::new(String::new()).append_pair("tag", tag).finish()
                )
            }
            None => self.status_url.clone(),
        };
        form.push(("StatusCallback", callback));
        Ok(form)
    }

    /// Sends one message and classifies any failure.
    pub async fn send(&self, message: &Outbound) -> Result<Sent, SendError> {
        let Some(account) = &self.account_sid else {
            return Err(SendError::Config { code: None, reason: "channels.twilio.account_sid is not set".into() });
        };
        let redact = [self.auth_token.clone()];
        let response = self
            .http
            .post(format!("{}/2010-04-01/Accounts/{account}/Messages.json", self.api_base_url))
            .basic_auth(account, Some(&self.auth_token))
            .timeout(self.timeout)
            .form(&self.request_form(message)?)
            .send()
            .await
            .map_err(|e| SendError::from_transport(&e, &redact))?;
        let status = response.status();
        let retry_after = retry_after_header(response.headers());
        let bytes = response.bytes().await.map_err(|e| SendError::from_transport(&e, &redact))?;
        if status.is_success() {
            return serde_json::from_slice::<TwilioMessage>(&bytes).map(|m| Sent { message_id: m.sid }).map_err(|e| {
                SendError::Transient { code: None, reason: format!("Twilio's answer cannot be read: {e}") }
            });
        }
        let (code, text) = match serde_json::from_slice::<TwilioError>(&bytes) {
            Ok(e) => (e.code, e.message.unwrap_or_default()),
            Err(_) => (None, format!("HTTP {status}")),
        };
        Err(classify(status.as_u16(), code, retry_after, &scrub(&text, &redact)))
    }
}

/// What Twilio's error code means for the sender.
pub fn classify(http_status: u16, code: Option<u32>, retry_after: Option<Duration>, reason: &str) -> SendError {
    let reason = reason.to_owned();
    match code {
        // Outside the 24-hour window: like Meta's 131047.
        Some(c @ 63016) => SendError::NeedsTemplate { code: c },
        Some(c @ 21610) => SendError::OptedOut { code: c },
        Some(c @ (63024 | 21211 | 21614 | 63003)) => SendError::Unreachable { code: c },
        Some(20429 | 63018 | 14107) => SendError::Throttled { scope: ThrottleScope::BusinessNumber, retry_after, code },
        Some(20003 | 21606 | 63007 | 21608) => SendError::Config { code, reason },
        Some(_) if http_status >= 500 => SendError::Transient { code, reason },
        None if http_status == 429 => SendError::Throttled { scope: ThrottleScope::BusinessNumber, retry_after, code },
        None if http_status == 401 || http_status == 403 => SendError::Config { code, reason },
        None if http_status >= 500 || http_status == 408 => SendError::Transient { code, reason },
        _ => SendError::Permanent { code, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params(caller: &str) -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    }

    /// Twilio's published vectors (docs/protocols.md §3.2).
    #[test]
    fn twilios_published_signature_vectors() {
        assert_eq!(signature("12345", URL, &params("+14158675310")), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert_eq!(signature("12345", URL, &params("+14158675309")), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(signature("12345", URL, &params("+12349013030")), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let duplicates: Vec<(String, String)> =
            [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .to_vec();
        assert_eq!(signature("12345", URL, &duplicates), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
        let p = params("+14158675309");
        assert_eq!(
            signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &p),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            signature("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", &p),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        assert_eq!(
            signature("12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2", &p),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
    }

    /// Twilio's vector for a JSON body: the URL with its `bodySHA256` is signed alone.
    #[test]
    fn a_json_body_is_signed_through_its_hash() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(hex::encode(Sha256::digest(body)), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(body_sha256(&url).as_deref(), Some(hash));
        assert_eq!(signature("12345", &url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
        assert_eq!(body_sha256(URL), None);
    }

    #[test]
    fn the_default_port_may_be_written_or_not() {
        assert_eq!(other_port_form(URL).unwrap(), "https://mycompany.com:443/myapp.php?foo=1&bar=2");
        assert_eq!(other_port_form("https://mycompany.com:443/myapp.php").unwrap(), "https://mycompany.com/myapp.php");
        assert_eq!(other_port_form("http://x.mx:80").unwrap(), "http://x.mx");
        assert_eq!(other_port_form("http://x.mx:1234/a"), None);
    }

    #[test]
    fn twiml_escapes_and_splits_long_answers() {
        assert_eq!(twiml([]), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
        assert_eq!(
            twiml(["Casos <León> & \"más\"\u{1}"]),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Casos &lt;León&gt; &amp; &quot;más&quot;</Message></Response>"#
        );
        let long = format!("{}\n{}", "á".repeat(1500), "b ".repeat(300));
        let parts = split_message(&long, MESSAGE_MAX);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "á".repeat(1500));
        assert!(parts.iter().all(|p| p.chars().count() <= MESSAGE_MAX));
        let unbroken = "x".repeat(3300);
        let parts = split_message(&unbroken, MESSAGE_MAX);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![1600, 1600, 100]);
        assert_eq!(twiml([long.as_str()]).matches("<Message>").count(), 2);
    }

    #[test]
    fn each_twilio_code_has_its_action() {
        for (code, class) in [
            (63016, "needs_template"),
            (21610, "opted_out"),
            (63024, "unreachable"),
            (20429, "throttled"),
            (20003, "config"),
            (21617, "permanent"),
        ] {
            assert_eq!(classify(400, Some(code), None, "").class(), class, "code {code}");
        }
        assert_eq!(classify(503, None, None, "").class(), "transient");
        assert_eq!(classify(429, None, None, "").class(), "throttled");
    }
}
