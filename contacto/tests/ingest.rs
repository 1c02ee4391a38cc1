//! The ingest commands as ops and maintainers use them, on the repository's own `contacto.toml`
//! (which points at the bundled fixture) and a fresh data directory: `ingest --once`,
//! `preview`, `runs`, `ingest --force`, `rollback`, and `contacto run` ingesting at start-up.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn contacto(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_contacto"));
    cmd.args(args)
        .current_dir(data)
        .env_remove("CONTACTO_REDIS_URL")
        .env("CONTACTO_CONFIG", repo().join("contacto.toml"))
        .env("CONTACTO_DATA_DIR", data.join("data"))
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The bundled file's confirmed cases, recounted here: by `ENTIDAD_UM` = 11 for the state
/// (the default basis) and by residence for each municipio code.
fn recount_bundled() -> (u64, BTreeMap<String, u64>) {
    let file = std::fs::File::open(repo().join("fixtures/covid19mexico/datos_abiertos_covid19.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut csv = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut csv).unwrap();
    let mut reader = csv::Reader::from_reader(&csv[..]);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (um, res, mun, result) = (col("ENTIDAD_UM"), col("ENTIDAD_RES"), col("MUNICIPIO_RES"), col("RESULTADO"));
    let (mut state, mut municipios) = (0, BTreeMap::new());
    for record in reader.records() {
        let r = record.unwrap();
        if &r[result] == "1" {
            state += u64::from(&r[um] == "11");
            if &r[res] == "11" {
                *municipios.entry(r[mun].to_owned()).or_insert(0) += 1;
            }
        }
    }
    (state, municipios)
}

#[test]
fn ingest_once_then_preview_prints_what_a_citizen_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (state, municipios) = recount_bundled();
    assert!(state > 0 && municipios["020"] > 0, "the bundled rows have confirmed cases in León");

    let out = stdout(&contacto(dir.path(), &["ingest", "--once", "--source", "covid"], &[]));
    assert!(out.starts_with("covid: publicado v1 · 590 filas · datos al 13 de abril de 2020"), "{out}");

    let estado = stdout(&contacto(dir.path(), &["preview", "confirmados"], &[]));
    assert!(estado.starts_with("*Casos confirmados de COVID-19 en Guanajuato*\n"), "{estado}");
    assert!(estado.contains(&format!("Al 13 de abril de 2020 se han confirmado *{state}* casos")), "{estado}");
    assert!(
        estado.contains("Fuente: Secretaría de Salud federal, datos abiertos COVID-19. Datos al 13 de abril de 2020."),
        "{estado}"
    );

    let leon = stdout(&contacto(dir.path(), &["preview", "confirmados", "León"], &[]));
    assert!(
        leon.contains(&format!("*{}* casos de COVID-19 en personas que viven en León", municipios["020"])),
        "{leon}"
    );
    assert!(leon.contains(&format!("En todo el estado: {state}.")), "{leon}");
    for spelling in [&["leon"][..], &["LEÓN"], &["11020"], &["020"]] {
        let args: Vec<&str> = ["preview", "confirmados"].iter().chain(spelling).copied().collect();
        assert_eq!(stdout(&contacto(dir.path(), &args, &[])), leon, "{spelling:?}");
    }
    let san_miguel = stdout(&contacto(dir.path(), &["preview", "en investigación", "san", "miguel"], &[]));
    assert!(san_miguel.starts_with("*Casos en investigación de COVID-19 en San Miguel de Allende*"), "{san_miguel}");

    let unknown = contacto(dir.path(), &["preview", "confirmados", "Querétaro"], &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("«Querétaro» no es un municipio de Guanajuato"));

    let again = stdout(&contacto(dir.path(), &["ingest", "--once", "--source", "covid"], &[]));
    assert!(again.starts_with("covid: sin cambios"), "{again}");
    let runs = stdout(&contacto(dir.path(), &["runs"], &[]));
    let lines: Vec<&str> = runs.lines().collect();
    assert!(lines[0].starts_with("#  fuente  inicio"), "{runs}");
    assert!(lines[1].starts_with("2  covid") && lines[1].contains("sin cambios"), "{runs}");
    assert!(
        lines[2].starts_with("1  covid")
            && lines[2].contains("590")
            && lines[2].contains("publicado")
            && lines[2].ends_with("2020-04-13  v1"),
        "{runs}"
    );
}

#[test]
fn a_quarantined_dataset_waits_for_force_and_rollback_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once", "--source", "covid"], &[]));

    // A later file whose discarded cases fall: quarantined, and the command says so.
    let may = repo().join("fixtures/covid19mexico/datos_abiertos_20200527__GTO_first300.csv");
    let url = format!("file://{}", may.display());
    let env = [("CONTACTO_SOURCES__COVID__URL", url.as_str()), ("CONTACTO_SOURCES__COVID__MAX_JUMP_PERCENT", "100000")];
    let out = contacto(dir.path(), &["ingest", "--once", "--source", "covid"], &env);
    assert!(!out.status.success(), "a quarantine needs attention");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("covid: en cuarentena · 300 filas · datos al 27 de mayo de 2020"), "{text}");
    assert!(text.contains("los casos descartados del estado bajan de"), "{text}");
    assert!(stdout(&contacto(dir.path(), &["preview", "confirmados"], &[])).contains("13 de abril de 2020"));

    let forced = stdout(&contacto(dir.path(), &["ingest", "--force", "covid"], &env));
    assert!(forced.starts_with("covid: publicado v2 · 300 filas · datos al 27 de mayo de 2020"), "{forced}");
    assert!(stdout(&contacto(dir.path(), &["preview", "confirmados"], &[])).contains("27 de mayo de 2020"));
    assert!(stdout(&contacto(dir.path(), &["runs", "--limit", "1"], &[])).contains("publicado (forzado)"));

    let back = stdout(&contacto(dir.path(), &["rollback"], &[]));
    assert_eq!(back, "Ahora se responde con la versión v1 (antes v2).\n");
    assert!(stdout(&contacto(dir.path(), &["preview", "confirmados"], &[])).contains("13 de abril de 2020"));
    let missing = contacto(dir.path(), &["rollback", "v9"], &[]);
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("la versión v9 no está guardada; las guardadas son: v2, v1")
    );
}
