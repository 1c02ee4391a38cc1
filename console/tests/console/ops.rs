//! Ops in the console, after a real ingest of the bundled fixtures: logging in (a wrong token
//! gets a Spanish error; a token that stops working sends the person back to the login page),
//! the run log with its filters and the health of every source, a quarantined dataset forced
//! after its confirmation, a rollback whose confirmation changes the version shown, and the
//! programme report with its chart and CSV.

use crate::app::{self, TOKEN};
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_read_the_runs_force_a_quarantine_roll_back_and_download_the_report() {
    let app = app::spawn_app().await;
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

            // Every bundled source ran once and published.
            let names: Vec<String> = app.settings.sources.keys().map(|s| s.to_string()).collect();
            b.wait_until("the runs table is filled", "document.querySelectorAll('#corridas tbody tr').length > 0").await;
            let runs = b.texts("#corridas tbody tr").await;
            assert_eq!(runs.len(), names.len(), "{runs:?}");
            for name in &names {
                assert!(runs.iter().any(|r| r.contains(name.as_str()) && r.contains("Publicado")), "{name}: {runs:?}");
            }
            let covid = runs.iter().find(|r| r.contains("covid")).unwrap();
            assert!(covid.contains("13 de abril de 2020"), "the national file's data date, in Spanish: {covid}");
            for name in &names {
                let health = b.wait_text(&format!("tr[data-fuente='{name}'] .salud"), |t| !t.is_empty()).await;
                assert!(["Al día", "Vencida"].contains(&health.as_str()), "{name}: {health}");
            }
            // Periods and ages as people say them, and the reason's run time in words.
            let menu = b.wait_text("tr[data-fuente='menu']", |t| !t.is_empty()).await;
            assert!(menu.contains("cada 90 días"), "menu's cadence of 2,160 hours: {menu}");
            assert!(menu.contains("datos de hace ") && !menu.contains("menu: 6 respuestas"), "why, without repeating the row: {menu}");
            let stale = b.wait_text("#vencidas tr[data-fuente='covid']", |t| !t.is_empty()).await;
            assert!(stale.contains(" días") && !stale.contains(" horas"), "an age of years in days: {stale}");
            assert!(stale.contains("Casos confirmados, Casos en investigación"), "topics as people name them: {stale}");
            let today = app.settings.timezone.clone();
            let today = jiff::tz::TimeZone::get(&today).unwrap().to_datetime(jiff::Timestamp::now()).date();
            assert!(stale.contains(&format!("{} a las ", schemas::es_mx::long_date(today))), "{stale}");
            b.screenshot("ingesta").await;

            // A bad hospital list is held in quarantine, with why; forcing it asks first.
            app.shrink_hospitals(3);
            assert_eq!(app.run_source("hospitales").await, schemas::RunResult::Quarantined);
            b.click("#navegacion a[href='#/versiones']").await;
            b.wait_contains("h1", "Versiones").await;
            b.click("#navegacion a[href='#/ingesta']").await;
            let row = b.wait_contains("tr[data-fuente='hospitales']", "En cuarentena").await;
            assert!(row.contains("bajan de 57 a 3"), "{row}");
            b.set_value("#filtro-resultado", "quarantined").await;
            b.wait_until("only the quarantined run is listed",
                "document.querySelectorAll('#corridas tbody tr').length === 1 && document.querySelector('#corridas tbody tr').dataset.resultado === 'quarantined'").await;
            b.set_value("#filtro-fuente", "covid").await;
            b.wait_contains("#corridas", "Ninguna corrida coincide con los filtros.").await;
            b.set_value("#filtro-resultado", "").await;
            b.wait_until("only covid's run is listed", "document.querySelectorAll('#corridas tbody tr').length === 1").await;
            b.wait_contains("#corridas tbody tr", "covid").await;

            b.click("tr[data-fuente='hospitales'] button").await;
            assert_eq!(b.confirm(false).await, "¿Publicar los datos en cuarentena de «hospitales»?");
            b.wait_contains("tr[data-fuente='hospitales']", "En cuarentena").await;
            b.click("tr[data-fuente='hospitales'] button").await;
            b.confirm(true).await;
            let published = b.wait_contains("#mensajes-ingesta", "Se publicaron los datos de «hospitales»").await;
            let forced_version = app.store.current_version().await.unwrap().unwrap();
            assert!(published.contains(&format!("como la versión v{}", forced_version.0)), "{published}");
            let row = b.wait_text("tr[data-fuente='hospitales']", |t| !t.contains("En cuarentena")).await;
            assert!(!row.contains("Publicar de todos modos"), "{row}");

            // Versions: rolling back asks first; "No, volver" changes nothing, the action does.
            b.click("#navegacion a[href='#/versiones']").await;
            let current = forced_version.0;
            b.wait_contains("#version-actual", &format!("Se responde con la versión v{current},")).await;
            b.click(&format!("tr[data-version='{current}'] [data-diff]")).await;
            b.wait_contains("#resumen-cambios", "47 respuestas cambiaron, 0 nuevas, 0 quitadas").await;
            b.wait_contains("#diferencias", "hospitales").await;
            let abasolo = b.wait_text("#diferencias summary[data-clave='hospitales/001']", |t| !t.is_empty()).await;
            assert_eq!(abasolo, "Hospitales habilitados — Abasolo (fuente hospitales)", "answers by their Spanish names");
            let back = current - 1;
            b.click(&format!("[data-rollback='{back}']")).await;
            assert_eq!(b.confirm(false).await, format!("¿Volver a la versión v{back}?"));
            assert_eq!(app.store.current_version().await.unwrap().unwrap().0, current);
            b.click(&format!("[data-rollback='{back}']")).await;
            b.confirm(true).await;
            b.wait_contains("#version-actual", &format!("Se responde con la versión v{back},")).await;
            b.wait_contains("#mensajes-versiones", &format!("Listo: ahora se responde con la versión v{back} (antes, v{current}).")).await;
            assert_eq!(app.store.current_version().await.unwrap().unwrap().0, back);
            b.wait_contains(&format!("tr[data-version='{back}'] th"), "Actual").await;
            b.screenshot("versiones").await;
            // The audit trail: which version citizens read a second from now (Mexico City clock).
            let moment = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
            let local = moment.in_tz(&app.settings.timezone).unwrap().strftime("%Y-%m-%dT%H:%M:%S").to_string();
            b.set_value("#auditoria-momento", &local).await;
            b.click("#consultar-auditoria").await;
            b.wait_contains("#auditoria-respuesta", &format!("se respondía con la versión v{back}: vuelta atrás a la versión v{back} (antes v{current}), con el token de administración")).await;

            // The report: figures in es-MX, a bar per day, and the CSV.
            app.record_interactions("2020-06-01", 1_248).await;
            app.record_interactions("2020-06-02", 3).await;
            let unreachable = ("2020-06-02".parse().unwrap(), "unreachable:131026".to_owned());
            app.store.record_failed_replies(&[unreachable.clone(), unreachable]).await.unwrap();
            b.click("#navegacion a[href='#/reporte']").await;
            b.wait_contains("h1", "Reporte del programa").await;
            b.set_value("#desde", "2020-06-01").await;
            b.set_value("#hasta", "2020-06-03").await;
            b.click("#ver-reporte").await;
            b.wait_contains("#reporte h2", "Del 1 de junio de 2020 al 3 de junio de 2020").await;
            assert_eq!(b.texts("#total-interacciones .valor").await, ["1,251"]);
            assert_eq!(b.texts("#promedio-diario .valor").await, ["417"]);
            assert_eq!(b.texts("#respuestas-no-entregadas .valor").await, ["2"]);
            assert_eq!(
                b.texts("#respuestas-no-entregadas .detalle").await,
                ["el número no está disponible en WhatsApp (código 131026): 2"]
            );
            // Unique users are a HyperLogLog estimate: the page shows the API's, in es-MX.
            let report = app.admin_json("report?from=2020-06-01&to=2020-06-03").await;
            let users = report["unique_users"].as_i64().unwrap();
            assert!((1_200..1_300).contains(&users), "{report}");
            assert_eq!(b.texts("#usuarios-unicos .valor").await, [schemas::es_mx::integer(users)]);
            let bars = b.client.execute(
                "return [...document.querySelectorAll('.grafica rect')].map(r => [r.dataset.fecha, Number(r.dataset.valor), r.getAttribute('height') > 0]);",
                vec![],
            ).await.unwrap();
            assert_eq!(bars, serde_json::json!([["2020-06-01", 1248, true], ["2020-06-02", 3, true], ["2020-06-03", 0, false]]));
            b.screenshot("reporte").await;
            b.click("#descargar-csv").await;
            b.wait_contains("#reporte", "Se descargó reporte_2020-06-01_2020-06-03.csv.").await;
            let csv = b.downloaded("reporte_2020-06-01_2020-06-03.csv").await;
            let days: Vec<&str> = csv.lines().skip(1).take(3).collect();
            assert!(csv.starts_with("fecha,interacciones,usuarios_unicos\n"), "{csv}");
            assert!(days[0].starts_with("2020-06-01,1248,") && days[1] == "2020-06-02,3,3" && days[2] == "2020-06-03,0,0", "{csv}");

            // A token that stops working (rotated) sends the person back to log in.
            b.client
                .execute("sessionStorage.setItem('contacto.consola.token', 'rotado'); location.hash = '#/conectate';", vec![])
                .await
                .unwrap();
            b.wait_contains("#mensaje-entrar [role=alert]", "Tu sesión terminó").await;
            b.fill("#token", TOKEN).await;
            b.click("#entrar").await;
            b.wait_contains("h1", "Conéctate").await;
            b.click("#salir").await;
            b.wait_contains("h1", "Entrar a la consola").await;
            let kept = b.client.execute("return sessionStorage.getItem('contacto.consola.token');", vec![]).await.unwrap();
            assert!(kept.is_null(), "leaving forgets the token");
        })
        .await;
}
