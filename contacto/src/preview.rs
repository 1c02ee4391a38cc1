//! `contacto preview TOPIC [MUNICIPIO] [--from DIR]`: exactly the text a citizen would read
//! now, from the current snapshot; with `--from`, once the files of DIR are published (each is
//! validated and rendered as a run would, and its answers replace its source's). The municipio
//! may be a name, an alias or an INEGI code, in any case and with or without accents.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ingest::render::Companions;
use ingest::state::Stored;
use schemas::{Answer, AnswerKey, Provenance, Scope, SourceName, Topic, catalogue, es_mx};
use settings::Settings;

pub async fn preview(
    settings: Settings,
    topic: &str,
    municipio: Option<&str>,
    from: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let topic: Topic = topic.parse()?;
    let scope = match municipio {
        None => Scope::Estado,
        Some(text) => Scope::Municipio(catalogue().find(text).with_context(|| {
            format!("«{text}» no es un municipio de Guanajuato (escribe su nombre, un nombre corto o su clave INEGI)")
        })?),
    };
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    let snapshot = store.current_snapshot().await?;
    // Every answer and where it comes from, published first, then the files of DIR over it.
    let mut answers: BTreeMap<AnswerKey, (Answer, String)> = BTreeMap::new();
    let mut owners: BTreeMap<AnswerKey, SourceName> = BTreeMap::new();
    if let Some(snapshot) = &snapshot {
        for (key, rendered) in &snapshot.content.answers {
            let origin = match snapshot.provenance_of(rendered) {
                Some(p) => format!("fuente {}, datos al {}", p.source, es_mx::long_date(p.data_date)),
                None => format!("fuente {}", rendered.source),
            };
            answers.insert(*key, (rendered.answer.clone(), format!("{origin}, versión {}", snapshot.version)));
            owners.insert(*key, rendered.source.clone());
        }
    }
    if let Some(dir) = from {
        if !overlay(&settings, &*store, dir, &mut answers, &mut owners).await? {
            return Ok(ExitCode::FAILURE);
        }
    } else if snapshot.is_none() {
        bail!("todavía no hay respuestas publicadas: corre `contacto ingest --once`");
    }
    let found = answers.get(&AnswerKey::new(topic, scope)).or_else(|| answers.get(&AnswerKey::estado(topic)));
    let Some((answer, origin)) = found else {
        bail!("no hay respuesta de «{}» para {}", topic.label(), scope.display_name());
    };
    println!("{}", answer.body());
    eprintln!("({origin})");
    Ok(ExitCode::SUCCESS)
}

/// Checks every file of `dir` and puts its answers in place of its source's; `false` (after
/// printing every error) when a file does not pass.
async fn overlay(
    settings: &Settings,
    store: &dyn store::Store,
    dir: &Path,
    answers: &mut BTreeMap<AnswerKey, (Answer, String)>,
    owners: &mut BTreeMap<AnswerKey, SourceName>,
) -> anyhow::Result<bool> {
    let renderer = crate::validate::templates(settings)?;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("no se pudo leer el directorio {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
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
        match crate::validate::check(settings, &renderer, file, None, Companions::new()) {
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
            match crate::validate::check(settings, &renderer, file, None, companions) {
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
        let stale: Vec<AnswerKey> = owners.iter().filter(|(_, s)| **s == source).map(|(k, _)| *k).collect();
        for key in stale {
            answers.remove(&key);
            owners.remove(&key);
        }
        for (key, answer) in result.answers {
            answers.insert(key, (answer, origin.clone()));
            owners.insert(key, source.clone());
        }
    }
    Ok(true)
}
