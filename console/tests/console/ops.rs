//! Ops in the console: logging in (a wrong token gets a Spanish error; a token that stops
//! working sends the person back to the login page), the run log and source health after a
//! real ingest of the bundled fixtures, and the session ending.

use crate::app::{self, TOKEN};
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_log_in_and_read_the_runs_of_a_real_ingest() {
    let app = app::spawn().await;
    app.ingest_fixtures().await;
    let browser = Browser::start("operacion").await;
    browser
        .run(async move |b| {
            b.goto(&app.console("")).await;
            b.wait_contains("h1", "Entrar a la consola").await;
            assert_eq!(b.client.title().await.unwrap(), "Entrar — Consola de Contacto Ciudadano");

            b.fill("#token", "un-token-equivocado").await;
            b.click("#entrar").await;
            let error = b.wait_contains("#mensaje-entrar [role=alert]", "token").await;
            assert_eq!(error, "El token no es válido. Revisa que lo copiaste completo, sin espacios.");
            b.screenshot("token-equivocado").await;

            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Ingesta y fuentes").await;
            b.screenshot("ingesta").await;

            // A token that stops working (rotated) sends the person back to log in.
            b.client
                .execute("sessionStorage.setItem('contacto.consola.token', 'rotado'); location.hash = '#/conectate';", vec![])
                .await
                .unwrap();
            b.wait_contains("#mensaje-entrar [role=alert]", "Tu sesión terminó").await;

            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Ingesta y fuentes").await;
            b.click("#salir").await;
            b.wait_contains("h1", "Entrar a la consola").await;
            let kept = b.client.execute("return sessionStorage.getItem('contacto.consola.token');", vec![]).await.unwrap();
            assert!(kept.is_null(), "leaving forgets the token");
        })
        .await;
}
