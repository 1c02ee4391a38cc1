//! Each platform error a send can meet, and the action it leads to (docs/protocols.md §2.2, §3.5):
//! throttles pause the number and retry; a restricted account freezes every sender until a
//! person clears it; 131026 marks the citizen unreachable; 131049 means no retry for a day;
//! 131050 is an opt-out; 131047 and Twilio's 63016 mean the template instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use channels::flags::{engagement_flag, unreachable_flag};
use channels::window::window_opened;
use channels::{Content, InboundMessage};
use conectate::{Outcome, freeze};
use schemas::{ConsentAction, ConsentOutcome, ConsentSignal, PhoneNumber, UserAddress};
use store::QueueName;
use testkit::graph_error;

use crate::helpers::*;

testkit::on_both_stores!(
    throughput_limits_pause_the_number_and_the_send_is_retried,
    a_restricted_account_freezes_sending_until_a_person_clears_it,
    an_undeliverable_citizen_is_marked_unreachable_and_skipped_later,
    a_citizen_meta_holds_back_is_not_retried_for_a_day,
    a_citizen_who_stopped_marketing_messages_is_unsubscribed,
    a_closed_window_means_the_template_instead,
    twilio_63016_means_the_template_instead,
);

/// The first request of the run fails with `code`; every other one succeeds.
fn fail_first(app: &TestApp, code: u32) {
    let failed = Arc::new(AtomicBool::new(false));
    app.graph_rule(move |_| (!failed.swap(true, Ordering::SeqCst)).then(|| graph_error(StatusCode::BAD_REQUEST, code)));
}

/// Every request to `phone` fails with `code`.
fn fail_for(app: &TestApp, phone: String, code: u32) {
    app.graph_rule(move |body| (recipient(body) == phone).then(|| graph_error(StatusCode::BAD_REQUEST, code)));
}

async fn throughput_limits_pause_the_number_and_the_send_is_retried(kind: StoreKind) {
    for code in [130429, 4, 80007] {
        // Paced, so the pause of the number holds every send back.
        let app = spawn_app(kind, Options { unpaced: false, messages_per_second: 1000, ..Options::default() }).await;
        app.subscribe(6).await;
        fail_first(&app, code);
        let content = app.broadcast(draft("Aviso.")).await;
        let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
        assert_eq!(report.recipients.sent_template, 6, "code {code}");
        let requests = app.graph.requests();
        assert_eq!(requests.len(), 7, "code {code}: the throttled one once more");
        // The whole number waited out the pause (retry_base 50 ms, ±20 %), not just the one.
        let gap = requests[1].at.duration_since(requests[0].at);
        assert!(gap >= Duration::from_millis(40), "code {code}: the next send came after {gap:?}");
        let first = recipient(&serde_json::from_slice(&requests[0].body).unwrap()).to_owned();
        assert_eq!(app.sends_by_recipient()[&first], 2, "code {code}");
    }
}

async fn a_restricted_account_freezes_sending_until_a_person_clears_it(kind: StoreKind) {
    for code in [131048, 131031, 368] {
        let app = spawn_app(kind, Options::default()).await;
        app.subscribe(3).await;
        fail_first(&app, code);
        let content = app.broadcast(draft("Aviso.")).await;
        let sender = app.sender("s1");
        sender.tick().await.unwrap();
        assert_eq!(sender.try_send_one().await.unwrap(), Outcome::Later { after: Duration::ZERO });
        // Frozen: durable, visible, and no sender sends anything.
        let frozen = freeze::frozen(&app.store).await.unwrap().expect("frozen");
        assert_eq!((frozen.code, frozen.content), (Some(code), content.id));
        assert!(frozen.explain().contains("reanuda"), "{}", frozen.explain());
        assert_eq!(sender.try_send_one().await.unwrap(), Outcome::Frozen);
        assert_eq!(app.sender("another").try_send_one().await.unwrap(), Outcome::Frozen);
        assert_eq!(app.graph.requests().len(), 1);
        // Cleared by a person: everyone gets it, the one that hit the freeze included.
        assert_eq!(freeze::unfreeze(&app.store).await.unwrap(), Some(frozen));
        let report = app.drain(&sender, content.id, Duration::from_secs(20)).await;
        assert_eq!(report.recipients.sent_template, 3, "code {code}");
        assert_eq!(app.sends_by_recipient().values().sum::<usize>(), 4, "code {code}");
    }
}

async fn an_undeliverable_citizen_is_marked_unreachable_and_skipped_later(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(3).await;
    fail_for(&app, phone(1), 131026);
    let first = app.broadcast(draft("Primer aviso.")).await;
    let report = app.drain(&app.sender("s1"), first.id, Duration::from_secs(20)).await;
    assert_eq!((report.recipients.sent_template, report.recipients.failed.get("131026")), (2, Some(&1)));
    assert!(app.store.get(&unreachable_flag(app.store.keys(), &app.user(&phone(1)))).await.unwrap().is_some());
    assert_eq!(app.sends_by_recipient()[&phone(1)], 1, "not retried");
    let second = app.broadcast(draft("Segundo aviso.")).await;
    let report = app.drain(&app.sender("s1"), second.id, Duration::from_secs(20)).await;
    assert_eq!(report.recipients.skipped.get("unreachable"), Some(&1));
    assert_eq!(app.sends_by_recipient()[&phone(1)], 1, "skipped the second time");
}

async fn a_citizen_meta_holds_back_is_not_retried_for_a_day(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(3).await;
    fail_for(&app, phone(1), 131049);
    let content = app.broadcast(draft("Aviso.")).await;
    let sender = app.sender("s1");
    sender.tick().await.unwrap();
    while sender.try_send_one().await.unwrap() != Outcome::Empty {}
    sender.tick().await.unwrap();
    let report = app.contents.report(content.id).await.unwrap();
    assert_eq!((report.recipients.sent_template, report.pending), (2, Some(1)));
    assert_eq!(app.store.depth(QueueName::Broadcast).await.unwrap().delayed, 1, "back in a day");
    let flag = app.store.get(&engagement_flag(app.store.keys(), &app.user(&phone(1)))).await.unwrap().unwrap();
    let until = channels::flags::flag_end(&flag).unwrap();
    let wait = until.duration_since(jiff::Timestamp::now());
    assert!(wait > jiff::SignedDuration::from_hours(23), "{wait:?}");
    // Another content within the day waits for them too.
    let second = app.broadcast(draft("Otro aviso.")).await;
    sender.tick().await.unwrap();
    while sender.try_send_one().await.unwrap() != Outcome::Empty {}
    assert_eq!(app.sends_by_recipient()[&phone(1)], 1);
    assert_eq!(app.contents.report(second.id).await.unwrap().recipients.sent_template, 2);
}

async fn a_citizen_who_stopped_marketing_messages_is_unsubscribed(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(3).await;
    fail_for(&app, phone(1), 131050);
    let content = app.broadcast(draft("Aviso.")).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    assert_eq!(report.recipients.failed.get("131050"), Some(&1));
    let user = app.user(&phone(1));
    assert!(app.store.subscriber(&user).await.unwrap().is_none(), "opted out");
    let ledger = app.store.consent_records(0, 100).await.unwrap();
    let last = ledger.iter().rfind(|r| r.user == user).unwrap();
    assert_eq!(
        (last.action, last.signal.clone(), last.outcome),
        (ConsentAction::Unsubscribe, ConsentSignal::SendFailure(131050), ConsentOutcome::Unsubscribed)
    );
}

async fn a_closed_window_means_the_template_instead(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(2).await;
    app.write(&phone(1), "hola").await;
    // Our record says the window is open, Meta says it closed: the text is refused.
    let target = phone(1);
    app.graph_rule(move |body| {
        (recipient(body) == target && body["type"] == "text").then(|| graph_error(StatusCode::BAD_REQUEST, 131047))
    });
    let content = app.broadcast(draft("Aviso.")).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    let kinds: Vec<String> = app
        .sends()
        .iter()
        .filter(|b| recipient(b) == phone(1))
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["text", "template"]);
    assert_eq!(report.recipients.sent_template, 2);
}

async fn twilio_63016_means_the_template_instead(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe_range(0, 2, channels::twilio::KIND).await;
    // Both wrote today (on Twilio); for one of them Twilio says the window closed.
    for i in 0..2 {
        let message = InboundMessage {
            channel: channels::twilio::KIND,
            id: format!("SM{i}"),
            business_number: TWILIO_FROM.into(),
            from: UserAddress::Phone(PhoneNumber::parse(&phone(i)).unwrap()),
            sent_at: None,
            content: Content::Text { body: "hola".into() },
        };
        let op = window_opened(app.store.keys(), &message, app.user(&phone(i)), jiff::Timestamp::now()).unwrap();
        app.store.batch(&[op]).await.unwrap();
    }
    let refused = format!("whatsapp:+{}", phone(1));
    app.twilio_rule(move |form| {
        (form["To"] == refused.as_str() && form.get("Body").is_some()).then(|| twilio_error(63016))
    });
    let content = app.broadcast(draft("Aviso.")).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    assert_eq!((report.recipients.sent_text, report.recipients.sent_template), (1, 1));
    let forms: Vec<serde_json::Value> = app
        .twilio
        .requests()
        .iter()
        .map(|r| {
            serde_json::to_value(form_urlencoded::parse(&r.body).collect::<std::collections::BTreeMap<_, _>>()).unwrap()
        })
        .collect();
    let to_refused: Vec<&serde_json::Value> =
        forms.iter().filter(|f| f["To"] == format!("whatsapp:+{}", phone(1)).as_str()).collect();
    assert_eq!(to_refused.len(), 2);
    assert!(to_refused[0].get("Body").is_some());
    assert_eq!(to_refused[1]["ContentSid"], CONTENT_SID);
    assert!(to_refused[1]["StatusCallback"].as_str().unwrap().contains("?tag=cc1%3A"));
}
