//! A message that reads two ways gets «¿Te refieres a…?» instead of a guess (a list on Meta,
//! numbered options on Twilio), and a number or a tap answers it; so does a figure asked for a
//! place that has no answer of its own for it; an opt-in said with a negation never subscribes.

use channels::twilio;
use schemas::{AnswerKey, SnapshotContent};
use serde_json::{Value, json};

use crate::helpers::*;

fn answer(content: &SnapshotContent, key: &str) -> String {
    content.answers[&key.parse::<AnswerKey>().unwrap()].answer.body().to_owned()
}

/// Posts a text on Meta and drains the outbox; the Graph API bodies sent back.
async fn say_on_meta(app: &TestApp, from: &str, text: &str) -> Vec<Value> {
    let before = app.graph.requests().len();
    let id = format!("wamid.{}", rand::random::<u64>());
    assert_eq!(app.post_meta(&meta_text(PNID, from, &id, text)).await.status(), 200, "{text}");
    app.drain_outbox().await;
    app.graph_bodies().split_off(before)
}

/// Posts a text on Twilio; the inline TwiML answer.
async fn say_on_twilio(app: &TestApp, phone: &str, text: &str) -> String {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("MessageSid", &format!("SM{}", rand::random::<u64>()))
        .append_pair("From", &format!("whatsapp:+{phone}"))
        .append_pair("To", TWILIO_FROM)
        .append_pair("Body", text)
        .append_pair("WaId", phone)
        .finish();
    let response = app.post_twilio("/webhooks/twilio", TWILIO_URL, body.as_bytes(), Signing::Valid).await;
    assert_eq!(response.status(), 200, "{text}");
    response.text().await.unwrap()
}

const QUESTION: &str =
    "¿Te refieres a…?\n\n1. Defunciones en Celaya\n2. Casos recuperados\n\nEscribe el número de la opción.";

async fn a_message_that_reads_two_ways_is_asked_about_and_a_number_or_a_tap_answers(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let me = "5214771239101";
    let sent = say_on_meta(&app, me, "Hola, ¿cuántas muertes y recuperados hay en Celaya?").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["type"], "interactive", "{sent:?}");
    assert_eq!(sent[0]["interactive"]["body"]["text"], QUESTION);
    let rows: Vec<(&str, &str)> = sent[0]["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["title"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [("t:defunciones@007", "Defunciones"), ("t:recuperados", "Casos recuperados")]);
    let text_of = |b: &Value| b["text"]["body"].as_str().unwrap().to_owned();
    let first = say_on_meta(&app, me, "1").await;
    assert_eq!(
        first.iter().map(text_of).collect::<Vec<_>>(),
        [answer(&f, "defunciones/007")],
        "1 is the first reading"
    );
    // Tapping the second row answers it, whatever the last menu.
    let tap = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": PNID},
        "messages": [{"from": me, "id": "wamid.ASKTAP", "timestamp": "1590602400", "type": "interactive",
                      "interactive": {"type": "list_reply", "list_reply": {"id": "t:recuperados", "title": "Casos recuperados"}}}]}}]}]});
    assert_eq!(app.post_meta(&wire_form(&tap)).await.status(), 200);
    app.drain_outbox().await;
    assert_eq!(text_of(app.graph_bodies().last().unwrap()), answer(&f, "recuperados/estado"));

    // On Twilio the same question is numbered text, and "1" answers the first reading.
    let phone = "5214771239102";
    let asked = say_on_twilio(&app, phone, "muertes y recuperados en celaya").await;
    assert_eq!(asked, twilio::twiml([QUESTION]));
    let answered = say_on_twilio(&app, phone, "1").await;
    assert_eq!(answered, twilio::twiml([answer(&f, "defunciones/007").as_str()]));
}

async fn an_opt_in_said_with_a_negation_never_subscribes(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let me = "5214771239103";
    for text in ["No quiero recibir mensajes", "no me quiero suscribir, gracias"] {
        let sent = say_on_meta(&app, me, text).await;
        assert_eq!(sent[0]["text"]["body"], answer(&f, "conectate_no_suscrito/estado"), "{text}");
        assert_eq!(app.store.subscriber_count().await.unwrap(), 0, "{text} must not subscribe");
    }
    let sent = say_on_meta(&app, me, "sí quiero recibir mensajes").await;
    assert_eq!(sent[0]["text"]["body"], answer(&f, "conectate_alta/estado"));
    assert_eq!(app.store.subscriber_count().await.unwrap(), 1, "the same words without the negation do");
}

/// Celaya has its confirmed cases and deaths of its own in the answers, but no recovered
/// cases: asked for those, the bot offers the state's figure and Celaya's own figures instead
/// of sending the state's as if it were Celaya's. What is the same for the whole state is
/// answered at once, and a figure Celaya has is answered as before.
async fn a_figure_the_place_has_no_answer_for_offers_the_states_and_the_places_own(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let f = fixture_snapshot();
    let me = "5214771239104";
    let sent = say_on_meta(&app, me, "¿Cuántos recuperados hay en Celaya?").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["interactive"]["body"]["text"],
        "¿Te refieres a…?\n\n1. Casos recuperados\n2. Casos confirmados en Celaya\n3. Defunciones en Celaya\n\n\
         Escribe el número de la opción.",
        "{sent:?}"
    );
    let rows: Vec<&str> = sent[0]["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["t:recuperados", "t:confirmados@007", "t:defunciones@007"]);
    let text_of = |b: &Value| b["text"]["body"].as_str().unwrap().to_owned();
    let first = say_on_meta(&app, me, "1").await;
    assert_eq!(first.iter().map(text_of).collect::<Vec<_>>(), [answer(&f, "recuperados/estado")]);
    let second = say_on_meta(&app, me, "síntomas en Celaya").await;
    assert_eq!(second.iter().map(text_of).collect::<Vec<_>>(), [answer(&f, "sintomas/estado")], "the same statewide");
    let own = say_on_meta(&app, me, "defunciones en Celaya").await;
    assert_eq!(own.iter().map(text_of).collect::<Vec<_>>(), [answer(&f, "defunciones/007")]);

    // On Twilio, numbered text; "2" is Celaya's confirmed cases.
    let phone = "5214771239105";
    let asked = say_on_twilio(&app, phone, "recuperados celaya").await;
    assert!(asked.contains("2. Casos confirmados en Celaya"), "{asked}");
    let answered = say_on_twilio(&app, phone, "2").await;
    assert_eq!(answered, twilio::twiml([answer(&f, "confirmados/007").as_str()]));
}

testkit::on_both_stores!(
    on_cluster;
    a_message_that_reads_two_ways_is_asked_about_and_a_number_or_a_tap_answers,
    a_figure_the_place_has_no_answer_for_offers_the_states_and_the_places_own,
    an_opt_in_said_with_a_negation_never_subscribes,
);
