//! The ingest commands as ops and maintainers use them, on the repository's own `contacto.toml`
//! (which points at the bundled fixture) and a fresh data directory: `ingest --once`,
//! `preview`, `runs`, `ingest --force`, `rollback`, and `contacto run` ingesting at start-up.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A plain HTTP/1.0 GET of `path` on a local address (these tests run without a runtime).
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

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

#[test]
fn the_ingest_service_runs_until_stopped_and_other_commands_read_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut service = Command::new(env!("CARGO_BIN_EXE_contacto"))
        .arg("ingest")
        .current_dir(dir.path())
        .env("CONTACTO_RESPONDER__INTERNAL_LISTEN", internal.to_string())
        .env_remove("CONTACTO_REDIS_URL")
        .env("CONTACTO_CONFIG", repo().join("contacto.toml"))
        .env("CONTACTO_DATA_DIR", dir.path().join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The service runs every source at start; `preview`, another process, sees the result.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let out = contacto(dir.path(), &["preview", "defunciones"], &[]);
        if out.status.success() {
            assert!(String::from_utf8_lossy(&out.stdout).contains("13 de abril de 2020"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let health = http_get(internal, "/health");
    // Every bundled source publishes at start, so the version is one of theirs, never none.
    assert!(health.contains("\"snapshot\":") && !health.contains("\"snapshot\":null"), "{health}");
    assert!(Command::new("kill").args(["-TERM", &service.id().to_string()]).status().unwrap().success());
    let status = service.wait().unwrap();
    let mut stderr = String::new();
    service.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Source scheduled.") && stderr.contains("Stopped cleanly."), "{stderr}");
}

/// Runs `contacto` and returns (exit success, stdout, stderr).
fn output(data: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = contacto(data, args, env);
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Every source file `contacto.toml` configures out of the box, as (kind, path).
fn bundled_sources() -> Vec<(String, PathBuf)> {
    let config: toml::Table = std::fs::read_to_string(repo().join("contacto.toml")).unwrap().parse().unwrap();
    config["sources"]
        .as_table()
        .unwrap()
        .values()
        .map(|s| {
            let url = s["url"].as_str().unwrap();
            (s["kind"].as_str().unwrap().to_owned(), repo().join(url.strip_prefix("file://").unwrap()))
        })
        .collect()
}

#[test]
fn validate_passes_on_every_fixture_and_prints_each_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = bundled_sources();
    files.push(("estatal".into(), repo().join("fixtures/estatal/infectados_json_parsed_2020-04-14.json")));
    assert_eq!(files.len(), 10, "nine sources and the portal's JSON");
    let paths: Vec<String> = files.iter().map(|(_, p)| p.display().to_string()).collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    let (ok, out, err) = output(dir.path(), &args, &[]);
    assert!(ok, "{out}\n{err}");
    let (avisos, lines): (Vec<&str>, Vec<&str>) = out.lines().partition(|l| l.starts_with("  aviso: "));
    assert_eq!(lines.len(), files.len(), "one line per valid file:\n{out}");
    // The one answer Twilio splits (docs/plataformas-2026.md): the state's hospital list.
    assert_eq!(avisos.len(), 1, "{out}");
    assert!(avisos[0].ends_with("plantilla hospitales.j2, tema «Hospitales habilitados», Guanajuato: tiene 3,906 caracteres y Twilio admite 1,600 en un mensaje; en Twilio sale en 3 mensajes"), "{out}");
    for ((kind, path), line) in files.iter().zip(&lines) {
        assert!(line.starts_with(&format!("{}: válido ({kind}): ", path.display())), "{line}");
    }
    assert!(out.contains("hospitales_2020-09-24.csv: válido (hospitales): 57 unidades, 52 de ellas en 34 municipios; datos al 24 de septiembre de 2020"), "{out}");

    // A broken copy: every error at its line and column, in plain Spanish, and a failing exit.
    let csv = std::fs::read_to_string(repo().join("fixtures/hospitales/hospitales_2020-09-24.csv")).unwrap();
    let line = csv.lines().position(|l| l.contains("GTSSA005683")).unwrap() + 1;
    let broken = dir.path().join("hospitales_2020-09-24.csv");
    std::fs::write(&broken, csv.replace("\"GTSSA005683\",\"31\",\"León\"", "\"GTSSA005683\",\"101\",\"Leonn\""))
        .unwrap();
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    let broken_menu = dir.path().join("menu.toml");
    std::fs::write(
        &broken_menu,
        menu.replacen("boton = \"Ver opciones\"", "boton = \"Ver opciones\"\nboto = \"x\"", 1),
    )
    .unwrap();
    let menu_line = menu.lines().position(|l| l == "boton = \"Ver opciones\"").unwrap() + 2;
    let good = repo().join("fixtures/vacunas/vacunas.toml");
    let (ok, out, err) = output(
        dir.path(),
        &["validate", broken.to_str().unwrap(), good.to_str().unwrap(), broken_menu.to_str().unwrap()],
        &[],
    );
    assert!(!ok);
    let b = broken.display();
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!(
                "{b}:{line}:5: % de Ocupación: debe estar entre 0 y 100; un valor fuera de ese rango es un error del dato de origen («101»)"
            ),
            format!(
                "{b}:{line}:6: Municipio: no es un municipio de Guanajuato; escribe su nombre (León), un nombre corto (Silao) o su clave INEGI (020) («Leonn»)"
            ),
            format!(
                "{}: válido (vacunas): 7,062,547 dosis aplicadas, 5 etapas; datos al 9 de mayo de 2022",
                good.display()
            ),
            format!(
                "{}:{menu_line}:1: boto: campo desconocido; los campos aquí son: id, titulo, texto, boton, opcion",
                broken_menu.display()
            ),
        ]
    );
    assert!(err.contains("Archivos con errores: 2 de 3."), "{err}");

    // The kind from a flag when neither the name nor the content says it.
    let odd = dir.path().join("lista.txt");
    std::fs::write(&odd, "fecha = 2020-04-13\ntexto = \"Fiebre.\"\n").unwrap();
    let (ok, out, _) = output(dir.path(), &["validate", odd.to_str().unwrap()], &[]);
    assert!(!ok && out.contains("no se sabe qué tipo de archivo es; indícalo con --kind"), "{out}");
    let (ok, out, _) = output(dir.path(), &["validate", "--kind", "sintomas", odd.to_str().unwrap()], &[]);
    assert!(ok && out.contains("válido (sintomas)"), "{out}");
}

#[test]
fn every_topic_of_the_seed_is_answered_out_of_the_box_with_its_date_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    assert_eq!(out.lines().filter(|l| l.contains(": publicado v")).count(), 9, "{out}");
    let seed = [
        "menu",
        "confirmados",
        "en investigación",
        "descartados",
        "defunciones",
        "recuperados",
        "transmisión comunitaria",
        "hospitales",
        "síntomas",
        "semáforo",
        "programas",
        "vacunas",
        "ayuda",
        "conectate_alta",
        "conectate_ya_suscrito",
        "conectate_baja",
        "conectate_no_suscrito",
    ];
    let check = |args: &[&str]| {
        let (ok, body, origin) = output(dir.path(), args, &[]);
        assert!(ok, "{args:?}: {origin}");
        // "(fuente hospitales, datos al 24 de septiembre de 2020, versión v9)"
        let date =
            origin.split("datos al ").nth(1).and_then(|r| r.split(',').next()).unwrap_or_else(|| panic!("{origin}"));
        assert!(body.contains(date), "{args:?} states its data date {date}:\n{body}");
        assert!(
            body.contains("Fuente: ") || body.contains("Gobierno del Estado de Guanajuato, Contacto Ciudadano ·"),
            "{args:?}:\n{body}"
        );
        body
    };
    for topic in seed {
        check(&["preview", topic]);
    }
    // Per municipio where the data has it.
    for topic in ["confirmados", "en investigación", "descartados", "defunciones", "hospitales"] {
        let body = check(&["preview", topic, "León"]);
        assert!(body.lines().next().unwrap().ends_with("en León*"), "{body}");
    }
    assert!(check(&["preview", "hospitales", "Silao"]).contains("• Hgs 54 Silao (IMSS): 14 % ocupado"));
}

#[test]
fn runs_stale_lists_old_answers_with_why() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    let stale = stdout(&contacto(dir.path(), &["runs", "--stale"], &[]));
    let sources: Vec<&str> =
        stale.lines().filter(|l| !l.starts_with(' ')).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        sources,
        ["covid", "estatal", "hospitales", "menu", "programas", "semaforo", "semaforo_estatal", "sintomas", "vacunas"],
        "the bundled data are from 2020–2022:\n{stale}"
    );
    assert!(
        stale.contains("hospitales: 47 respuestas (hospitales) con datos al 24 de septiembre de 2020, hace "),
        "{stale}"
    );
    assert!(stale.contains("    por qué: la fuente publica con retraso"), "{stale}");

    let gone = [("CONTACTO_SOURCES__HOSPITALES__URL", "file:///nonexistent/hospitales.csv")];
    assert!(!contacto(dir.path(), &["ingest", "--once", "--source", "hospitales"], &gone).status.success());
    let stale = stdout(&contacto(dir.path(), &["runs", "--stale", "--source", "hospitales"], &[]));
    let lines: Vec<&str> = stale.lines().collect();
    assert_eq!(lines.len(), 2, "{stale}");
    assert!(lines[1].starts_with("    por qué: la última corrida falló (corrida #10, "), "{stale}");
    assert!(lines[1].ends_with("): no existe el archivo /nonexistent/hospitales.csv"), "{stale}");
}

#[test]
fn preview_from_a_directory_shows_unpublished_files_and_refuses_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    let pending = dir.path().join("pendientes");
    std::fs::create_dir(&pending).unwrap();
    let csv = std::fs::read_to_string(repo().join("fixtures/hospitales/hospitales_2020-09-24.csv")).unwrap();
    std::fs::write(
        pending.join("hospitales_2020-10-01.csv"),
        csv.replace("\"GTSSA005683\",\"31\"", "\"GTSSA005683\",\"77\""),
    )
    .unwrap();
    std::fs::write(
        pending.join("semaforo_estatal.toml"),
        "color = \"verde\"\nvigente_desde = 2020-06-01\nvigente_hasta = 2020-06-07\nfuente_url = \"https://example.org/aviso\"\n",
    )
    .unwrap();
    std::fs::write(pending.join("LEEME.md"), "notas").unwrap();
    let from = pending.to_str().unwrap();

    let (ok, body, origin) = output(dir.path(), &["preview", "hospitales", "León", "--from", from], &[]);
    assert!(ok, "{origin}");
    assert!(
        body.contains("• Hospital General León (SSA): 77 % ocupado") && body.contains("1 de octubre de 2020"),
        "{body}"
    );
    assert!(origin.contains("archivo sin publicar") && origin.contains("hospitales_2020-10-01.csv"), "{origin}");
    let (_, published, _) = output(dir.path(), &["preview", "hospitales", "León"], &[]);
    assert!(published.contains("• Hospital General León (SSA): 31 % ocupado"), "nothing was published: {published}");

    // The state semáforo file shows beside the published federal colour.
    let (ok, body, _) = output(dir.path(), &["preview", "semáforo", "--from", from], &[]);
    assert!(ok);
    assert!(
        body.contains("*amarillo*, vigente del 12 al 25 de abril de 2021")
            && body.contains("*verde*, vigente del 1 al 7 de junio de 2020"),
        "{body}"
    );
    // Topics the directory does not touch come from what is published.
    let (ok, _, origin) = output(dir.path(), &["preview", "confirmados", "--from", from], &[]);
    assert!(ok && origin.contains("fuente covid"), "{origin}");

    std::fs::write(pending.join("vacunas.toml"), "fecha = 2022-05-16\ndosis_aplicadas = -5\n").unwrap();
    let (ok, out, err) = output(dir.path(), &["preview", "hospitales", "--from", from], &[]);
    assert!(!ok);
    let file = pending.join("vacunas.toml");
    assert!(
        out.contains(&format!("{}:2:19: dosis_aplicadas: debe ser un número entero de 0 en adelante", file.display())),
        "{out}"
    );
    assert!(out.contains(&format!("{}:1:1: etapa: falta «etapa»; agrégalo", file.display())), "{out}");
    assert!(err.contains("Corrige los errores antes de previsualizar"), "{err}");
}

#[test]
fn preview_a_message_shows_what_the_bot_makes_of_it_before_a_new_keyword_is_published() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    let (ok, out, origin) = output(dir.path(), &["preview", "--mensaje", "¿cuántos casos hay en leon?"], &[]);
    assert!(ok, "{origin}");
    assert!(
        out.starts_with("Entendido como: Casos confirmados en León.\n\n*Casos confirmados de COVID-19 en León*"),
        "{out}"
    );
    assert!(origin.contains("fuente covid"), "{origin}");

    // A keyword a maintainer adds to the menu file works once that file is published, and
    // `--from` shows it before.
    let (_, out, _) = output(dir.path(), &["preview", "--mensaje", "tapabocas"], &[]);
    assert!(out.starts_with("Entendido como: ningún tema reconocido (se responde con la ayuda)."), "{out}");
    let pending = dir.path().join("pendientes");
    std::fs::create_dir(&pending).unwrap();
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    let menu = menu.replace("frases = [\"síntomas\", ", "frases = [\"tapabocas\", \"síntomas\", ");
    std::fs::write(pending.join("menu.toml"), menu).unwrap();
    let from = pending.to_str().unwrap();
    let (ok, out, _) = output(dir.path(), &["preview", "--mensaje", "tapabocas", "--from", from], &[]);
    assert!(ok);
    assert!(out.starts_with("Entendido como: Signos y síntomas.\n\n*Signos y síntomas de COVID-19*"), "{out}");
    let (_, out, _) = output(dir.path(), &["preview", "--mensaje", "tapabocas"], &[]);
    assert!(out.contains("ningún tema reconocido"), "nothing was published: {out}");
}

/// Replies are billed per message (since July 2025), so every answer leaves as one message
/// wherever the platform allows it: on Meta one Graph API request (a text of up to 4,096
/// characters, or a list or buttons carrying the text as their body); on Twilio one inline
/// `<Message>` unless the text passes 1,600 characters, Twilio's limit, past which it is split.
/// Over every answer and menu the bundled fixtures publish, and how often Twilio splits one.
#[tokio::test]
async fn every_bundled_answer_is_one_message_and_only_those_past_1600_characters_split_on_twilio() {
    use channels::twilio::{MESSAGE_MAX, twiml};
    use channels::{Outbound, OutboundContent, meta};
    use schemas::{PhoneNumber, UserAddress};

    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    let keys = schemas::KeyLayout::new("contacto").unwrap();
    let config = store::StoreConfig::Embedded { data_dir: dir.path().join("data"), keys };
    let snapshot = store::open(&config).await.unwrap().current_snapshot().await.unwrap().expect("a snapshot");
    let content = &snapshot.content;
    let answers: Vec<&schemas::Answer> =
        content.answers.values().map(|r| &r.answer).chain(content.router.menus.values().map(|m| &m.answer)).collect();
    let municipios: std::collections::BTreeSet<_> = content.answers.keys().map(|k| k.scope).collect();
    assert_eq!(municipios.len(), 47, "answers for the state and each of the 46 municipios");
    assert!(!content.router.menus.is_empty());
    let (mut split, mut longest) = (0, 0);
    for answer in &answers {
        let body = answer.body();
        let to = UserAddress::Phone(PhoneNumber::parse("5214771234567").unwrap());
        let outbound = Outbound {
            business_number: "1".into(),
            to,
            content: OutboundContent::Answer((*answer).clone()),
            tag: None,
        };
        let request = meta::request_body(&outbound);
        let sent = request["text"]["body"].as_str().or_else(|| request["interactive"]["body"]["text"].as_str());
        assert_eq!(sent, Some(body), "one Graph API message carries the whole text");
        let chars = body.chars().count();
        let parts = twiml([body]).matches("<Message>").count();
        assert_eq!(parts > 1, chars > MESSAGE_MAX, "{chars} characters went as {parts} Twilio messages:\n{body}");
        if parts > 1 {
            eprintln!("split on Twilio into {parts} messages ({chars} characters): {:?}", body.lines().next());
            split += 1;
        }
        longest = longest.max(chars);
    }
    eprintln!(
        "{} answers and menus; {split} would be split on Twilio (over {MESSAGE_MAX} characters); the longest has {longest}",
        answers.len()
    );
}

/// «Sin entender» from the maintainer's side: the phrase enough citizens wrote is listed, the
/// change `--frase … --tema …` prints is applied to a copy of the bundled menu file, which
/// `validate` passes, and `preview --from` then answers the citizens' message with the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sin_entender_gives_the_change_that_routes_a_phrase_to_the_topic_picked() {
    use schemas::{PhoneNumber, UserAddress, UserHasher};

    let dir = tempfile::tempdir().unwrap();
    stdout(&contacto(dir.path(), &["ingest", "--once"], &[]));
    let message = "¿Dónde descargo mi certificado? folio 2021";
    let (_, out, _) = output(dir.path(), &["preview", "--mensaje", message], &[]);
    assert!(out.contains("ningún tema reconocido"), "{out}");

    // Five citizens wrote it, as the responder keeps it: masked, with a mark per citizen.
    {
        let keys = schemas::KeyLayout::new("contacto").unwrap();
        let config = store::StoreConfig::Embedded { data_dir: dir.path().join("data"), keys };
        let store = store::open(&config).await.unwrap();
        let hasher = UserHasher::new(testkit::HASH_KEY.as_bytes()).unwrap();
        let now = jiff::Timestamp::now();
        let batch: Vec<store::UnmatchedMessage> = (0..5)
            .map(|i| store::UnmatchedMessage {
                phrase: schemas::masking::masked_phrase(message).unwrap(),
                user: hasher.key(&UserAddress::Phone(PhoneNumber::parse(&testkit::phone(i)).unwrap())),
                at: now,
            })
            .collect();
        store.record_unmatched(&batch, now, std::time::Duration::from_secs(86_400)).await.unwrap();
    }
    let listed = stdout(&contacto(dir.path(), &["sin-entender"], &[]));
    let phrase = "donde descargo mi certificado folio #";
    assert!(listed.contains(&format!("«{phrase}»\n  ciudadanos: 5\n")), "{listed}");

    let change = stdout(&contacto(dir.path(), &["sin-entender", "--frase", phrase, "--tema", "vacunas"], &[]));
    assert!(
        change.starts_with("Para que «donde descargo mi certificado folio» lleve a Vacunación, cambia "),
        "{change}"
    );
    assert!(change.contains("contacto validate fixtures/menu/menu.toml\n"), "{change}");
    assert!(
        change.contains("contacto preview --from fixtures/menu --mensaje \"donde descargo mi certificado folio\"\n"),
        "{change}"
    );
    // Applied by hand to a copy, as a maintainer would: the line number, `-` and `+`.
    let line: usize = change.split("línea ").nth(1).unwrap().split(':').next().unwrap().parse().unwrap();
    let removed = change.lines().find_map(|l| l.strip_prefix("- ")).unwrap();
    let added = change.lines().find_map(|l| l.strip_prefix("+ ")).unwrap();
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    let mut lines: Vec<&str> = menu.lines().collect();
    assert_eq!(lines[line - 1], removed, "the line shown is the file's");
    lines[line - 1] = added;
    let pending = dir.path().join("pendientes");
    std::fs::create_dir(&pending).unwrap();
    std::fs::write(pending.join("menu.toml"), lines.join("\n") + "\n").unwrap();

    let (ok, out, err) = output(dir.path(), &["validate", pending.join("menu.toml").to_str().unwrap()], &[]);
    assert!(ok && out.contains("válido (menu)"), "{out}{err}");
    let (ok, out, _) = output(dir.path(), &["preview", "--mensaje", message, "--from", pending.to_str().unwrap()], &[]);
    assert!(ok);
    assert!(out.starts_with("Entendido como: Vacunación."), "{out}");

    let (ok, _, err) = output(dir.path(), &["sin-entender", "--frase", phrase, "--tema", "chismes"], &[]);
    assert!(!ok && err.contains("«chismes» no es un tema conocido"), "{err}");
}
