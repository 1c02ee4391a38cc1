//! «Sin entender» through the admin API, on both stores: only phrases enough distinct citizens
//! wrote are listed, masked as the responder keeps them, with the closest topics; and the
//! change to the menu file that gives a phrase a topic (applied, validated and tried in
//! `contacto/tests/sin_entender.rs`).

use std::time::Duration;

use admin::{AdminApi, Ops};
use reqwest::StatusCode;
use schemas::masking::masked_phrase;
use schemas::{PhoneNumber, UserAddress};
use serde_json::Value;
use store::UnmatchedMessage;
use testkit::StoreKind;

use crate::helpers::{TOKEN, TestApp, repo, spawn_app};

const KEEP: Duration = Duration::from_secs(30 * 86_400);

/// Citizens `from..to` write `text` (each with a number of their own), as the responder
/// records it once it answered with the help.
async fn write(app: &TestApp, text: &str, citizens: std::ops::Range<usize>) {
    let now = jiff::Timestamp::now();
    let batch: Vec<UnmatchedMessage> = citizens
        .map(|i| UnmatchedMessage {
            phrase: masked_phrase(&format!("{text} 477 555 {i:04}")).unwrap(),
            user: app.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse(&testkit::phone(i)).unwrap())),
            at: now,
        })
        .collect();
    app.store.record_unmatched(&batch, now, KEEP).await.unwrap();
}

async fn phrases_shown_only_above_the_minimum_masked_with_their_closest_topics(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let k = app.settings.responder.unmatched_min_citizens as usize;
    write(&app, "¿Dónde descargo mi certificado de vacunación? mi cel", 0..k).await;
    write(&app, "¿Hay brigadas de fumigación?", 0..k - 1).await;

    let (status, body) = app.get("/admin/unmatched").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["min_citizens"], k as u64);
    let phrases = body["phrases"].as_array().unwrap();
    assert_eq!(phrases.len(), 1, "fewer than {k} citizens' phrase is not listed: {body}");
    let shown = &phrases[0];
    assert_eq!(shown["phrase"], "donde descargo mi certificado de vacunacion mi cel #");
    assert_eq!(shown["citizens"], k as u64);
    assert!(shown["first_seen"].as_str().unwrap().ends_with('Z'));
    assert_eq!(shown["closest_topics"], serde_json::json!([]), "nothing is published yet");
    assert!(!body.to_string().contains("555"), "no number leaves the store: {body}");
    let topics: Vec<&str> = body["topics"].as_array().unwrap().iter().map(|t| t["topic"].as_str().unwrap()).collect();
    assert!(topics.contains(&"vacunas") && !topics.contains(&"conectate_alta") && !topics.contains(&"ayuda"));

    app.store.publish(&testkit::fixture_snapshot(), None, 5).await.unwrap();
    let (_, body) = app.get("/admin/unmatched").await;
    assert_eq!(body["phrases"][0]["closest_topics"][0], "vacunas", "{body}");

    // Not all phrases: the store keeps the other, it is only not shown.
    let all = app.store.unmatched(1, jiff::Timestamp::now(), KEEP).await.unwrap();
    assert_eq!(all.len(), 2);
}

testkit::on_both_stores!(phrases_shown_only_above_the_minimum_masked_with_their_closest_topics);

/// The API with a copy of the bundled menu file in `dir` as the menu source's file.
async fn api_with_menu(app: &TestApp, dir: &std::path::Path) -> testkit::TestServer {
    std::fs::copy(repo().join("fixtures/menu/menu.toml"), dir.join("menu.toml")).unwrap();
    let mut ops = Ops::from_settings(&app.settings, app.store.clone()).unwrap();
    let path = dir.join("menu.toml");
    ops.unmatched.menu_file = Some((path.display().to_string(), path));
    testkit::serve(AdminApi::new(TOKEN).mount_ops(ops).router()).await
}

async fn get(app: &TestApp, server: &testkit::TestServer, phrase: &str, topic: &str) -> (StatusCode, Value) {
    let url = server.url("/admin/unmatched/keyword-change");
    let r = app.http.get(url).query(&[("phrase", phrase), ("topic", topic)]).bearer_auth(TOKEN).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyword_change_is_the_files_own_line_with_the_phrase_added_and_bad_asks_are_named() {
    let app = spawn_app(StoreKind::Embedded).await;
    let dir = tempfile::tempdir().unwrap();
    let server = api_with_menu(&app, dir.path()).await;
    let phrase = "donde descargo mi certificado #";
    let (status, change) = get(&app, &server, phrase, "vacunas").await;
    assert_eq!(status, StatusCode::OK, "{change}");
    assert_eq!(change["keyword"], "donde descargo mi certificado");
    let file = change["file"].as_str().unwrap();
    assert!(file.ends_with("menu.toml"));
    assert!(change["diff"].as_str().unwrap().starts_with(&format!("{file}, línea {}:\n- ", change["line"])));
    assert_eq!(change["try_with"][0], format!("contacto validate {file}"));

    // The line shown is the file's, and the change keeps the file's other lines (`contacto`'s
    // tests apply it and run `validate` and `preview --from` on it).
    let menu = std::fs::read_to_string(dir.path().join("menu.toml")).unwrap();
    let at = change["line"].as_u64().unwrap() as usize - 1;
    let line = menu.lines().nth(at).unwrap();
    assert_eq!(line, change["removed"].as_str().unwrap());
    assert!(line.contains("\"vacunas\""), "the vaccination keywords: {line}");
    let added = change["added"][0].as_str().unwrap();
    assert_eq!(added, line.replacen(']', ", \"donde descargo mi certificado\"]", 1));
    std::fs::write(dir.path().join("menu.toml"), menu.replace(line, added)).unwrap();

    // Asking again for the same keyword says it is there; a topic that is not asked about is refused.
    let (status, body) = get(&app, &server, phrase, "vacunas").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["mensaje"].as_str().unwrap().contains("ya es una palabra clave del tema vacunas"), "{body}");
    let (status, body) = get(&app, &server, "quiero avisos seguido", "conectate_alta").await;
    assert_eq!((status, body["error"]["campo"].as_str()), (StatusCode::BAD_REQUEST, Some("topic")), "{body}");
    let (status, body) = get(&app, &server, phrase, "chismes").await;
    assert_eq!((status, body["error"]["campo"].as_str()), (StatusCode::BAD_REQUEST, Some("topic")), "{body}");
    let (status, body) = get(&app, &server, "[nombre] #", "vacunas").await;
    assert_eq!((status, body["error"]["campo"].as_str()), (StatusCode::BAD_REQUEST, Some("phrase")), "{body}");

    // Without a local menu file, the API says where the change must be made instead.
    let (status, body) = app.get("/admin/unmatched/keyword-change?phrase=x&topic=vacunas").await;
    assert_eq!((status, body["error"]["codigo"].as_str()), (StatusCode::CONFLICT, Some("menu_no_local")), "{body}");
}
