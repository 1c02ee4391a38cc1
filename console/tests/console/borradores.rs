//! A draft the system prepared in the console: the semáforo turns orange, ingest publishes it
//! and prepares a draft; the team finds it marked in the list, reads why it exists, edits its
//! text and discards it after its confirmation.

use crate::app::{self, TOKEN};
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_prepared_from_the_data_shows_why_it_exists_and_is_edited_then_discarded() {
    let app = app::spawn_app().await;
    app.ingest_fixtures().await;
    app.set_semaforo("orange", "del 26 de abril al 9 de mayo de 2021");
    assert_eq!(app.run_source("semaforo").await, schemas::RunResult::Published);
    let browser = Browser::start("borradores").await;
    browser
        .run(async move |b| {
            b.goto(&app.console("#/conectate")).await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Conéctate").await;
            b.wait_contains("[data-aviso='1'] .insignia.sistema", "Del sistema").await;
            b.wait_contains("[data-aviso='1']", "Borrador automático: el semáforo federal de riesgo epidémico pasó de amarillo a naranja").await;

            b.click("[data-aviso='1'] a").await;
            b.wait_contains("#titulo-aviso .insignia", "Borrador").await;
            let why = b.wait_contains("#motivo-borrador", "Por qué existe este borrador. Lo preparó el sistema").await;
            assert!(why.contains("al publicar la corrida #"), "{why}");
            assert!(why.contains("de «semaforo»") && why.contains("pasó de amarillo a naranja"), "{why}");
            b.wait_contains(".vista-previa", "pasa de amarillo a *naranja* a partir del 26 de abril de 2021.").await;
            b.screenshot("borrador").await;

            // Edited like any draft: the preview shows the new text, and the store has it.
            b.click("#editar summary").await;
            b.fill("#editar-texto", "El semáforo federal cambia a naranja desde el 26 de abril de 2021.").await;
            b.click("#guardar-cambios").await;
            b.wait_contains("#mensajes-conectate", "Se guardaron los cambios.").await;
            b.wait_contains(".vista-previa", "El semáforo federal cambia a naranja desde el 26 de abril de 2021.").await;
            let stored = app.store_content(1).await;
            assert_eq!(stored["text"], "El semáforo federal cambia a naranja desde el 26 de abril de 2021.");
            assert!(stored["edited_at"].is_string());

            // Discarded after its confirmation; "No, volver" first keeps it.
            b.click("#descartar-borrador").await;
            assert_eq!(b.confirm(false).await, "¿Descartar el borrador «Borrador automático: el semáforo federal de riesgo epidémico pasó de amarillo a naranja»?");
            assert_eq!(app.store_content(1).await["state"], "draft");
            b.click("#descartar-borrador").await;
            b.confirm(true).await;
            b.wait_contains("#titulo-aviso .insignia", "Cancelado").await;
            assert_eq!(app.store_content(1).await["state"], "cancelled");
        })
        .await;
}
