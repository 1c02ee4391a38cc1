//! Table-driven channel tests over the payload files in `fixtures/webhooks/` (courier's
//! handler tests, adapted): each case has a label, the raw request, how it is signed, the
//! expected status, the expected normalised events and the exact outbound request (Meta) or
//! inline reply (Twilio). Every case also checks that no phone number or secret was logged,
//! and that a byte-identical retry is answered once (Meta) or the same way again (Twilio).

use axum::http::{HeaderMap, Uri};
use channels::meta::Meta;
use channels::meta::MetaConfig;
use channels::twilio::Twilio;
use channels::twilio::TwilioConfig;
use channels::{Channel, Hook, InboundEvent, WebhookRequest, meta};
use serde::Deserialize;
use serde_json::Value;

use crate::helpers::*;

#[derive(Deserialize)]
struct Expected {
    path: String,
    body: Value,
}

#[derive(Deserialize)]
struct MetaCase {
    label: String,
    body: String,
    signature: Signing,
    status: u16,
    events: Option<Value>,
    outbound: Vec<Expected>,
}

#[derive(Deserialize)]
struct TwilioCase {
    label: String,
    body: String,
    hook: String,
    signature: Signing,
    status: u16,
    events: Option<Value>,
    response: Option<String>,
    #[serde(default)]
    query: Option<String>,
}

/// Phone numbers (Mexican mobiles, `521…`) and business-scoped ids in a body, to look for in
/// the logs.
fn personal_ids(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut found = Vec::new();
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if digits.len() >= 12 && digits.starts_with("521") {
                found.push(digits.clone());
            }
            digits.clear();
        }
    }
    if text.contains("MX.1038472951662094") {
        found.push("1038472951662094".into());
    }
    found
}

async fn meta_cases(kind: StoreKind) {
    let cases: Vec<MetaCase> = serde_json::from_slice(&fixture("webhooks/meta/cases.json")).unwrap();
    assert!(cases.len() >= 25);
    let meta = meta_channel();
    for case in cases {
        let label = case.label.as_str();
        let app = spawn_app(kind).await;
        let body = fixture(&format!("webhooks/meta/{}", case.body));
        match &case.events {
            Some(expected) => {
                let events = meta::parse_notification(&body).unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(&serde_json::to_value(&events).unwrap(), expected, "{label}: events");
            }
            None => assert!(meta::parse_notification(&body).is_err(), "{label}: must not parse"),
        }
        let response = app.post_meta_signed(&body, case.signature).await;
        assert_eq!(response.status().as_u16(), case.status, "{label}: status");
        app.drain_outbox().await;
        let sent = app.graph.requests();
        assert_eq!(sent.len(), case.outbound.len(), "{label}: sends {:?}", app.graph_bodies());
        for (got, want) in sent.iter().zip(&case.outbound) {
            assert_eq!(got.method, "POST", "{label}");
            assert_eq!(got.uri, want.path, "{label}");
            assert_eq!(got.headers["authorization"], format!("Bearer {ACCESS_TOKEN}"), "{label}");
            assert_eq!(got.headers["content-type"], "application/json", "{label}");
            let body: Value = serde_json::from_slice(&got.body).unwrap();
            assert_eq!(body, want.body, "{label}: outbound request");
        }
        if case.status != 200 {
            // Nothing processed: no message marked seen, nothing queued, nothing counted.
            assert_eq!(app.handled_webhooks(), 0, "{label}");
            assert_eq!(app.store.depth(store::QueueName::Outbox).await.unwrap().total(), 0, "{label}");
            if let Ok(events) = meta::parse_notification(&body) {
                for event in events {
                    if let InboundEvent::Message(m) = event {
                        // A release reports the mark and leaves anything but a lease as it is.
                        let probe = store::OnceOp::Release { id: format!("meta:{}", m.id) };
                        let mark = app.store.enqueue_once(store::QueueName::Outbox, &[probe]).await.unwrap();
                        assert_eq!(mark, [store::Mark::Unmarked], "{label}: marked as answered");
                    }
                }
            }
        } else {
            // Meta retries the same bytes: answered once.
            let again = app.post_meta(&body).await;
            assert_eq!(again.status(), 200, "{label}: retry");
            app.drain_outbox().await;
            assert_eq!(app.graph.requests().len(), case.outbound.len(), "{label}: a retry was answered again");
        }
        let mut secrets = personal_ids(&body);
        secrets.extend(meta.redact_values());
        assert_not_logged(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

fn meta_channel() -> Meta {
    Meta::new(
        MetaConfig {
            app_secret: APP_SECRET.into(),
            verify_token: VERIFY_TOKEN.into(),
            access_token: ACCESS_TOKEN.into(),
            phone_number_ids: vec![PNID.into()],
            graph_base_url: "http://127.0.0.1:9".into(),
            graph_version: "v23.0".into(),
            messages_per_second: 80,
            graph_timeout: std::time::Duration::from_secs(1),
            marketing_messages: false,
        },
        reqwest::Client::new(),
    )
}

fn twilio_channel() -> Twilio {
    Twilio::new(
        TwilioConfig {
            auth_token: TWILIO_TOKEN.into(),
            public_url: TWILIO_URL.into(),
            status_url: TWILIO_STATUS_URL.into(),
            account_sid: None,
            from: Some(TWILIO_FROM.into()),
            api_base_url: "http://127.0.0.1:9".into(),
            timeout: std::time::Duration::from_secs(1),
            broadcast_messages_per_second: 10,
        },
        reqwest::Client::new(),
    )
}

async fn twilio_cases(kind: StoreKind) {
    let cases: Vec<TwilioCase> = serde_json::from_slice(&fixture("webhooks/twilio/cases.json")).unwrap();
    assert!(cases.len() >= 12);
    let channel = twilio_channel();
    for case in cases {
        let label = case.label.as_str();
        let app = spawn_app(kind).await;
        let body = fixture(&format!("webhooks/twilio/{}", case.body));
        let (hook, path, public) = match case.hook.as_str() {
            "statuses" => (Hook::Statuses, "/webhooks/twilio/status", TWILIO_STATUS_URL),
            _ => (Hook::Events, "/webhooks/twilio", TWILIO_URL),
        };
        let (path, public) = match &case.query {
            Some(q) => (format!("{path}?{q}"), format!("{public}?{q}")),
            None => (path.to_owned(), public.to_owned()),
        };
        let uri: Uri = path.parse().unwrap();
        let request = WebhookRequest { uri: &uri, headers: &HeaderMap::new(), body: &body };
        match &case.events {
            Some(expected) => {
                let events = channel.parse(hook, &request).unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(&serde_json::to_value(&events).unwrap(), expected, "{label}: events");
            }
            None => assert!(channel.parse(hook, &request).is_err(), "{label}: must not parse"),
        }
        let response = app.post_twilio(&path, &public, &body, case.signature).await;
        assert_eq!(response.status().as_u16(), case.status, "{label}: status");
        let text = response.text().await.unwrap();
        if let Some(expected) = &case.response {
            assert_eq!(&text, expected, "{label}: TwiML");
            // Twilio repeats a message only when our answer was lost: the same answer again,
            // counted once.
            let again = app.post_twilio(&path, &public, &body, case.signature).await.text().await.unwrap();
            assert_eq!(&again, expected, "{label}: the repeat");
            app.responder.flush_counters().await;
            let today = jiff::ZonedDateTime::now().date();
            let days = app.store.interactions(today.yesterday().unwrap(), today.tomorrow().unwrap()).await.unwrap();
            let counted: u64 = days.iter().map(|d| d.total()).sum();
            let answered = u64::from(expected.contains("<Message>"));
            assert_eq!(counted, answered, "{label}: counted once");
        }
        assert!(app.graph.requests().is_empty(), "{label}: Twilio replies inline, never through the Graph API");
        let mut secrets = personal_ids(&body);
        secrets.extend(channel.redact_values());
        assert_not_logged(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

testkit::on_both_stores!(meta_cases, twilio_cases);
