//! Platform signals are silent: every event a platform posts that the citizen did not write
//! (statuses, errors, marketing preferences, number and user-id changes, other `system`
//! notices, reactions, fields we do not use, Twilio's status callbacks) reaches the Graph API
//! stand-in with nothing and leaves nothing in the outbox; what changes consent is in the
//! ledger.

use channels::delivery::DeliveryId;
use schemas::{ConsentAction, ConsentOutcome, ConsentSignal, UserKey};
use serde_json::json;

use crate::helpers::*;

/// Subscribes `phone` by writing ALTA, and returns how many sends the stand-in has seen since
/// its start (the confirmation included).
async fn subscribed(app: &TestApp, phone: &str) -> usize {
    let alta = meta_text(PNID, phone, &format!("wamid.ALTA{phone}"), "ALTA");
    assert_eq!(app.post_meta(&alta).await.status(), 200);
    app.drain_outbox().await;
    assert!(app.store.subscriber(&app.user(phone)).await.unwrap().is_some());
    app.graph.requests().len()
}

/// Posts a signal (twice, as a platform retries) and checks that nothing went to the citizen
/// and nothing waits in the outbox.
async fn post_silently(app: &TestApp, label: &str, body: &[u8]) {
    let before = app.graph.requests().len();
    for _ in 0..2 {
        assert_eq!(app.post_meta(body).await.status(), 200, "{label}");
    }
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), before, "{label}: a signal was answered: {:?}", app.graph_bodies());
    assert_eq!(app.store.depth(store::QueueName::Outbox).await.unwrap().total(), 0, "{label}: queued");
}

/// The ledger lines of `user`, in order: action, outcome and signal.
async fn ledger_of(app: &TestApp, user: UserKey) -> Vec<(ConsentAction, ConsentOutcome, ConsentSignal)> {
    let records = app.store.consent_records(0, 1000).await.unwrap();
    records.into_iter().filter(|r| r.user == user).map(|r| (r.action, r.outcome, r.signal)).collect()
}

fn preference(phone: &str, value: &str, at: i64) -> Vec<u8> {
    meta_value(
        "user_preferences",
        json!({"user_preferences": [{"wa_id": phone, "detail": "User requested a change", "category": "marketing_messages",
            "value": value, "timestamp": at}]}),
    )
}

fn system(from: serde_json::Value, id: &str, system: serde_json::Value) -> Vec<u8> {
    let mut message = json!({"id": id, "timestamp": "1590602600", "type": "system", "system": system});
    message.as_object_mut().unwrap().extend(from.as_object().unwrap().clone());
    meta_value("messages", json!({"messages": [message]}))
}

async fn marketing_stop_and_resume_are_ledgered_and_never_answered(kind: StoreKind) {
    use ConsentAction::*;
    let app = spawn_app(kind).await;
    let me = "5214771239101";
    subscribed(&app, me).await;
    post_silently(&app, "stop", &preference(me, "stop", 1_590_602_500)).await;
    assert!(app.store.subscriber(&app.user(me)).await.unwrap().is_none(), "stop ends the subscription");
    post_silently(&app, "resume", &preference(me, "resume", 1_590_602_600)).await;
    assert!(app.store.subscriber(&app.user(me)).await.unwrap().is_some(), "resume starts it again");
    let stop = |s: &str| ConsentSignal::PlatformPreference(s.into());
    assert_eq!(
        ledger_of(&app, app.user(me)).await,
        vec![
            (Subscribe, ConsentOutcome::Subscribed, ConsentSignal::Keyword("alta".into())),
            (Unsubscribe, ConsentOutcome::Unsubscribed, stop("stop")),
            (Subscribe, ConsentOutcome::Subscribed, stop("resume")),
        ],
        "each signal ledgered once, retries included"
    );
    // Someone never subscribed presses stop: the ledger says so, the citizen hears nothing
    // (this was «No estás suscrito…»).
    let stranger = "5214771239102";
    post_silently(&app, "stop from a stranger", &preference(stranger, "stop", 1_590_602_700)).await;
    assert_eq!(
        ledger_of(&app, app.user(stranger)).await,
        vec![(Unsubscribe, ConsentOutcome::NotSubscribed, stop("stop"))]
    );
}

async fn statuses_and_platform_errors_are_never_answered(kind: StoreKind) {
    let app = spawn_app(kind).await;
    post_silently(&app, "statuses", &fixture("webhooks/meta/statuses.json")).await;
    post_silently(&app, "errors", &fixture("webhooks/meta/value_errors.json")).await;
    // A Conéctate content failed with 131050 for a subscriber: an opt-out, ledgered, unanswered.
    let me = "5214771239103";
    subscribed(&app, me).await;
    let tag = DeliveryId { content: 17, user: app.user(me), canary: None, resend: false }.tag(false).to_string();
    let failed = meta_value(
        "messages",
        json!({"statuses": [{"id": "wamid.OUT9", "status": "failed", "timestamp": "1590602800", "recipient_id": me,
            "biz_opaque_callback_data": tag, "errors": [{"code": 131050, "title": "User stopped marketing messages"}]}]}),
    );
    post_silently(&app, "a failed status with 131050", &failed).await;
    assert!(app.store.subscriber(&app.user(me)).await.unwrap().is_none());
    assert_eq!(
        ledger_of(&app, app.user(me)).await.last().unwrap(),
        &(ConsentAction::Unsubscribe, ConsentOutcome::Unsubscribed, ConsentSignal::SendFailure(131050))
    );
}

async fn number_and_user_id_changes_and_other_system_notices_are_never_answered(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let me = "5214771239104";
    subscribed(&app, me).await;
    let changed = system(
        json!({"from": me}),
        "wamid.SYS10",
        json!({"body": "User changed number", "wa_id": "5214779876104", "type": "user_changed_number"}),
    );
    post_silently(&app, "a number change", &changed).await;
    assert!(app.store.subscriber(&app.user(me)).await.unwrap().is_none(), "moved away");
    assert!(app.store.subscriber(&app.user("5214779876104")).await.unwrap().is_some(), "to the new number");
    let cases = [
        (
            "a user id change",
            system(
                json!({"from_user_id": "MX.1038472951662094"}),
                "wamid.SYS11",
                json!({"body": "User changed user id", "user_id": "MX.2049583062773105", "type": "user_changed_user_id"}),
            ),
        ),
        (
            "a user id change from a phone sender",
            system(
                json!({"from": me}),
                "wamid.SYS12",
                json!({"user_id": "MX.2049583062773105", "type": "user_changed_user_id"}),
            ),
        ),
        (
            "a system notice of a kind we do not know",
            system(
                json!({"from": "5214779876104"}),
                "wamid.SYS13",
                json!({"body": "Security code changed", "type": "customer_identity_changed"}),
            ),
        ),
        ("a system notice without a kind", system(json!({"from": "5214779876104"}), "wamid.SYS14", json!({}))),
    ];
    for (label, body) in cases {
        post_silently(&app, label, &body).await;
    }
    assert!(app.store.subscriber(&app.user("5214779876104")).await.unwrap().is_some(), "notices change nothing");
}

async fn reactions_and_fields_we_do_not_use_are_never_answered(kind: StoreKind) {
    let app = spawn_app(kind).await;
    post_silently(&app, "a reaction", &fixture("webhooks/meta/reaction.json")).await;
    let template = meta_value(
        "message_template_status_update",
        json!({"event": "APPROVED", "message_template_id": 1234, "message_template_name": "conectate_aviso"}),
    );
    post_silently(&app, "a template status", &template).await;
    let quality = meta_value("phone_number_quality_update", json!({"event": "FLAGGED", "current_limit": "TIER_1K"}));
    post_silently(&app, "a quality update", &quality).await;
    post_silently(&app, "another product", &fixture("webhooks/meta/other_object.json")).await;
}

async fn twilio_status_callbacks_are_never_answered(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let me = "5214771239105";
    subscribed(&app, me).await;
    let before = app.graph.requests().len();
    let tag = DeliveryId { content: 18, user: app.user(me), canary: None, resend: false }.tag(false).to_string();
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("tag", &tag).finish();
    let undelivered = form_urlencoded::Serializer::new(String::new())
        .append_pair("MessageSid", "SM0000000000000000000000000000000a")
        .append_pair("MessageStatus", "undelivered")
        .append_pair("To", &format!("whatsapp:+{me}"))
        .append_pair("From", TWILIO_FROM)
        .append_pair("ErrorCode", "21610")
        .finish();
    let callbacks = [
        (
            "delivered",
            "/webhooks/twilio/status".to_owned(),
            TWILIO_STATUS_URL.to_owned(),
            fixture("webhooks/twilio/status_delivered.txt"),
        ),
        (
            "undelivered, opted out",
            format!("/webhooks/twilio/status?{query}"),
            format!("{TWILIO_STATUS_URL}?{query}"),
            undelivered.into_bytes(),
        ),
    ];
    for (label, path, public, body) in callbacks {
        for _ in 0..2 {
            let response = app.post_twilio(&path, &public, &body, Signing::Valid).await;
            assert_eq!(response.status(), 200, "{label}");
            let twiml = response.text().await.unwrap();
            assert!(!twiml.contains("<Message>"), "{label}: answered inline: {twiml}");
        }
    }
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), before, "nothing through the Graph API");
    assert!(app.store.subscriber(&app.user(me)).await.unwrap().is_none(), "21610 ends the subscription");
    assert_eq!(
        ledger_of(&app, app.user(me)).await.last().unwrap(),
        &(ConsentAction::Unsubscribe, ConsentOutcome::Unsubscribed, ConsentSignal::SendFailure(21610))
    );
}

testkit::on_both_stores!(
    on_cluster;
    marketing_stop_and_resume_are_ledgered_and_never_answered,
    statuses_and_platform_errors_are_never_answered,
    number_and_user_id_changes_and_other_system_notices_are_never_answered,
    reactions_and_fields_we_do_not_use_are_never_answered,
    twilio_status_callbacks_are_never_answered,
);
