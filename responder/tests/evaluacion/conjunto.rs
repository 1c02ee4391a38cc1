//! The evaluation set (`mensajes.tsv`, beside this file) and the router table of the bundled
//! menu file, shared by the evaluation test and the understanding benchmark.
//!
//! The router table is built from `fixtures/menu/menu.toml` by ingest's own check of a menu
//! file, as `contacto preview --mensaje --from` does, so the figures are those of the menu the
//! project ships.

use std::path::{Path, PathBuf};

use responder::understanding::{Intent, Understanding};
use schemas::{MenuId, MunicipioId, RouterTable, Scope, Target, Topic};

/// What a message should be understood as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A topic, for the state or a municipio.
    Topic(Topic, Scope),
    /// A menu.
    Menu(MenuId),
    /// The bot should ask which of a few readings was meant.
    Ask,
    /// Nothing to recognise: the help text.
    Help,
}

/// One labelled message.
#[derive(Clone, Debug)]
pub struct Case {
    pub message: String,
    pub expected: Expected,
    /// The class of message, for accuracy by class (saludo, frase, formas, errata…).
    pub class: String,
    /// The line of `mensajes.tsv`, for a failure's message.
    pub line: usize,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every case of `mensajes.tsv`; a malformed line panics with its number.
pub fn cases() -> Vec<Case> {
    let path = repo().join("responder/tests/evaluacion/mensajes.tsv");
    let text = std::fs::read_to_string(&path).expect("the evaluation set");
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [message, expected, municipio, class] = fields[..] else {
            panic!("mensajes.tsv, línea {line_no}: se esperan 4 columnas separadas por tabulador");
        };
        let scope = match municipio {
            "-" => Scope::Estado,
            code => Scope::Municipio(
                code.parse::<MunicipioId>().unwrap_or_else(|e| panic!("mensajes.tsv, línea {line_no}, municipio: {e}")),
            ),
        };
        let expected = match expected {
            "ask" => Expected::Ask,
            "help" => Expected::Help,
            menu if menu.starts_with("menu:") => Expected::Menu(
                menu["menu:".len()..].parse().unwrap_or_else(|e| panic!("mensajes.tsv, línea {line_no}, menú: {e}")),
            ),
            topic => Expected::Topic(
                topic.parse().unwrap_or_else(|e| panic!("mensajes.tsv, línea {line_no}, tema: {e}")),
                scope,
            ),
        };
        cases.push(Case { message: message.to_owned(), expected, class: class.to_owned(), line: line_no });
    }
    cases
}

/// The router table of the bundled menu file, as ingest builds it for a snapshot.
pub fn bundled_router() -> RouterTable {
    let file = repo().join("fixtures/menu/menu.toml");
    let renderer = ingest::render::Renderer::load(&repo().join("templates")).expect("the bundled templates");
    let resolved =
        ingest::offline::resolve(&settings::Settings::default(), &file, Some("menu")).unwrap_or_else(|e| panic!("{e}"));
    let body = ingest::fetch::Body::from_file(&file).expect("the bundled menu file");
    let checked = resolved
        .checker
        .check(&body, &renderer, ingest::render::Companions::new(), ingest::sources::menu::bundled_topics())
        .unwrap_or_else(|e| panic!("the bundled menu file does not pass: {e}"));
    checked.router.expect("a menu file carries the router table")
}

/// How an understood message reads against its label.
pub fn as_expected(intent: &Intent) -> Expected {
    match intent {
        Intent::Help | Intent::Show { target: Target::Topic(Topic::AYUDA), .. } => Expected::Help,
        Intent::Ask { .. } => Expected::Ask,
        Intent::Show { target: Target::Menu(menu), .. } => Expected::Menu(menu.clone()),
        Intent::Show { target: Target::Topic(Topic::MENU), .. } => Expected::Menu(MenuId::principal()),
        Intent::Show { target: Target::Topic(topic), scope } => Expected::Topic(*topic, *scope),
    }
}

/// What the responder makes of every case, in order.
pub fn understand_all(understanding: &Understanding, router: &RouterTable, cases: &[Case]) -> Vec<Intent> {
    cases.iter().map(|c| understanding.understand(router, &c.message, None)).collect()
}
