//! The admin API over real HTTP: the token guards every route, errors are JSON in Spanish, and
//! the communications team's whole path (create → canary → schedule → report) works through it,
//! with a sender delivering to a stand-in of the Graph API. On both stores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use admin::AdminApi;
use conectate::{ConectateConfig, Contents, Sender};
use reqwest::StatusCode;
use responder::ResponderConfig;
use responder::channels::Channels;
use schemas::{ChannelKind, ConsentAction, ConsentChange, ConsentSignal, PhoneNumber, UserAddress};
use serde_json::{Value, json};
use settings::{Secret, Settings};
use testkit::{RecordingServer, TestServer, TestStore};

const TOKEN: &str = "admin-token-for-tests-0123";
const PNID: &str = "106540352242922";
const STAFF: &str = "5214779990001";

struct App {
    api: TestServer,
    http: reqwest::Client,
    graph: RecordingServer,
    store: store::SharedStore,
    config: Arc<ConectateConfig>,
    channels: Channels,
    _graph: TestServer,
    _store: TestStore,
}

async fn spawn(embedded: bool) -> App {
    let test_store = if embedded { testkit::embedded_store().await } else { testkit::redis_store().await };
    let store = test_store.store.clone();
    let (graph, graph_server) = RecordingServer::start(testkit::graph_ok()).await;
    let mut s = Settings::default();
    s.privacy.user_hash_key = Some(Secret::new("user-hash-key-for-tests-0123456789"));
    s.admin.token = Some(Secret::new(TOKEN));
    s.channels.meta.app_secret = Some(Secret::new("app-secret"));
    s.channels.meta.verify_token = Some(Secret::new("verify"));
    s.channels.meta.access_token = Some(Secret::new("EAAG-token"));
    s.channels.meta.phone_number_ids = vec![PNID.into()];
    s.channels.meta.graph_base_url = graph_server.url("");
    s.channels.meta.graph_timeout_secs = 2;
    s.channels.twilio.timeout_secs = 2;
    s.conectate.staff = vec![STAFF.into()];
    s.conectate.default_template = Some("aviso_conectate".into());
    s.conectate.unpaced = true;
    s.conectate.in_doubt_secs = 4;
    s.conectate.reclaim_idle_secs = 3;
    s.validate().unwrap();
    let config = Arc::new(ConectateConfig::from_settings(&mut s).unwrap());
    let channels = Channels::from_config(&ResponderConfig::from_settings(&mut s).unwrap(), &reqwest::Client::new());
    let contents = Contents::new(store.clone(), config.clone());
    let router = AdminApi::new(TOKEN).mount(admin::conectate::routes(contents, store.clone())).router();
    App {
        api: testkit::serve(router).await,
        http: reqwest::Client::new(),
        graph,
        store,
        config,
        channels,
        _graph: graph_server,
        _store: test_store,
    }
}

impl App {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.api.url(path)).bearer_auth(TOKEN)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.request(reqwest::Method::GET, path).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.request(reqwest::Method::POST, path).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn subscribe(&self, phone: &str) {
        let address = UserAddress::Phone(PhoneNumber::parse(phone).unwrap());
        self.store
            .apply_consent(&ConsentChange {
                user: self.config.hasher.key(&address),
                address,
                channel: ChannelKind::Meta,
                business_number: PNID.into(),
                action: ConsentAction::Subscribe,
                signal: ConsentSignal::Keyword("alta".into()),
                at: jiff::Timestamp::now(),
                consent_text_version: "2021-01".into(),
                municipio: None,
            })
            .await
            .unwrap();
    }
}

async fn every_route_needs_the_token(embedded: bool) {
    let app = spawn(embedded).await;
    let paths = [
        ("GET", "/admin/conectate/contents"),
        ("POST", "/admin/conectate/contents"),
        ("GET", "/admin/conectate/contents/1"),
        ("POST", "/admin/conectate/contents/1/canary"),
        ("POST", "/admin/conectate/contents/1/schedule"),
        ("POST", "/admin/conectate/contents/1/cancel"),
        ("GET", "/admin/conectate/contents/1/report"),
        ("GET", "/admin/conectate/consent-ledger.csv"),
        ("GET", "/admin/conectate/status"),
        ("POST", "/admin/conectate/unfreeze"),
        ("GET", "/admin/no-such-route"),
    ];
    for (method, path) in paths {
        let method: reqwest::Method = method.parse().unwrap();
        for auth in [None, Some("Bearer wrong-token"), Some("Bearer admin-token-for-tests-012"), Some(TOKEN)] {
            let mut request = app.http.request(method.clone(), app.api.url(path)).json(&json!({}));
            if let Some(a) = auth {
                request = request.header("authorization", a);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {auth:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["codigo"], "no_autorizado");
            assert!(body["error"]["mensaje"].as_str().unwrap().contains("token"));
        }
    }
    assert_eq!(app.store.content_records(0, 10).await.unwrap().len(), 0, "nothing was created");
}

async fn errors_are_json_in_spanish(embedded: bool) {
    let app = spawn(embedded).await;
    let (status, body) = app.get("/admin/conectate/contents/77").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("contenido_no_encontrado")));
    assert_eq!(body["error"]["mensaje"], "no existe el contenido 77");
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

async fn create_canary_schedule_and_report_through_http(embedded: bool) {
    let app = spawn(embedded).await;
    for i in 0..4 {
        app.subscribe(&format!("52147712{i:05}")).await;
    }
    let (status, created) = app
        .post(
            "/admin/conectate/contents",
            json!({"title": "Vacunación", "text": "Mañana abre el módulo de vacunación.",
                   "template": {"name": "vacunacion", "language": "es_MX", "parameters": ["27 de mayo"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "draft");
    let id = created["id"].as_u64().unwrap();
    let (status, canary) = app.post(&format!("/admin/conectate/contents/{id}/canary"), json!({})).await;
    assert_eq!((status, canary["state"].as_str()), (StatusCode::ACCEPTED, Some("canary")));
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)).to_string();
    let (status, scheduled) = app.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({"at": later})).await;
    assert_eq!((status, scheduled["state"].as_str()), (StatusCode::OK, Some("scheduled")), "{scheduled}");
    // Moved to now, then the sender does its work.
    let (status, _) = app.post(&format!("/admin/conectate/contents/{id}/schedule"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = Sender::new(app.store.clone(), app.channels.clone(), app.config.clone(), "admin-test".into());
    let task = tokio::spawn(sender.run(stopped));
    let start = Instant::now();
    let report = loop {
        let (status, report) = app.get(&format!("/admin/conectate/contents/{id}/report")).await;
        assert_eq!(status, StatusCode::OK);
        if report["state"] == "done" {
            break report;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not done: {report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.send(true).unwrap();
    task.await.unwrap();
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

async fn the_ledger_export_adds_addresses_only_when_asked(embedded: bool) {
    let app = spawn(embedded).await;
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

/// Every route the API serves is described in `admin/openapi.yaml`.
#[test]
fn the_openapi_file_describes_every_route() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    for path in [
        "/admin/conectate/contents:",
        "/admin/conectate/contents/{id}:",
        "/admin/conectate/contents/{id}/canary:",
        "/admin/conectate/contents/{id}/schedule:",
        "/admin/conectate/contents/{id}/cancel:",
        "/admin/conectate/contents/{id}/report:",
        "/admin/conectate/consent-ledger.csv:",
        "/admin/conectate/status:",
        "/admin/conectate/unfreeze:",
    ] {
        assert!(spec.contains(&format!("\n  {path}\n")), "{path} is not in openapi.yaml");
    }
    assert!(spec.contains("bearerAuth"));
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(true).await; })*
        }
        mod on_redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(false).await; })*
        }
    };
}

on_both_stores!(
    every_route_needs_the_token,
    errors_are_json_in_spanish,
    create_canary_schedule_and_report_through_http,
    the_ledger_export_adds_addresses_only_when_asked,
);
