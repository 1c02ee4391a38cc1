//! Conéctate in the admin API over real HTTP: errors are JSON in Spanish, and the
//! communications team's whole path (create → canary → schedule → report) works through it,
//! with a sender delivering to a stand-in of the Graph API. On both stores.

use reqwest::StatusCode;
use schemas::{PhoneNumber, UserAddress};
use serde_json::json;

use crate::helpers::spawn_app;
use testkit::StoreKind;

async fn errors_are_json_in_spanish(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let (status, body) = app.get("/admin/conectate/contents/77").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("contenido_no_encontrado")));
    assert_eq!(body["error"]["mensaje"], "no existe el aviso 77");
    let (status, body) = app.post("/admin/conectate/contents", json!({"title": "Aviso", "text": ""})).await;
    assert_eq!((status, body["error"]["campo"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text")));
    assert!(body["error"]["mensaje"].as_str().unwrap().contains("obligatorio"));
    let (status, body) = app.post("/admin/conectate/contents", json!({"title": "Aviso", "texto": "x"})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("dato_invalido")));
    let not_json = app.request(reqwest::Method::POST, "/admin/conectate/contents").body("{").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({"title": "Aviso", "text": "x".repeat(admin::MAX_BODY_BYTES)});
    let (status, body) = app.post("/admin/conectate/contents", huge).await;
    assert_eq!(
        (status, body["error"]["codigo"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("cuerpo_demasiado_grande"))
    );
    let (_, created) = app.post("/admin/conectate/contents", json!({"title": "Aviso", "text": "Hola"})).await;
    let id = created["id"].as_u64().unwrap();
    let (status, body) = app.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({"at": "mañana"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["mensaje"].as_str().unwrap().contains("2021-05-27 10:00"), "{body}");
    let (status, body) = app.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("estado_invalido")));
    assert!(body["error"]["mensaje"].as_str().unwrap().contains("primero envía la prueba"), "{body}");
    let (status, body) = app.get("/admin/nada").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("ruta_desconocida")));
}

async fn create_canary_schedule_and_report_through_http(kind: StoreKind) {
    let app = spawn_app(kind).await;
    for i in 0..4 {
        app.subscribe(&format!("52147712{i:05}")).await;
    }
    let report = app.broadcast("Vacunación").await;
    let id = report["content"].as_u64().unwrap();
    assert_eq!(report["planned"], 4);
    assert_eq!(report["recipients"]["sent_template"], 4);
    assert_eq!(report["messages"]["queued"], 4);
    assert_eq!(report["canary"]["recipients"]["sent_template"], 1);
    assert_eq!(app.graph.requests().len(), 5, "four subscribers and the staff");
    let (_, list) = app.get("/admin/conectate/contents").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, cancel) = app.post(&format!("/admin/conectate/contents/{id}/cancel"), json!({})).await;
    assert_eq!((status, cancel["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("estado_invalido")));
    let (status, state) = app.get("/admin/conectate/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((state["subscribers"].as_u64(), state["frozen"].is_null()), (Some(4), true));
    assert_eq!(state["reached_24h"], 5);
}

async fn the_ledger_export_adds_addresses_only_when_asked(kind: StoreKind) {
    let app = spawn_app(kind).await;
    app.subscribe("5214771200001").await;
    let hashed = app.request(reqwest::Method::GET, "/admin/conectate/consent-ledger.csv").send().await.unwrap();
    assert_eq!(hashed.headers()["content-type"], "text/csv; charset=utf-8");
    let hashed = hashed.text().await.unwrap();
    assert!(!hashed.contains("4771200001") && hashed.contains("alta"), "{hashed}");
    let user = app.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse("5214771200001").unwrap()));
    assert!(hashed.contains(&user.to_string()));
    let with = app
        .request(reqwest::Method::GET, "/admin/conectate/consent-ledger.csv?addresses=true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(with.starts_with("secuencia,fecha,usuario,direccion,"), "{with}");
    assert!(with.contains("5214771200001"), "{with}");
}

testkit::on_both_stores!(
    errors_are_json_in_spanish,
    create_canary_schedule_and_report_through_http,
    the_ledger_export_adds_addresses_only_when_asked,
);
