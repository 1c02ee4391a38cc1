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
use schemas::{TopicCatalogue, es_mx};
use settings::Settings;

pub fn validate(settings: Settings, files: &[PathBuf], kind: Option<&str>) -> anyhow::Result<ExitCode> {
    let renderer = templates(&settings)?;
    let topics = offline::topics(&settings, files);
    let mut failed = 0;
    for file in files {
        match check(&settings, &renderer, file, kind, Companions::new(), &topics) {
            Ok((kind, checked)) => {
                println!("{}: válido ({kind}): {}", file.display(), checked.summary);
                for warning in &checked.warnings {
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
        Err(problem @ Problem::Render(_)) => Err(vec![format!("{}: {problem}", file.display())]),
        Err(problem) => Err(problem.lines()),
    }
}
