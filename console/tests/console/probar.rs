//! Trying the bot in the console, after a real ingest of the bundled fixtures: the main menu's
//! list is tapped like on WhatsApp, a bare number follows the sub-menu shown, a municipio is
//! found in a sentence, and ALTA and a way of saying BAJA only show their confirmation. The answers are the published
//! ones, and nothing is counted or subscribed.

use schemas::{Scope, Topic, catalogue};

use crate::app::{self, TOKEN};
use crate::browser::Browser;

/// The last answer of the bot in the conversation.
const LAST: &str = "#conversacion > li.bot:last-child";

/// What a citizen reads of `text` on WhatsApp, whose `*…*` marks show as bold.
fn as_read(text: &str) -> String {
    text.replace('*', "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_is_tried_like_a_citizen_and_nothing_is_written() {
    let app = app::spawn_app().await;
    app.ingest_fixtures().await;
    let snapshot = app.store.current_snapshot().await.unwrap().expect("the fixtures were published");
    let published = |topic, scope| as_read(snapshot.answer_for(topic, scope).unwrap().answer.body());
    let browser = Browser::start("probar").await;
    let store = app.store.clone();
    browser
        .run(async move |b| {
            b.goto(&app.console("#/probar")).await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Probar el bot").await;
            assert_eq!(b.client.title().await.unwrap(), "Probar el bot — Consola de Contacto Ciudadano");

            b.fill("#probar-texto", "Hola 👋").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "Entendido como: el menú principal.").await;
            let version = format!("Respuestas de la versión v{}.", snapshot.version.0);
            b.wait_contains(&format!("{LAST} .entendido"), &version).await;
            b.wait_contains(&format!("{LAST} .boton-lista"), "Ver opciones").await;
            assert_eq!(
                b.client
                    .find(fantoccini::Locator::Css("#probar-texto"))
                    .await
                    .unwrap()
                    .prop("value")
                    .await
                    .unwrap()
                    .as_deref(),
                Some(""),
                "the box is emptied for the next message"
            );

            // A row of the list, tapped: the citizen's side shows its title.
            b.click(&format!("{LAST} button.opcion[data-id='m:cifras']")).await;
            b.wait_contains(&format!("{LAST} .entendido"), "el menú «cifras»").await;
            let citizen = b.texts("#conversacion > li.ciudadano").await;
            assert_eq!(citizen, ["Hola 👋", "Cifras de COVID-19"]);

            // "1" now means the sub-menu's first entry: the state's confirmed cases, as published.
            b.fill("#probar-texto", "1").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "Entendido como: Casos confirmados.").await;
            let shown = b.wait_text(&format!("{LAST} .burbuja .texto"), |t| !t.is_empty()).await;
            assert_eq!(shown, published(Topic::from_static("confirmados"), Scope::Estado).trim());
            let bold = b.texts(&format!("{LAST} .burbuja .texto strong")).await;
            assert!(!bold.is_empty(), "the answer's *marks* show as bold");

            let leon = catalogue().find("León").unwrap();
            b.fill("#probar-texto", "y cuántos casos hay en leon?").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "Entendido como: Casos confirmados en León.").await;
            let shown = b.wait_text(&format!("{LAST} .burbuja .texto"), |t| !t.is_empty()).await;
            assert_eq!(shown, published(Topic::from_static("confirmados"), Scope::Municipio(leon)).trim());

            b.fill("#probar-texto", "ALTA").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "Conéctate: alta (en la prueba no se suscribe a nadie)")
                .await;
            b.wait_contains(&format!("{LAST} .burbuja"), "Te suscribiste a Conéctate").await;
            b.screenshot("conversacion").await;
            b.fill("#probar-texto", "ya no quiero mensajes, gracias").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "Conéctate: baja (en la prueba no se da de baja a nadie)")
                .await;

            b.fill("#probar-texto", "   ").await;
            b.click("#probar-enviar").await;
            b.wait_contains("#mensajes-probar [role=alert]", "Escribe un mensaje.").await;

            b.click("#probar-reiniciar").await;
            b.wait_until("the conversation is cleared", "document.querySelectorAll('#conversacion > li').length === 0")
                .await;
            // Without the sub-menu shown, "1" is the main menu's first entry again.
            b.fill("#probar-texto", "1").await;
            b.click("#probar-enviar").await;
            b.wait_contains(&format!("{LAST} .entendido"), "el menú «cifras»").await;
        })
        .await;
    assert_eq!(store.subscriber_count().await.unwrap(), 0, "a trial subscribes no one");
    let today = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now()).date();
    let days = store.interactions(today.yesterday().unwrap(), today.tomorrow().unwrap()).await.unwrap();
    assert!(days.iter().all(|d| d.total() == 0), "a trial is not counted: {days:?}");
}
