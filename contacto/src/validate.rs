//! `contacto validate FILE...`: a maintainer checks source files before publishing them, with
//! no store and no network. Each file is parsed, validated and rendered exactly as a run would;
//! every error is printed as `archivo:línea:columna: campo: qué corregir`, a valid file gets
//! one line saying what it holds, and the exit code says whether all passed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ingest::fetch::Body;
use ingest::offline::{self, Checked, Problem};
use ingest::render::{Companions, Renderer};
use schemas::{AnswerKey, Topic, TopicCatalogue, es_mx};
use settings::Settings;

pub fn validate(settings: Settings, files: &[PathBuf], kind: Option<&str>) -> anyhow::Result<ExitCode> {
    let renderer = templates(&settings)?;
    let topics = offline::topics(&settings, files);
    let mut failed = 0;
    for file in files {
        match check(&settings, &renderer, file, kind, Companions::new(), &topics) {
            Ok((kind, checked)) => {
                println!("{}: válido ({kind}): {}", file.display(), checked.summary);
                for warning in checked.warnings.iter().chain(&split_on_twilio(file, &checked, &topics)) {
                    println!("  aviso: {warning}");
                }
            }
            Err(lines) => {
                failed += 1;
                for line in lines {
                    println!("{line}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "Archivos con errores: {} de {}. Corrígelos y vuelve a correr `contacto validate`.",
            es_mx::integer(failed),
            es_mx::integer(files.len() as i64)
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every answer of `checked` that Twilio, whose message holds at most
/// [`MESSAGE_MAX`](channels::twilio::MESSAGE_MAX) characters, sends as several: it still
/// arrives, but in pieces, each billed. Named by its template, topic and place.
fn split_on_twilio(file: &Path, checked: &Checked, topics: &TopicCatalogue) -> Vec<String> {
    use channels::twilio::{MESSAGE_MAX, split_message};
    let menus =
        checked.router.iter().flat_map(|r| r.menus.values()).map(|m| (AnswerKey::estado(Topic::MENU), &m.answer));
    let answers = checked.answers.iter().map(|(k, a)| (*k, a)).chain(menus);
    answers
        .filter_map(|(key, answer)| {
            let len = answer.body().chars().count();
            if len <= MESSAGE_MAX {
                return None;
            }
            let template =
                topics.entry(key.topic).map_or_else(|| Renderer::template_name(&key), |e| e.template.clone());
            Some(format!(
                "{}: plantilla {template}, tema «{}», {}: tiene {} caracteres y Twilio admite {} en un mensaje; en Twilio sale en {} mensajes",
                file.display(),
                topics.label(key.topic),
                key.scope.display_name(),
                es_mx::integer(len as i64),
                es_mx::integer(MESSAGE_MAX as i64),
                split_message(answer.body(), MESSAGE_MAX).len()
            ))
        })
        .collect()
}

/// The templates a run would use.
pub fn templates(settings: &Settings) -> anyhow::Result<Renderer> {
    Renderer::load(&settings.resolve_path(&settings.ingest.templates_dir)).context(
        "no se pudieron cargar las plantillas de las respuestas: corre la orden en el directorio de \
         contacto.toml, o indícalo con --config",
    )
}

/// Checks one file as its kind; the lines to print when it does not pass.
pub fn check(
    settings: &Settings,
    renderer: &Renderer,
    file: &Path,
    kind: Option<&str>,
    companions: Companions,
    topics: &TopicCatalogue,
) -> Result<(&'static str, Checked), Vec<String>> {
    let resolved = offline::resolve(settings, file, kind).map_err(|e| vec![e.to_string()])?;
    let mut body = Body::from_file(file).map_err(|e| vec![format!("{}: {e}", file.display())])?;
    // Messages name the file as the maintainer typed it, so an editor can open it at the spot.
    body.name = file.display().to_string();
    match resolved.checker.check(&body, renderer, companions, topics) {
        Ok(checked) => Ok((resolved.kind, checked)),
        Err(Problem::Render(error)) => {
            // The answer key names the topic and the place by code; a maintainer reads names.
            let named = format!("tema «{}», {}", topics.label(error.key.topic), error.key.scope.display_name());
            Err(vec![format!("{}: {} ({named})", file.display(), Problem::Render(error))])
        }
        Err(problem) => Err(problem.lines()),
    }
}
