//! Ops through the admin API: runs filtered by source and result, each source's health, the
//! stale answers and why, a dataset quarantined by a real run (the state's confirmed cases
//! fall) and forced, two publications compared, a rollback, and the audit trail showing who
//! did what — with the ingest runs made by the real pipeline from a source served over HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, covid_file, spawn_app, yesterday};
use testkit::StoreKind;

fn rows<'a>(body: &'a Value, field: &str) -> &'a Vec<Value> {
    body[field].as_array().unwrap_or_else(|| panic!("no `{field}` in {body}"))
}

fn source<'a>(sources: &'a Value, name: &str) -> &'a Value {
    rows(sources, "sources").iter().find(|s| s["source"] == name).unwrap_or_else(|| panic!("{name}: {sources}"))
}

/// A 400 naming the parameter, in Spanish.
async fn bad_parameter(app: &TestApp, path: &str, field: &str, says: &str) {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    let message = body["error"]["mensaje"].as_str().unwrap();
    assert!(message.contains(&format!("`{field}`")) && message.contains(says), "{path}: {message}");
}

async fn runs_sources_and_stale_answers(kind: StoreKind) {
    let app = spawn_app(kind).await;
    // Before anything ran: both sources are stale, never run.
    let (status, sources) = app.get("/admin/sources").await;
    assert_eq!(status, StatusCode::OK, "{sources}");
    assert_eq!(rows(&sources, "sources").len(), 2);
    assert_eq!(source(&sources, "covid")["health"], "stale");
    assert!(source(&sources, "covid")["why"].as_str().unwrap().contains("nunca ha corrido"), "{sources}");

    let published = app.run("covid").await;
    assert_eq!(published.result.as_str(), "published", "{:?}", published.error);
    let failed = app.run("roto").await;
    assert_eq!(failed.result.as_str(), "failed");

    let (_, all) = app.get("/admin/runs").await;
    assert_eq!(
        rows(&all, "runs").iter().map(|r| r["id"].as_u64().unwrap()).collect::<Vec<_>>(),
        [failed.id, published.id]
    );
    let (_, covid) = app.get("/admin/runs?source=covid").await;
    assert_eq!(rows(&covid, "runs").len(), 1);
    assert_eq!(rows(&covid, "runs")[0]["result"], "published");
    assert_eq!(rows(&covid, "runs")[0]["data_date"], yesterday().to_string());
    let (_, failures) = app.get("/admin/runs?result=failed").await;
    assert_eq!(rows(&failures, "runs").iter().map(|r| r["source"].as_str().unwrap()).collect::<Vec<_>>(), ["roto"]);
    let (_, none) = app.get("/admin/runs?source=covid&result=failed").await;
    assert!(rows(&none, "runs").is_empty());
    let (_, one) = app.get("/admin/runs?limit=1").await;
    assert_eq!(rows(&one, "runs").len(), 1);
    bad_parameter(&app, "/admin/runs?source=nacional", "source", "las fuentes son: covid, roto").await;
    bad_parameter(&app, "/admin/runs?result=bien", "result", "no es un resultado de corrida").await;
    bad_parameter(&app, "/admin/runs?limit=0", "limit", "fuera de rango").await;
    bad_parameter(&app, "/admin/runs?limit=muchas", "limit", "número entero").await;
    let (status, body) = app.get("/admin/runs?fuente=covid").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::BAD_REQUEST, Some("parametro_desconocido")));
    assert!(body["error"]["mensaje"].as_str().unwrap().contains("`fuente`"), "{body}");

    let (_, sources) = app.get("/admin/sources").await;
    let covid = source(&sources, "covid");
    assert_eq!((covid["health"].as_str(), covid["why"].is_null()), (Some("ok"), true), "{covid}");
    assert_eq!(covid["kind"], "covid");
    assert_eq!(covid["cadence_hours"], 24);
    assert_eq!(covid["data_date"], yesterday().to_string());
    assert_eq!(covid["last_run"]["id"], published.id);
    let roto = source(&sources, "roto");
    assert_eq!(roto["health"], "failed");
    assert!(roto["why"].as_str().unwrap().contains("falló"), "{roto}");

    let (status, stale) = app.get("/admin/stale").await;
    assert_eq!(status, StatusCode::OK);
    let stale = rows(&stale, "stale");
    assert_eq!(stale.len(), 1, "covid is current: {stale:?}");
    assert_eq!((stale[0]["source"].as_str(), stale[0]["reason"].as_str()), (Some("roto"), Some("last_run_failed")));
    assert!(stale[0]["why"].as_str().unwrap().starts_with("la última corrida falló"), "{stale:?}");
    assert_eq!(stale[0]["description"], "roto: sin respuestas publicadas");

    // The state's confirmed cases fall: quarantined, and the health says so.
    *app.covid.lock().unwrap() = covid_file(yesterday(), 5);
    let quarantined = app.run("covid").await;
    assert_eq!(quarantined.result.as_str(), "quarantined");
    let (_, sources) = app.get("/admin/sources").await;
    let covid = source(&sources, "covid");
    assert_eq!(covid["health"], "quarantined");
    assert!(covid["why"].as_str().unwrap().contains("los casos confirmados del estado bajan"), "{covid}");
    let (_, q) = app.get("/admin/runs?result=quarantined").await;
    assert_eq!(rows(&q, "runs")[0]["id"], quarantined.id);
}

async fn force_diff_rollback_and_audit(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let first = app.run("covid").await;
    let v1 = first.version.unwrap().0;
    let (status, body) = app.post("/admin/sources/covid/force", json!({})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("nada_en_cuarentena")));
    *app.covid.lock().unwrap() = covid_file(yesterday(), 5);
    assert_eq!(app.run("covid").await.result.as_str(), "quarantined");
    let between = jiff::Timestamp::now();

    let (status, forced) = app.post("/admin/sources/covid/force", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{forced}");
    assert_eq!(forced["result"], "published");
    assert_eq!((forced["forced"].as_bool(), forced["forced_by"].as_str()), (Some(true), Some("admin_token")));
    let v2 = forced["version"].as_u64().unwrap();
    assert!(v2 > v1);
    let (status, body) = app.post("/admin/sources/covid/force", json!({})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("nada_en_cuarentena")));
    let (status, body) = app.post("/admin/sources/nacional/force", json!({})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("fuente_desconocida")));
    let (_, sources) = app.get("/admin/sources").await;
    assert_eq!(source(&sources, "covid")["health"], "ok");

    let (_, versions) = app.get("/admin/snapshots").await;
    let versions = rows(&versions, "versions");
    assert_eq!(versions.iter().map(|v| v["version"].as_u64().unwrap()).collect::<Vec<_>>(), [v2, v1]);
    assert_eq!(versions.iter().map(|v| v["current"].as_bool().unwrap()).collect::<Vec<_>>(), [true, false]);
    assert_eq!(versions[0]["provenance"]["covid"]["data_date"], yesterday().to_string());
    assert!(versions[0]["answers"].as_u64().unwrap() > 40, "{:?}", versions[0]);

    // What five fewer confirmed cases changed: the state's figure, and the covid provenance.
    let (status, diff) = app.get(&format!("/admin/snapshots/v{v2}/diff")).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!((diff["version"].as_u64(), diff["against"].as_u64()), (Some(v2), Some(v1)));
    let changed = rows(&diff, "changed");
    let state = changed.iter().find(|c| c["key"] == "confirmados/estado").expect("the state's confirmed cases changed");
    assert_ne!(state["before"], state["after"]);
    assert_eq!(state["source"], "covid");
    assert!(rows(&diff, "added").is_empty() && rows(&diff, "removed").is_empty(), "{diff}");
    assert!(diff["unchanged"].as_u64().unwrap() > 0);
    let provenance = rows(&diff, "provenance");
    assert_eq!(provenance.len(), 1);
    assert_eq!(provenance[0]["source"], "covid");
    assert_ne!(provenance[0]["before"]["checksum"], provenance[0]["after"]["checksum"]);
    let (_, back) = app.get(&format!("/admin/snapshots/{v1}/diff?against={v2}")).await;
    let back_state = rows(&back, "changed").iter().find(|c| c["key"] == "confirmados/estado").unwrap().clone();
    assert_eq!((&back_state["before"], &back_state["after"]), (&state["after"], &state["before"]));
    let (status, body) = app.get(&format!("/admin/snapshots/{v1}/diff")).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("sin_version_anterior")));
    let (status, body) = app.get("/admin/snapshots/999/diff").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("version_no_guardada")));
    assert!(body["error"]["mensaje"].as_str().unwrap().contains(&format!("las guardadas son: v{v2}, v{v1}")), "{body}");
    bad_parameter(&app, "/admin/snapshots/ultima/diff", "version", "no es una versión").await;
    bad_parameter(&app, &format!("/admin/snapshots/{v2}/diff?against=anterior"), "against", "no es válido").await;

    // Back to the first version, through the API.
    let (status, body) = app.post("/admin/snapshots/rollback", json!({"version": 999})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::NOT_FOUND, Some("version_no_guardada")));
    let (status, body) = app.post("/admin/snapshots/rollback", json!({"version": "siete"})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("dato_invalido")));
    let before_rollback = jiff::Timestamp::now();
    let (status, rolled) = app.post("/admin/snapshots/rollback", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert_eq!((rolled["current"].as_u64(), rolled["previous"].as_u64()), (Some(v1), Some(v2)));
    assert_eq!(app.store.current_version().await.unwrap().map(|v| v.0), Some(v1), "citizens read v1 again");
    let (status, body) = app.post("/admin/snapshots/rollback", json!({})).await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("sin_version_anterior")));

    // The audit trail: who moved the pointer, from what, to what.
    let (status, audit) = app.get("/admin/audit").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(audit.get("current_at").is_none());
    let history = rows(&audit, "history");
    let moves: Vec<_> = history
        .iter()
        .map(|e| (e["reason"].as_str().unwrap(), e["from"].as_u64(), e["version"].as_u64().unwrap(), e["by"].as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            ("rollback", Some(v2), v1, Some("admin_token")),
            ("publish", Some(v1), v2, Some("admin_token")),
            ("publish", None, v1, None)
        ]
    );
    assert_eq!(
        history[0]["description"],
        format!("vuelta atrás a la versión v{v1} (antes v{v2}), con el token de administración")
    );
    assert_eq!(
        history[1]["description"],
        format!(
            "versión v{v2} publicada a la fuerza por la corrida #{} de covid (antes v{v1}), con el token de administración",
            forced["id"]
        )
    );
    assert_eq!((history[2]["run"].as_u64(), history[2]["forced"].as_bool()), (Some(first.id), Some(false)));
    let rollback_at: jiff::Timestamp = history[0]["at"].as_str().unwrap().parse().unwrap();
    assert!(rollback_at >= before_rollback);

    // Which version citizens read at a moment.
    let at = |t: jiff::Timestamp| format!("/admin/audit?at={}", t.to_string().replace('+', "%2B"));
    let (_, then) = app.get(&at(between)).await;
    assert_eq!(then["current_at"]["version"].as_u64(), Some(v1), "{then}");
    let (_, now) = app.get(&at(jiff::Timestamp::now())).await;
    assert_eq!(
        (now["current_at"]["version"].as_u64(), now["current_at"]["since"]["reason"].as_str()),
        (Some(v1), Some("rollback"))
    );
    let (_, before) = app.get(&at(first.started_at - jiff::SignedDuration::from_secs(60))).await;
    assert!(before["current_at"]["version"].is_null(), "{before}");
    let (_, limited) = app.get("/admin/audit?limit=1").await;
    assert_eq!(rows(&limited, "history").len(), 1);
    bad_parameter(&app, "/admin/audit?at=ayer", "at", "RFC 3339").await;
    bad_parameter(&app, "/admin/audit?limit=-1", "limit", "número entero").await;
}

testkit::on_both_stores!(runs_sources_and_stale_answers, force_diff_rollback_and_audit);
