//! What a citizen experiences over several messages: menus and the last menu shown, a
//! snapshot arriving or changing while the service runs, Conéctate subscriptions, the flood
//! limit and the counters.

use std::time::Duration;

use jiff::civil::date;
use schemas::{
    AnswerKey, Bsuid, ConsentAction, ConsentOutcome, ConsentSignal, MunicipioId, Scope, SnapshotContent, Topic,
    UserAddress, UserKey,
};
use serde_json::json;

use crate::helpers::*;

/// The text (or list body) of every Graph API send so far.
fn sent_texts(app: &TestApp) -> Vec<String> {
    app.graph_bodies().iter().map(text_of).collect()
}

fn answer(content: &SnapshotContent, key: &str) -> String {
    content.answers[&key.parse::<AnswerKey>().unwrap()].answer.body().to_owned()
}

/// Posts a text from `from` with a fresh message id and drains the outbox; returns what was
/// sent back.
async fn say(app: &TestApp, from: &str, text: &str) -> Vec<String> {
    let before = app.graph.requests().len();
    let id = format!("wamid.{}", rand::random::<u64>());
    let response = app.post_meta(&meta_text(PNID, from, &id, text)).await;
    assert_eq!(response.status(), 200, "{text}");
    app.drain_outbox().await;
    sent_texts(app).split_off(before)
}

async fn a_number_after_a_sub_menu_picks_from_that_sub_menu(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let fixture = fixture_snapshot();
    let menu = |id: &str| fixture.router.menus[&id.parse().unwrap()].answer.body().to_owned();
    let me = "5214771239001";
    assert_eq!(say(&app, me, "2").await, vec![answer(&fixture, "sintomas/estado")], "no menu yet: the main one");
    assert_eq!(say(&app, me, "Hola").await, vec![menu("principal")]);
    assert_eq!(say(&app, me, "1").await, vec![menu("cifras")]);
    assert_eq!(say(&app, me, "2").await, vec![answer(&fixture, "sospechosos/estado")], "2 of the sub-menu");
    assert_eq!(say(&app, me, "4.").await, vec![answer(&fixture, "defunciones/estado")], "still the sub-menu");
    assert_eq!(say(&app, me, "9").await, vec![menu("cifras")], "a number the menu lacks shows it again");
    assert_eq!(say(&app, me, "0").await, vec![menu("principal")]);
    assert_eq!(say(&app, me, "2").await, vec![answer(&fixture, "sintomas/estado")]);
    // Someone else has their own context.
    assert_eq!(say(&app, "5214771239002", "4").await, vec![answer(&fixture, "semaforo/estado")]);
    // Tapping a list row we sent works whatever the context.
    let tap = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": PNID},
        "messages": [{"from": me, "id": "wamid.TAP1", "timestamp": "1590602400", "type": "interactive",
                      "interactive": {"type": "list_reply", "list_reply": {"id": "t:recuperados", "title": "Recuperados"}}}]}}]}]});
    assert_eq!(app.post_meta(&wire_form(&tap)).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(sent_texts(&app).last().unwrap(), &answer(&fixture, "recuperados/estado"));
}

async fn sentences_typos_and_municipios_are_understood(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let me = "5214771239003";
    let cases = [
        ("¿Cuántos casos hay en LEÓN? 🙏", "confirmados/020"),
        ("Casos\u{00A0}en\u{200B} Irapuato", "confirmados/017"),
        ("muertes en sma", "defunciones/003"),
        ("defunsiones en Salamnca", "defunciones/027"),
        ("sintomaz", "sintomas/estado"),
        ("Silao", "confirmados/037"),
        ("hospitales leon de los aldama", "hospitales/020"),
        ("hospitales en Celaya", "hospitales/estado"),
        ("quiero saber del clima", "ayuda/estado"),
    ];
    for (text, key) in cases {
        assert_eq!(say(&app, me, text).await, vec![answer(&f, key)], "{text:?}");
    }
}

async fn until_a_snapshot_exists_the_service_says_it_is_getting_ready(kind: StoreKind) {
    let app = spawn_app_with(kind, TestOptions { publish_snapshot: false, ..TestOptions::default() }).await;
    let me = "5214771239004";
    assert_eq!(say(&app, me, "casos en León").await, vec![responder::replies::NOT_READY_TEXT.to_owned()]);
    let mut content = fixture_snapshot();
    app.publish_snapshot(&content).await;
    assert_eq!(say(&app, me, "casos en León").await, vec![answer(&content, "confirmados/020")]);
    // A new publication is answered from at once, without a restart.
    let key: AnswerKey = "confirmados/020".parse().unwrap();
    let leon = Scope::Municipio(MunicipioId::try_from(20).unwrap());
    content.answers.get_mut(&key).unwrap().answer =
        schemas::Answer::text("Casos confirmados de COVID-19 en León: 640.").unwrap();
    app.publish_snapshot(&content).await;
    assert_eq!(say(&app, me, "casos en León").await, vec!["Casos confirmados de COVID-19 en León: 640.".to_owned()]);
    assert_eq!(
        app.responder
            .mirror()
            .current()
            .unwrap()
            .snapshot
            .answer_for(Topic::from_static("confirmados"), leon)
            .unwrap()
            .answer
            .body(),
        "Casos confirmados de COVID-19 en León: 640."
    );
}

async fn conectate_changes_are_applied_and_confirmed_once(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let me = "5214771239005";
    let user = app.user(me);
    assert_eq!(say(&app, me, "ALTA León").await, vec![answer(&f, "conectate_alta/estado")]);
    assert_eq!(app.store.subscriber_count().await.unwrap(), 1);
    let subscriber = app.store.subscriber(&user).await.unwrap().unwrap();
    assert_eq!(subscriber.municipio, Some(MunicipioId::try_from(20).unwrap()), "ALTA with a municipio targets it");
    assert_eq!(subscriber.business_number, PNID);
    assert_eq!(say(&app, me, "quiero suscribirme").await, vec![answer(&f, "conectate_ya_suscrito/estado")]);
    assert_eq!(app.store.subscriber_count().await.unwrap(), 1, "a second ALTA leaves one subscriber");
    // The same message delivered twice changes nothing and is confirmed once.
    let baja = meta_text(PNID, me, "wamid.BAJA1", "Baja");
    assert_eq!(app.post_meta(&baja).await.status(), 200);
    assert_eq!(app.post_meta(&baja).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(sent_texts(&app).iter().filter(|t| **t == answer(&f, "conectate_baja/estado")).count(), 1);
    assert_eq!(app.store.subscriber_count().await.unwrap(), 0);
    assert_eq!(say(&app, me, "no más").await, vec![answer(&f, "conectate_no_suscrito/estado")]);

    // The platform's own signals: resume subscribes (silently: it is no message), a template
    // button BAJA unsubscribes.
    let sends = app.graph.requests().len();
    let resume = meta_value(
        "user_preferences",
        json!({"user_preferences": [{"wa_id": me, "detail": "User requested to resume marketing messages", "category": "marketing_messages", "value": "resume", "timestamp": 1590602500}]}),
    );
    assert_eq!(app.post_meta(&resume).await.status(), 200);
    assert_eq!(app.post_meta(&resume).await.status(), 200, "the same preference webhook again");
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), sends, "a preference change is not answered");
    assert_eq!(app.store.subscriber_count().await.unwrap(), 1);
    // The citizen changes number: the subscription moves, nothing is sent.
    let changed = meta_value(
        "messages",
        json!({"messages": [{"from": me, "id": "wamid.SYS1", "timestamp": "1590602600", "type": "system",
        "system": {"body": "User changed number", "wa_id": "5214779876005", "type": "user_changed_number"}}]}),
    );
    assert_eq!(app.post_meta(&changed).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), sends);
    let new_user = app.user("5214779876005");
    assert!(app.store.subscriber(&user).await.unwrap().is_none());
    assert!(app.store.subscriber(&new_user).await.unwrap().is_some());
    let button = meta_value(
        "messages",
        json!({"messages": [{"from": "5214779876005", "id": "wamid.BTN1", "timestamp": "1590602700", "type": "button",
        "button": {"payload": "BAJA", "text": "Dejar de recibir avisos"}}]}),
    );
    assert_eq!(app.post_meta(&button).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(sent_texts(&app).last().unwrap(), &answer(&f, "conectate_baja/estado"));
    assert_eq!(app.store.subscriber_count().await.unwrap(), 0);

    // Every change is in the ledger, with its signal and outcome, keyed by the hash only.
    let ledger = app.store.consent_records(0, 100).await.unwrap();
    let summary: Vec<(ConsentAction, ConsentOutcome, ConsentSignal)> =
        ledger.iter().map(|r| (r.action, r.outcome, r.signal.clone())).collect();
    use ConsentAction::*;
    use ConsentOutcome::*;
    assert_eq!(
        summary,
        vec![
            (Subscribe, Subscribed, ConsentSignal::Keyword("alta leon".into())),
            (Subscribe, AlreadySubscribed, ConsentSignal::Keyword("quiero suscribirme".into())),
            (Unsubscribe, Unsubscribed, ConsentSignal::Keyword("baja".into())),
            (Unsubscribe, NotSubscribed, ConsentSignal::Keyword("no mas".into())),
            (Subscribe, Subscribed, ConsentSignal::PlatformPreference("resume".into())),
            (Unsubscribe, Unsubscribed, ConsentSignal::NumberChanged),
            (Subscribe, Subscribed, ConsentSignal::NumberChanged),
            (Unsubscribe, Unsubscribed, ConsentSignal::Button("BAJA".into())),
        ]
    );
    assert!(ledger.iter().all(|r| r.consent_text_version == "2021-01"));
}

/// A citizen known only by a business-scoped id (their number hidden).
fn bsuid_user(app: &TestApp, id: &str) -> UserKey {
    app.hasher.key(&UserAddress::Bsuid(Bsuid::parse(id).unwrap()))
}

async fn a_new_business_scoped_id_moves_the_subscription_and_sends_nothing(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let (first, second, third) = ("MX.5550001112223334", "MX.5550001112229999", "MX.5550001112227777");
    let alta = meta_value(
        "messages",
        json!({"contacts": [{"profile": {"name": "Usuaria"}, "user_id": first}],
               "messages": [{"from_user_id": first, "id": "wamid.BSALTA", "timestamp": "1590602400", "type": "text",
                             "text": {"body": "ALTA León"}}]}),
    );
    assert_eq!(app.post_meta(&alta).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(sent_texts(&app), vec![answer(&f, "conectate_alta/estado")]);
    let phone = "5214771239021";
    assert_eq!(say(&app, phone, "ALTA").await, vec![answer(&f, "conectate_alta/estado")]);
    let sends = app.graph.requests().len();

    // As documented (August 2026): no number, no contacts, the old id in `previous_user_id`.
    let documented = meta_value(
        "messages",
        json!({"messages": [{"id": "wamid.BSSYS1", "timestamp": "1590602500", "type": "system",
               "system": {"body": format!("User Usuaria changed from {first} to {second}"), "user_id": second,
                          "previous_user_id": first, "type": "user_changed_user_id"}}]}),
    );
    assert_eq!(app.post_meta(&documented).await.status(), 200);
    assert!(app.store.subscriber(&bsuid_user(&app, first)).await.unwrap().is_none(), "the old id is gone");
    let moved = app.store.subscriber(&bsuid_user(&app, second)).await.unwrap().expect("the new id is subscribed");
    assert_eq!(moved.address, UserAddress::Bsuid(Bsuid::parse(second).unwrap()), "broadcasts go to the new id");
    assert_eq!(moved.municipio, Some(MunicipioId::try_from(20).unwrap()), "the municipio moves with it");

    // As earlier captures show it: the old id only as the sender (`from_user_id`).
    let captured = meta_value(
        "messages",
        json!({"messages": [{"from_user_id": second, "id": "wamid.BSSYS2", "timestamp": "1590602600", "type": "system",
               "system": {"body": "User Usuaria changed their user ID", "user_id": third, "type": "user_changed_user_id"}}]}),
    );
    assert_eq!(app.post_meta(&captured).await.status(), 200);
    assert!(app.store.subscriber(&bsuid_user(&app, second)).await.unwrap().is_none());
    assert!(app.store.subscriber(&bsuid_user(&app, third)).await.unwrap().is_some());

    // A citizen who shows their number is subscribed under it: a new id leaves that alone.
    let with_number = meta_value(
        "messages",
        json!({"messages": [{"from": phone, "id": "wamid.BSSYS3", "timestamp": "1590602700", "type": "system",
               "system": {"body": "User changed their user ID", "wa_id": phone, "user_id": "MX.5550001112221111",
                          "previous_user_id": "MX.5550001112220000", "type": "user_changed_user_id"}}]}),
    );
    assert_eq!(app.post_meta(&with_number).await.status(), 200);
    assert!(app.store.subscriber(&app.user(phone)).await.unwrap().is_some());
    assert!(app.store.subscriber(&bsuid_user(&app, "MX.5550001112221111")).await.unwrap().is_none());

    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), sends, "a platform signal is never answered");
    assert_eq!(app.store.subscriber_count().await.unwrap(), 2);
    let ledger = app.store.consent_records(0, 100).await.unwrap();
    let moves: Vec<(ConsentAction, ConsentOutcome)> =
        ledger.iter().filter(|r| r.signal == ConsentSignal::NumberChanged).map(|r| (r.action, r.outcome)).collect();
    use ConsentAction::*;
    use ConsentOutcome::*;
    assert_eq!(
        moves,
        vec![
            (Unsubscribe, Unsubscribed),
            (Subscribe, Subscribed),
            (Unsubscribe, Unsubscribed),
            (Subscribe, Subscribed)
        ]
    );
}

async fn the_flood_limit_answers_once_then_stays_quiet(kind: StoreKind) {
    let app = spawn_app_with(kind, TestOptions { flood_per_minute: 3, ..TestOptions::default() }).await;
    let f = fixture_snapshot();
    // Windows are calendar minutes: run the burst within one.
    loop {
        let second = jiff::Timestamp::now().as_second().rem_euclid(60);
        if second < 50 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let me = "5214771239006";
    let mut got = Vec::new();
    for _ in 0..7 {
        got.extend(say(&app, me, "síntomas").await);
    }
    let mut expected = vec![answer(&f, "sintomas/estado"); 3];
    expected.push(responder::replies::FLOOD_TEXT.to_owned());
    assert_eq!(got, expected, "three answers, one notice, then silence");
    assert_eq!(
        say(&app, "5214771239007", "síntomas").await,
        vec![answer(&f, "sintomas/estado")],
        "others are not held back"
    );
    assert_eq!(app.metrics().event_count(metrics::Event::Flooded), 4);
}

async fn interactions_and_unique_users_are_counted_by_local_day(kind: StoreKind) {
    let app = spawn_app(kind).await;
    // 1590602400 is 2020-05-27 13:00 in Mexico City.
    for (i, (from, text)) in [
        ("5214771239011", "casos en León"),
        ("5214771239012", "casos"),
        ("5214771239012", "síntomas"),
        ("5214771239013", "hola"),
        ("5214771239013", "xyz"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = meta_text(PNID, from, &format!("wamid.COUNT{i}"), text);
        assert_eq!(app.post_meta(&body).await.status(), 200);
        assert_eq!(app.post_meta(&body).await.status(), 200, "a retry is not counted again");
    }
    app.responder.flush_counters().await;
    let days = app.store.interactions(date(2020, 5, 26), date(2020, 5, 28)).await.unwrap();
    assert_eq!(days.len(), 1);
    let day = &days[0];
    assert_eq!(day.day, Some(date(2020, 5, 27)));
    assert_eq!(day.by_topic.get(&Topic::from_static("confirmados")), Some(&2));
    assert_eq!(day.by_topic.get(&Topic::from_static("sintomas")), Some(&1));
    assert_eq!(day.by_topic.get(&Topic::MENU), Some(&1));
    assert_eq!(day.by_topic.get(&Topic::AYUDA), Some(&1));
    assert_eq!(day.total(), 5);
    assert_eq!(day.unique_users, 3);
}

testkit::on_both_stores!(
    on_cluster;
    a_number_after_a_sub_menu_picks_from_that_sub_menu,
    sentences_typos_and_municipios_are_understood,
    until_a_snapshot_exists_the_service_says_it_is_getting_ready,
    conectate_changes_are_applied_and_confirmed_once,
    a_new_business_scoped_id_moves_the_subscription_and_sends_nothing,
    the_flood_limit_answers_once_then_stays_quiet,
    interactions_and_unique_users_are_counted_by_local_day,
);
