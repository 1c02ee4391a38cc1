//! A topic added with files («dengue», as in `nuevo_tema`) from the other side: what
//! `contacto validate` refuses before it is published (a `fuente` no source has), and
//! everything that names a topic taking one that exists only in the published catalogue (the
//! metrics' `topic` label, `contacto sin-entender --tema`).

use std::path::Path;
use std::process::Output;

use channels::meta;
use responder::{Responder, ResponderConfig};
use schemas::KeyLayout;
use testkit::dengue::menu_with_dengue;
use testkit::{APP_SECRET, PNID, RecordingServer};

use crate::common::{self, place, repo, stdout};
use crate::nuevo_tema::{published, run, set_up};

/// The published answer to a message, as `preview` shows it.
fn answer_to(dir: &Path, message: &str) -> String {
    stdout(&run(dir, &["preview", "--mensaje", message]))
}

fn printed(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_fuente_no_configured_source_has_is_refused_at_its_place_and_the_published_answers_stay() {
    let dir = tempfile::tempdir().unwrap();
    let before = published(dir.path());
    assert!(before.starts_with("Entendido como: Casos de dengue en León."), "{before}");

    // The valid file passes; the bundled topics whose kind this deployment leaves out (no
    // national file here) are named, at their `fuente`, as having no answers.
    let good = menu_with_dengue();
    let valid = stdout(&run(dir.path(), &["validate", "menu.toml"]));
    let (l, c) = place(&good, "\"hospitales\"\npor_municipio");
    assert!(
        valid.contains(&format!(
            "aviso: menu.toml:{l}:{c}: fuente: ninguna fuente de contacto.toml es del tipo «hospitales»: el tema \
             «hospitales» no tendrá respuestas aquí; las fuentes configuradas son: dengue, menu («hospitales»)"
        )),
        "{valid}"
    );

    // A typo in `fuente`: refused where it is written, naming the sources there are.
    let typo = good.replace("fuente = \"dengue\"\n", "fuente = \"dengeu\"\n");
    assert_ne!(typo, good);
    std::fs::write(dir.path().join("menu.toml"), &typo).unwrap();
    let out = run(dir.path(), &["validate", "menu.toml"]);
    assert!(!out.status.success(), "{}", printed(&out));
    let (l, c) = place(&typo, "\"dengeu\"");
    assert!(
        printed(&out).contains(&format!(
            "menu.toml:{l}:{c}: fuente: no hay una fuente «dengeu» en contacto.toml, así que nadie publicaría las \
             respuestas del tema «dengue»; las fuentes configuradas son: dengue, menu («dengeu»)"
        )),
        "{}",
        printed(&out)
    );

    // Published anyway by a run: refused, with the same line, and citizens read what they read.
    let published = run(dir.path(), &["ingest", "--once", "--source", "menu"]);
    assert!(
        printed(&published).contains(&format!("menu.toml:{l}:{c}: fuente: no hay una fuente «dengeu»")),
        "{}",
        printed(&published)
    );
    assert_eq!(answer_to(dir.path(), "dengue en León"), before);
}

#[test]
fn sin_entender_takes_a_topic_of_the_published_catalogue_and_names_the_valid_ones_for_another() {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    stdout(&run(dir.path(), &["ingest", "--once", "--source", "menu"]));

    let change = stdout(&run(dir.path(), &["sin-entender", "--frase", "zancudo", "--tema", "dengue"]));
    assert!(change.starts_with("Para que «zancudo» lleve a Casos de dengue, cambia menu.toml"), "{change}");
    assert!(change.contains("+ frases = [\"dengue\", \"mosquito del dengue\", \"zancudo\"]"), "{change}");

    let out = run(dir.path(), &["sin-entender", "--frase", "zancudo", "--tema", "dengeu"]);
    assert!(!out.status.success());
    let refused = printed(&out);
    assert!(refused.contains("«dengeu» no es un tema conocido; los temas son: menu, confirmados,"), "{refused}");
    assert!(refused.contains(", dengue,"), "the valid ones include the new topic: {refused}");
}

/// The store the test publishes into: the embedded one of `contacto.toml`, or the test Redis
/// under a prefix of its own (what `contacto` reads from the environment).
enum Published {
    Embedded,
    Redis(KeyLayout),
}

impl Published {
    fn vars(&self) -> Vec<(&'static str, String)> {
        match self {
            Published::Embedded => Vec::new(),
            Published::Redis(keys) => vec![
                ("CONTACTO_REDIS_URL", testkit::redis_url()),
                ("CONTACTO_STORE__KEY_PREFIX", keys.prefix().to_owned()),
            ],
        }
    }

    async fn open(&self, dir: &Path) -> store::SharedStore {
        let config = match self {
            Published::Embedded => settings::Settings::load(&dir.join("contacto.toml")).unwrap().store_config(),
            Published::Redis(keys) => store::StoreConfig::Redis { url: testkit::redis_url(), keys: keys.clone() },
        };
        store::open(&config).await.unwrap()
    }
}

async fn a_new_topics_answers_are_labelled_by_its_slug_and_nothing_citizens_write_is_a_label(published: Published) {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    let vars = published.vars();
    for source in ["menu", "dengue"] {
        let out = common::contacto(dir.path(), &["ingest", "--once", "--source", source], &vars).output().unwrap();
        assert!(out.status.success(), "{}", printed(&out));
    }
    let store = published.open(dir.path()).await;

    let (_graph, graph_server) = RecordingServer::start(testkit::graph_ok()).await;
    let mut settings = testkit::channel_settings(&graph_server.url(""), "http://127.0.0.1:9");
    let responder = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), store).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!("http://{}/webhooks/meta", public.local_addr().unwrap());
    let metrics = format!("http://{}/metrics", internal.local_addr().unwrap());
    tokio::spawn(responder.serve(public, internal, std::future::pending()));

    let http = reqwest::Client::new();
    let messages = ["dengue en Celaya", "¿cuánto dengue hay?", "xqzvkp wlmnt", "hola"];
    for (i, text) in messages.iter().enumerate() {
        let body = testkit::meta_text(PNID, &format!("5214771{i:06}"), &format!("wamid.T{i}"), text);
        let sent = http
            .post(&webhook)
            .header(meta::SIGNATURE_HEADER, meta::signature(APP_SECRET, &body))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(sent.status().is_success(), "{text}: {}", sent.status());
    }

    let scraped = http.get(&metrics).send().await.unwrap().text().await.unwrap();
    let answers: Vec<&str> = scraped.lines().filter(|l| l.starts_with("contacto_answers_total{")).collect();
    assert!(answers.contains(&"contacto_answers_total{topic=\"dengue\"} 2"), "{answers:#?}");
    assert!(answers.contains(&"contacto_answers_total{topic=\"menu\"} 1"), "{answers:#?}");
    // What was not understood is counted as the help it got, and its words are no label.
    assert!(answers.contains(&"contacto_answers_total{topic=\"ayuda\"} 1"), "{answers:#?}");
    assert_eq!(answers.len(), 3, "one series per topic answered: {answers:#?}");
    assert!(!scraped.contains("xqzvkp"), "a citizen's words never reach /metrics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_topics_answers_are_labelled_by_its_slug_on_the_embedded_store() {
    a_new_topics_answers_are_labelled_by_its_slug_and_nothing_citizens_write_is_a_label(Published::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_topics_answers_are_labelled_by_its_slug_on_redis() {
    let published = Published::Redis(testkit::unique_keys());
    a_new_topics_answers_are_labelled_by_its_slug_and_nothing_citizens_write_is_a_label(published).await;
}

/// `text` with the line that starts with `key = ` after `after` replaced by `key = value`.
fn replace_after(text: &str, after: &str, key: &str, value: &str) -> String {
    let start = text.find(after).unwrap_or_else(|| panic!("{after} not in the file"));
    let line = start + text[start..].find(&format!("\n{key} = ")).expect("the key after it") + 1;
    let end = line + text[line..].find('\n').unwrap();
    format!("{}{key} = {value}{}", &text[..line], &text[end..])
}

#[test]
fn answers_beyond_whatsapps_limits_are_reported_by_validate_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());

    // The menu file: a menu's text that makes its list message too long, an option's title
    // beyond a list row's 24 characters; each at its place, with the limit and the length.
    let long = "Escribe el número de la opción. ".repeat(130);
    let menu = replace_after(&menu_with_dengue(), "id = \"principal\"", "texto", &format!("\"{long}\""));
    std::fs::write(dir.path().join("menu.toml"), &menu).unwrap();
    let out = run(dir.path(), &["validate", "menu.toml"]);
    assert!(!out.status.success());
    let (l, c) = place(&menu, &format!("\"{long}\""));
    let said = printed(&out);
    assert!(said.contains(&format!("menu.toml:{l}:{c}: texto: el texto tiene ")), "{said}");
    assert!(said.contains("WhatsApp admite como máximo 4,096"), "{said}");

    let label = "Casos de dengue por municipio";
    let menu = menu_with_dengue().replace("etiqueta = \"Dengue\"", &format!("etiqueta = \"{label}\""));
    std::fs::write(dir.path().join("menu.toml"), &menu).unwrap();
    let said = printed(&run(dir.path(), &["validate", "menu.toml"]));
    let (l, c) = place(&menu, &format!("\"{label}\""));
    assert!(
        said.contains(&format!(
            "menu.toml:{l}:{c}: etiqueta: tiene 29 caracteres y WhatsApp admite 24 en el título de una opción; acórtalo"
        )),
        "{said}"
    );
    std::fs::write(dir.path().join("menu.toml"), menu_with_dengue()).unwrap();

    // A template's answer beyond a WhatsApp text: the template, the topic and the place.
    let template = dir.path().join("plantillas/dengue.j2");
    let good = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        format!("{good}{{% for i in range(300) %}}Lávate las manos y tapa el agua. {{% endfor %}}\n"),
    )
    .unwrap();
    let said = printed(&run(dir.path(), &["validate", "menu.toml", "dengue_2026-11-30.csv"]));
    assert!(
        said.contains("dengue_2026-11-30.csv: plantilla dengue.j2, respuesta dengue/estado: el texto tiene "),
        "{said}"
    );
    assert!(said.contains("WhatsApp admite como máximo 4,096 (tema «Casos de dengue», Guanajuato)"), "{said}");
    std::fs::write(&template, good).unwrap();

    // Over Twilio's 1,600 characters: sent, but in pieces; validate says which answer and how many.
    let hospitals = repo().join("fixtures/hospitales/hospitales_2020-09-24.csv");
    let valid = stdout(&run(dir.path(), &["validate", hospitals.to_str().unwrap()]));
    assert!(
        valid.contains(&format!(
            "  aviso: {}: plantilla hospitales.j2, tema «Hospitales habilitados», Guanajuato: tiene 3,906 caracteres \
             y Twilio admite 1,600 en un mensaje; en Twilio sale en 3 mensajes",
            hospitals.display()
        )),
        "{valid}"
    );
}
