//! «Sin entender» in the console, after a real ingest of the bundled fixtures: citizens write
//! to the bot's webhook, and the page lists what enough of them wrote and the bot did not
//! understand, with their numbers masked, and nothing fewer wrote; picking a topic for a
//! phrase shows the change to the menu file and the commands that try it.

use channels::meta;
use std::time::Duration;

use crate::app::{self, PNID, TOKEN, TestApp};
use crate::browser::Browser;

/// Citizen `i` writes `text` to the bot, as Meta delivers it.
async fn write(app: &TestApp, i: usize, text: &str) {
    let body = testkit::meta_text(PNID, &app::phone(i), &format!("wamid.SIN{i}-{}", text.len()), text);
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/meta", app.public))
        .header(meta::SIGNATURE_HEADER, meta::signature(testkit::APP_SECRET, &body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_what_enough_citizens_wrote_masked_and_the_change_for_a_topic() {
    let app = app::spawn_app().await;
    app.ingest_fixtures().await;
    let k = app.settings.responder.unmatched_min_citizens as usize;
    for i in 0..k {
        write(&app, i, &format!("¿Dónde descargo mi constancia? mi folio es 4471{i}")).await;
    }
    for i in 0..k - 1 {
        write(&app, i, "¿Hay brigadas de fumigación?").await;
    }
    // The responder writes the phrases with its counters, every `counters_flush_ms`.
    let keep = app.settings.responder.unmatched_keep();
    for _ in 0..100 {
        if app.store.unmatched(1, jiff::Timestamp::now(), keep).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let phrase = "donde descargo mi constancia mi folio es #";
    let browser = Browser::start("sin-entender").await;
    browser
        .run(async move |b| {
            b.goto(&app.console("#/sin-entender")).await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Sin entender").await;
            assert_eq!(b.client.title().await.unwrap(), "Sin entender — Consola de Contacto Ciudadano");
            let row = b.wait_text("tbody tr", |t| !t.is_empty()).await;
            assert!(row.starts_with(phrase), "{row}");
            assert!(row.contains(&format!("\t{k}\t")) || row.contains(&format!(" {k} ")), "its citizens: {row}");
            let rows = b.texts("tbody tr").await;
            assert_eq!(rows.len(), 1, "fewer than {k} citizens' phrase is not shown: {rows:?}");
            let page = b.wait_text("main", |t| !t.is_empty()).await;
            assert!(!page.contains("fumigacion") && !page.contains("4471"), "{page}");
            assert!(page.contains(&format!("al menos {k} ciudadanos distintos")), "{page}");
            b.screenshot("lista").await;

            b.set_value("#tema-0", "vacunas").await;
            b.click("tbody tr button").await;
            let diff = b.wait_contains("#cambio-diff", "donde descargo mi constancia mi folio es").await;
            assert!(diff.starts_with("- frases = [\"vacunas\""), "{diff}");
            assert!(
                diff.contains("\n+ frases = [\"vacunas\"")
                    && diff.ends_with("\"donde descargo mi constancia mi folio es\"]"),
                "{diff}"
            );
            let intro = b.wait_contains("#cambio p", "lleve a Vacunación").await;
            assert!(intro.contains("cambia fixtures/menu/menu.toml en la línea "), "{intro}");
            let commands = b.wait_text("#cambio-probar", |t| !t.is_empty()).await;
            assert_eq!(
                commands,
                "contacto validate fixtures/menu/menu.toml\n\
                 contacto preview --from fixtures/menu --mensaje \"donde descargo mi constancia mi folio es\""
            );
            b.screenshot("cambio").await;
        })
        .await;
}
