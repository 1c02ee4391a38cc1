//! CSV into values that know their place: each row a table of its fields, headers matched
//! to field names through aliases.

use schemas::normalize::normalize;

use super::check::Check;
use super::node::{At, Entry, Node, Table, Value};
use super::syntax::syntax;
use super::text::Text;
use crate::error::SourceError;

/// Reads a CSV whose rows become the list `records` of the returned table. Headers are
/// compared normalised (no case, accents or punctuation; spaces as `_`) and renamed through
/// `aliases` (canonical name, other names); a header no field knows is an error.
pub fn csv(text: &Text, records: &str, aliases: &[(&str, &[&str])], check: &mut Check) -> Result<Table, SourceError> {
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_error(&text.file, &e))?.clone();
    let mut keys = Vec::new();
    for (i, label) in headers.iter().enumerate() {
        let at = At { line: 1, column: i + 1 };
        let wanted = column_name(label);
        match aliases.iter().find(|(name, others)| *name == wanted || others.contains(&wanted.as_str())) {
            Some((name, _)) if keys.iter().any(|(k, _, _): &(String, String, At)| k == name) => {
                check.error(at, label, "", format!("la columna «{name}» aparece dos veces; deja solo una"));
                keys.push((String::new(), label.to_owned(), at));
            }
            Some((name, _)) => keys.push(((*name).to_owned(), label.to_owned(), at)),
            None => {
                let known: Vec<&str> = aliases.iter().map(|(n, _)| *n).collect();
                check.error(at, label, "", format!("columna desconocida; las columnas son: {}", known.join(", ")));
                keys.push((String::new(), label.to_owned(), at));
            }
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&text.file, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != keys.len() {
            check.error(
                At { line, column: record.len().min(keys.len()) + 1 },
                "fila",
                "",
                format!("tiene {} campos y la cabecera {}; revisa comas y comillas", record.len(), keys.len()),
            );
        }
        let entries = keys
            .iter()
            .zip(record.iter())
            .enumerate()
            .filter(|(_, ((key, _, _), _))| !key.is_empty())
            .map(|(i, ((key, label, key_at), field))| Entry {
                key: key.clone(),
                label: label.clone(),
                key_at: *key_at,
                node: Node { at: At { line, column: i + 1 }, value: Value::Text(field.trim().to_owned()) },
            })
            .collect();
        rows.push(Node {
            at: At { line, column: 1 },
            value: Value::Table(Table { at: At { line, column: 1 }, entries }),
        });
    }
    let list = Node { at: At { line: 1, column: 1 }, value: Value::List(rows) };
    let entry = Entry { key: records.into(), label: records.into(), key_at: At { line: 1, column: 1 }, node: list };
    Ok(Table { at: At { line: 1, column: 1 }, entries: vec![entry] })
}

/// A header as [`csv`] compares it: normalised (no case, accents or punctuation), spaces as `_`
/// (`Horario de atención` is `horario_de_atencion`).
pub fn column_name(label: &str) -> String {
    normalize(label).replace(' ', "_")
}

/// The names of a CSV's columns ([`column_name`]), in file order, each once and none empty:
/// for the kinds whose columns the maintainer names (`cifras`, `tabla`), which make their
/// aliases of them.
pub fn header_names(text: &Text) -> Vec<String> {
    let header = text.text.trim_start_matches('\u{feff}').lines().next().unwrap_or_default();
    let mut reader = ::csv::ReaderBuilder::new().has_headers(false).from_reader(header.as_bytes());
    let Some(Ok(record)) = reader.records().next() else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for label in record.iter() {
        let name = column_name(label);
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn csv_error(file: &str, e: &::csv::Error) -> SourceError {
    let at = e.position().map_or(At { line: 1, column: 1 }, |p| At { line: p.line(), column: 1 });
    syntax(file, at, "CSV", &e.to_string(), "revisa comillas sin cerrar")
}
