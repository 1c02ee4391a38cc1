//! «Probar el bot» through the admin API, on both stores: the answer a citizen would read from
//! the current answers, the menu carried from one trial to the next, a new publication tried at
//! once, bad requests named by field, and nothing written.

use reqwest::StatusCode;
use schemas::{MenuId, Scope, Snapshot, Topic, catalogue};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use testkit::StoreKind;

async fn tried(app: &TestApp, request: Value) -> Value {
    let (status, body) = app.post("/admin/bot/try", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{request}: {body}");
    body
}

/// What a citizen reads for `topic` in `scope` in `snapshot`, as JSON.
fn published(snapshot: &Snapshot, topic: Topic, scope: Scope) -> Value {
    serde_json::to_value(&snapshot.answer_for(topic, scope).expect("a published answer").answer).unwrap()
}

async fn trying_the_bot(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let before = tried(&app, json!({"text": "hola"})).await;
    assert_eq!(before["version"], Value::Null);
    assert_eq!(before["answer"]["text"], responder::replies::NOT_READY_TEXT, "what citizens read before ingest");
    assert_eq!(before["understood_as"], "todavía no hay respuestas publicadas");

    let snapshot = app.store.publish(&testkit::fixture_snapshot(), None, 5).await.unwrap();
    let router = &snapshot.content.router;
    let hola = tried(&app, json!({"text": "¡Hola! 👋"})).await;
    assert_eq!(hola["version"], snapshot.version.0);
    assert_eq!(hola["answer"], serde_json::to_value(&router.main_menu().unwrap().answer).unwrap());
    assert_eq!((hola["understood_as"].as_str(), hola["menu"].as_str()), (Some("el menú principal"), Some("principal")));

    // "1" on the main menu opens "cifras"; "4" then means that sub-menu's fourth entry.
    let one = tried(&app, json!({"text": "1", "menu": hola["menu"]})).await;
    let cifras: MenuId = "cifras".parse().unwrap();
    assert_eq!(one["answer"], serde_json::to_value(&router.menu(&cifras).unwrap().answer).unwrap());
    assert_eq!((one["shows_menu"].as_str(), one["menu"].as_str()), (Some("cifras"), Some("cifras")));
    let four = tried(&app, json!({"text": "4", "menu": one["menu"]})).await;
    assert_eq!(four["answer"], published(&snapshot, Topic::from_static("defunciones"), Scope::Estado));
    assert_eq!((four["topic"].as_str(), four["menu"].as_str()), (Some("defunciones"), Some("cifras")));

    let leon = catalogue().find("León").unwrap();
    let casos = tried(&app, json!({"text": "cuantos casos hay en leon?"})).await;
    assert_eq!(casos["understood_as"], "Casos confirmados en León");
    assert_eq!(casos["answer"], published(&snapshot, Topic::from_static("confirmados"), Scope::Municipio(leon)));
    assert_eq!(casos["municipio"], json!(leon), "{casos}");
    let tapped = tried(&app, json!({"choice": "t:sintomas"})).await;
    assert_eq!(tapped["answer"], published(&snapshot, Topic::from_static("sintomas"), Scope::Estado));

    // ALTA shows the confirmation, and nobody is subscribed.
    let alta = tried(&app, json!({"text": "ALTA"})).await;
    assert_eq!(alta["consent"], "subscribe");
    assert_eq!(alta["answer"], published(&snapshot, Topic::CONECTATE_ALTA, Scope::Estado));
    assert_eq!(app.store.subscriber_count().await.unwrap(), 0, "a trial subscribes no one");

    // A new publication is what the next trial reads.
    let mut content = snapshot.content.clone();
    let key = schemas::AnswerKey::new(Topic::from_static("confirmados"), Scope::Municipio(leon));
    content.answers.get_mut(&key).unwrap().answer = schemas::Answer::text("León: cifras corregidas.").unwrap();
    let next = app.store.publish(&content, Some(snapshot.version), 5).await.unwrap();
    let again = tried(&app, json!({"text": "casos en León"})).await;
    assert_eq!(
        (again["version"].as_u64(), again["answer"]["text"].as_str()),
        (Some(next.version.0), Some("León: cifras corregidas."))
    );

    for (request, field) in [
        (json!({"text": "  "}), Some("text")),
        (json!({"text": "ñ".repeat(4097)}), Some("text")),
        (json!({"choice": ""}), Some("choice")),
        (json!({"text": "2", "menu": "Cifras!"}), Some("menu")),
        (json!({"text": "hola", "choice": "t:menu"}), None),
        (json!({}), None),
    ] {
        let (status, body) = app.post("/admin/bot/try", request.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{request}: {body}");
        assert_eq!(body["error"]["campo"].as_str(), field, "{request}: {body}");
        assert!(body["error"]["mensaje"].as_str().unwrap().len() > 20, "says what to fix: {body}");
    }
}

testkit::on_both_stores!(trying_the_bot);
