//! Statuses find their content through the tag each message carries, arrive in any order and
//! never move a message backwards (read stays read); a failed status acts like the same error
//! on a send.

use std::time::{Duration, Instant};

use channels::twilio;
use schemas::ConsentSignal;
use serde_json::Value;

use crate::helpers::*;

testkit::on_both_stores!(
    meta_statuses_out_of_order_never_move_a_message_backwards,
    twilio_status_callbacks_find_their_content_by_the_tag,
    a_failed_status_acts_like_the_error_on_a_send,
);

/// Posts each status as a webhook of its own, in the order given.
async fn post_each(app: &TestApp, statuses: &[Value]) {
    for s in statuses {
        assert_eq!(app.post_meta(&meta_statuses(std::slice::from_ref(s))).await.status(), 200);
    }
}

async fn meta_statuses_out_of_order_never_move_a_message_backwards(kind: StoreKind) {
    let app = spawn_app(kind, Options { statuses: false, ..Options::default() }).await;
    app.subscribe(2).await;
    let content = app.broadcast(draft("Aviso.")).await;
    let report = app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    assert_eq!(report.messages.queued, 2, "accepted, no status yet");
    let sends = app.sends();
    let tag = |i: usize| sends[i]["biz_opaque_callback_data"].as_str().unwrap().to_owned();
    let (to0, to1) = (recipient(&sends[0]).to_owned(), recipient(&sends[1]).to_owned());
    post_each(
        &app,
        &[
            status("wamid.OUT0", "read", &to0, Some(&tag(0)), None),
            status("wamid.OUT0", "delivered", &to0, Some(&tag(0)), None),
            status("wamid.OUT0", "sent", &to0, Some(&tag(0)), None),
            status("wamid.OUT0", "read", &to0, Some(&tag(0)), None),
            status("wamid.OUT1", "sent", &to1, Some(&tag(1)), None),
            status("wamid.OUT1", "delivered", &to1, Some(&tag(1)), None),
            // A reply's status (no tag) is not part of any report.
            status("wamid.REPLY", "read", &to1, None, None),
        ],
    )
    .await;
    let report = app.contents.report(content.id).await.unwrap();
    assert_eq!((report.messages.queued, report.messages.sent), (0, 0));
    assert_eq!((report.messages.delivered, report.messages.read), (1, 1));
    assert_eq!(report.messages.total(), 2);
    assert_eq!(report.recipients.sent_template, 2, "statuses never count a recipient twice");
}

async fn twilio_status_callbacks_find_their_content_by_the_tag(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe_range(0, 1, channels::twilio::KIND).await;
    let content = app.broadcast(draft("Aviso.")).await;
    app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    let request = &app.twilio.requests()[0];
    let form: Vec<(String, String)> =
        form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let callback = form.iter().find(|(k, _)| k == "StatusCallback").unwrap().1.clone();
    let query = callback.split_once('?').unwrap().1.to_owned();
    let sid = "SM00000000000000000000000000000000";
    for state in ["read", "delivered", "sent"] {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("MessageStatus", state),
            ("To", &format!("whatsapp:+{}", phone(0))),
            ("From", TWILIO_FROM),
            ("ChannelPrefix", "whatsapp"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let response = reqwest::Client::new()
            .post(format!("{}/webhooks/twilio/status?{query}", app.responder_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(twilio::SIGNATURE_HEADER, twilio::signature(TWILIO_TOKEN, &callback, &params))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{state}");
    }
    let report = app.contents.report(content.id).await.unwrap();
    assert_eq!((report.messages.read, report.messages.delivered, report.messages.sent), (1, 0, 0));
}

async fn a_failed_status_acts_like_the_error_on_a_send(kind: StoreKind) {
    let app = spawn_app(kind, Options { statuses: false, ..Options::default() }).await;
    app.subscribe(3).await;
    app.write(&phone(2), "hola").await;
    let content = app.broadcast(draft("Aviso.")).await;
    app.drain(&app.sender("s1"), content.id, Duration::from_secs(20)).await;
    let sends = app.sends();
    let find = |p: &str| {
        let i = sends.iter().position(|b| recipient(b) == p).unwrap();
        (format!("wamid.OUT{i}"), sends[i]["biz_opaque_callback_data"].as_str().unwrap().to_owned())
    };
    let (id0, tag0) = find(&phone(0));
    let (id2, tag2) = find(&phone(2));
    assert_eq!(sends.iter().find(|b| recipient(b) == phone(2)).unwrap()["type"], "text");
    post_each(
        &app,
        &[
            // 131050 after the fact: the citizen stopped marketing messages.
            status(&id0, "failed", &phone(0), Some(&tag0), Some(131050)),
            // The text found the window closed after all: the template goes instead, once.
            status(&id2, "failed", &phone(2), Some(&tag2), Some(131047)),
            status(&id2, "failed", &phone(2), Some(&tag2), Some(131047)),
        ],
    )
    .await;
    let user0 = app.user(&phone(0));
    assert!(app.store.subscriber(&user0).await.unwrap().is_none());
    let ledger = app.store.consent_records(0, 100).await.unwrap();
    assert_eq!(ledger.iter().rfind(|r| r.user == user0).unwrap().signal, ConsentSignal::SendFailure(131050));
    let sender = app.sender("s1");
    let start = Instant::now();
    while app.sends_by_recipient()[&phone(2)] < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "the template was not sent");
        while sender.try_send_one().await.unwrap() != conectate::Outcome::Empty {}
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while sender.try_send_one().await.unwrap() != conectate::Outcome::Empty {}
    let sends = app.sends();
    let to2: Vec<&Value> = sends.iter().filter(|b| recipient(b) == phone(2)).collect();
    assert_eq!(to2.len(), 2, "the template once");
    assert_eq!(to2[1]["type"], "template");
    assert!(to2[1]["biz_opaque_callback_data"].as_str().unwrap().contains(":b:r:"));
    let report = app.contents.report(content.id).await.unwrap();
    assert_eq!(report.resent_as_template, 1);
    assert_eq!(report.messages.failed.get("131050"), Some(&1));
    assert_eq!(report.messages.failed.get("131047"), Some(&1));
}
