//! What the outside platforms send and answer: the Graph API's answers, Meta's webhooks in
//! their wire form and the statuses Meta posts after a send; the test secrets and the channel
//! settings that go with them.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use settings::{Secret, Settings};

use crate::Recorded;

/// The Meta phone number id of the tests' business number.
pub const PNID: &str = "106540352242922";
/// The tests' Meta app secret (webhook signatures).
pub const APP_SECRET: &str = "meta-app-secret-for-tests";
/// The tests' verify token (Meta's subscription handshake).
pub const VERIFY_TOKEN: &str = "verify-token-for-tests";
/// The tests' Graph API access token.
pub const ACCESS_TOKEN: &str = "EAAG-access-token-for-tests";
/// The tests' Twilio auth token (webhook signatures).
pub const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
/// The tests' Twilio WhatsApp sender.
pub const TWILIO_FROM: &str = "whatsapp:+14155238886";
/// The public URL Twilio signs its message webhooks for.
pub const TWILIO_URL: &str = "https://contacto.example.mx/webhooks/twilio";
/// The public URL Twilio signs its status callbacks for.
pub const TWILIO_STATUS_URL: &str = "https://contacto.example.mx/webhooks/twilio/status";
/// The tests' key for the keyed user hash.
pub const HASH_KEY: &str = "user-hash-key-for-tests-0123456789";
/// The tests' admin API token.
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// Settings with both channels pointed at stand-ins (`graph_url`, `twilio_url`) under the
/// test secrets above, short platform timeouts and quick counters and snapshot polling.
pub fn channel_settings(graph_url: &str, twilio_url: &str) -> Settings {
    let mut s = Settings::default();
    s.privacy.user_hash_key = Some(Secret::new(HASH_KEY));
    s.admin.token = Some(Secret::new(ADMIN_TOKEN));
    let meta = &mut s.channels.meta;
    meta.app_secret = Some(Secret::new(APP_SECRET));
    meta.verify_token = Some(Secret::new(VERIFY_TOKEN));
    meta.access_token = Some(Secret::new(ACCESS_TOKEN));
    meta.phone_number_ids = vec![PNID.into()];
    meta.graph_base_url = graph_url.into();
    meta.graph_timeout_secs = 2;
    let twilio = &mut s.channels.twilio;
    twilio.auth_token = Some(Secret::new(TWILIO_TOKEN));
    twilio.public_url = Some(TWILIO_URL.into());
    twilio.status_url = Some(TWILIO_STATUS_URL.into());
    twilio.from = Some(TWILIO_FROM.into());
    twilio.account_sid = Some("AC0123456789abcdef0123456789abcdef".into());
    twilio.api_base_url = twilio_url.into();
    twilio.timeout_secs = 2;
    s.responder.counters_flush_ms = 50;
    s.responder.snapshot_poll_secs = 1;
    s
}

/// A Meta text webhook from `from`, sent at `timestamp` (Unix seconds), in Meta's wire form.
pub fn meta_text_at(phone_number_id: &str, from: &str, message_id: &str, text: &str, timestamp: i64) -> Vec<u8> {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Ciudadana"}, "wa_id": from}],
            "messages": [{"from": from, "id": message_id, "timestamp": timestamp.to_string(), "type": "text",
                          "text": {"body": text}}]
        }}]}]
    });
    wire_form(&body)
}

/// A Meta text webhook sent on 27 May 2020 (see [`meta_text_at`]).
pub fn meta_text(phone_number_id: &str, from: &str, message_id: &str, text: &str) -> Vec<u8> {
    meta_text_at(phone_number_id, from, message_id, text, 1_590_602_400)
}

/// `value` as Meta writes it: compact, `\uXXXX` for every non-ASCII character (surrogate pairs
/// beyond the BMP) and `\/` for `/`, which a signature check must take byte for byte.
pub fn wire_form(value: &serde_json::Value) -> Vec<u8> {
    let compact = serde_json::to_string(value).expect("JSON serialises");
    let mut out = String::with_capacity(compact.len() + 16);
    for c in compact.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.into_bytes()
}

/// The Graph API's success answer; each carries a new message id (`wamid.OUT0`, `wamid.OUT1`, …).
pub fn graph_ok() -> impl Fn(&Recorded) -> Response + Send + Sync + 'static {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    move |_| {
        let id = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        axum::Json(serde_json::json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "x", "wa_id": "x"}],
            "messages": [{"id": format!("wamid.OUT{id}")}]
        }))
        .into_response()
    }
}

/// A Graph API error answer with Meta's error body.
pub fn graph_error(status: StatusCode, code: u32) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {
            "message": format!("(#{code}) failure"), "type": "OAuthException", "code": code, "fbtrace_id": "Az8or"
        }})),
    )
        .into_response()
}

/// A Meta webhook body carrying `statuses` for `phone_number_id`.
pub fn meta_statuses(phone_number_id: &str, statuses: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "statuses": statuses
        }}]}]
    }))
    .expect("a status webhook serialises")
}

/// One status of a message, as Meta sends it (with our `biz_opaque_callback_data` and the
/// error code of a failure, when given).
pub fn meta_status(wamid: &str, state: &str, to: &str, tag: Option<&str>, error: Option<u32>) -> serde_json::Value {
    let mut s = serde_json::json!({"id": wamid, "status": state, "timestamp": "1622106000", "recipient_id": to});
    if let Some(tag) = tag {
        s["biz_opaque_callback_data"] = serde_json::json!(tag);
    }
    if let Some(code) = error {
        s["errors"] = serde_json::json!([{"code": code, "title": "failure"}]);
    }
    s
}

/// Reports statuses to a webhook the way Meta does: shortly after, several per post (up to
/// 500), retried until the webhook takes them.
#[derive(Clone)]
pub struct StatusReporter {
    statuses: tokio::sync::mpsc::UnboundedSender<serde_json::Value>,
}

impl StatusReporter {
    /// Posts to `url`; `sign` gives the signature header of a body (Meta's `X-Hub-Signature-256`).
    pub fn start(
        url: String,
        phone_number_id: String,
        sign: impl Fn(&[u8]) -> (&'static str, String) + Send + 'static,
    ) -> StatusReporter {
        let (statuses, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 500 {
                    match rx.try_recv() {
                        Ok(s) => batch.push(s),
                        Err(_) => break,
                    }
                }
                let body = meta_statuses(&phone_number_id, &batch);
                let (header, signature) = sign(&body);
                for _ in 0..100 {
                    let posted = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header(header, &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    if posted.is_ok_and(|r| r.status().is_success()) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        });
        StatusReporter { statuses }
    }

    /// Reports `status` (see [`meta_status`]).
    pub fn report(&self, status: serde_json::Value) {
        let _ = self.statuses.send(status);
    }
}

/// The environment of a production process of the built binary (`contacto responder`,
/// `sender`, `ingest`, `conectate …`) on the test Redis under `keys`' prefix: the test secrets,
/// Meta's Graph API at `graph_url` (a stand-in), and Conéctate unpaced (allowed against a local
/// stand-in) with no canary required and a one-second schedule poll.
pub fn service_env(keys: &schemas::KeyLayout, graph_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CONTACTO_REDIS_URL", crate::redis_url()),
        ("CONTACTO_STORE__KEY_PREFIX", keys.prefix().to_owned()),
        ("CONTACTO_PRIVACY__USER_HASH_KEY", HASH_KEY.into()),
        ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", PNID.into()),
        ("CONTACTO_CHANNELS__META__APP_SECRET", APP_SECRET.into()),
        ("CONTACTO_CHANNELS__META__VERIFY_TOKEN", VERIFY_TOKEN.into()),
        ("CONTACTO_CHANNELS__META__ACCESS_TOKEN", ACCESS_TOKEN.into()),
        ("CONTACTO_CHANNELS__META__GRAPH_BASE_URL", graph_url.into()),
        ("CONTACTO_CONECTATE__UNPACED", "true".into()),
        ("CONTACTO_CONECTATE__MESSAGING_LIMIT", "unlimited".into()),
        ("CONTACTO_CONECTATE__DEFAULT_TEMPLATE", "aviso_conectate".into()),
        ("CONTACTO_CONECTATE__REQUIRE_CANARY", "false".into()),
        ("CONTACTO_CONECTATE__SCHEDULE_POLL_SECS", "1".into()),
    ]
}
