//! The open-data page (`/datos/`) on the responder's public port, with no token, in headless
//! Chromium: the totals in es-MX numbers, one bar of the chart per day (styled by its own
//! stylesheet under the page's security policy), the monthly unique users and the links to
//! the files.

use jiff::ToSpan;
use schemas::es_mx;

use crate::app;
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_data_page_shows_the_chart_and_the_totals() {
    let app = app::spawn_app().await;
    let tz = jiff::tz::TimeZone::get(&app.settings.timezone).unwrap();
    let today = tz.to_datetime(jiff::Timestamp::now()).date();
    let from = today.checked_sub(29.days()).unwrap();
    // 100, 110, … 390 interactions on the 30 days: 7,350 in all.
    for (i, day) in from.series(1.day()).take(30).enumerate() {
        app.record_interactions(&day.to_string(), 100 + 10 * i).await;
    }
    app.subscribe(7).await;
    let page = format!("{}/datos/?desde={from}&hasta={today}", app.public);
    let browser = Browser::start("datos-abiertos").await;
    browser
        .run(async move |b| {
            b.goto(&page).await;
            b.wait_contains("h1", "Datos abiertos del programa").await;
            assert_eq!(b.client.title().await.unwrap(), "Datos abiertos del programa");
            let period = b.wait_text("#periodo", |t| !t.is_empty()).await;
            assert!(
                period.starts_with(&format!("Del {} al {} (30 días)", es_mx::long_date(from), es_mx::long_date(today))),
                "{period}"
            );
            assert_eq!(b.wait_text("#total-interacciones", |t| !t.is_empty()).await, "7,350");
            assert_eq!(b.wait_text("#promedio", |t| !t.is_empty()).await, "245.0");
            assert_eq!(b.wait_text("#suscriptores", |t| !t.is_empty()).await, "7");
            b.wait_until("one bar per day", "document.querySelectorAll('#grafica rect.barra').length === 30").await;
            // The stylesheet loaded under the page's policy: the bars have their colour and
            // the busiest day's bar is the tallest.
            b.wait_until(
                "the bars are styled",
                "getComputedStyle(document.querySelector('#grafica rect.barra')).fill === 'rgb(11, 110, 79)'",
            )
            .await;
            let heights = b
                .client
                .execute(
                    "return [...document.querySelectorAll('#grafica rect.barra')].map(r => r.getBBox().height);",
                    vec![],
                )
                .await
                .unwrap();
            let heights: Vec<f64> = heights.as_array().unwrap().iter().map(|h| h.as_f64().unwrap()).collect();
            assert!(heights.windows(2).all(|w| w[0] < w[1]), "growing days, growing bars: {heights:?}");
            let last = b
                .client
                .execute("return document.querySelector('#grafica rect.barra:last-of-type title').textContent;", vec![])
                .await
                .unwrap();
            assert_eq!(last.as_str().unwrap(), format!("{}: 390 interacciones", es_mx::long_date(today)));
            let months = b.texts("#usuarios-por-mes tbody tr").await;
            assert!(!months.is_empty() && months.iter().all(|m| m.contains(" de 20")), "{months:?}");
            let csv = b.client.execute("return document.getElementById('enlace-csv').href;", vec![]).await.unwrap();
            assert!(
                csv.as_str().unwrap().ends_with(&format!("/datos/reporte.csv?desde={from}&hasta={today}")),
                "{csv}"
            );
            b.wait_contains("#metodo", "HyperLogLog").await;
            b.wait_contains("#metodo", "Nada sobre ninguna persona").await;
            b.screenshot("pagina").await;
        })
        .await;
}
