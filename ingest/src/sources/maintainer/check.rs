//! A [`Check`] collects every problem of one maintainer file as a [`ValidationError`], so a
//! maintainer sees all of them at once (`archivo:línea:columna: campo: qué corregir`) instead
//! of one per attempt, and reads typed values out of the [`Table`]s the readers build.

use std::fmt::Display;

use jiff::civil::Date;
use schemas::{MunicipioId, catalogue, es_mx};

use super::node::{At, Entry, Table, Value};
use crate::error::{SourceError, ValidationError};

/// Collects every problem of one file. Values come out typed, or `None` after an error was
/// noted; the caller goes on, so that one run reports everything.
pub struct Check {
    file: String,
    errors: Vec<ValidationError>,
    /// Errors noted outside any record: they reject the file whatever the budget.
    file_errors: usize,
    in_record: bool,
    bad_records: u64,
}

impl Check {
    pub fn new(file: &str) -> Check {
        Check { file: file.to_owned(), errors: Vec::new(), file_errors: 0, in_record: false, bad_records: 0 }
    }

    /// Notes a problem at `at`; `reason` says what to fix.
    pub fn error(&mut self, at: At, field: &str, value: impl Display, reason: impl Into<String>) {
        if !self.in_record {
            self.file_errors += 1;
        }
        let error = self.at(at, field, value, reason);
        self.errors.push(error);
    }

    /// A problem at `at` that does not reject the file, as a warning line written like an
    /// error (`archivo:línea:columna: campo: …`).
    pub fn warning(&self, at: At, field: &str, value: impl Display, reason: impl Into<String>) -> String {
        self.at(at, field, value, reason).to_string()
    }

    fn at(&self, at: At, field: &str, value: impl Display, reason: impl Into<String>) -> ValidationError {
        ValidationError {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            field: field.to_owned(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    fn bad(&mut self, entry: &Entry, reason: impl Into<String>) {
        self.error(entry.node.at, &entry.label.clone(), entry.node.value.shown(), reason);
    }

    /// Reads one record (a row, a `[[table]]`): `None` when it had errors, which count
    /// against the error budget instead of rejecting the file outright.
    pub fn record<T>(&mut self, read: impl FnOnce(&mut Check) -> Option<T>) -> Option<T> {
        let before = self.errors.len();
        self.in_record = true;
        let value = read(self);
        self.in_record = false;
        if self.errors.len() > before {
            self.bad_records += 1;
            return None;
        }
        value
    }

    /// The entry `key` of `t`; a missing required one is an error at the table.
    pub fn get<'t>(&mut self, t: &'t Table, key: &str, required: bool) -> Option<&'t Entry> {
        let entry = t.entry(key).filter(|e| !matches!(&e.node.value, Value::Text(s) if s.is_empty()));
        if entry.is_none() && required {
            self.error(t.at, key, "", format!("falta «{key}»; agrégalo"));
        }
        entry
    }

    /// Refuses keys other than `allowed` (a typo would otherwise be silently ignored).
    pub fn only(&mut self, t: &Table, allowed: &[&str]) {
        for e in &t.entries {
            if !allowed.contains(&e.key.as_str()) {
                let reason = format!("campo desconocido; los campos aquí son: {}", allowed.join(", "));
                self.error(e.key_at, &e.label, "", reason);
            }
        }
    }

    pub fn text(&mut self, t: &Table, key: &str, required: bool) -> Option<String> {
        let entry = self.get(t, key, required)?;
        match &entry.node.value {
            Value::Text(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            // Blank: absent when optional; when required, an error, so that no caller takes
            // a `None` after a clean verdict for a value that was checked.
            Value::Text(_) => {
                if required {
                    self.bad(entry, format!("está vacío; escribe «{key}» o corrige el valor"));
                }
                None
            }
            _ => {
                self.bad(entry, "debe ser un texto entre comillas");
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn flag(&mut self, t: &Table, key: &str, required: bool) -> Option<bool> {
        let entry = self.get(t, key, required)?;
        match &entry.node.value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.bad(entry, "debe ser true o false (sin comillas)");
                None
            }
        }
    }

    /// A whole number ≥ 0; text may group thousands with commas and carry spaces
    /// (`"7,062,547 "`, as the vaccination map publishes it).
    pub fn count(&mut self, t: &Table, key: &str, required: bool) -> Option<u64> {
        let entry = self.get(t, key, required)?;
        let n = match &entry.node.value {
            Value::Integer(i) => Some(*i),
            Value::Float(x) if x.fract() == 0.0 => Some(*x as i64),
            Value::Text(s) => s.trim().replace(',', "").parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= 0 => Some(n as u64),
            _ => {
                self.bad(entry, "debe ser un número entero de 0 en adelante (sin decimales ni signos)");
                None
            }
        }
    }

    /// A percentage between 0 and 100 (decimals allowed).
    pub fn percent(&mut self, t: &Table, key: &str, required: bool) -> Option<f64> {
        let entry = self.get(t, key, required)?;
        let x = match &entry.node.value {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            Value::Text(s) => s.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
            _ => None,
        };
        match x {
            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
            Some(_) => {
                self.bad(entry, "debe estar entre 0 y 100; un valor fuera de ese rango es un error del dato de origen");
                None
            }
            None => {
                self.bad(entry, "debe ser un porcentaje, un número entre 0 y 100");
                None
            }
        }
    }

    /// A date, `AAAA-MM-DD` (a TOML date or text).
    pub fn date(&mut self, t: &Table, key: &str, required: bool) -> Option<Date> {
        let entry = self.get(t, key, required)?;
        let date = match &entry.node.value {
            Value::Date(d) => Some(*d),
            Value::Text(s) => s.trim().parse::<Date>().ok(),
            _ => None,
        };
        if date.is_none() {
            self.bad(entry, "debe ser una fecha AAAA-MM-DD (por ejemplo 2020-05-27)");
        }
        date
    }

    /// A municipio of the deployment's state by name, short name, alias or INEGI code.
    pub fn municipio(&mut self, t: &Table, key: &str, required: bool) -> Option<MunicipioId> {
        let entry = self.get(t, key, required)?;
        let found = match &entry.node.value {
            Value::Text(s) => catalogue().find(s),
            Value::Integer(i) => u16::try_from(*i).ok().and_then(|c| MunicipioId::try_from(c).ok()),
            _ => None,
        };
        if found.is_none() {
            let c = catalogue();
            self.bad(entry, format!("no es un municipio de {}; {}", c.state().name, c.how_to_name()));
        }
        found
    }

    /// An `http(s)://` address.
    pub fn url(&mut self, t: &Table, key: &str, required: bool) -> Option<String> {
        let text = self.text(t, key, required)?;
        let ok =
            ["http://", "https://"].iter().any(|s| text.starts_with(s) && text.len() > s.len()) && !text.contains(' ');
        if !ok {
            let entry = t.entry(key).expect("read above");
            self.bad(entry, "debe ser una dirección completa que empiece con https:// o http://");
            return None;
        }
        Some(text)
    }

    /// The tables of the list `key` (`[[key]]` in TOML, the rows of a CSV).
    pub fn tables<'t>(&mut self, t: &'t Table, key: &str, required: bool) -> Vec<&'t Table> {
        let Some(entry) = self.get(t, key, required) else { return Vec::new() };
        let Value::List(items) = &entry.node.value else {
            self.bad(entry, format!("debe ser una lista de tablas: escribe cada una bajo [[{key}]]"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Table(table) => out.push(table),
                other => {
                    let reason = format!("cada elemento debe ser una tabla [[{key}]]");
                    self.error(item.at, key, other.shown(), reason);
                }
            }
        }
        if out.is_empty() && required && items.is_empty() {
            self.bad(entry, format!("la lista está vacía: agrega al menos una fila (o una tabla [[{key}]])"));
        }
        out
    }

    /// The table `key`.
    pub fn table<'t>(&mut self, t: &'t Table, key: &str, required: bool) -> Option<&'t Table> {
        let entry = self.get(t, key, required)?;
        match &entry.node.value {
            Value::Table(table) => Some(table),
            _ => {
                self.bad(entry, format!("debe ser una tabla: escríbela bajo [{key}]"));
                None
            }
        }
    }

    /// A list of texts, each with its place.
    pub fn texts(&mut self, t: &Table, key: &str, required: bool) -> Vec<(String, At)> {
        let Some(entry) = self.get(t, key, required) else { return Vec::new() };
        let Value::List(items) = &entry.node.value else {
            self.bad(entry, "debe ser una lista de textos: [\"uno\", \"dos\"]");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::Text(s) if !s.trim().is_empty() => out.push((s.trim().to_owned(), item.at)),
                other => self.error(item.at, &entry.label.clone(), other.shown(), "cada elemento debe ser un texto"),
            }
        }
        out
    }

    /// Whether any error was noted.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The verdict: any error outside the records, or bad records beyond
    /// `error_budget_percent` of `records`, rejects the file with every error; otherwise the
    /// bad records (left out) come back as warnings.
    pub fn finish(mut self, records: u64, error_budget_percent: f64) -> Result<Vec<String>, SourceError> {
        self.errors.sort_by_key(|e| (e.line, e.column));
        let bad_percent = if records == 0 { 0.0 } else { self.bad_records as f64 * 100.0 / records as f64 };
        let n = self.errors.len();
        if self.file_errors > 0 || bad_percent > error_budget_percent {
            let summary = format!(
                "{}: se rechazó: {} {}; el primero: {}",
                self.file,
                es_mx::integer(n as i64),
                if n == 1 { "error" } else { "errores" },
                self.errors[0]
            );
            return Err(SourceError::Rejected { summary, errors: self.errors });
        }
        let mut warnings: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        if self.bad_records > 0 {
            warnings.push(format!(
                "{}: {} de {} registros con errores se dejaron fuera (el máximo permitido es {} %)",
                self.file,
                es_mx::integer(self.bad_records as i64),
                es_mx::integer(records as i64),
                es_mx::decimal(error_budget_percent, 1)
            ));
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::maintainer::{Text, toml};

    #[test]
    fn a_blank_required_text_is_an_error_at_its_place_and_a_blank_optional_one_is_absent() {
        let text = Text {
            file: "sintomas.toml".into(),
            text: "titulo = \"  \"\ntexto = \"   \"\n".into(),
            checksum: String::new(),
            warnings: Vec::new(),
        };
        let root = toml(&text).unwrap();
        let mut check = Check::new(&text.file);
        assert_eq!(check.text(&root, "titulo", false), None);
        assert!(!check.has_errors(), "an optional blank text is absent");
        assert_eq!(check.text(&root, "texto", true), None);
        let Err(SourceError::Rejected { errors, .. }) = check.finish(1, 0.0) else { panic!("rejected") };
        assert_eq!(
            errors[0].to_string(),
            "sintomas.toml:2:9: texto: está vacío; escribe «texto» o corrige el valor («   »)"
        );
    }
}
