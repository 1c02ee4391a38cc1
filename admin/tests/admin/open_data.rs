//! The open data (`/datos/`) over real HTTP with no token, on both stores: its figures equal
//! the admin report's for the same range, small day-topic counts are masked unless the
//! setting says otherwise, bad parameters get a 400 in Spanish naming them, and the files are
//! cacheable (`ETag`, 304, `Cache-Control`).

use std::collections::BTreeMap;

use admin::open_data::OpenData;
use jiff::ToSpan;
use jiff::civil::{Date, date};
use reqwest::StatusCode;
use schemas::{ConsentAction, PhoneNumber, Topic, UserAddress};
use serde_json::Value;
use store::Interaction;
use testkit::{StoreKind, TestServer};

use crate::helpers::{TestApp, spawn_app};

/// The open data of `app`'s store as `settings.open_data` says, on a server of its own.
async fn open_data(app: &TestApp) -> TestServer {
    testkit::serve(OpenData::from_settings(&app.settings, app.store.clone()).router()).await
}

/// `n` interactions on `day` about `topic`, from citizens `first..first + n`, through the
/// store API the responder counts with.
async fn record(app: &TestApp, day: Date, topic: Topic, first: usize, n: usize) {
    let batch: Vec<Interaction> = (first..first + n)
        .map(|i| Interaction {
            day,
            topic,
            user: app.config.hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147{i:08}")).unwrap())),
        })
        .collect();
    app.store.record_interactions(&batch).await.unwrap();
}

async fn get(server: &TestServer, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    (response.status(), response.headers().clone(), response.text().await.unwrap())
}

async fn json(server: &TestServer, path: &str) -> Value {
    let (status, _, body) = get(server, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn today() -> Date {
    jiff::tz::TimeZone::get("America/Mexico_City").unwrap().to_datetime(jiff::Timestamp::now()).date()
}

/// The CSV's rows as `(desde, hasta, cifra, tema) → valor`.
fn csv_rows(csv: &str) -> BTreeMap<(String, String, String, String), String> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("desde,hasta,cifra,tema,valor"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "{line}");
            ((f[0].into(), f[1].into(), f[2].into(), f[3].into()), f[4].into())
        })
        .collect()
}

async fn the_files_equal_the_admin_report(kind: StoreKind) {
    let mut app = spawn_app(kind).await;
    app.settings.open_data.publish_small_counts = true;
    let data = open_data(&app).await;
    let today = today();
    let from = today.checked_sub(40.days()).unwrap();
    // Interactions over six weeks (two calendar months at least), a broadcast today, and
    // subscriptions before and within the range.
    let mut next = 0;
    for (i, day) in from.series(3.days()).take_while(|d| *d <= today).enumerate() {
        for (topic, n) in
            [(Topic::from_static("confirmados"), 5 + i), (Topic::MENU, i % 4), (Topic::from_static("vacunas"), 2 * i)]
        {
            if n == 0 {
                continue;
            }
            record(&app, day, topic, next, n).await;
            next += n / 2 + 1; // some citizens write again on later days
        }
    }
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
    let at = |d: Date| tz.to_timestamp(d.at(12, 0, 0, 0)).unwrap();
    app.consent("5214770000001", ConsentAction::Subscribe, at(from.checked_sub(10.days()).unwrap())).await;
    app.consent("5214770000002", ConsentAction::Subscribe, at(from.checked_add(5.days()).unwrap())).await;
    app.consent("5214770000002", ConsentAction::Unsubscribe, at(from.checked_add(9.days()).unwrap())).await;
    for i in 0..3 {
        app.subscribe(&format!("52147712{i:05}")).await;
    }
    assert_eq!(app.broadcast("Vacunación").await["state"], "done");

    let range = format!("desde={from}&hasta={today}");
    let (_, report) = app.get(&format!("/admin/report?from={from}&to={today}")).await;
    let open = json(&data, &format!("/datos/reporte.json?{range}")).await;
    assert_eq!(open["total_interacciones"], report["total_interactions"], "{open}");
    assert!(open["total_interacciones"].as_u64().unwrap() > 300);
    assert_eq!(open["suscriptores_al_final"], report["subscribers"]["total_at_end"]);
    assert_eq!(open["suscriptores_al_final"], 4);
    assert_eq!(open["contenidos_enviados"], report["contents_sent"]["contents"]);
    assert_eq!(open["mensajes_enviados"], report["contents_sent"]["messages"]);
    assert_eq!(open["mensajes_enviados"], 4, "the four subscribers");
    let (days, admin_days) = (open["dias"].as_array().unwrap(), report["days"].as_array().unwrap());
    assert_eq!(days.len(), 41);
    for (day, admin) in days.iter().zip(admin_days) {
        assert_eq!(day["fecha"], admin["date"]);
        assert_eq!(day["interacciones"], admin["interactions"], "{day}");
        let topics: u64 = day["por_tema"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(topics, day["interacciones"].as_u64().unwrap(), "the topics add up to the day: {day}");
    }
    // Subscribers at the end of each day: 1 before the range, 2 from day 5 to day 8, 1 again,
    // 4 today; the day-5 figure equals the admin report's for the range that ends that day.
    let at_end: Vec<u64> = days.iter().map(|d| d["suscriptores_al_final"].as_u64().unwrap()).collect();
    assert_eq!((at_end[0], at_end[5], at_end[8], at_end[9], at_end[40]), (1, 2, 2, 1, 4), "{at_end:?}");
    let (_, day5) = app.get(&format!("/admin/report?from={from}&to={}", from.checked_add(5.days()).unwrap())).await;
    assert_eq!(day5["subscribers"]["total_at_end"], at_end[5]);
    assert_eq!(days[40]["contenidos_enviados"], 1);
    assert_eq!(days[40]["mensajes_enviados"], 4);
    // Unique users of each month: the admin report's figure for the same days.
    let months = open["usuarios_unicos_por_mes"].as_array().unwrap();
    assert!(months.len() >= 2, "{months:?}");
    for month in months {
        let (desde, hasta) = (month["desde"].as_str().unwrap(), month["hasta"].as_str().unwrap());
        let (_, admin) = app.get(&format!("/admin/report?from={desde}&to={hasta}")).await;
        assert_eq!(month["usuarios_unicos"], admin["unique_users"], "{month}");
        assert!(month["usuarios_unicos"].as_u64().unwrap() <= admin["total_interactions"].as_u64().unwrap());
    }
    assert_eq!(months[0]["desde"], from.to_string());
    assert_eq!(months[0]["parcial"], from.day() != 1);

    // The CSV says the same.
    let (status, headers, csv) = get(&data, &format!("/datos/reporte.csv?{range}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"reporte_{from}_{today}.csv\""));
    let rows = csv_rows(&csv);
    let cell = |from: &str, to: &str, figure: &str, topic: &str| {
        rows.get(&(from.into(), to.into(), figure.into(), topic.into())).cloned().unwrap_or_default()
    };
    let (f, t) = (from.to_string(), today.to_string());
    assert_eq!(cell(&f, &t, "interacciones", ""), report["total_interactions"].to_string());
    assert_eq!(cell(&f, &t, "suscriptores_al_final", ""), "4");
    assert_eq!(cell(&f, &t, "mensajes_enviados", ""), "4");
    for day in days {
        let d = day["fecha"].as_str().unwrap();
        assert_eq!(cell(d, d, "interacciones", ""), day["interacciones"].to_string());
        assert_eq!(cell(d, d, "interacciones", "confirmados"), day["por_tema"]["confirmados"].to_string());
        assert_eq!(cell(d, d, "suscriptores_al_final", ""), day["suscriptores_al_final"].to_string());
    }
    for month in months {
        let (desde, hasta) = (month["desde"].as_str().unwrap(), month["hasta"].as_str().unwrap());
        assert_eq!(cell(desde, hasta, "usuarios_unicos", ""), month["usuarios_unicos"].to_string());
    }
}

async fn small_counts_are_masked_unless_the_setting_allows_them(kind: StoreKind) {
    let mut app = spawn_app(kind).await;
    let (quiet, busy, lonely) = (date(2020, 5, 27), date(2020, 5, 28), date(2020, 5, 29));
    record(&app, quiet, Topic::from_static("confirmados"), 0, 3).await;
    record(&app, quiet, Topic::MENU, 100, 12).await;
    record(&app, quiet, Topic::from_static("hospitales"), 200, 7).await;
    // Every topic busy but one: the smallest other is withheld, so the lonely one cannot be
    // worked out from the day's total.
    for (i, topic) in ingest::sources::menu::bundled_topics().all().enumerate() {
        let n = if topic == Topic::from_static("vacunas") { 2 } else { 6 + i };
        record(&app, busy, topic, 1_000 + 100 * i, n).await;
    }
    record(&app, lonely, Topic::from_static("semaforo"), 5_000, 2).await;
    record(&app, lonely, Topic::from_static("sintomas"), 5_100, 1).await;
    let range = "desde=2020-05-27&hasta=2020-05-29";

    let masked = open_data(&app).await;
    let body = json(&masked, &format!("/datos/reporte.json?{range}")).await;
    assert_eq!((body["umbral"].as_u64(), body["cifras_pequenas_publicadas"].as_bool()), (Some(5), Some(false)));
    let [q, b, l] = [0, 1, 2].map(|i| body["dias"][i].clone());
    assert_eq!(q["interacciones"], 22, "the day's total is published");
    assert_eq!((q["por_tema"]["confirmados"].as_str(), q["por_tema"]["menu"].as_u64()), (Some("<5"), Some(12)));
    assert_eq!(q["por_tema"]["hospitales"], 7);
    let small = |day: &Value| day["por_tema"].as_object().unwrap().values().filter(|v| *v == "<5").count();
    assert_eq!(small(&q), 2, "a second cell hides the first: {q}");
    assert_eq!(b["por_tema"]["vacunas"], "<5");
    assert_eq!(b["por_tema"]["menu"], "reservado", "the smallest other, 6, is withheld: {b}");
    assert_eq!(b["por_tema"]["confirmados"], 7);
    assert_eq!((l["por_tema"]["semaforo"].as_str(), l["por_tema"]["sintomas"].as_str()), (Some("<5"), Some("<5")));
    assert_eq!(l["interacciones"], 3);
    let users = body["usuarios_unicos_por_mes"][0]["usuarios_unicos"].as_u64().expect("over the threshold: a number");
    assert!(users > 150 && users <= body["total_interacciones"].as_u64().unwrap(), "{body}");
    let (_, _, csv) = get(&masked, &format!("/datos/reporte.csv?{range}")).await;
    let rows = csv_rows(&csv);
    let cell =
        |topic: &str| rows[&("2020-05-27".into(), "2020-05-27".into(), "interacciones".into(), topic.into())].clone();
    assert_eq!((cell("confirmados").as_str(), cell("menu").as_str(), cell("")), ("<5", "12", "22".into()));
    assert!(csv.contains(",interacciones,menu,reservado\n"), "{csv}");

    app.settings.open_data.publish_small_counts = true;
    let plain = open_data(&app).await;
    let body = json(&plain, &format!("/datos/reporte.json?{range}")).await;
    assert_eq!(body["cifras_pequenas_publicadas"], true);
    assert_eq!(body["dias"][0]["por_tema"]["confirmados"], 3);
    assert_eq!(body["dias"][1]["por_tema"]["menu"], 6);
    assert_eq!(body["dias"][2]["por_tema"]["sintomas"], 1);

    app.settings.open_data.publish_small_counts = false;
    app.settings.open_data.min_count = 3;
    let lower = open_data(&app).await;
    let body = json(&lower, &format!("/datos/reporte.json?{range}")).await;
    assert_eq!(body["dias"][0]["por_tema"]["confirmados"], 3);
    assert_eq!(body["dias"][2]["por_tema"]["semaforo"], "<3");
}

async fn bad_parameters_get_a_400_in_spanish(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let data = open_data(&app).await;
    for (query, field, says) in [
        ("desde=2020-3-23", "desde", "AAAA-MM-DD"),
        ("desde=2020-03-23&hasta=30/04/2021", "hasta", "AAAA-MM-DD"),
        ("desde=2020-02-30&hasta=2020-04-30", "desde", "no es una fecha válida"),
        ("desde=2021-04-30&hasta=2020-03-23", "hasta", "es anterior a `desde`"),
        ("desde=2019-01-01&hasta=2021-04-30", "hasta", "el máximo es 731"),
    ] {
        for path in ["/datos/reporte.json", "/datos/reporte.csv"] {
            let (status, _, body) = get(&data, &format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"]["campo"], field, "{query}: {body}");
            let message = body["error"]["mensaje"].as_str().unwrap();
            assert!(message.starts_with(&format!("`{field}`: ")) && message.contains(says), "{query}: {message}");
        }
        let (status, headers, page) = get(&data, &format!("/datos/?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(page.contains(says) && page.contains(&format!("`{field}`")), "{page}");
    }
    let (status, _, body) = get(&data, "/datos/reporte.json?from=2020-03-23").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("parámetro desconocido `from`") && body.contains("`desde`, `hasta`"), "{body}");
    // What a person typed is shown, never run.
    let (status, _, page) = get(&data, "/datos/?desde=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("«&lt;script&gt;alert(1)&lt;/script&gt;» no es una fecha válida") && !page.contains("<script>")
    );
}

async fn the_files_are_cacheable_and_default_to_the_last_90_days(kind: StoreKind) {
    let mut app = spawn_app(kind).await;
    let today = today();
    record(&app, today, Topic::from_static("confirmados"), 0, 8).await;
    let data = open_data(&app).await;
    let (status, headers, body) = get(&data, "/datos/reporte.json").await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["hasta"], today.to_string());
    assert_eq!(body["desde"], today.checked_sub(89.days()).unwrap().to_string());
    assert_eq!(body["dias"].as_array().unwrap().len(), 90);
    assert_eq!(body["total_interacciones"], 8);
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34 && !etag.starts_with("W/"), "a strong tag: {etag}");
    for path in ["/datos/reporte.json", "/datos/reporte.csv", "/datos/"] {
        let (_, headers, _) = get(&data, path).await;
        let tag = headers["etag"].clone();
        let response =
            reqwest::Client::new().get(data.url(path)).header("if-none-match", tag.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(response.headers()["etag"], tag);
        assert!(response.text().await.unwrap().is_empty());
    }
    // Within max-age the figures are served from memory; with no max-age the next request
    // reads the counters again, and the tag changes with the body.
    record(&app, today, Topic::MENU, 100, 4).await;
    let (_, again, _) = get(&data, "/datos/reporte.json").await;
    assert_eq!(again["etag"].to_str().unwrap(), etag, "kept for max-age");
    app.settings.open_data.max_age_secs = 0;
    let fresh = open_data(&app).await;
    let response = reqwest::Client::new()
        .get(fresh.url("/datos/reporte.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(response.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(response.headers()["cache-control"], "public, max-age=0");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total_interacciones"], 12);
}

testkit::on_both_stores!(
    the_files_equal_the_admin_report,
    small_counts_are_masked_unless_the_setting_allows_them,
    bad_parameters_get_a_400_in_spanish,
    the_files_are_cacheable_and_default_to_the_last_90_days,
);
