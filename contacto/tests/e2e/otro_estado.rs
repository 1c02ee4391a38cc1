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

/// Every answer and menu of the snapshot published in `dir`: (what it is, the text a citizen
/// reads, with a list's rows).
async fn published(dir: &Path) -> Vec<(String, String)> {
    let settings = settings::Settings::load(&dir.join("contacto.toml")).unwrap();
    let store = store::open(&settings.store_config()).await.unwrap();
    let snapshot = store.current_snapshot().await.unwrap().expect("a snapshot");
    let shown = |answer: &schemas::Answer| {
        let mut text = answer.body().to_owned();
        if let Some(schemas::Interactive::List(list)) = answer.interactive() {
            for row in list.sections.iter().flat_map(|s| &s.rows) {
                text.push_str(&format!("\n{} {}", row.title, row.description.as_deref().unwrap_or("")));
            }
        }
        text
    };
    let content = &snapshot.content;
    let answers = content.answers.iter().map(|(key, r)| (key.to_string(), shown(&r.answer)));
    answers.chain(content.router.menus.iter().map(|(id, m)| (format!("menú {id}"), shown(&m.answer)))).collect()
}

/// A deployment in `dir` for `state_code` with the bundled menu, symptoms and federal
/// semáforo files (and the national file at `covid_url`, if given), published once.
fn deploy_with_the_bundled_files(dir: &Path, state_code: u8, covid_url: Option<String>) {
    let fixture = |path: &str| format!("file://{}", repo().join("fixtures").join(path).display());
    let mut config = format!(
        "state_code = {state_code}\n\
         [store]\ndata_dir = \"{data}\"\n\
         [ingest]\ntemplates_dir = \"{templates}\"\n\
         [sources.menu]\nkind = \"menu\"\nurl = \"{menu}\"\nschedule = \"0 40 * * * *\"\n\
         [sources.sintomas]\nkind = \"sintomas\"\nurl = \"{sintomas}\"\nschedule = \"0 25 * * * *\"\n\
         [sources.semaforo]\nkind = \"semaforo\"\nurl = \"{semaforo}\"\nschedule = \"0 0 * * * *\"\n",
        data = dir.join("data").display(),
        templates = repo().join("templates").display(),
        menu = fixture("menu/menu.toml"),
        sintomas = fixture("sintomas/sintomas.toml"),
        semaforo = fixture("semaforo/semaforo.html"),
    );
    if let Some(url) = covid_url {
        config.push_str(&format!("[sources.covid]\nkind = \"covid\"\nurl = \"{url}\"\nschedule = \"0 30 * * * *\"\n"));
    }
    std::fs::write(dir.join("contacto.toml"), config).unwrap();
    let out = stdout(&run(dir, &["ingest", "--once"]));
    assert!(!out.contains("falló") && !out.contains("rechaz"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baja_californias_deployment_with_the_bundled_files_never_names_guanajuato_nor_its_municipios() {
    let zip = zipped(&baja_california_rows());
    let server = testkit::serve(
        axum::Router::new()
            .route("/datos_abiertos_covid19.zip", axum::routing::get(move || async move { zip.clone() })),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/datos_abiertos_covid19.zip");
    let path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || deploy_with_the_bundled_files(&path, 2, Some(url))).await.unwrap();

    let answers = published(dir.path()).await;
    let keys: Vec<&str> = answers.iter().map(|(key, _)| key.as_str()).collect();
    for wanted in [
        "menú principal",
        "menú cifras",
        "menú conectate",
        "ayuda/estado",
        "conectate_alta/estado",
        "conectate_ya_suscrito/estado",
        "conectate_baja/estado",
        "conectate_no_suscrito/estado",
        "confirmados/estado",
        "confirmados/004",
        "semaforo/estado",
        "sintomas/estado",
    ] {
        assert!(keys.contains(&wanted), "{wanted} published: {keys:?}");
    }
    for (key, text) in &answers {
        for guanajuato in ["Guanajuato", "León", "Celaya", "Irapuato"] {
            assert!(!text.contains(guanajuato), "{key} names «{guanajuato}» in Baja California:\n{text}");
        }
        // Every answer of the state names it (the symptoms are the federal text, and name no state).
        if !key.contains('/') || (key.ends_with("/estado") && !key.starts_with("sintomas/")) {
            assert!(text.contains("Baja California"), "{key} names the state:\n{text}");
        }
    }
    let text = |wanted: &str| &answers.iter().find(|(key, _)| key == wanted).unwrap().1;
    let ayuda = text("ayuda/estado");
    assert!(ayuda.contains("del Gobierno del Estado de Baja California."), "{ayuda}");
    for example in ["«casos en Tijuana»", "«defunciones Mexicali»", "«hospitales Ensenada»"] {
        assert!(ayuda.contains(example), "{ayuda}");
    }
    assert!(text("menú cifras").contains("Cifras de COVID-19 en Baja California."), "{}", text("menú cifras"));
    assert!(text("menú cifras").contains("«confirmados Tijuana»"), "{}", text("menú cifras"));
    assert!(text("conectate_alta/estado").contains("avisos del Gobierno del Estado de Baja California."));

    // What an example says is what the bot understands.
    let dir = dir.path().to_owned();
    let asked = tokio::task::spawn_blocking(move || stdout(&run(&dir, &["preview", "--mensaje", "casos en Tijuana"])))
        .await
        .unwrap();
    assert!(asked.starts_with("Entendido como: Casos confirmados en Tijuana."), "{asked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ciudad_de_mexico_is_answered_by_the_gobierno_de_la_ciudad_with_its_alcaldias_as_examples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || deploy_with_the_bundled_files(&path, 9, None)).await.unwrap();
    let answers = published(dir.path()).await;
    let text = |wanted: &str| &answers.iter().find(|(key, _)| key == wanted).unwrap().1;
    let ayuda = text("ayuda/estado");
    assert!(ayuda.contains("del Gobierno de la Ciudad de México."), "{ayuda}");
    assert!(ayuda.contains("avisos del Gobierno de la Ciudad escribe *ALTA*"), "{ayuda}");
    assert!(ayuda.contains("«casos en Iztapalapa»") && ayuda.contains("«hospitales Álvaro Obregón»"), "{ayuda}");
    assert!(text("menú principal").contains("Soy el asistente del Gobierno de la Ciudad de México."));
    assert!(text("menú principal").contains("Recibe avisos del Gobierno de la Ciudad"), "{}", text("menú principal"));
    for (key, text) in &answers {
        assert!(!text.contains("Guanajuato") && !text.contains("Gobierno del Estado"), "{key}:\n{text}");
    }
}

#[test]
fn an_unknown_placeholder_in_the_menu_file_is_refused_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[ingest]\ntemplates_dir = \"{}\"\n", repo().join("templates").display());
    std::fs::write(dir.path().join("contacto.toml"), config).unwrap();
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    let bad = menu.replacen("«defunciones {municipio_2}»", "«defunciones {municipio_dos}»", 1);
    assert_ne!(bad, menu);
    std::fs::write(dir.path().join("menu.toml"), &bad).unwrap();
    let out = run(dir.path(), &["validate", "menu.toml"]);
    assert!(!out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    let at = bad.find("{municipio_dos}").unwrap();
    let line = bad[..at].matches('\n').count() + 1;
    let column = bad[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    assert!(
        printed.contains(&format!(
            "menu.toml:{line}:{column}: ayuda: «{{municipio_dos}}» no es un marcador conocido; los marcadores son \
             {{estado}}, {{gobierno}}, {{gobierno_corto}}, {{municipio_1}}, {{municipio_2}}, {{municipio_3}}"
        )),
        "{printed}"
    );
}
