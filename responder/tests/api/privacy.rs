//! The foundation's privacy promise, end to end: after requests carrying a phone number and a
//! business-scoped id (messages, a subscription, a flood, statuses, Twilio), neither appears
//! in any log line, store key, counter or metric. Only the keyed hash does.

use axum::response::IntoResponse;
use jiff::civil::date;
use redis::AsyncCommands;
use serde_json::json;

use crate::helpers::*;

const PHONE: &str = "5214775550123";
const PHONE_TAIL: &str = "4775550123";
const BSUID: &str = "MX.9081726354453627";
const BSUID_TAIL: &str = "9081726354453627";
const TWILIO_PHONE: &str = "5214775550456";
/// Sent as a JSON number where Meta sends a string: the parse error must not quote it.
const MALFORMED_PHONE: &str = "5214775550789";

async fn no_phone_number_or_user_id_in_logs_keys_counters_or_metrics(kind: StoreKind) {
    let app = spawn_app_with(kind, TestOptions { flood_per_minute: 2, ..TestOptions::default() }).await;
    for (i, text) in ["casos en León", "alta", "síntomas", "hola"].into_iter().enumerate() {
        let body = meta_text(PNID, PHONE, &format!("wamid.PRIV{i}"), text);
        assert_eq!(app.post_meta(&body).await.status(), 200);
    }
    let bsuid = wire_form(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": PNID},
        "contacts": [{"profile": {"name": "Usuaria"}, "user_id": BSUID}],
        "messages": [{"from_user_id": BSUID, "id": "wamid.PRIVB", "timestamp": "1590602400", "type": "text", "text": {"body": "alta"}}],
        "statuses": [{"id": "wamid.OUTP", "status": "delivered", "timestamp": "1590602400", "recipient_id": PHONE}]}}]}]}),
    );
    assert_eq!(app.post_meta(&bsuid).await.status(), 200);
    let malformed = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":"{PNID}"}},"messages":[{{"from":{MALFORMED_PHONE},"id":"wamid.BAD","type":"text","text":{{"body":"hola"}}}}]}}}}]}}]}}"#
    );
    assert_eq!(app.post_meta(malformed.as_bytes()).await.status(), 200);
    let unreadable = format!(r#"{{"object":"whatsapp_business_account","entry":{MALFORMED_PHONE}}}"#);
    assert_eq!(app.post_meta(unreadable.as_bytes()).await.status(), 400);
    let twilio = format!(
        "MessageSid=SMprivacy01&From=whatsapp%3A%2B{TWILIO_PHONE}&To=whatsapp%3A%2B14155238886&Body=casos&WaId={TWILIO_PHONE}"
    );
    let response = app.post_twilio("/webhooks/twilio", TWILIO_URL, twilio.as_bytes(), Signing::Valid).await;
    assert_eq!(response.status(), 200);
    // A send that fails with an error message naming the number.
    app.graph.respond_with(|r| {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let to = body["to"].as_str().or(body["recipient"].as_str()).unwrap_or_default().to_owned();
        let error = json!({"error": {"message": format!("(#131030) Recipient phone number {to} not in allowed list"),
                                     "type": "OAuthException", "code": 131030}});
        (axum::http::StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
    });
    app.drain_outbox().await;
    app.responder.flush_counters().await;

    // Something was written, under the keyed hash.
    let user = app.user(PHONE).to_string();
    assert!(app.store.subscriber(&app.user(PHONE)).await.unwrap().is_some());
    let days = app.store.interactions(date(2020, 5, 27), date(2020, 5, 27)).await.unwrap();
    assert_eq!(days[0].total(), 3, "two answers before the flood limit, and the BSUID's ALTA");
    let secrets = [PHONE, PHONE_TAIL, BSUID, BSUID_TAIL, TWILIO_PHONE, MALFORMED_PHONE];
    assert!(logs().contains("a message that cannot be read"), "the malformed message was logged, without its number");

    // Logs (every line of every test of this binary).
    let logs = logs();
    assert!(logs.contains(&user), "the logs name users by their hash");
    assert_not_logged(&secrets);
    // Metrics and health.
    for path in ["/metrics", "/health"] {
        let text = app.http.get(app.internal_url(path)).send().await.unwrap().text().await.unwrap();
        for s in secrets {
            assert!(!text.contains(s), "{path} shows {s}");
        }
    }
    // Counters: topics and counts only.
    let shown = format!("{days:?}");
    for s in secrets {
        assert!(!shown.contains(s));
    }
    // Every key in Redis under this app's prefix.
    if kind == StoreKind::Redis {
        let client = redis::Client::open(testkit::redis_url()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = con.keys(format!("{}:*", app.keys().prefix())).await.unwrap();
        assert!(keys.iter().any(|k| k.contains(&user)), "per-user keys carry the hash: {keys:?}");
        for key in &keys {
            for s in secrets {
                assert!(!key.contains(s), "key {key} holds {s}");
            }
        }
        let counts: std::collections::HashMap<String, u64> =
            con.hgetall(app.keys().interactions(date(2020, 5, 27)).as_str()).await.unwrap();
        assert!(counts.keys().all(|k| k.parse::<schemas::Topic>().is_ok()), "{counts:?}");
    }
}

testkit::on_both_stores!(no_phone_number_or_user_id_in_logs_keys_counters_or_metrics);
