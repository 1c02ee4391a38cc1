//! Conéctate in the console: a content written in the page, its canary, scheduled for a date
//! and time on the Mexico City clock, then for now; its delivery report changes in the page
//! while the sender sends it and the statuses come back; another content is cancelled after
//! its confirmation.

use crate::app::{self, TOKEN};
use crate::browser::Browser;

/// The figure `name` of the report's messages, as shown.
const MESSAGES: &str = "#cifras-mensajes [data-cifra={}] .valor";

fn messages(name: &str) -> String {
    MESSAGES.replace("{}", name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_is_written_tested_scheduled_and_watched_while_it_sends() {
    let mut app = app::spawn_app().await;
    app.subscribe(3).await;
    let browser = Browser::start("conectate").await;
    browser
        .run(async move |b| {
            b.goto(&app.console("#/conectate")).await;
            b.wait_contains("h1", "Entrar a la consola").await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            // The login page returns to the page asked for.
            b.wait_contains("h1", "Conéctate").await;
            b.wait_contains("[data-cifra=suscriptores] .valor", "3").await;
            b.wait_contains("#estado-envio", "Los envíos funcionan con normalidad.").await;

            b.click("#titulo-nuevo").await;
            b.fill("#aviso-titulo", "Vacunación 50 y más").await;
            b.fill("#aviso-texto", "Del 27 de mayo al 2 de junio se vacuna a personas de 50 a 59 años en León.").await;
            b.click("#guardar-aviso").await;
            b.wait_contains("#titulo-aviso", "Aviso #1: Vacunación 50 y más").await;
            b.wait_contains("#titulo-aviso .insignia", "Borrador").await;
            b.wait_contains("[data-aviso='1']", "Borrador").await;

            b.click("#enviar-prueba").await;
            b.wait_contains("#titulo-aviso .insignia", "Prueba enviada").await;
            b.wait_contains("#reporte-prueba", "ronda 1, 1 persona").await;

            // Scheduled for a date and time typed on the Mexico City clock (UTC−6).
            b.click("#cuando-fecha").await;
            b.set_value("#programar-fecha", "2031-05-27T10:00").await;
            b.click("#programar").await;
            let question = b.confirm(true).await;
            assert_eq!(question, "¿Enviar «Vacunación 50 y más» el 27 de mayo de 2031 a las 10:00?");
            b.wait_contains("#titulo-aviso .insignia", "Programado").await;
            b.wait_contains(".vista-previa", "Programado para el 27 de mayo de 2031 a las 10:00.").await;
            let content = app.store_content(1).await;
            assert_eq!(content["scheduled_for"], "2031-05-27T16:00:00Z", "10:00 in Mexico City is 16:00 UTC");

            // Moved to now: nothing is sent until a sender runs, and the page says so.
            b.click("#cuando-ahora").await;
            b.click("#programar").await;
            assert_eq!(b.confirm(true).await, "¿Enviar «Vacunación 50 y más» ahora?");
            b.wait_contains("#mensajes-conectate", "El aviso quedó programado para enviarse ahora.").await;
            b.wait_contains(&messages("msj-enviados"), "0").await;
            b.screenshot("programado").await;

            app.start_sender();
            b.wait_contains("#resumen-entrega", "Terminado: enviado a 3 de 3 suscriptores.").await;
            b.wait_contains("[data-aviso='1']", "Terminado").await;
            b.wait_contains(&messages("msj-enviados"), "3").await;
            assert_eq!(b.texts(&messages("entregados")).await, ["0"]);

            // Meta reports the deliveries, then one read: the page follows without a reload.
            let broadcast: Vec<_> = app.accepted().into_iter().filter(|m| m.to != app::STAFF).collect();
            assert_eq!(broadcast.len(), 3, "one message per subscriber: {broadcast:?}");
            for message in &broadcast {
                app.report(message, "delivered");
            }
            b.wait_contains(&messages("entregados"), "3").await;
            app.report(&broadcast[0], "read");
            b.wait_contains(&messages("leidos"), "1").await;
            b.wait_contains("#cifras-mensajes [data-cifra=entregados] .detalle", "2 sin leer").await;
            assert_eq!(b.texts(&messages("entregados")).await, ["3"], "a message read was delivered too");
            b.screenshot("reporte").await;

            // A second content, cancelled after its confirmation; a first "No, volver" keeps it.
            b.goto(&app.console("#/conectate")).await;
            b.click("#titulo-nuevo").await;
            b.fill("#aviso-titulo", "Aviso equivocado").await;
            b.fill("#aviso-texto", "Texto con un error.").await;
            b.click("#guardar-aviso").await;
            b.wait_contains("#titulo-aviso", "Aviso #2").await;
            b.click("#cancelar-aviso").await;
            assert_eq!(b.confirm(false).await, "¿Cancelar el aviso «Aviso equivocado»?");
            assert_eq!(app.store_content(2).await["state"], "draft");
            b.click("#cancelar-aviso").await;
            b.confirm(true).await;
            b.wait_contains("#titulo-aviso .insignia", "Cancelado").await;
            assert_eq!(app.store_content(2).await["state"], "cancelled");

            // A rule the API enforces comes back in Spanish, on the field to fix.
            b.click("#titulo-nuevo").await;
            b.fill("#aviso-titulo", "Sin texto").await;
            b.click("#guardar-aviso").await;
            assert_eq!(b.wait_contains("#mensajes-conectate [role=alert]", "texto").await, "El texto es obligatorio.");
            b.wait_until(
                "the text field is marked",
                "document.getElementById('aviso-texto').getAttribute('aria-invalid') === 'true'",
            )
            .await;
        })
        .await;
}
