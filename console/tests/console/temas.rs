//! A topic added with files only («dengue»: its figures, its template and the menu file with
//! it, `testkit::dengue`) shows in the console by its Spanish name wherever the console lists
//! topics or answers: the new answers of its version, the trial of the bot, and the
//! programme report's interactions by topic. Removed from the menu file, its past counts still
//! show in the report, under its slug. Nothing in the console lists topics of its own.

use settings::Settings;

use crate::app::{self, TOKEN};
use crate::browser::Browser;

/// The dengue figures as a `cifras` source, the menu source reading a copy of the bundled file
/// with dengue in it, and the templates with `dengue.j2`: files in the app's data directory.
fn with_dengue(settings: &mut Settings, data: &std::path::Path) {
    settings.ingest.templates_dir = testkit::dengue::templates_with_dengue(data);
    let menu = data.join("menu.toml");
    std::fs::write(&menu, testkit::dengue::menu_with_dengue()).unwrap();
    settings.sources.get_mut("menu").expect("a menu source").url = format!("file://{}", menu.display());
    let csv = data.join(testkit::dengue::CSV_FILE);
    std::fs::write(&csv, testkit::dengue::csv()).unwrap();
    let mut source = testkit::source_settings("cifras", &format!("file://{}", csv.display()));
    source.options.insert("attribution".into(), "Secretaría de Salud de Guanajuato".into());
    settings.sources.insert("dengue".parse().unwrap(), source);
}

/// The report page for 1 December 2026, the day the test counts: dengue's row.
async fn dengue_in_the_report(b: &Browser) -> String {
    b.wait_contains("h1", "Reporte del programa").await;
    b.set_value("#desde", "2026-12-01").await;
    b.set_value("#hasta", "2026-12-01").await;
    b.click("#ver-reporte").await;
    b.wait_contains("#reporte h2", "Del 1 de diciembre de 2026 al 1 de diciembre de 2026").await;
    b.wait_text("#por-tema tr[data-tema='dengue']", |t| !t.is_empty()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_added_with_files_is_listed_by_its_name_and_its_counts_stay_after_it_is_removed() {
    let app = app::spawn_app_with(with_dengue).await;
    // The menu first: it declares the topic the dengue figures feed.
    assert_eq!(app.run_source("menu").await, schemas::RunResult::Published);
    app.ingest_fixtures().await;
    let snapshot = app.store.current_snapshot().await.unwrap().unwrap();
    let dengue = snapshot.content.router.topics.topic("dengue").expect("the published catalogue has dengue");
    app.record_interactions_with("2026-12-01", dengue, 7).await;
    app.record_interactions("2026-12-01", 2).await;

    let runs = app.admin_json("runs?source=dengue").await;
    let version = runs["runs"][0]["version"].as_u64().unwrap_or_else(|| panic!("dengue published: {runs}"));
    let menu_file = app.settings.sources.get("menu").unwrap().url.trim_start_matches("file://").to_owned();

    let browser = Browser::start("temas").await;
    browser
        .run(async move |b| {
            b.goto(&app.console("#/reporte")).await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;

            // The report: interactions by topic, the new one by its name.
            let row = dengue_in_the_report(b).await;
            assert_eq!(row, "Casos de dengue 7", "by its Spanish name, with its count");
            let confirmados = b.wait_text("#por-tema tr[data-tema='confirmados']", |t| !t.is_empty()).await;
            assert_eq!(confirmados, "Casos confirmados 2", "the other topics beside it");
            b.screenshot("reporte-con-dengue").await;

            // Its version: the new answers, by their Spanish names.
            b.click("#navegacion a[href='#/versiones']").await;
            b.wait_contains("h1", "Versiones").await;
            b.click(&format!("tr[data-version='{version}'] [data-diff]")).await;
            let added = b.wait_contains("#diferencias", "Nuevas:").await;
            for answer in ["Casos de dengue — Guanajuato", "Casos de dengue — Celaya", "Casos de dengue — León"]
            {
                assert!(added.contains(answer), "{answer}: {added}");
            }

            // The trial of the bot understands it, by its name.
            b.click("#navegacion a[href='#/probar']").await;
            b.wait_contains("h1", "Probar el bot").await;
            b.fill("#probar-texto", "dengue en Celaya").await;
            b.click("#probar-enviar").await;
            b.wait_contains(
                "#conversacion > li.bot:last-child .entendido",
                "Entendido como: Casos de dengue en Celaya.",
            )
            .await;

            // Removed from the menu file: its past counts still show, under its slug.
            std::fs::write(&menu_file, testkit::dengue::bundled_menu()).unwrap();
            assert_eq!(app.run_source("menu").await, schemas::RunResult::Published);
            b.click("#navegacion a[href='#/reporte']").await;
            let row = dengue_in_the_report(b).await;
            assert_eq!(row, "dengue 7", "a removed topic keeps its history");
            let names = b.texts("#por-tema td:first-child").await;
            assert!(!names.contains(&"Casos de dengue".to_owned()), "no longer a topic of the menu: {names:?}");
            b.screenshot("reporte-sin-dengue").await;
        })
        .await;
}
