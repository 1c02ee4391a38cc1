//! `contacto runs --stale`: which answers are older than their source's cadence, and why, on
//! both stores.

use std::collections::BTreeMap;

use ingest::staleness::{Stale, Why, stale};
use ingest::{Progress, RunMode};
use jiff::{Timestamp, ToSpan};
use schemas::{RunResult, SourceName, Topic};
use settings::SourceSettings;
use testkit::StoreKind;

use crate::helpers::*;

testkit::on_both_stores!(stale_answers_are_listed_with_why);

fn mexico() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("America/Mexico_City").unwrap()
}

/// A source `kind` reading `file` (written into `dir`) every hour, expected every `cadence` h.
fn source(kind: &str, dir: &std::path::Path, file: &str, text: &str, cadence: u32) -> SourceSettings {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    let mut s = source_settings(kind, &format!("file://{}", path.display()));
    s.cadence_hours = cadence;
    s
}

fn programas(rows: usize, date: &str) -> String {
    let mut csv = "sector,nombre,para_quien,como_solicitar,url,fecha\n".to_owned();
    for i in 0..rows {
        csv.push_str(&format!("Economía,Programa {i},Negocios,En línea,https://example.org/{i},{date}\n"));
    }
    csv
}

const VACUNAS: &str =
    "fecha = 2020-04-13\ndosis_aplicadas = 10\n[[etapa]]\nnumero = 1\nperiodo = \"2020\"\nquienes = \"Todos\"\n";
const SEMAFORO_ESTATAL: &str =
    "color = \"rojo\"\nvigente_desde = 2020-05-25\nvigente_hasta = 2020-05-31\nfuente_url = \"https://example.org/\"\n";
const ESTATAL: &str = "fecha = 2020-04-13\nrecuperados = 1\ntransmision_comunitaria = 1\n";

fn hospitales(date: &str) -> String {
    format!("fecha = {date}\n[[unidad]]\nnombre = \"H\"\ninstitucion = \"SSA\"\nclues = \"GTSSA005683\"\n")
}

fn sintomas(date: &str) -> String {
    format!("fecha = {date}\ntexto = \"Fiebre, tos seca y dolor de cabeza.\"\n")
}

async fn stale_answers_are_listed_with_why(kind: StoreKind) {
    let s = kind.open().await;
    let dir = tempfile::tempdir().unwrap();
    let today = Timestamp::now().to_zoned_datetime(mexico()).date();
    let fresh = today.to_string();
    // One kind each, so that no two sources answer the same topic.
    let sources: BTreeMap<&str, SourceSettings> = [
        // Published, then the file is the same: unchanged.
        ("unchanged", source("sintomas", dir.path(), "a.toml", &sintomas("2020-04-13"), 24)),
        // Published, then the file disappears: the last run failed.
        ("failing", source("vacunas", dir.path(), "b.toml", VACUNAS, 24)),
        // Published, then a list that falls from 10 to 1: quarantined.
        ("quarantined", source("programas", dir.path(), "c.csv", &programas(10, "2020-07-09"), 24)),
        // Published old data just now: the source is late.
        ("late", source("semaforo_estatal", dir.path(), "d.toml", SEMAFORO_ESTATAL, 24)),
        // Today's data: not stale.
        ("fresh", source("hospitales", dir.path(), "e.toml", &hospitales(&fresh), 24)),
        // Old data, but a cadence of a century: not stale.
        ("slow", source("estatal", dir.path(), "f.toml", ESTATAL, 24 * 365 * 100)),
        // Configured, never run.
        ("never", source("menu", dir.path(), "g.toml", "", 24)),
    ]
    .into();
    let (ingest, _data) = ingest_with_sources(s.store.clone(), sources.clone(), None);
    let run = |name: &'static str| {
        let ingest = &ingest;
        async move { ingest.run(name, RunMode::Normal, Progress::shared()).await.unwrap().run }
    };
    for name in ["unchanged", "failing", "quarantined", "late", "fresh", "slow"] {
        assert_eq!(run(name).await.result, RunResult::Published, "{name}");
    }
    assert_eq!(run("unchanged").await.result, RunResult::Unchanged);
    std::fs::remove_file(dir.path().join("b.toml")).unwrap();
    assert_eq!(run("failing").await.result, RunResult::Failed);
    std::fs::write(dir.path().join("c.csv"), programas(1, "2020-07-10")).unwrap();
    assert_eq!(run("quarantined").await.result, RunResult::Quarantined);

    let settings: BTreeMap<SourceName, SourceSettings> =
        sources.into_iter().map(|(n, s)| (n.parse().unwrap(), s)).collect();
    let now = Timestamp::now();
    let listed = stale(&*s.store, &settings, now, &mexico()).await.unwrap();
    let by_name: BTreeMap<&str, &Stale> = listed.iter().map(|s| (s.source.as_str(), s)).collect();
    assert_eq!(by_name.keys().copied().collect::<Vec<_>>(), ["failing", "late", "never", "quarantined", "unchanged"]);

    let unchanged = by_name["unchanged"];
    assert_eq!((unchanged.answers, unchanged.topics.clone()), (1, vec![Topic::from_static("sintomas")]));
    assert_eq!(unchanged.data_date, Some(jiff::civil::date(2020, 4, 13)));
    assert!(matches!(unchanged.why, Why::Unchanged { .. }), "{:?}", unchanged.why);
    let tz = mexico();
    let describe = |name: &str| by_name[name].why.describe(&by_name[name].source, &tz);
    assert!(describe("unchanged").starts_with("la fuente no ha cambiado (corrida #"), "{}", describe("unchanged"));
    let today = mexico().to_datetime(jiff::Timestamp::now()).date();
    let when = format!("{} a las ", schemas::es_mx::long_date(today));
    assert!(describe("unchanged").contains(&when), "the run's time in words: {}", describe("unchanged"));
    assert!(matches!(&by_name["failing"].why, Why::LastRunFailed { drift: false, .. }));
    assert!(describe("failing").starts_with("la última corrida falló (corrida #"), "{}", describe("failing"));
    assert!(describe("failing").contains("no existe el archivo"), "{}", describe("failing"));
    assert!(matches!(by_name["quarantined"].why, Why::Quarantined { .. }));
    assert!(describe("quarantined").contains("`contacto ingest --force quarantined`"), "{}", describe("quarantined"));
    assert!(describe("quarantined").contains("los programas bajan de 10 a 1"), "{}", describe("quarantined"));
    assert!(matches!(by_name["late"].why, Why::SourceLate { .. }));
    assert!(describe("late").starts_with("la fuente publica con retraso"), "{}", describe("late"));
    assert_eq!((by_name["never"].data_date, &by_name["never"].why), (None, &Why::NeverRun));
    let line = by_name["late"].to_string();
    assert!(line.starts_with("late: 1 respuesta (semaforo) con datos al 25 de mayo de 2020, hace "), "{line}");
    assert!(line.ends_with("; se esperan datos nuevos cada 24 h"), "{line}");

    // A month later, nothing has run in the meantime: the scheduler is the reason.
    let later = now.checked_add(720.hours()).unwrap();
    let later = stale(&*s.store, &settings, later, &mexico()).await.unwrap();
    let fresh = later.iter().find(|s| s.source.as_str() == "fresh").expect("today's data are a month old then");
    assert!(matches!(fresh.why, Why::NotRunning { .. }), "{:?}", fresh.why);
    assert!(
        fresh
            .why
            .describe(&fresh.source, &tz)
            .contains("revisa que `contacto ingest` (o `contacto run`) esté corriendo")
    );
}
