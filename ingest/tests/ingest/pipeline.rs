//! Runs end to end: a source served from a real HTTP server on 127.0.0.1 → published answers
//! and a run record, on both stores where the store is involved.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use ingest::{Progress, RunError, RunMode, RunReport};
use schemas::{Actor, Answer, AnswerKey, MunicipioId, Provenance, RunFilter, RunResult, Scope, Topic, es_mx};
use store::SharedStore;
use testkit::StoreKind;

use crate::helpers::*;

testkit::on_both_stores!(
    a_zip_over_http_becomes_every_answer_with_date_source_and_recounted_figures,
    an_unchanged_file_is_recorded_as_unchanged_and_not_published_again,
    other_sources_answers_are_carried_over,
    falling_figures_are_quarantined_until_a_maintainer_forces_them,
    a_data_date_going_back_is_quarantined,
    a_rejected_dataset_never_reaches_the_snapshot,
    two_runs_of_one_source_never_overlap,
    concurrent_publishers_lose_no_answers,
);

async fn run(ingest: &ingest::Ingest) -> RunReport {
    ingest.run("covid", RunMode::Normal, Progress::shared()).await.unwrap()
}

async fn served(file: Vec<u8>) -> (FileServer, testkit::TestServer) {
    let server = FileServer::default();
    server.set(file);
    let http = server.start().await;
    (server, http)
}

fn url(http: &testkit::TestServer) -> String {
    http.url("/datos_abiertos_covid19.zip")
}

async fn body(store: &SharedStore, topic: Topic, scope: Scope) -> String {
    let snapshot = store.current_snapshot().await.unwrap().expect("a snapshot");
    snapshot.answer(&AnswerKey::new(topic, scope)).expect("the answer").answer.body().to_owned()
}

fn leon() -> Scope {
    Scope::Municipio(MunicipioId::try_from(20).unwrap())
}

async fn a_zip_over_http_becomes_every_answer_with_date_source_and_recounted_figures(kind: StoreKind) {
    let s = kind.open().await;
    let csv = first_release();
    let expected = recount(&csv, 11);
    let zipped = zip("200413COVID19MEXICO.csv", &csv);
    let (_server, http) = served(zipped.clone()).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);

    let report = run(&ingest).await;
    let r = &report.run;
    assert_eq!(r.result, RunResult::Published, "{:?}", r.error);
    assert_eq!((r.bytes, r.rows), (zipped.len() as u64, 300));
    assert_eq!(r.data_date, Some(jiff::civil::date(2020, 4, 13)));
    for event in ["SourceFetched", "DatasetParsed", "SnapshotPublished"] {
        assert!(report.events.contains(event), "{event} in {:?}", report.events);
    }

    let snapshot = s.store.current_snapshot().await.unwrap().unwrap();
    assert_eq!(Some(snapshot.version), r.version);
    assert_eq!(snapshot.content.answers.len(), 4 * 47, "four topics for the state and 46 municipios");
    let provenance = &snapshot.content.provenance["covid"];
    assert_eq!((provenance.rows, provenance.data_date), (300, jiff::civil::date(2020, 4, 13)));
    for answer in snapshot.content.answers.values() {
        let text = answer.answer.body();
        assert!(text.contains("13 de abril de 2020"), "{text}");
        assert!(text.contains("Secretaría de Salud federal, datos abiertos COVID-19"), "{text}");
    }
    let estado = body(&s.store, Topic::from_static("confirmados"), Scope::Estado).await;
    let confirmed = es_mx::integer(expected.by_unidad_medica[0] as i64);
    assert!(estado.contains(&format!("*{confirmed}* casos")), "{estado}");
    let descartados = body(&s.store, Topic::from_static("descartados"), Scope::Estado).await;
    assert!(
        descartados.contains(&format!("*{}*", es_mx::integer(expected.by_unidad_medica[2] as i64))),
        "{descartados}"
    );
    let leon_text = body(&s.store, Topic::from_static("confirmados"), leon()).await;
    let leon_expected = expected.municipios.get(&20).map_or(0, |t| t[0]);
    assert!(leon_text.contains(&format!("*{leon_expected}* casos")), "{leon_text}");
    assert!(leon_text.starts_with("*Casos confirmados de COVID-19 en León*"), "{leon_text}");

    let runs = s.store.runs(&RunFilter { limit: 10, ..RunFilter::default() }).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].version, r.version);
    assert_eq!(runs[0].id, r.id);
}

async fn an_unchanged_file_is_recorded_as_unchanged_and_not_published_again(kind: StoreKind) {
    let s = kind.open().await;
    let (server, http) = served(zip("a.csv", &first_release())).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    let first = run(&ingest).await.run;
    assert_eq!(first.result, RunResult::Published);

    let second = run(&ingest).await;
    assert_eq!(second.run.result, RunResult::Unchanged);
    assert!(second.events.contains("SourceUnchanged"));
    let seen = server.seen_if_none_match.lock().unwrap().clone();
    assert_eq!(seen[0], None);
    assert!(seen[1].is_some(), "the second request was conditional");
    assert_eq!(s.store.current_version().await.unwrap(), first.version, "nothing was published again");

    // The same bytes without an ETag match (another mirror): the checksum says unchanged.
    let plain_server = testkit::serve(
        axum::Router::new().route("/datos_abiertos_covid19.zip", get(|| async { zip("a.csv", &first_release()) })),
    )
    .await;
    let (mirror, _data2) = ingest_with(s.store.clone(), covid_settings(&url(&plain_server)), None);
    let third = run(&mirror).await.run;
    assert_eq!(third.result, RunResult::Unchanged);
    assert_eq!(s.store.current_version().await.unwrap(), first.version);
    let runs = s.store.runs(&RunFilter { limit: 10, ..RunFilter::default() }).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.result).collect::<Vec<_>>(),
        [RunResult::Unchanged, RunResult::Unchanged, RunResult::Published]
    );
}

async fn other_sources_answers_are_carried_over(kind: StoreKind) {
    let s = kind.open().await;
    let mut content = schemas::SnapshotContent::default();
    let sintomas = AnswerKey::estado(Topic::from_static("sintomas"));
    content.replace_source(
        Provenance {
            source: "sintomas".parse().unwrap(),
            url: "file:///sintomas.toml".into(),
            fetched_at: jiff::Timestamp::now(),
            data_date: jiff::civil::date(2020, 4, 1),
            checksum: "00".repeat(32),
            rows: 1,
        },
        [(sintomas, Answer::text("Fiebre, tos seca y cansancio.").unwrap())],
    );
    content
        .router
        .municipio_aliases
        .insert(schemas::Keyword::parse("La Capital").unwrap(), MunicipioId::try_from(15).unwrap());
    let before = s.store.publish(&content, None, 5).await.unwrap();
    let (_server, http) = served(zip("a.csv", &first_release())).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    assert_eq!(run(&ingest).await.run.result, RunResult::Published);
    let after = s.store.current_snapshot().await.unwrap().unwrap();
    assert!(after.version > before.version);
    assert_eq!(after.answer(&sintomas).unwrap().answer.body(), "Fiebre, tos seca y cansancio.");
    assert_eq!(after.content.provenance.len(), 2);
    let bundled = ingest::sources::menu::bundled_topics();
    assert_eq!(after.content.router.topics, *bundled, "the catalogue in force is recorded with the answers");
    let router = schemas::RouterTable { topics: Default::default(), ..after.content.router.clone() };
    assert_eq!(router, before.content.router, "the rest of the router table belongs to another source");
}

/// The April rows without `drop` of the state's confirmed cases, dated `date`.
fn day(date: &str, drop: usize) -> Vec<u8> {
    let mut t = Table::parse(&first_release());
    let (result, um) = (t.col("RESULTADO"), t.col("ENTIDAD_UM"));
    let mut dropped = 0;
    t.rows.retain(|r| {
        let keep = !(r[result] == b"1" && r[um] == b"11" && dropped < drop);
        dropped += usize::from(!keep);
        keep
    });
    assert_eq!(dropped, drop);
    t.map("FECHA_ACTUALIZACION", |_| date.as_bytes().to_vec());
    zip("x.csv", &t.to_csv(false))
}

async fn falling_figures_are_quarantined_until_a_maintainer_forces_them(kind: StoreKind) {
    let s = kind.open().await;
    let (server, http) = served(day("2020-04-13", 0)).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    let good = run(&ingest).await.run;
    assert_eq!(good.result, RunResult::Published);
    let good_text = body(&s.store, Topic::from_static("confirmados"), Scope::Estado).await;

    server.set(day("2020-04-14", 5));
    let report = run(&ingest).await;
    assert_eq!(report.run.result, RunResult::Quarantined, "{:?}", report.run.error);
    assert!(report.events.contains("DatasetQuarantined"));
    let error = report.run.error.unwrap();
    assert!(error.contains("los casos confirmados del estado bajan de"), "{error}");
    assert!(error.contains("contacto ingest --force covid"), "{error}");
    assert_eq!(s.store.current_version().await.unwrap(), good.version, "a quarantined dataset is not published");
    assert_eq!(body(&s.store, Topic::from_static("confirmados"), Scope::Estado).await, good_text);

    // The same file again: still quarantined (and not published by a later normal run).
    assert_eq!(run(&ingest).await.run.result, RunResult::Unchanged);
    assert_eq!(s.store.current_version().await.unwrap(), good.version);

    let forced = ingest.run("covid", RunMode::Force(Actor::CommandLine), Progress::shared()).await.unwrap().run;
    assert_eq!(forced.result, RunResult::Published);
    assert!(forced.forced);
    assert_eq!(forced.forced_by, Some(Actor::CommandLine));
    assert_eq!(forced.data_date, Some(jiff::civil::date(2020, 4, 14)));
    assert!(forced.version > good.version);
    let now = body(&s.store, Topic::from_static("confirmados"), Scope::Estado).await;
    assert!(now.contains("14 de abril de 2020") && now != good_text, "{now}");

    let again = ingest.run("covid", RunMode::Force(Actor::CommandLine), Progress::shared()).await;
    assert!(
        matches!(again, Err(RunError::NotRun(ingest::NotRun::NothingQuarantined(_)))),
        "nothing left to force: {again:?}"
    );
}

async fn a_data_date_going_back_is_quarantined(kind: StoreKind) {
    let s = kind.open().await;
    let (server, http) = served(day("2020-04-14", 0)).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    assert_eq!(run(&ingest).await.run.result, RunResult::Published);
    server.set(day("2020-04-13", 0));
    let r = run(&ingest).await.run;
    assert_eq!(r.result, RunResult::Quarantined);
    let error = r.error.unwrap();
    assert!(
        error.contains("la fecha de los datos retrocede: 13 de abril de 2020 después de 14 de abril de 2020"),
        "{error}"
    );
}

async fn a_rejected_dataset_never_reaches_the_snapshot(kind: StoreKind) {
    let s = kind.open().await;
    let (server, http) = served(day("2020-04-13", 0)).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    let good = run(&ingest).await.run;

    let renamed = String::from_utf8(first_release()).unwrap().replacen("ENTIDAD_UM", "ENTIDAD_UNIDAD_MEDICA", 1);
    server.set(zip("201014COVID19MEXICO.csv", renamed.as_bytes()));
    let report = run(&ingest).await;
    let r = &report.run;
    assert_eq!(r.result, RunResult::Rejected);
    assert!(r.source_drift);
    assert!(report.events.contains("DatasetRejected"));
    let error = r.error.as_deref().unwrap();
    assert!(
        error.starts_with("datos_abiertos_covid19.zip:201014COVID19MEXICO.csv: la cabecera no corresponde"),
        "{error}"
    );
    assert!(error.contains("Faltan: ENTIDAD_UM.") && error.contains("Sobran: ENTIDAD_UNIDAD_MEDICA."), "{error}");

    let mut t = Table::parse(&first_release());
    for row in t.rows.iter_mut().take(3) {
        row[6] = b"XX".to_vec();
    }
    server.set(zip("x.csv", &t.to_csv(false)));
    let r = run(&ingest).await.run;
    assert_eq!(r.result, RunResult::Rejected);
    assert!(!r.source_drift);
    assert_eq!(r.warnings.len(), 3);
    assert!(r.warnings[0].starts_with("datos_abiertos_covid19.zip:x.csv:2:7: ENTIDAD_RES:"), "{:?}", r.warnings);

    server.set(zip("x.csv", &first_release())[..200].to_vec());
    let r = run(&ingest).await.run;
    assert_eq!(r.result, RunResult::Failed);
    assert!(r.error.unwrap().contains("el ZIP está incompleto o dañado"));
    assert_eq!(s.store.current_version().await.unwrap(), good.version, "nothing bad was published");
}

async fn two_runs_of_one_source_never_overlap(kind: StoreKind) {
    let s = kind.open().await;
    // A slow server keeps the first run busy while the second one tries.
    let router = axum::Router::new().route(
        "/datos_abiertos_covid19.zip",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            zip("a.csv", &first_release())
        }),
    );
    let http = testkit::serve(router).await;
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    let ingest = Arc::new(ingest);
    let first = tokio::spawn({
        let ingest = ingest.clone();
        async move { run(&ingest).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = ingest.run("covid", RunMode::Normal, Progress::shared()).await;
    assert!(matches!(second, Err(RunError::NotRun(ingest::NotRun::Busy(_)))), "{second:?}");

    // Another process (a second Ingest on the same store) is kept out by the store lease.
    let (other, _data2) = ingest_with(s.store.clone(), covid_settings(&url(&http)), None);
    let third = other.run("covid", RunMode::Normal, Progress::shared()).await;
    assert!(matches!(third, Err(RunError::NotRun(ingest::NotRun::Busy(_)))), "{third:?}");

    assert_eq!(first.await.unwrap().run.result, RunResult::Published);
    assert_eq!(run(&other).await.run.result, RunResult::Unchanged, "the lease is released at the end");
}

async fn concurrent_publishers_lose_no_answers(kind: StoreKind) {
    let s = kind.open().await;
    // Two processes publishing different sources at the same time: each retries on conflict
    // on top of the other's snapshot, so both sources' answers end up published.
    let publish = |name: &'static str, topic: Topic| {
        let store = s.store.clone();
        tokio::spawn(async move {
            let publisher = ingest::publish::Publisher::new(50, 50);
            for i in 0..10 {
                let provenance = Provenance {
                    source: name.parse().unwrap(),
                    url: format!("file:///{name}"),
                    fetched_at: jiff::Timestamp::now(),
                    data_date: jiff::civil::date(2020, 4, 1),
                    checksum: format!("{i:064}"),
                    rows: i,
                };
                let answer = Answer::text(format!("{name} {i}")).unwrap();
                let render = |_, _: &_| Ok::<_, String>((vec![(AnswerKey::estado(topic), answer.clone())], None));
                publisher.publish(&*store, &provenance, &[], render).await.unwrap();
            }
        })
    };
    let (a, b) =
        (publish("hospitales", Topic::from_static("hospitales")), publish("sintomas", Topic::from_static("sintomas")));
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(body(&s.store, Topic::from_static("hospitales"), Scope::Estado).await, "hospitales 9");
    assert_eq!(body(&s.store, Topic::from_static("sintomas"), Scope::Estado).await, "sintomas 9");
}

#[tokio::test]
async fn a_server_too_slow_for_the_timeout_fails_the_run() {
    let s = testkit::embedded_store().await;
    let router = axum::Router::new().route(
        "/datos_abiertos_covid19.zip",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "tarde"
        }),
    );
    let http = testkit::serve(router).await;
    let mut settings = covid_settings(&url(&http));
    settings.timeout_secs = 1;
    let (ingest, _data) = ingest_with(s.store.clone(), settings, None);
    let started = std::time::Instant::now();
    let r = run(&ingest).await.run;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(r.result, RunResult::Failed);
    assert!(r.error.as_deref().unwrap().contains("tardó más de 1 s en responder"), "{:?}", r.error);
    assert_eq!(s.store.current_version().await.unwrap(), None);
}

#[tokio::test]
async fn a_refused_connection_fails_the_run_naming_the_url_and_keeping_the_cause() {
    let s = testkit::embedded_store().await;
    // A port that was just free and is closed again: connecting is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}/datos_abiertos_covid19.zip");
    let mut settings = covid_settings(&closed);
    settings.retries = 1;
    let (ingest, _data) = ingest_with(s.store.clone(), settings, None);
    let report = run(&ingest).await;
    assert_eq!(report.run.result, RunResult::Failed);
    assert_eq!(report.events.names().iter().filter(|e| **e == "SourceFetchFailed").count(), 2, "retried once");
    let error = report.run.error.unwrap();
    assert!(error.starts_with(&format!("no se pudo conectar con {closed}; revisa la URL")), "{error}");
    assert!(error.contains(" (causa: ") && error.to_lowercase().contains("refused"), "{error}");
    assert_eq!(s.store.current_version().await.unwrap(), None);
}

#[tokio::test]
async fn retryable_failures_are_retried_and_permanent_ones_are_not() {
    let s = testkit::embedded_store().await;
    let (server, http) = served(zip("a.csv", &first_release())).await;
    server.fail_first.lock().unwrap().push(503);
    let mut settings = covid_settings(&url(&http));
    settings.retries = 2;
    let (ingest, _data) = ingest_with(s.store.clone(), settings.clone(), None);
    let report = run(&ingest).await;
    assert_eq!(report.run.result, RunResult::Published);
    assert_eq!(report.events.names().iter().filter(|e| **e == "SourceFetchFailed").count(), 1);
    assert_eq!(server.requests(), 2);

    server.fail_first.lock().unwrap().push(404);
    let report = run(&ingest).await;
    assert_eq!(report.run.result, RunResult::Failed);
    assert!(report.run.error.as_deref().unwrap().ends_with("respondió HTTP 404"), "{:?}", report.run.error);
    assert_eq!(server.requests(), 3, "a 404 is not retried");

    settings.max_bytes = 100;
    let fresh = testkit::embedded_store().await;
    let (capped, _data2) = ingest_with(fresh.store.clone(), settings, None);
    let r = run(&capped).await.run;
    assert_eq!(r.result, RunResult::Failed);
    assert!(r.error.as_deref().unwrap().contains("límite de 100 bytes"), "{:?}", r.error);
}

#[tokio::test]
async fn a_template_error_or_an_answer_too_long_fails_the_run_naming_template_and_key() {
    let s = testkit::embedded_store().await;
    let (_server, http) = served(zip("a.csv", &first_release())).await;
    let templates = templates_copy();
    let path = templates.path().join("defunciones.j2");
    std::fs::write(&path, "{{ fuente }} {{ fecha_datos }} {{ cifras.muertes | numero }}").unwrap();
    let (ingest, _data) = ingest_with(s.store.clone(), covid_settings(&url(&http)), Some(templates.path()));
    let report = run(&ingest).await;
    assert_eq!(report.run.result, RunResult::Failed);
    assert!(report.events.contains("RenderFailed"));
    let error = report.run.error.unwrap();
    assert!(error.starts_with("plantilla defunciones.j2, respuesta defunciones/estado:"), "{error}");
    assert_eq!(s.store.current_version().await.unwrap(), None);

    std::fs::write(&path, "{{ fuente }} {{ fecha_datos }} {% for i in range(5000) %}x{% endfor %}").unwrap();
    let error = run(&ingest).await.run.error.unwrap();
    assert!(error.contains("plantilla defunciones.j2, respuesta defunciones/estado: el texto tiene"), "{error}");
    assert!(error.contains("WhatsApp admite como máximo 4,096"), "{error}");

    std::fs::write(&path, "Sin fecha. {{ fuente }}").unwrap();
    let error = run(&ingest).await.run.error.unwrap();
    assert!(error.contains("no dice la fecha de los datos («13 de abril de 2020»)"), "{error}");

    // A maintainer's fix applies to the next run without recompiling.
    std::fs::copy(repo().join("templates/defunciones.j2"), &path).unwrap();
    assert_eq!(run(&ingest).await.run.result, RunResult::Published);
}

#[tokio::test]
async fn a_local_file_is_read_in_place_and_relative_paths_follow_the_config_file() {
    let s = testkit::embedded_store().await;
    let source = covid_settings("file://fixtures/covid19mexico/datos_abiertos_covid19.zip");
    let (ingest, _data) = ingest_with(s.store.clone(), source, None);
    let first = run(&ingest).await.run;
    assert_eq!(first.result, RunResult::Published, "{:?}", first.error);
    assert_eq!(first.rows, 590);
    assert_eq!(run(&ingest).await.run.result, RunResult::Unchanged, "same size and time");

    let missing = covid_settings("file:///nonexistent/datos.zip");
    let (ingest, _data) = ingest_with(s.store.clone(), missing, None);
    let r = run(&ingest).await.run;
    assert_eq!(
        (r.result, r.error.as_deref()),
        (RunResult::Failed, Some("no existe el archivo /nonexistent/datos.zip"))
    );
}

#[tokio::test]
async fn unknown_options_and_values_are_refused_naming_the_field() {
    let s = testkit::embedded_store().await;
    let cases = [
        ("state_cod", serde_json::json!(11), "sources.covid.state_cod"),
        ("state_code", serde_json::json!(14), "sources.covid.state_code"),
        ("state_basis", serde_json::json!("domicilio"), "sources.covid.state_basis"),
        ("error_budget_percent", serde_json::json!(-1), "sources.covid.error_budget_percent"),
    ];
    for (key, value, field) in cases {
        let mut source = covid_settings("file:///x.zip");
        source.options.insert(key.into(), value);
        let mut settings = settings::Settings::default();
        settings.sources.insert("covid".parse().unwrap(), source);
        let Err(error) = ingest::Ingest::from_settings(&settings, s.store.clone()) else { panic!("{key} accepted") };
        assert!(error.to_string().contains(field), "{key}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_each_source_on_its_cron() {
    let s = testkit::embedded_store().await;
    let mut source = covid_settings("file://fixtures/covid19mexico/datos_abiertos_covid19.zip");
    source.schedule = "*/1 * * * * *".into();
    let (ingest, _data) = ingest_with(s.store.clone(), source, None);
    let scheduler = ingest::Scheduler::start(Arc::new(ingest), chrono_tz::America::Mexico_City, false).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let runs = s.store.runs(&RunFilter { limit: 10, ..RunFilter::default() }).await.unwrap();
        if runs.len() >= 2 {
            assert_eq!(runs.last().unwrap().result, RunResult::Published);
            assert_eq!(runs[0].result, RunResult::Unchanged);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the scheduler ran {} times in 10 s", runs.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scheduler.shutdown().await;
}
