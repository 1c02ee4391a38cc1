//! `contacto preview TOPIC [MUNICIPIO] [--from DIR]`: exactly the text a citizen would read
//! now, from the current snapshot; with `--from`, once the files of DIR are published (each is
//! validated and rendered as a run would, and its answers replace its source's). The municipio
//! may be a name, an alias or an INEGI code, in any case and with or without accents.
//!
//! `contacto preview --mensaje TEXT [--from DIR]`: what the bot makes of a message and what it
//! answers, decided by the responder's own code ([`responder::trial`]) over the same answers
//! and router table, so a maintainer can try a new keyword before publishing the menu.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use channels::Content;
use ingest::render::Companions;
use ingest::state::Stored;
use responder::mirror::Prepared;
use responder::replies::Reply;
use schemas::{
    Answer, AnswerKey, Provenance, RenderedAnswer, RouterTable, Scope, Snapshot, SnapshotContent, SnapshotVersion,
    SourceName, catalogue, es_mx,
};
use settings::Settings;

/// What to preview.
pub enum Asked {
    /// A topic's answer, for the state or a municipio (as typed).
    Topic { topic: String, municipio: Option<String> },
    /// A citizen's message.
    Message(String),
}

/// Every answer and where it comes from, and the router table: published first, then the
/// files of DIR over them.
#[derive(Default)]
struct Answers {
    answers: BTreeMap<AnswerKey, (Answer, String)>,
    owners: BTreeMap<AnswerKey, SourceName>,
    router: RouterTable,
    version: Option<SnapshotVersion>,
}

pub async fn preview(settings: Settings, asked: Asked, from: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = crate::deployment_store::open_store(&settings).await?;
    let snapshot = store.current_snapshot().await?;
    let mut all = Answers::default();
    if let Some(snapshot) = snapshot {
        for (key, rendered) in &snapshot.content.answers {
            let origin = match snapshot.provenance_of(rendered) {
                Some(p) => format!("fuente {}, datos al {}", p.source, es_mx::long_date(p.data_date)),
                None => format!("fuente {}", rendered.source),
            };
            all.answers.insert(*key, (rendered.answer.clone(), format!("{origin}, versión {}", snapshot.version)));
            all.owners.insert(*key, rendered.source.clone());
        }
        all.router = snapshot.content.router;
        all.version = Some(snapshot.version);
    }
    if let Some(dir) = from {
        if !overlay(&settings, &*store, dir, &mut all).await? {
            return Ok(ExitCode::FAILURE);
        }
    } else if all.version.is_none() {
        bail!("todavía no hay respuestas publicadas: corre `contacto ingest --once`");
    }
    match asked {
        Asked::Topic { topic, municipio } => show_topic(&all, &topic, municipio.as_deref()),
        Asked::Message(text) => show_message(all, text),
    }
}

fn show_topic(all: &Answers, topic: &str, municipio: Option<&str>) -> anyhow::Result<ExitCode> {
    let topics = ingest::sources::menu::in_force(Some(&all.router.topics));
    let topic = topics.find(topic)?;
    let scope = match municipio {
        None => Scope::Estado,
        Some(text) => Scope::Municipio(catalogue().find(text).with_context(|| {
            format!(
                "«{text}» no es un municipio de {} (escribe su nombre, un nombre corto o su clave INEGI)",
                schemas::state().name
            )
        })?),
    };
    let found = all.answers.get(&AnswerKey::new(topic, scope)).or_else(|| all.answers.get(&AnswerKey::estado(topic)));
    let Some((answer, origin)) = found else {
        bail!("no hay respuesta de «{}» para {}", topics.label(topic), scope.display_name());
    };
    println!("{}", answer.body());
    eprintln!("({origin})");
    Ok(ExitCode::SUCCESS)
}

fn show_message(all: Answers, text: String) -> anyhow::Result<ExitCode> {
    let origins: BTreeMap<AnswerKey, String> = all.answers.iter().map(|(k, (_, o))| (*k, o.clone())).collect();
    let answers = all
        .answers
        .into_iter()
        .map(|(key, (answer, _))| (key, RenderedAnswer { answer, source: all.owners[&key].clone() }))
        .collect();
    let content = SnapshotContent { provenance: BTreeMap::new(), answers, router: all.router };
    let version = all.version.unwrap_or(SnapshotVersion(0));
    let prepared = Prepared::new(Snapshot { version, created_at: jiff::Timestamp::now(), content });
    let trial = responder::trial::answer(Some(&prepared), &Content::Text { body: text }, None);
    println!("Entendido como: {}.", trial.understood_as());
    let Some(answer) = &trial.answer else {
        println!("El bot no responde a esto.");
        return Ok(ExitCode::SUCCESS);
    };
    println!("\n{}", answer.body());
    // The answer sent for a municipio without one of its own is the state's.
    let origin = match &trial.reply {
        Some(Reply::Answer { key }) => origins.get(key).or_else(|| origins.get(&AnswerKey::estado(key.topic))),
        _ => None,
    };
    if let Some(origin) = origin {
        eprintln!("({origin})");
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks every file of `dir` and puts its answers in place of its source's; `false` (after
/// printing every error) when a file does not pass.
async fn overlay(settings: &Settings, store: &dyn store::Store, dir: &Path, all: &mut Answers) -> anyhow::Result<bool> {
    let renderer = crate::validate::templates(settings)?;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("no se pudo leer el directorio {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    // The catalogue the files render for: a menu file among them declares it.
    let has_menu = files.iter().any(|f| ingest::offline::recognise(f) == Some(ingest::sources::menu::KIND));
    let topics = if has_menu || all.router.topics.topics.is_empty() {
        ingest::offline::topics(settings, &files)
    } else {
        all.router.topics.clone()
    };
    // First pass: every file alone; the datasets then stand in for the published ones as
    // companions (the semáforo answer shows the federal and the state colour).
    let mut checked = Vec::new();
    let mut all_good = true;
    for file in &files {
        let resolved = match ingest::offline::resolve(settings, file, None) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}; se deja fuera de la vista previa");
                continue;
            }
        };
        match crate::validate::check(settings, &renderer, file, None, Companions::new(), &topics) {
            Ok((_, c)) => checked.push((file, resolved, c)),
            Err(lines) => {
                all_good = false;
                for line in lines {
                    println!("{line}");
                }
            }
        }
    }
    if !all_good {
        eprintln!("Corrige los errores antes de previsualizar: un archivo con errores no se publicaría.");
        return Ok(false);
    }
    let mut unpublished = Companions::new();
    for (file, resolved, c) in &checked {
        let provenance = Provenance {
            source: resolved.source.clone(),
            url: format!("file://{}", file.display()),
            fetched_at: jiff::Timestamp::now(),
            data_date: c.data_date,
            checksum: String::new(),
            rows: c.rows,
        };
        let stored =
            Stored { provenance, dataset: c.dataset.clone(), reasons: Vec::new(), validators: Default::default() };
        unpublished.insert(resolved.source.clone(), stored);
    }
    for (file, resolved, first) in checked {
        let names = resolved.checker.companions();
        let result = if names.is_empty() {
            first
        } else {
            let mut companions = ingest::state::companions(store, &names).await?;
            companions
                .extend(unpublished.iter().filter(|(n, _)| names.contains(n)).map(|(n, s)| (n.clone(), s.clone())));
            match crate::validate::check(settings, &renderer, file, None, companions, &topics) {
                Ok((_, c)) => c,
                Err(lines) => {
                    for line in lines {
                        println!("{line}");
                    }
                    return Ok(false);
                }
            }
        };
        let origin =
            format!("archivo sin publicar {}, datos al {}", file.display(), es_mx::long_date(result.data_date));
        let source = resolved.source.clone();
        let stale: Vec<AnswerKey> = all.owners.iter().filter(|(_, s)| **s == source).map(|(k, _)| *k).collect();
        for key in stale {
            all.answers.remove(&key);
            all.owners.remove(&key);
        }
        for (key, answer) in result.answers {
            all.answers.insert(key, (answer, origin.clone()));
            all.owners.insert(key, source.clone());
        }
        if let Some(router) = result.router {
            all.router = router;
        }
    }
    Ok(true)
}
