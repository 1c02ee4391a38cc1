//! Drafts prepared from the data, end to end: the federal semáforo page served over HTTP on
//! 127.0.0.1 changes colour, a real ingest run publishes it and prepares exactly one draft
//! (its text from `templates/borrador_conectate.j2`, for the whole state, with why it exists);
//! the same page again prepares nothing; the colour flapping back and forth the same day
//! rewrites that one draft; a draft the team edited is left alone; scheduling the draft sends
//! it through the sender to every subscriber, like any content. A topic added to the menu
//! file's catalogue (read from a file, as `docs/guias/agregar-un-tema.md` adds one) prepares
//! one draft per new topic, and nothing when a topic is renamed or removed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conectate::{State, SystemDrafts};
use ingest::{Ingest, Prepared, Progress, RunMode, RunReport};
use schemas::RunResult;
use settings::Settings;

use crate::helpers::*;

testkit::on_both_stores!(
    a_semaforo_that_changes_colour_prepares_one_draft_that_sends_like_any_content,
    a_draft_the_team_edited_is_not_rewritten_by_the_next_change,
    data_forced_out_of_quarantine_prepares_a_draft_that_says_why,
    a_topic_added_to_the_catalogue_prepares_one_draft_per_new_topic,
);

/// The semáforo page, served over HTTP, with the colour and period the test sets.
struct Page {
    html: Arc<Mutex<String>>,
    url: String,
    _server: testkit::TestServer,
}

/// The bundled CONACYT page with Guanajuato (11) in `color` for `periodo`.
fn semaforo_page(color: &str, periodo: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/semaforo/semaforo.html");
    let page = std::fs::read_to_string(path).unwrap();
    assert!(page.contains("NColors['11']='yellow'") && page.contains("del 12 al 25 de abril de 2021"));
    page.replace("NColors['11']='yellow'", &format!("NColors['11']='{color}'"))
        .replace("del 12 al 25 de abril de 2021", periodo)
}

impl Page {
    async fn start(html: String) -> Page {
        let html = Arc::new(Mutex::new(html));
        let served = html.clone();
        let router = axum::Router::new().route(
            "/semaforo.php",
            axum::routing::get(move || {
                let page = served.lock().unwrap().clone();
                async move { axum::response::Html(page) }
            }),
        );
        let server = testkit::serve(router).await;
        Page { html, url: server.url("/semaforo.php"), _server: server }
    }

    fn set(&self, html: String) {
        *self.html.lock().unwrap() = html;
    }
}

/// An ingest of the page as the `semaforo` source, with the repository's templates and the
/// default draft rules, handing its drafts to Conéctate's contents.
fn ingest(app: &TestApp, page: &Page) -> (Ingest, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut settings = Settings { config_dir: repo, ..Settings::default() };
    settings.store.data_dir = data.path().to_owned();
    let mut source = testkit::source_settings("semaforo", &page.url);
    source.options.insert("periodo_selector".into(), "#vigencia".into());
    settings.sources.insert("semaforo".parse().unwrap(), source);
    settings.validate().unwrap();
    let ingest = Ingest::from_settings(&settings, app.store.clone())
        .unwrap()
        .with_draft_sink(Arc::new(SystemDrafts::new(app.store.clone())));
    (ingest, data)
}

async fn run(ingest: &Ingest) -> RunReport {
    ingest.run("semaforo", RunMode::Normal, Progress::shared()).await.unwrap()
}

const ABRIL: &str = "del 12 al 25 de abril de 2021";
const MAYO: &str = "del 26 de abril al 9 de mayo de 2021";
const FUENTE: &str = "Fuente: Secretaría de Salud federal, semáforo de riesgo epidémico. Datos al 26 de abril de 2021.";

async fn a_semaforo_that_changes_colour_prepares_one_draft_that_sends_like_any_content(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    app.subscribe(3).await;
    let page = Page::start(semaforo_page("yellow", ABRIL)).await;
    let (ingest, _data) = ingest(&app, &page);

    // The first publish has nothing to compare with.
    let first = run(&ingest).await;
    assert_eq!((first.run.result, first.drafts.as_slice()), (RunResult::Published, &[][..]));
    assert!(app.contents.list().await.unwrap().is_empty());

    // Orange from the 26th: one draft, for the whole state, saying what changed and why it exists.
    page.set(semaforo_page("orange", MAYO));
    let changed = run(&ingest).await;
    assert_eq!(changed.run.result, RunResult::Published);
    let [Prepared::Created(id)] = changed.drafts[..] else { panic!("one draft: {:?}", changed.drafts) };
    let contents = app.contents.list().await.unwrap();
    assert_eq!(contents.len(), 1);
    let draft = &contents[0];
    assert_eq!((draft.id, draft.state), (id, State::Draft));
    assert!(draft.draft.municipios.is_empty(), "the semáforo is the whole state's");
    assert_eq!(
        draft.draft.text,
        format!(
            "*Cambia el semáforo federal de riesgo epidémico*: pasa de amarillo a *naranja* a partir del 26 de abril de 2021.\n\
             Consulta qué actividades se permiten y sigue cuidándote: escribe *semáforo* para ver el detalle.\n\n{FUENTE}"
        )
    );
    assert_eq!(
        draft.draft.title,
        "Borrador automático: el semáforo federal de riesgo epidémico pasó de amarillo a naranja"
    );
    let origin = draft.origin.as_ref().expect("marked as prepared by the system");
    let version = changed.run.version.unwrap();
    assert_eq!(
        origin.reason,
        format!(
            "Lo preparó el sistema al publicar la corrida #{} de «semaforo» ({version}, datos al 26 de abril de 2021): \
             el semáforo federal de riesgo epidémico pasó de amarillo a naranja.",
            changed.run.id
        )
    );
    assert_eq!((origin.source.as_str(), origin.run, origin.version), ("semaforo", changed.run.id, Some(version)));

    // The same page again: nothing published, nothing prepared.
    let again = run(&ingest).await;
    assert_eq!((again.run.result, again.drafts.as_slice()), (RunResult::Unchanged, &[][..]));
    assert_eq!(app.contents.list().await.unwrap().len(), 1);

    // Back to yellow and to orange again the same day: still that one draft, always true.
    page.set(semaforo_page("yellow", MAYO));
    assert_eq!(run(&ingest).await.drafts, [Prepared::Updated(id)]);
    let reverted = app.contents.get(id).await.unwrap();
    assert!(
        reverted.draft.text.starts_with(
            "*El semáforo federal de riesgo epidémico* sigue en *amarillo*: hoy cambió y volvió a su color."
        ),
        "{}",
        reverted.draft.text
    );
    assert!(reverted.origin.unwrap().reason.contains("El cambio se revirtió el mismo día"));
    page.set(semaforo_page("orange", MAYO));
    assert_eq!(run(&ingest).await.drafts, [Prepared::Updated(id)]);
    let contents = app.contents.list().await.unwrap();
    assert_eq!(contents.len(), 1, "one draft however often the colour flaps");
    assert!(
        contents[0]
            .draft
            .text
            .starts_with("*Cambia el semáforo federal de riesgo epidémico*: pasa de amarillo a *naranja*")
    );

    // Scheduled like any content, it goes through the sender to every subscriber: as the text
    // to whoever wrote today, as the default template (its text on one line) to the others.
    app.write(&phone(0), "hola").await;
    let scheduled = app.contents.schedule(id, None).await.unwrap();
    assert_eq!(scheduled.state, State::Scheduled);
    let report = app.drain(&app.sender("s1"), id, Duration::from_secs(30)).await;
    assert_eq!((report.planned, report.recipients.sent_text, report.recipients.sent_template), (Some(3), 1, 2));
    let by_recipient = app.sends_by_recipient();
    assert_eq!(by_recipient.len(), 3);
    assert!(by_recipient.values().all(|n| *n == 1));
    let text = contents[0].draft.text.as_str();
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let broadcast = format!("cc1:{id}:");
    let sends = app.sends();
    let of_the_draft: Vec<_> = sends
        .iter()
        .filter(|s| s["biz_opaque_callback_data"].as_str().is_some_and(|t| t.starts_with(&broadcast)))
        .collect();
    assert_eq!(of_the_draft.len(), 3);
    for send in of_the_draft {
        match send["type"].as_str() {
            Some("text") => assert_eq!(send["text"]["body"], text),
            _ => assert_eq!(send["template"]["components"][0]["parameters"][0]["text"], one_line.as_str()),
        }
    }
}

async fn a_draft_the_team_edited_is_not_rewritten_by_the_next_change(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    let page = Page::start(semaforo_page("yellow", ABRIL)).await;
    let (ingest, _data) = ingest(&app, &page);
    run(&ingest).await;
    page.set(semaforo_page("red", MAYO));
    let [Prepared::Created(id)] = run(&ingest).await.drafts[..] else { panic!("one draft") };
    let mut edited = app.contents.get(id).await.unwrap().draft;
    edited.text = "El semáforo pasa a rojo: quédate en casa.".into();
    app.contents.edit(id, edited).await.unwrap();

    page.set(semaforo_page("orange", MAYO));
    assert_eq!(run(&ingest).await.drafts, [Prepared::Kept(id)], "the team already took it up");
    let contents = app.contents.list().await.unwrap();
    assert_eq!(contents.len(), 1);
    assert_eq!(contents[0].draft.text, "El semáforo pasa a rojo: quédate en casa.");
}

async fn data_forced_out_of_quarantine_prepares_a_draft_that_says_why(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    let page = Page::start(semaforo_page("yellow", MAYO)).await;
    let (ingest, _data) = ingest(&app, &page);
    run(&ingest).await;
    // The page goes back to April's period: quarantined, nothing prepared until it is forced.
    page.set(semaforo_page("yellow", ABRIL));
    let quarantined = run(&ingest).await;
    assert_eq!((quarantined.run.result, quarantined.drafts.as_slice()), (RunResult::Quarantined, &[][..]));
    let forced = ingest.run("semaforo", RunMode::Force(schemas::Actor::CommandLine), Progress::shared()).await.unwrap();
    assert_eq!(forced.run.result, RunResult::Published);
    let [Prepared::Created(id)] = forced.drafts[..] else { panic!("one draft: {:?}", forced.drafts) };
    let draft = app.contents.get(id).await.unwrap();
    assert_eq!(
        draft.draft.text,
        "*Actualizamos los datos de «semaforo»*. Revisamos el cambio: la fecha de los datos retrocede: \
         12 de abril de 2021 después de 26 de abril de 2021.\n\n\
         Fuente: Secretaría de Salud federal, semáforo de riesgo epidémico. Datos al 12 de abril de 2021."
    );
    assert!(
        draft
            .origin
            .unwrap()
            .reason
            .contains("los datos de «semaforo»: se publicaron a pesar de la revisión automática")
    );
}

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `[[tema]]` fed by a source of its own, its keywords and a template in `dir`'s templates.
fn topic(dir: &std::path::Path, slug: &str, nombre: &str, frase: &str) -> String {
    let template = format!(
        "*{nombre}*\nAl {{{{ fecha_datos }}}}: {{{{ cifras.confirmados | numero }}}}.\n\nFuente: {{{{ fuente }}}}.\n"
    );
    std::fs::write(dir.join("templates").join(format!("{slug}.j2")), template).unwrap();
    format!(
        "\n[[palabras]]\ntema = \"{slug}\"\nfrases = [\"{frase}\"]\n\n\
         [[tema]]\nslug = \"{slug}\"\nnombre = \"{nombre}\"\nfuente = \"{slug}\"\npor_municipio = true\n"
    )
}

/// The bundled menu file with `extra` at its end, published as `dir/menu.toml`.
fn write_menu(dir: &std::path::Path, extra: &str) {
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    std::fs::write(dir.join("menu.toml"), menu + extra).unwrap();
}

/// An ingest of `dir/menu.toml` as the `menu` source, with a copy of the repository's templates
/// in `dir/templates` and the default draft rules, handing its drafts to Conéctate's contents.
/// The topics the tests add are fed by `cifras` sources of their names (a `[[tema]]` whose
/// `fuente` no configured source has is refused).
fn menu_ingest(app: &TestApp, dir: &std::path::Path) -> Ingest {
    std::fs::create_dir(dir.join("templates")).unwrap();
    for entry in std::fs::read_dir(repo().join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("templates").join(path.file_name().unwrap())).unwrap();
    }
    let mut settings = Settings { config_dir: dir.to_owned(), ..Settings::default() };
    settings.store.data_dir = dir.join("data");
    settings.sources.insert("menu".parse().unwrap(), testkit::source_settings("menu", "file://menu.toml"));
    for added in ["dengue", "golpe_de_calor", "influenza"] {
        let figures = testkit::source_settings("cifras", &format!("file://{added}.csv"));
        settings.sources.insert(added.parse().unwrap(), figures);
    }
    settings.validate().unwrap();
    Ingest::from_settings(&settings, app.store.clone())
        .unwrap()
        .with_draft_sink(Arc::new(SystemDrafts::new(app.store.clone())))
}

async fn a_topic_added_to_the_catalogue_prepares_one_draft_per_new_topic(kind: StoreKind) {
    let app = spawn_app(kind, Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ingest = menu_ingest(&app, dir.path());
    let run = || async { ingest.run("menu", RunMode::Normal, Progress::shared()).await.unwrap() };
    let menu = std::fs::read_to_string(repo().join("fixtures/menu/menu.toml")).unwrap();
    assert!(menu.contains("\nfecha = 2021-04-30\n"), "the date the drafts announce");
    write_menu(dir.path(), "");
    let first = run().await;
    assert_eq!((first.run.result, first.drafts.as_slice()), (RunResult::Published, &[][..]));

    // «dengue» declared with its keyword and template: one draft, for the whole state.
    let dengue = topic(dir.path(), "dengue", "Casos de dengue", "dengue");
    write_menu(dir.path(), &dengue);
    let added = run().await;
    assert_eq!(added.run.result, RunResult::Published);
    let [Prepared::Created(id)] = added.drafts[..] else { panic!("one draft: {:?}", added.drafts) };
    let contents = app.contents.list().await.unwrap();
    assert_eq!(contents.len(), 1);
    let draft = &contents[0];
    assert_eq!((draft.id, draft.state), (id, State::Draft));
    assert!(draft.draft.municipios.is_empty(), "a topic is announced to the whole state");
    assert_eq!(
        draft.draft.text,
        "*Nuevo tema: Casos de dengue*, a partir del 30 de abril de 2021.\n\
         Escribe *dengue* para consultarlo o *menú* para ver todas las opciones.\n\n\
         Fuente: Gobierno del Estado de Guanajuato, Contacto Ciudadano. Datos al 30 de abril de 2021."
    );
    assert_eq!(draft.draft.title, "Borrador automático: un tema nuevo: Casos de dengue");
    let origin = draft.origin.as_ref().expect("marked as prepared by the system");
    let version = added.run.version.unwrap();
    assert_eq!(
        origin.reason,
        format!(
            "Lo preparó el sistema al publicar la corrida #{} de «menu» ({version}, datos al 30 de abril de 2021): \
             un tema nuevo: Casos de dengue.",
            added.run.id
        )
    );
    assert_eq!((origin.source.as_str(), origin.run, origin.version), ("menu", added.run.id, Some(version)));

    // The same file again: nothing published, nothing prepared.
    let again = run().await;
    assert_eq!((again.run.result, again.drafts.as_slice()), (RunResult::Unchanged, &[][..]));

    // Renamed, then removed: published, and no news to announce.
    write_menu(dir.path(), &dengue.replace("Casos de dengue", "Dengue en el estado"));
    let renamed = run().await;
    assert_eq!((renamed.run.result, renamed.drafts.as_slice()), (RunResult::Published, &[][..]));
    write_menu(dir.path(), "");
    let removed = run().await;
    assert_eq!((removed.run.result, removed.drafts.as_slice()), (RunResult::Published, &[][..]));
    assert_eq!(app.contents.list().await.unwrap().len(), 1);

    // Two topics at once: one draft each, so the team may send one and discard the other.
    let golpe = topic(dir.path(), "golpe_de_calor", "Golpes de calor", "golpe de calor");
    let influenza = topic(dir.path(), "influenza", "Casos de influenza", "influenza");
    write_menu(dir.path(), &format!("{golpe}{influenza}"));
    let two = run().await;
    let [Prepared::Created(a), Prepared::Created(b)] = two.drafts[..] else { panic!("two drafts: {:?}", two.drafts) };
    let texts = [app.contents.get(a).await.unwrap().draft.text, app.contents.get(b).await.unwrap().draft.text];
    assert!(
        texts[0]
            .starts_with("*Nuevo tema: Golpes de calor*, a partir del 30 de abril de 2021.\nEscribe *golpe de calor* "),
        "{}",
        texts[0]
    );
    assert!(
        texts[1]
            .starts_with("*Nuevo tema: Casos de influenza*, a partir del 30 de abril de 2021.\nEscribe *influenza* "),
        "{}",
        texts[1]
    );
    assert_eq!(app.contents.list().await.unwrap().len(), 3);
}
