//! Another state with one setting: `state_code = 2` (Baja California) and the national file
//! served over HTTP on 127.0.0.1, built from the real 2022 rows of Baja California and Baja
//! California Sur in `fixtures/covid19mexico/`. What a citizen reads is checked against a
//! recount written here (the `csv` crate, the counting rules of docs/formats.md §a.6 again),
//! and no answer or message of that deployment names Guanajuato.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The fixture with its re-export damage repaired (the `FECHA_DEF` sentinel, see
/// fixtures/covid19mexico/README.md), as the CSV inside the daily ZIP.
fn baja_california_rows() -> Vec<u8> {
    let raw = std::fs::read(
        repo().join("fixtures/covid19mexico/covidmx_pruebaCOVID19MEXICO_2022-07-14_BC_BCS__first300.csv"),
    )
    .unwrap();
    String::from_utf8(raw).unwrap().replace("\"-001-11-30\"", "\"9999-99-99\"").into_bytes()
}

fn zipped(csv: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("220714COVID19MEXICO.csv", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv).unwrap();
    zip.finish().unwrap().into_inner()
}

/// Confirmed cases (CLASIFICACION_FINAL 1, 2, 3) and deaths among them: of the state by
/// `ENTIDAD_UM`, and of one municipio by residence.
fn recount(csv: &[u8], state: &str, municipio: &str) -> ([u64; 2], u64) {
    let csv = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let mut reader = csv::Reader::from_reader(csv);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (um, res, mun, class, def) =
        (col("ENTIDAD_UM"), col("ENTIDAD_RES"), col("MUNICIPIO_RES"), col("CLASIFICACION_FINAL"), col("FECHA_DEF"));
    let (mut estado, mut in_municipio) = ([0, 0], 0);
    for record in reader.records() {
        let r = record.unwrap();
        if !["1", "2", "3"].contains(&&r[class]) {
            continue;
        }
        if &r[um] == state {
            estado[0] += 1;
            estado[1] += u64::from(&r[def] != "9999-99-99");
        }
        in_municipio += u64::from(&r[res] == state && &r[mun] == municipio);
    }
    (estado, in_municipio)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    common::contacto(dir, args, &[]).env("RUST_LOG", "warn").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn baja_california_with_one_setting_answers_tijuana_and_its_state_totals() {
    let csv = baja_california_rows();
    let ([confirmados, defunciones], tijuana) = recount(&csv, "02", "004");
    assert!(confirmados > 0 && tijuana > 0, "the sample has confirmed cases in Baja California and Tijuana");
    let (baja_california_sur, _) = recount(&csv, "03", "003");
    assert_ne!(baja_california_sur[0], confirmados, "the other state's rows would give other figures");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let zip = zipped(&csv);
    let server = runtime.block_on(testkit::serve(
        axum::Router::new()
            .route("/datos_abiertos_covid19.zip", axum::routing::get(move || async move { zip.clone() })),
    ));

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "state_code = 2\n\
         [store]\ndata_dir = \"data\"\n\
         [ingest]\ntemplates_dir = \"{templates}\"\n\
         [sources.covid]\nkind = \"covid\"\nurl = \"{url}\"\nschedule = \"0 30 * * * *\"\n",
        templates = repo().join("templates").display(),
        url = server.url("/datos_abiertos_covid19.zip"),
    );
    std::fs::write(dir.path().join("contacto.toml"), config).unwrap();

    let out = stdout(&run(dir.path(), &["ingest", "--once", "--source", "covid"]));
    assert!(out.starts_with("covid: publicado v1 · 300 filas · datos al 14 de julio de 2022"), "{out}");

    let estado = stdout(&run(dir.path(), &["preview", "confirmados"]));
    assert!(estado.starts_with("*Casos confirmados de COVID-19 en Baja California*\n"), "{estado}");
    assert!(estado.contains(&format!("se han confirmado *{confirmados}* casos de COVID-19 en el estado")), "{estado}");
    let muertes = stdout(&run(dir.path(), &["preview", "defunciones"]));
    assert!(muertes.starts_with("*Defunciones por COVID-19 en Baja California*\n"), "{muertes}");
    assert!(muertes.contains(&format!("*{defunciones}*")), "{muertes}");

    let asked = stdout(&run(dir.path(), &["preview", "--mensaje", "casos en Tijuana"]));
    assert!(
        asked
            .starts_with("Entendido como: Casos confirmados en Tijuana.\n\n*Casos confirmados de COVID-19 en Tijuana*"),
        "{asked}"
    );
    assert!(asked.contains(&format!("*{tijuana}* casos de COVID-19 en personas que viven en Tijuana")), "{asked}");
    assert!(asked.contains(&format!("En todo el estado: {confirmados}.")), "{asked}");
    let by_code = stdout(&run(dir.path(), &["preview", "confirmados", "02004"]));
    assert!(by_code.starts_with("*Casos confirmados de COVID-19 en Tijuana*"), "{by_code}");

    let leon = run(dir.path(), &["preview", "confirmados", "León"]);
    assert!(!leon.status.success(), "León is not a municipio of Baja California");
    let error = String::from_utf8_lossy(&leon.stderr);
    assert!(error.contains("«León» no es un municipio de Baja California"), "{error}");

    for text in [&estado, &muertes, &asked, &by_code, &error.into_owned()] {
        assert!(!text.contains("Guanajuato"), "another state's deployment never names Guanajuato: {text}");
    }

    // The same store under another state's configuration: refused before anything is read or
    // written, saying what to change; back under its own, it answers as before.
    let config_path = dir.path().join("contacto.toml");
    let ours = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, ours.replace("state_code = 2\n", "state_code = 11\n")).unwrap();
    for args in [&["preview", "confirmados"][..], &["ingest", "--once", "--source", "covid"]] {
        let refused = run(dir.path(), args);
        assert!(!refused.status.success(), "{args:?} on Baja California's store as Guanajuato");
        let error = String::from_utf8_lossy(&refused.stderr);
        assert!(
            error.contains(
                "el almacén tiene los datos de Baja California (02) y esta instalación (`state_code`) es de Guanajuato (11)"
            ),
            "{error}"
        );
        assert!(error.contains("data_dir"), "{error}");
    }
    std::fs::write(&config_path, ours).unwrap();
    assert_eq!(stdout(&run(dir.path(), &["preview", "confirmados"])), estado, "the store's answers stayed");
}

#[test]
fn a_source_that_names_another_state_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contacto.toml"),
        "state_code = 2\n[store]\ndata_dir = \"data\"\n[sources.covid]\nkind = \"covid\"\nurl = \"file:///x.zip\"\nstate_code = 11\n",
    )
    .unwrap();
    let out = run(dir.path(), &["ingest", "--once", "--source", "covid"]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("state_code"), "{error}");
    assert!(error.contains("no es la de esta instalación (02, Baja California)"), "{error}");
}
