//! Meta's and Twilio's webhooks: what arrives from the internet before anything else reads it.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, Uri};
use channels::meta::{self, Meta};
use channels::twilio::{self, Twilio};
use channels::{Channel, Hook, InboundEvent, Rejection, WebhookRequest};
use responder::config::ResponderConfig;

use crate::first_line;

/// Both channels as the tests configure them (the platforms' addresses are never called).
static CONFIG: LazyLock<ResponderConfig> = LazyLock::new(|| {
    let mut settings = testkit::channel_settings("http://127.0.0.1:9", "http://127.0.0.1:9");
    ResponderConfig::from_settings(&mut settings).expect("the test channel settings")
});

static META: LazyLock<Meta> =
    LazyLock::new(|| Meta::new(CONFIG.channels.meta.clone().expect("Meta is configured"), reqwest::Client::new()));

static TWILIO: LazyLock<Twilio> = LazyLock::new(|| {
    Twilio::new(CONFIG.channels.twilio.clone().expect("Twilio is configured"), reqwest::Client::new())
});

fn headers(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(value) {
        headers.insert(name, value);
    }
    headers
}

/// Input: the `X-Hub-Signature-256` header, a line break, the body.
///
/// Reading any body never panics; the body signed with our app secret verifies, and a header
/// that is not that signature (up to the case of its hex digits) is refused.
pub fn meta_webhook(data: &[u8]) {
    let (header, body) = first_line(data);
    let uri = Uri::from_static("/webhooks/meta");
    let expected = meta::signature(testkit::APP_SECRET, body);

    let given = headers(meta::SIGNATURE_HEADER, header);
    let request = WebhookRequest { uri: &uri, headers: &given, body };
    let verified = META.verify(Hook::Events, &request);
    // Meta writes the prefix in lower case; only the hex digits' case may differ.
    let same = header.strip_prefix(b"sha256=").is_some_and(|hex| hex.eq_ignore_ascii_case(&expected.as_bytes()[7..]));
    assert_eq!(verified.is_ok(), same, "a signature other than ours must be refused: {verified:?}");

    let signed = headers(meta::SIGNATURE_HEADER, expected.as_bytes());
    let request = WebhookRequest { uri: &uri, headers: &signed, body };
    assert_eq!(META.verify(Hook::Events, &request), Ok(()), "our own signature must verify");

    let _ = META.parse(Hook::Events, &request);
    let _ = META.handshake(std::str::from_utf8(header).ok());
}

/// Input: the `X-Twilio-Signature` header, a line break, the URL's query (empty for none), a
/// line break, the form body.
///
/// Reading any form never panics; a status callback never reads as a citizen's message; a form
/// signed with our Auth Token over our public URL verifies.
pub fn twilio_webhook(data: &[u8]) {
    let (header, rest) = first_line(data);
    let (query, body) = first_line(rest);
    let Ok(query) = std::str::from_utf8(query) else { return };
    let path = if query.is_empty() { "/webhooks/twilio".to_owned() } else { format!("/webhooks/twilio?{query}") };
    let Ok(uri) = path.parse::<Uri>() else { return };

    let given = headers(twilio::SIGNATURE_HEADER, header);
    let request = WebhookRequest { uri: &uri, headers: &given, body };
    for hook in [Hook::Events, Hook::Statuses] {
        let _ = TWILIO.verify(hook, &request);
        let parsed = TWILIO.parse(hook, &request);
        if hook == Hook::Statuses
            && let Ok(events) = &parsed
        {
            assert!(
                !events.iter().any(|e| matches!(e, InboundEvent::Message(_))),
                "a status callback read as a message: {events:?}"
            );
        }
        if let Err(rejection) = parsed {
            assert!(matches!(rejection, Rejection::Unparseable(_)), "{rejection:?}");
        }
    }

    if uri.query().is_none() {
        let params: Vec<(String, String)> =
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let ours = twilio::signature(testkit::TWILIO_TOKEN, testkit::TWILIO_URL, &params);
        let signed = headers(twilio::SIGNATURE_HEADER, ours.as_bytes());
        let request = WebhookRequest { uri: &uri, headers: &signed, body };
        assert_eq!(TWILIO.verify(Hook::Events, &request), Ok(()), "our own signature must verify");
    }
}
