//! Every source kind but the national file (semáforo page, state semáforo, state figures,
//! hospitals, programmes, symptoms, vaccines, the menu), each served from a real HTTP server on
//! 127.0.0.1: answers with their date and source, changed markup, 404, a slow server, a file in
//! the wrong encoding, schema errors at their exact line and column, quarantine and force, and
//! one failing source leaving every other answer current.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::routing::get;
use ingest::sources::menu::bundled_topics;
use ingest::{Ingest, Progress, RunMode, RunReport};
use schemas::{
    Actor, AnswerKey, Interactive, Keyword, MenuId, MunicipioId, RunResult, Scope, Snapshot, Target, Topic, es_mx,
};
use settings::SourceSettings;
use testkit::{StoreKind, TestStore};

use crate::helpers::*;

testkit::on_both_stores!(
    every_kind_served_over_http_publishes_its_answers_each_with_its_date_and_source,
    a_changed_page_is_source_drift_naming_the_selector_and_the_last_colour_stays,
    a_hospital_list_that_falls_from_57_units_to_3_waits_in_quarantine_until_forced,
    a_failing_source_keeps_its_answers_while_the_others_stay_current,
    the_semaforo_answer_shows_both_colours_however_its_two_sources_interleave,
);

/// Each source (named as its kind) and its bundled fixture.
const SOURCES: [(&str, &str); 8] = [
    ("semaforo", "semaforo/semaforo.html"),
    ("semaforo_estatal", "semaforo/semaforo_estatal.toml"),
    ("estatal", "estatal/estatal.toml"),
    ("hospitales", "hospitales/hospitales_2020-09-24.csv"),
    ("programas", "programas/programas_2020-07-09.csv"),
    ("sintomas", "sintomas/sintomas.toml"),
    ("vacunas", "vacunas/vacunas.toml"),
    ("menu", "menu/menu.toml"),
];

fn bundled(path: &str) -> Vec<u8> {
    std::fs::read(repo().join("fixtures").join(path)).unwrap()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// Every source's file on its own server, at its fixture's file name.
struct Site {
    files: BTreeMap<&'static str, FileServer>,
    urls: BTreeMap<&'static str, String>,
    _http: Vec<testkit::TestServer>,
}

impl Site {
    async fn start() -> Site {
        let (mut files, mut urls, mut http) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
        for (name, path) in SOURCES {
            let server = FileServer::default();
            server.set(bundled(path));
            let route = format!("/{}", file_name(path));
            let running = server.start_at(&route).await;
            urls.insert(name, running.url(&route));
            files.insert(name, server);
            http.push(running);
        }
        Site { files, urls, _http: http }
    }

    fn set(&self, name: &str, bytes: impl Into<Vec<u8>>) {
        self.files[name].set(bytes.into());
    }

    fn settings(&self, name: &str) -> SourceSettings {
        let mut s = source_settings(name, &self.urls[name]);
        if name == "semaforo" {
            s.options.insert("periodo_selector".into(), "#vigencia".into());
        }
        s
    }

    fn ingest(&self, store: &store::SharedStore) -> (Ingest, tempfile::TempDir) {
        ingest_with_sources(store.clone(), SOURCES.map(|(name, _)| (name, self.settings(name))), None)
    }
}

async fn run(ingest: &Ingest, name: &str) -> RunReport {
    ingest.run(name, RunMode::Normal, Progress::shared()).await.unwrap()
}

async fn run_all(ingest: &Ingest) -> BTreeMap<String, RunReport> {
    let mut out = BTreeMap::new();
    for (name, _) in SOURCES {
        out.insert(name.to_owned(), run(ingest, name).await);
    }
    out
}

async fn snapshot(s: &TestStore) -> Snapshot {
    s.store.current_snapshot().await.unwrap().expect("a snapshot")
}

fn text(snapshot: &Snapshot, topic: Topic, scope: Scope) -> String {
    snapshot
        .answer(&AnswerKey::new(topic, scope))
        .unwrap_or_else(|| panic!("no {topic}/{scope}"))
        .answer
        .body()
        .to_owned()
}

fn municipio(code: u16) -> Scope {
    Scope::Municipio(MunicipioId::try_from(code).unwrap())
}

/// The hospital fixture's rows, read with the `csv` crate: (name, institution, occupancy, municipio).
fn hospital_rows() -> Vec<[String; 4]> {
    let bytes = bundled("hospitales/hospitales_2020-09-24.csv");
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            [r[0].to_owned(), r[2].to_owned(), r[4].to_owned(), r[5].to_owned()]
        })
        .collect()
}

async fn every_kind_served_over_http_publishes_its_answers_each_with_its_date_and_source(kind: StoreKind) {
    let s = kind.open().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    for (name, report) in run_all(&ingest).await {
        assert_eq!(report.run.result, RunResult::Published, "{name}: {:?}", report.run.error);
        for event in ["SourceFetched", "DatasetParsed", "SnapshotPublished"] {
            assert!(report.events.contains(event), "{name}: {event} in {:?}", report.events);
        }
    }
    let snap = snapshot(&s).await;

    // Every answer states the data date of its source and the source itself.
    let attribution = |source: &str| -> &str {
        match source {
            "semaforo" => "Secretaría de Salud federal, semáforo de riesgo epidémico",
            "estatal" => "Secretaría de Salud de Guanajuato",
            "hospitales" => "Red IRAG, Secretaría de Salud",
            "sintomas" => "Secretaría de Salud",
            "vacunas" => "Secretaría de Salud, vacunacovid.gob.mx",
            "menu" => "Gobierno del Estado de Guanajuato, Contacto Ciudadano",
            _ => "Gobierno del Estado de Guanajuato",
        }
    };
    for (key, answer) in &snap.content.answers {
        let provenance = &snap.content.provenance[&answer.source];
        let body = answer.answer.body();
        assert!(body.contains(&es_mx::long_date(provenance.data_date)), "{key}: {body}");
        assert!(body.contains(attribution(answer.source.as_str())), "{key}: {body}");
    }

    let recuperados = text(&snap, Topic::from_static("recuperados"), Scope::Estado);
    assert!(recuperados.contains("se han recuperado *33* personas de 102 casos confirmados"), "{recuperados}");
    let comunitaria = text(&snap, Topic::from_static("transmision_comunitaria"), Scope::Estado);
    assert!(comunitaria.contains("hay *10* casos de transmisión comunitaria"), "{comunitaria}");
    assert!(comunitaria.contains("La epidemia está en fase dos."), "{comunitaria}");

    // Hospitals: the state lists all 57; León lists exactly its rows, with their occupancy.
    let rows = hospital_rows();
    let estado = text(&snap, Topic::from_static("hospitales"), Scope::Estado);
    assert!(estado.contains(&format!("{} unidades de la Red IRAG", rows.len())), "{estado}");
    for [name, institution, occupancy, _] in &rows {
        assert!(estado.contains(&format!("• {name} ({institution}): {occupancy} % ocupado")), "{name}: {estado}");
    }
    let leon = text(&snap, Topic::from_static("hospitales"), municipio(20));
    let in_leon: Vec<_> = rows.iter().filter(|r| r[3] == "León").collect();
    assert_eq!(leon.matches("• ").count(), in_leon.len(), "{leon}");
    for [name, ..] in in_leon {
        assert!(leon.contains(name.as_str()), "{leon}");
    }
    let atarjea = text(&snap, Topic::from_static("hospitales"), municipio(6));
    assert!(atarjea.contains("no tiene unidades en Atarjea"), "{atarjea}");

    let semaforo = text(&snap, Topic::from_static("semaforo"), Scope::Estado);
    assert!(
        semaforo.contains("Semáforo federal de riesgo epidémico: *amarillo*, vigente del 12 al 25 de abril de 2021"),
        "{semaforo}"
    );
    assert!(semaforo.contains("*rojo*, vigente del 25 al 31 de mayo de 2020"), "{semaforo}");
    assert!(semaforo.contains("• Restaurantes: aforo de 30 %"), "{semaforo}");

    let vacunas = text(&snap, Topic::from_static("vacunas"), Scope::Estado);
    assert!(vacunas.contains("se han aplicado *7,062,547* dosis"), "{vacunas}");
    assert!(vacunas.contains("*Etapa 3* (abril a mayo de 2021): Personas de 50 a 59 años."), "{vacunas}");
    let programas = text(&snap, Topic::from_static("programas"), Scope::Estado);
    assert!(
        programas.contains("*Impulso Económico GTO*")
            && programas.contains("https://impulsoeconomico.guanajuato.gob.mx")
    );
    assert!(
        text(&snap, Topic::from_static("sintomas"), Scope::Estado)
            .starts_with("*Signos y síntomas de COVID-19*\nLos síntomas más comunes")
    );
    for topic in [
        Topic::AYUDA,
        Topic::CONECTATE_ALTA,
        Topic::CONECTATE_YA_SUSCRITO,
        Topic::CONECTATE_BAJA,
        Topic::CONECTATE_NO_SUSCRITO,
    ] {
        assert!(!text(&snap, topic, Scope::Estado).is_empty());
    }

    // The menu source owns the router table: menus as WhatsApp lists whose rows carry the
    // reply ids, with the same numbered options in the text.
    let router = &snap.content.router;
    let principal = router.main_menu().expect("the main menu");
    let Some(Interactive::List(list)) = principal.answer.interactive() else { panic!("a list") };
    let rows: Vec<(&str, &str)> = list.sections[0].rows.iter().map(|r| (r.id.as_str(), r.title.as_str())).collect();
    assert_eq!(rows[0], ("m:cifras", "Cifras de COVID-19"));
    assert_eq!(rows[1], ("t:hospitales", "Hospitales habilitados"));
    for (i, entry) in principal.entries.iter().enumerate() {
        assert_eq!(entry.number as usize, i + 1);
        assert!(principal.answer.body().contains(&format!("*{}.* {}", entry.number, entry.label)));
    }
    assert_eq!(text(&snap, Topic::MENU, Scope::Estado), principal.answer.body());
    let cifras = router.menu(&"cifras".parse::<MenuId>().unwrap()).unwrap();
    assert_eq!(cifras.entry(6).unwrap().target, Target::Topic(Topic::from_static("transmision_comunitaria")));
    let target = |phrase: &str| {
        let phrase = Keyword::parse(phrase).unwrap();
        router.keywords.iter().find(|k| k.phrase == phrase).map(|k| k.target.clone())
    };
    for alta in ["alta", "suscribir", "suscribirme", "unirme", "recibir avisos"] {
        assert_eq!(target(alta), Some(Target::Topic(Topic::CONECTATE_ALTA)), "{alta}");
    }
    // The name alone opens the Conéctate menu: a subscription needs a request.
    assert_eq!(target("Conéctate"), Some(Target::Menu("conectate".parse().unwrap())));
    for baja in ["baja", "cancelar", "stop", "salirme", "no más"] {
        assert_eq!(target(baja), Some(Target::Topic(Topic::CONECTATE_BAJA)), "{baja}");
    }
    assert_eq!(target("síntomas"), Some(Target::Topic(Topic::from_static("sintomas"))));
    assert_eq!(target("hola"), Some(Target::Menu(MenuId::principal())));
    let alias = |a: &str| router.municipio_aliases.get(&Keyword::parse(a).unwrap()).map(|m| m.code());
    for (a, code) in [
        ("San Miguel", 3),
        ("SMA", 3),
        ("Dolores", 14),
        ("Silao", 37),
        ("Juventino Rosas", 35),
        ("Purisima", 25),
        ("penjamo", 23),
    ] {
        assert_eq!(alias(a), Some(code), "{a}");
    }
}

/// The semáforo answer shows the federal colour (one source) and the state's (another). Run
/// at the same time, as `contacto run` and `contacto ingest --once` do, in one process or in two,
/// the answer citizens read must show both: before publishing read each other's data afresh,
/// 3 of 4 starts of `contacto run` said "Todavía no tenemos el color del semáforo federal".
async fn the_semaforo_answer_shows_both_colours_however_its_two_sources_interleave(kind: StoreKind) {
    let site = Site::start().await;
    for round in 0..8 {
        let s = kind.open().await;
        let (one, _data1) = site.ingest(&s.store);
        let (two, _data2) = site.ingest(&s.store);
        // Even rounds: one process runs both; odd rounds: two processes, one source each.
        let other = if round % 2 == 0 { &one } else { &two };
        let (federal, estatal) = tokio::join!(run(&one, "semaforo"), run(other, "semaforo_estatal"));
        assert_eq!((federal.run.result, estatal.run.result), (RunResult::Published, RunResult::Published));
        let semaforo = text(&snapshot(&s).await, Topic::from_static("semaforo"), Scope::Estado);
        assert!(semaforo.contains("Semáforo federal de riesgo epidémico: *amarillo*,"), "round {round}: {semaforo}");
        assert!(semaforo.contains("*rojo*, vigente del 25 al 31 de mayo de 2020"), "round {round}: {semaforo}");
    }
}

/// The fixture page with its markup changed by `edit`.
fn page(edit: impl Fn(String) -> String) -> Vec<u8> {
    edit(String::from_utf8(bundled("semaforo/semaforo.html")).unwrap()).into_bytes()
}

async fn a_changed_page_is_source_drift_naming_the_selector_and_the_last_colour_stays(kind: StoreKind) {
    let s = kind.open().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    assert_eq!(run(&ingest, "semaforo").await.run.result, RunResult::Published);
    let good = text(&snapshot(&s).await, Topic::from_static("semaforo"), Scope::Estado);
    let version = s.store.current_version().await.unwrap();

    let cases: [(Vec<u8>, &str); 4] = [
        (
            page(|p| p.replace("NColors['11']", "Colores['11']")),
            "ningún elemento del selector «script» (script_selector) asigna NColors['11']",
        ),
        (
            page(|p| p.replace("NColors['11']='yellow'", "NColors['11']='purple'")),
            "NColors['11'] en «script» (script_selector) es «purple», que no es un color del semáforo",
        ),
        (
            page(|p| p.replace("id=\"vigencia\"", "id=\"periodo\"")),
            "el selector «#vigencia» (periodo_selector) no encontró nada",
        ),
        (
            page(|p| p.replace("del 12 al 25 de abril de 2021", "próximamente")),
            "el texto «Semáforo vigente próximamente» del selector «#vigencia» (periodo_selector) no dice un periodo",
        ),
    ];
    for (bytes, expected) in cases {
        site.set("semaforo", bytes);
        let report = run(&ingest, "semaforo").await;
        let r = &report.run;
        assert_eq!(r.result, RunResult::Rejected, "{expected}");
        assert!(r.source_drift, "{expected}");
        assert!(report.events.contains("DatasetRejected"));
        let error = r.error.as_deref().unwrap();
        assert!(error.starts_with("semaforo.html: la página cambió: "), "{error}");
        assert!(error.contains(expected), "{error}");
        assert_eq!(s.store.current_version().await.unwrap(), version, "nothing was published");
    }
    assert_eq!(
        text(&snapshot(&s).await, Topic::from_static("semaforo"), Scope::Estado),
        good,
        "the last good colour stays"
    );
    let runs = s.store.runs(&schemas::RunFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(runs.iter().filter(|r| r.source_drift).count(), 4, "the run log records each drift");

    // A page without the script, read with a CSS selector given in configuration; Spanish
    // colour names work as well as English ones.
    let mut settings = site.settings("semaforo");
    settings.options.insert("color_selector".into(), "#estado-11 .color".into());
    let (css, _data2) = ingest_with_sources(s.store.clone(), [("semaforo", settings)], None);
    site.set(
        "semaforo",
        "<html><body><p id=\"vigencia\">del 26 de abril al 9 de mayo de 2021</p><div id=\"estado-11\"><span class=\"color\"> Verde </span></div></body></html>",
    );
    let r = run(&css, "semaforo").await.run;
    assert_eq!(r.result, RunResult::Published, "{:?}", r.error);
    let now = text(&snapshot(&s).await, Topic::from_static("semaforo"), Scope::Estado);
    assert!(now.contains("*verde*, vigente del 26 de abril al 9 de mayo de 2021"), "{now}");
    site.set(
        "semaforo",
        "<html><body><p id=\"vigencia\">del 10 al 23 de mayo de 2021</p><div id=\"estado-11\"></div></body></html>",
    );
    let r = run(&css, "semaforo").await.run;
    assert!(r.source_drift);
    assert!(r.error.unwrap().contains("el selector «#estado-11 .color» (color_selector) no encontró nada"));
}

async fn a_hospital_list_that_falls_from_57_units_to_3_waits_in_quarantine_until_forced(kind: StoreKind) {
    let s = kind.open().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    assert_eq!(run(&ingest, "hospitales").await.run.result, RunResult::Published);
    let good = text(&snapshot(&s).await, Topic::from_static("hospitales"), Scope::Estado);

    let full = String::from_utf8(bundled("hospitales/hospitales_2020-09-24.csv")).unwrap();
    let three: String = full.lines().take(4).map(|l| format!("{l}\n")).collect();
    site.set("hospitales", three);
    let report = run(&ingest, "hospitales").await;
    assert_eq!(report.run.result, RunResult::Quarantined, "{:?}", report.run.error);
    assert!(report.events.contains("DatasetQuarantined"));
    let error = report.run.error.unwrap();
    assert!(
        error.contains("las unidades de la lista bajan de 57 a 3 (−94.7 %), por encima del umbral de 50.0 %"),
        "{error}"
    );
    assert!(error.contains("contacto ingest --force hospitales"), "{error}");
    assert_eq!(text(&snapshot(&s).await, Topic::from_static("hospitales"), Scope::Estado), good);

    let forced = ingest.run("hospitales", RunMode::Force(Actor::CommandLine), Progress::shared()).await.unwrap().run;
    assert_eq!((forced.result, forced.forced), (RunResult::Published, true));
    let now = text(&snapshot(&s).await, Topic::from_static("hospitales"), Scope::Estado);
    assert!(now.contains("3 unidades de la Red IRAG"), "{now}");
}

async fn a_failing_source_keeps_its_answers_while_the_others_stay_current(kind: StoreKind) {
    let s = kind.open().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    run_all(&ingest).await;
    let before = snapshot(&s).await;

    // Hospitals answer 404, the menu breaks, the page changes; programmes and vaccines move on.
    site.files["hospitales"].fail_first.lock().unwrap().push(404);
    site.set(
        "menu",
        String::from_utf8(bundled("menu/menu.toml")).unwrap().replace("[textos]", "[textos]\nayda = \"x\""),
    );
    site.set("semaforo", page(|p| p.replace("NColors", "Colors")));
    let programas = String::from_utf8(bundled("programas/programas_2020-07-09.csv")).unwrap()
        + "Salud,Médico en tu casa,Personas que no pueden salir de casa,Llama al número de tu municipio.,https://salud.guanajuato.gob.mx\n";
    site.set("programas", programas);
    site.set(
        "vacunas",
        String::from_utf8(bundled("vacunas/vacunas.toml"))
            .unwrap()
            .replace("2022-05-09", "2022-05-16")
            .replace("7,062,547", "7,100,000"),
    );
    let reports = run_all(&ingest).await;
    let result = |name: &str| reports[name].run.result;
    assert_eq!(
        [result("hospitales"), result("menu"), result("semaforo"), result("programas"), result("vacunas")],
        [RunResult::Failed, RunResult::Rejected, RunResult::Rejected, RunResult::Published, RunResult::Published]
    );
    let after = snapshot(&s).await;
    for key in before.content.answers.keys() {
        let (old, new) = (&before.content.answers[key], &after.content.answers[key]);
        match key.topic.slug() {
            "programas" | "vacunas" => assert_ne!(old, new, "{key} is current"),
            _ => assert_eq!(old, new, "{key} kept"),
        }
    }
    assert_eq!(after.content.router, before.content.router, "the menu's router table stays");
    for source in ["hospitales", "menu", "semaforo"] {
        assert_eq!(after.content.provenance[source], before.content.provenance[source], "{source}");
    }
    assert!(text(&after, Topic::from_static("programas"), Scope::Estado).contains("*Médico en tu casa*"));
    assert!(text(&after, Topic::from_static("vacunas"), Scope::Estado).contains("*7,100,000* dosis"));
    assert!(text(&after, Topic::from_static("vacunas"), Scope::Estado).contains("16 de mayo de 2022"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_or_a_server_too_slow_fails_any_kind_and_keeps_its_answers() {
    let s = testkit::embedded_store().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    run_all(&ingest).await;
    let before = snapshot(&s).await;

    for (name, _) in SOURCES {
        site.files[name].fail_first.lock().unwrap().push(404);
        let r = run(&ingest, name).await.run;
        assert_eq!(r.result, RunResult::Failed, "{name}");
        assert!(r.error.as_deref().unwrap().ends_with("respondió HTTP 404"), "{name}: {:?}", r.error);
    }

    // One slow server for every kind, all at once: each run gives up after its 1 s.
    let slow = testkit::serve(axum::Router::new().route(
        "/{file}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            "tarde"
        }),
    ))
    .await;
    let sources = SOURCES.map(|(name, path)| {
        let mut settings = source_settings(name, &slow.url(&format!("/{}", file_name(path))));
        settings.timeout_secs = 1;
        (name, settings)
    });
    let (slow_ingest, _data2) = ingest_with_sources(s.store.clone(), sources, None);
    let started = std::time::Instant::now();
    let runs = futures::future::join_all(SOURCES.map(|(name, _)| run(&slow_ingest, name))).await;
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    for report in runs {
        let r = report.run;
        assert_eq!(r.result, RunResult::Failed, "{}", r.source);
        assert!(r.error.as_deref().unwrap().contains("tardó más de 1 s en responder"), "{:?}", r.error);
    }
    assert_eq!(snapshot(&s).await.content, before.content, "every answer stays");
}

/// Windows-1252 (what Excel saves as "CSV"), byte by byte.
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '…' => 0x85,
            c if (c as u32) < 0x100 => c as u8,
            c => panic!("{c:?} is not in the fixtures"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_pages_in_windows_1252_give_the_same_answers_with_a_warning() {
    let (utf8, latin) = (testkit::embedded_store().await, testkit::embedded_store().await);
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&utf8.store);
    run_all(&ingest).await;

    for (name, path) in SOURCES {
        let text = String::from_utf8(bundled(path)).unwrap().replace("charset=\"utf-8\"", "charset=\"iso-8859-1\"");
        site.set(name, windows_1252(&text));
    }
    let (ingest, _data2) = site.ingest(&latin.store);
    for (name, report) in run_all(&ingest).await {
        let r = report.run;
        assert_eq!(r.result, RunResult::Published, "{name}: {:?}", r.error);
        assert!(
            r.warnings.iter().any(|w| w.contains("el archivo no está en UTF-8; se leyó como Windows-1252")),
            "{name}: {:?}",
            r.warnings
        );
    }
    let (a, b) = (snapshot(&utf8).await, snapshot(&latin).await);
    assert_eq!(a.content.answers, b.content.answers, "every accent, quote and bullet read right");
    assert_eq!(a.content.router, b.content.router);
    let guanajuato = text(&b, Topic::from_static("hospitales"), municipio(15));
    assert!(guanajuato.contains("Hospital General Guanajuato ´´dr. Valentín Gracia´´"), "{guanajuato}");
}

/// The 1-based line and character column where `needle` starts in `text`.
fn place(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle} not in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    (line, column)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_errors_are_reported_at_their_exact_line_and_column() {
    let s = testkit::embedded_store().await;
    let site = Site::start().await;
    let (ingest, _data) = site.ingest(&s.store);
    let rejected = |report: RunReport| {
        assert_eq!(report.run.result, RunResult::Rejected, "{:?}", report.run.error);
        assert!(!report.run.source_drift, "bad values are not drift");
        report.run.warnings
    };

    // CSV: the column is the field's position; the line is the file's.
    let csv = String::from_utf8(bundled("hospitales/hospitales_2020-09-24.csv"))
        .unwrap()
        .replace("\"GTSSA005683\",\"31\",\"León\"", "\"GTSSA005683\",\"-18\",\"Leonn\"")
        // Eleven bytes with a letter of two across the fifth: reported, not a panic (a finding
        // of the maintainer_files fuzz target).
        .replace("\"GTSSA017443\"", "\"GTSS¡01744\"");
    site.set("hospitales", csv.clone());
    let line = place(&csv, "Hospital General León").0;
    assert_eq!(
        rejected(run(&ingest, "hospitales").await),
        [
            "hospitales_2020-09-24.csv:2:4: CLUES: una CLUES tiene 5 letras y 6 dígitos (por ejemplo GTSSA005683) («GTSS¡01744»)".to_owned(),
            format!("hospitales_2020-09-24.csv:{line}:5: % de Ocupación: debe estar entre 0 y 100; un valor fuera de ese rango es un error del dato de origen («-18»)"),
            format!("hospitales_2020-09-24.csv:{line}:6: Municipio: no es un municipio de Guanajuato; escribe su nombre (León), un nombre corto (Silao) o su clave INEGI (020) («Leonn»)"),
        ]
    );
    let csv = "sector,nombre,para_quien,como_solicitar,enlace,vigencia\nSalud,X,Todos,En línea,www.salud.gob.mx,2020\n";
    site.set("programas", csv);
    assert_eq!(
        rejected(run(&ingest, "programas").await),
        [
            "programas_2020-07-09.csv:1:6: vigencia: columna desconocida; las columnas son: sector, nombre, para_quien, como_solicitar, url, fecha",
            "programas_2020-07-09.csv:2:5: enlace: debe ser una dirección completa que empiece con https:// o http:// («www.salud.gob.mx»)",
        ]
    );

    // TOML: the column is the value's first character.
    let menu = String::from_utf8(bundled("menu/menu.toml"))
        .unwrap()
        .replace("etiqueta = \"Hospitales habilitados\"", "etiqueta = \"Hospitales habilitados para COVID\"")
        .replacen("tema = \"vacunas\"\n", "tema = \"vacunass\"\n", 1)
        .replace("frases = [\"síntomas\", ", "frases = [\"casos\", \"síntomas\", ");
    site.set("menu", menu.clone());
    let (l1, c1) = place(&menu, "\"Hospitales habilitados para COVID\"");
    let (l2, c2) = place(&menu, "\"vacunass\"");
    let (l3, c3) = place(&menu, "\"casos\", \"síntomas\"");
    let (l4, _) = place(&menu, "\"casos\", \"positivos\"");
    let errors = rejected(run(&ingest, "menu").await);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(
        errors[0],
        format!(
            "menu.toml:{l1}:{c1}: etiqueta: tiene 33 caracteres y WhatsApp admite 24 en el título de una opción; acórtalo («Hospitales habilitados para COVID»)"
        )
    );
    assert!(
        errors[1].starts_with(&format!("menu.toml:{l2}:{c2}: tema: «vacunass» no es un tema conocido")),
        "{errors:?}"
    );
    assert_eq!(
        errors[2],
        format!(
            "menu.toml:{l3}:{c3}: frases: ya lleva al tema «confirmados» en la línea {l4}; una frase solo puede llevar a un lugar («casos»)"
        )
    );

    let vacunas =
        String::from_utf8(bundled("vacunas/vacunas.toml")).unwrap().replace("\"7,062,547\"", "\"siete millones\"");
    site.set("vacunas", vacunas.clone());
    let (l, c) = place(&vacunas, "\"siete millones\"");
    assert_eq!(
        rejected(run(&ingest, "vacunas").await),
        [format!(
            "vacunas.toml:{l}:{c}: dosis_aplicadas: debe ser un número entero de 0 en adelante (sin decimales ni signos) («siete millones»)"
        )]
    );
    let broken = "color = \"rojo\nvigente_desde = 2020-05-25\n";
    site.set("semaforo_estatal", broken);
    let errors = rejected(run(&ingest, "semaforo_estatal").await);
    assert!(errors[0].starts_with("semaforo_estatal.toml:1:"), "{errors:?}");
    assert!(errors[0].contains("el archivo no es TOML válido"), "{errors:?}");
    assert_eq!(s.store.current_version().await.unwrap(), None, "nothing bad was published");
}

/// The state portal's raw `infectados.json` (docs/formats.md §d.1), made from the scraper's stored
/// form: `casos` with string values, `listado` with lists of one-field objects.
fn raw_portal(with_bad_value: bool) -> String {
    let parsed: serde_json::Value =
        serde_json::from_slice(&bundled("estatal/infectados_json_parsed_2020-04-14.json")).unwrap();
    let mut casos = parsed["resumen"].clone();
    if with_bad_value {
        casos["recuperados"] = "-3".into();
    }
    let listado: serde_json::Map<String, serde_json::Value> = parsed["estados"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, m)| {
            let list: Vec<serde_json::Value> =
                m.as_object().unwrap().iter().map(|(k, v)| serde_json::json!({ k: v })).collect();
            (name.clone(), list.into())
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "casos": casos, "listado": listado })).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_portal_json_reads_raw_or_as_scrapers_store_it_like_the_toml_file() {
    let s = testkit::embedded_store().await;
    let raw = raw_portal(false);
    let router = axum::Router::new().route(
        "/infectados.json",
        get(move || {
            let raw = raw.clone();
            async move { ([(axum::http::header::LAST_MODIFIED, "Tue, 14 Apr 2020 04:15:23 GMT")], raw) }
        }),
    );
    let http = testkit::serve(router).await;
    let (ingest, _data) = ingest_with_sources(
        s.store.clone(),
        [("estatal", source_settings("estatal", &http.url("/infectados.json")))],
        None,
    );
    let r = run(&ingest, "estatal").await.run;
    assert_eq!(r.result, RunResult::Published, "{:?}", r.error);
    assert_eq!(r.data_date, Some(jiff::civil::date(2020, 4, 13)), "Last-Modified, in Guanajuato's time");

    let state = ingest::state::SourceState::new(&*s.store, &"estatal".parse().unwrap())
        .last_good::<serde_json::Value>()
        .await
        .unwrap()
        .unwrap()
        .dataset;
    let settings = settings::Settings::default();
    for file in ["estatal/infectados_json_parsed_2020-04-14.json", "estatal/estatal.toml"] {
        let path = repo().join("fixtures").join(file);
        let checker = ingest::offline::resolve(&settings, &path, Some("estatal")).unwrap().checker;
        let renderer = ingest::render::Renderer::load(&repo().join("templates")).unwrap();
        let checked = checker
            .check(&ingest::fetch::Body::from_file(&path).unwrap(), &renderer, Default::default(), bundled_topics())
            .unwrap();
        assert_eq!(checked.dataset, state, "{file} holds the same figures");
    }

    let (_dir, bad) = temp_file("infectados.json", raw_portal(true).as_bytes());
    let checker = ingest::offline::resolve(&settings, &bad, None).unwrap();
    assert_eq!(checker.kind, "estatal", "recognised by its content");
    let renderer = ingest::render::Renderer::load(&repo().join("templates")).unwrap();
    let Err(problem) = checker.checker.check(
        &ingest::fetch::Body::from_file(&bad).unwrap(),
        &renderer,
        Default::default(),
        bundled_topics(),
    ) else {
        panic!("a negative count passed")
    };
    let text = raw_portal(true);
    let (l, c) = place(&text, "\"-3\"");
    assert_eq!(
        problem.lines(),
        [format!(
            "infectados.json:{l}:{c}: recuperados: debe ser un número entero de 0 en adelante (sin decimales ni signos) («-3»)"
        )]
    );
}

#[test]
fn the_bundled_catalogue_is_the_menu_files_and_the_responders_fixture_carries_it() {
    let bundled = bundled_topics();
    let parsed =
        ingest::sources::menu::topics_in(&repo().join("fixtures/menu/menu.toml"), &Default::default()).unwrap();
    assert_eq!(parsed, *bundled);
    let slugs: Vec<&str> = bundled.subjects().map(|t| t.slug()).collect();
    assert_eq!(
        slugs,
        [
            "confirmados",
            "sospechosos",
            "descartados",
            "defunciones",
            "recuperados",
            "transmision_comunitaria",
            "hospitales",
            "sintomas",
            "semaforo",
            "programas",
            "vacunas"
        ],
        "today's topics, in today's order"
    );
    assert_eq!(bundled.place_topic.map(|t| t.slug()), Some("confirmados"), "a place alone asks for the cases");
    assert_eq!(testkit::fixture_snapshot().router.topics, *bundled, "fixtures/responder/snapshot.json is up to date");
}
