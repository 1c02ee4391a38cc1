//! A new topic, «dengue», added with files only (a CSV of figures per municipio, a template, a
//! `[[tema]]` with its keywords and a menu option in the menu file), as
//! `docs/guias/agregar-un-tema.md` tells a maintainer: its answers for the state and a
//! municipio against a recount written here, routing by keyword and with a place, its counts in
//! the report by slug, and its removal (its keywords stop routing, its past counts stay).

use std::path::Path;
use std::process::Output;

use jiff::civil::date;
use schemas::{PhoneNumber, UserAddress, UserHasher};
use store::Interaction;

use testkit::dengue::{self, ROWS, menu_with_dengue};

use crate::common::{self, place, repo, stdout};

pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    common::contacto(dir, args, &[]).env("RUST_LOG", "warn").output().unwrap()
}

/// The topic's counts of one day in the programme report, and its name in the open data.
async fn counted(dir: &Path) -> (u64, String) {
    let settings = settings::Settings::load(&dir.join("contacto.toml")).unwrap();
    let store = store::open(&settings.store_config()).await.unwrap();
    let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
    let day = date(2026, 12, 1);
    let counted = admin::report::count(&*store, day, day, &tz).await.unwrap();
    let by_slug = counted.days[0].by_topic.iter().find(|(t, _)| t.slug() == "dengue").map_or(0, |(_, n)| *n);
    let masking = admin::open_data::figures::Masking { min_count: 5, publish_small_counts: false };
    let figures = admin::open_data::figures::Figures::new(&*store, &counted, masking).await.unwrap();
    let name = figures.temas.iter().find(|t| t.tema == "dengue").map(|t| t.nombre.clone()).unwrap_or_default();
    (by_slug, name)
}

/// A configuration in `dir` with the menu and the dengue figures as sources, read from files
/// there, and the repository's templates plus `dengue.j2`.
pub(crate) fn set_up(dir: &Path) {
    let templates = dengue::templates_with_dengue(dir);
    std::fs::write(dir.join("menu.toml"), menu_with_dengue()).unwrap();
    std::fs::write(dir.join(dengue::CSV_FILE), dengue::csv()).unwrap();
    let config = format!(
        "[store]\ndata_dir = \"{}\"\n[ingest]\ntemplates_dir = \"{}\"\n\
         [sources.menu]\nkind = \"menu\"\nurl = \"file://menu.toml\"\nschedule = \"0 0 0 1 1 *\"\n\
         [sources.dengue]\nkind = \"cifras\"\nurl = \"file://{}\"\nschedule = \"0 0 0 1 1 *\"\n\
         attribution = \"Secretaría de Salud de Guanajuato\"\n",
        dir.join("data").display(),
        templates.display(),
        dengue::CSV_FILE
    );
    std::fs::write(dir.join("contacto.toml"), config).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_added_with_files_only_is_answered_routed_counted_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());

    // Checked before it is published, then published: the menu first (it declares the topic).
    let valid = stdout(&run(dir.path(), &["validate", "menu.toml", "dengue_2026-11-30.csv"]));
    assert!(valid.contains("menu.toml: válido (menu): 12 temas"), "{valid}");
    assert!(
        valid.contains("dengue_2026-11-30.csv: válido (cifras): 2 cifras (confirmados, graves) de 3 municipios"),
        "{valid}"
    );
    stdout(&run(dir.path(), &["ingest", "--once", "--source", "menu"]));
    let published = stdout(&run(dir.path(), &["ingest", "--once", "--source", "dengue"]));
    assert!(published.contains("dengue: publicado"), "{published}");

    // The state's answer and a municipio's, against the recount.
    let (estado, graves): (u64, u64) = ROWS.iter().fold((0, 0), |(c, g), r| (c + r.1, g + r.2));
    let state = stdout(&run(dir.path(), &["preview", "dengue"]));
    assert_eq!(
        state.trim_end(),
        format!(
            "*Casos de dengue en Guanajuato*\nAl 30 de noviembre de 2026 hay *{estado}* casos confirmados de dengue \
             (graves: {graves}).\n\nFuente: Secretaría de Salud de Guanajuato."
        )
    );
    let celaya = stdout(&run(dir.path(), &["preview", "dengue", "Celaya"]));
    assert_eq!(
        celaya.trim_end(),
        format!(
            "*Casos de dengue en Celaya*\nAl 30 de noviembre de 2026 hay *45* casos confirmados de dengue (graves: 1).\n\
             En todo el estado: {estado}.\n\nFuente: Secretaría de Salud de Guanajuato."
        )
    );

    // Routing: the keyword, the keyword with a place, the menu's new option.
    let asked = stdout(&run(dir.path(), &["preview", "--mensaje", "¿cuánto dengue hay?"]));
    assert!(asked.starts_with("Entendido como: Casos de dengue.\n\n*Casos de dengue en Guanajuato*"), "{asked}");
    let asked = stdout(&run(dir.path(), &["preview", "--mensaje", "dengue en Celaya"]));
    assert!(asked.starts_with("Entendido como: Casos de dengue en Celaya.\n\n*Casos de dengue en Celaya*"), "{asked}");
    let menu = stdout(&run(dir.path(), &["preview", "--mensaje", "hola"]));
    assert!(menu.contains("9") && menu.contains("Dengue"), "the main menu offers it: {menu}");
    let old = stdout(&run(dir.path(), &["preview", "--mensaje", "hospitales"]));
    assert!(old.starts_with("Entendido como: Hospitales habilitados."), "the other topics stay: {old}");

    // Counted by slug: what the responder records for the topic the catalogue names.
    {
        let settings = settings::Settings::load(&dir.path().join("contacto.toml")).unwrap();
        let store = store::open(&settings.store_config()).await.unwrap();
        let snapshot = store.current_snapshot().await.unwrap().unwrap();
        let dengue = snapshot.content.router.topics.topic("dengue").expect("the published catalogue has it");
        let hasher = UserHasher::new(b"user-hash-key-for-tests-0123456789").unwrap();
        let batch: Vec<Interaction> = (0..7)
            .map(|i| Interaction {
                day: date(2026, 12, 1),
                topic: dengue,
                user: hasher.key(&UserAddress::Phone(PhoneNumber::parse(&format!("52147{i:08}")).unwrap())),
            })
            .collect();
        store.record_interactions(&batch).await.unwrap();
    }
    assert_eq!(counted(dir.path()).await, (7, "Casos de dengue".to_owned()));

    // Removed: the bundled menu again. Its keyword no longer routes; its counts stay.
    std::fs::copy(repo().join("fixtures/menu/menu.toml"), dir.path().join("menu.toml")).unwrap();
    stdout(&run(dir.path(), &["ingest", "--once", "--source", "menu"]));
    let asked = stdout(&run(dir.path(), &["preview", "--mensaje", "dengue en Celaya"]));
    assert!(!asked.contains("dengue"), "the keyword leads nowhere now: {asked}");
    let gone = run(dir.path(), &["preview", "dengue"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("«dengue» no es un tema conocido"), "{gone:?}");
    assert_eq!(counted(dir.path()).await, (7, "dengue".to_owned()), "the past counts keep the topic, by slug");
}

/// [`set_up`], the menu and the dengue figures published: what the bot answers to «dengue en
/// León», which a refused file must leave as it is.
pub(crate) fn published(dir: &Path) -> String {
    set_up(dir);
    stdout(&run(dir, &["ingest", "--once", "--source", "menu"]));
    stdout(&run(dir, &["ingest", "--once", "--source", "dengue"]));
    stdout(&run(dir, &["preview", "--mensaje", "dengue en León"]))
}

#[test]
fn a_bad_topic_entry_is_refused_at_its_line_and_column_and_the_published_answers_stay() {
    let dir = tempfile::tempdir().unwrap();
    let before = published(dir.path());

    // A keyword's topic misspelt, a phrase another topic has, a menu number taken.
    let good = menu_with_dengue();
    let bad = good
        .replace("tema = \"dengue\"\nfrases", "tema = \"denge\"\nfrases")
        .replace("numero = 9\n  etiqueta = \"Dengue\"", "numero = 8\n  etiqueta = \"Dengue\"")
        + "\n[[palabras]]\ntema = \"dengue\"\nfrases = [\"zancudo\", \"casos\"]\n";
    std::fs::write(dir.path().join("menu.toml"), &bad).unwrap();
    let out = run(dir.path(), &["validate", "menu.toml"]);
    assert!(!out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let (l, c) = place(&bad, "8\n  etiqueta = \"Dengue\"");
    assert!(
        printed.contains(&format!("menu.toml:{l}:{c}: numero: otra opción de este menú ya tiene este número")),
        "{printed}"
    );
    let (l, c) = place(&bad, "\"denge\"");
    assert!(printed.contains(&format!("menu.toml:{l}:{c}: tema: «denge» no es un tema conocido")), "{printed}");
    let (l, c) = place(&bad, "\"zancudo\", \"casos\"");
    let c = c + "\"zancudo\", ".len();
    let (other, _) = place(&bad, "\"casos\", \"positivos\"");
    assert!(
        printed.contains(&format!("menu.toml:{l}:{c}: frases: ya lleva al tema «confirmados» en la línea {other}")),
        "{printed}"
    );

    // A template that does not exist, named where the topic names it.
    let missing = good.replace("fuente = \"dengue\"\n", "fuente = \"dengue\"\nplantilla = \"dengue_semanal.j2\"\n");
    std::fs::write(dir.path().join("menu.toml"), &missing).unwrap();
    let out = run(dir.path(), &["validate", "menu.toml"]);
    assert!(!out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let (l, c) = place(&missing, "\"dengue_semanal.j2\"");
    assert!(
        printed.contains(&format!(
            "menu.toml:{l}:{c}: plantilla: el tema «dengue» usa la plantilla dengue_semanal.j2 y no existe en el directorio de plantillas"
        )),
        "{printed}"
    );

    // Published anyway by a run: refused, and citizens read what they read before.
    for file in [&bad, &missing] {
        std::fs::write(dir.path().join("menu.toml"), file).unwrap();
        let _ = run(dir.path(), &["ingest", "--once", "--source", "menu"]);
        assert_eq!(stdout(&run(dir.path(), &["preview", "--mensaje", "dengue en León"])), before);
    }
    assert!(before.starts_with("Entendido como: Casos de dengue en León."), "{before}");
}
