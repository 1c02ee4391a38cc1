//! What every file that maintainers publish shares (kinds `estatal`, `hospitales`,
//! `programas`, `sintomas`, `vacunas`, `menu`, `semaforo_estatal`): reading CSV, TOML and
//! JSON into values that know their line and column ([`Node`]), and a [`Check`] that collects
//! every problem as a [`ValidationError`], so a maintainer sees all of them at once
//! (`archivo:línea:columna: campo: qué corregir`) instead of one per attempt.
//!
//! Columns are 1-based: the character column of a TOML or JSON value, the field's position in
//! a CSV row (as in the national file's messages). Text is UTF-8; a file saved as Windows-1252
//! (what Excel writes as "CSV") is read as such, with a warning.

use std::fmt::Display;

use jiff::civil::Date;
use schemas::{MunicipioId, catalogue, es_mx, normalize::normalize};
use sha2::{Digest, Sha256};

use crate::error::{SourceError, ValidationError};
use crate::fetch::Body;

/// Where a value starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct At {
    pub line: u64,
    pub column: usize,
}

/// A value of a maintainer file and where it is.
#[derive(Debug, Clone)]
pub struct Node {
    pub at: At,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Date(Date),
    /// A TOML date with a time, kept as written (no field wants one).
    DateTime(String),
    Null,
    List(Vec<Node>),
    Table(Table),
}

impl Value {
    /// The value as written, for messages.
    fn shown(&self) -> String {
        match self {
            Value::Text(s) | Value::DateTime(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Null => "null".into(),
            Value::List(_) => "[…]".into(),
            Value::Table(_) => "{…}".into(),
        }
    }
}

/// A table (a TOML table, a JSON object, a CSV row) with its entries in file order.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub at: At,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The canonical field name (CSV headers are normalised and mapped through aliases).
    pub key: String,
    /// The name as written, for messages.
    pub label: String,
    pub key_at: At,
    pub node: Node,
}

impl Table {
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A maintainer file read into memory: its name, its text and how it was decoded.
pub struct Text {
    /// The file name, as messages call it.
    pub file: String,
    pub text: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub checksum: String,
    pub warnings: Vec<String>,
}

/// Maintainer files are small; a larger one is a mistake (a wrong URL, a whole database).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

impl Text {
    /// Reads a fetched body: UTF-8 (an optional BOM dropped), or Windows-1252 with a warning.
    pub fn read(body: &Body) -> Result<Text, SourceError> {
        if body.len > MAX_FILE_BYTES {
            return Err(SourceError::Drift(format!(
                "{}: pesa {} bytes; un archivo de mantenimiento no pasa de {} (¿es el archivo correcto?)",
                body.name,
                es_mx::integer(body.len as i64),
                es_mx::integer(MAX_FILE_BYTES as i64)
            )));
        }
        let bytes = std::fs::read(body.path()).map_err(|e| SourceError::Io(format!("{}: {e}", body.name)))?;
        let checksum = body.checksum.clone().unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
        let (text, warnings) = decode(&body.name, &bytes);
        Ok(Text { file: body.name.clone(), text, checksum, warnings })
    }
}

/// UTF-8 when it is, Windows-1252 otherwise (every byte is some character there).
pub fn decode(file: &str, bytes: &[u8]) -> (String, Vec<String>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), Vec::new()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            let text = bytes.iter().map(|&b| windows_1252(b)).collect();
            let warning = format!(
                "{file}:{line}: el archivo no está en UTF-8; se leyó como Windows-1252 (Latin-1). Guárdalo como «CSV UTF-8» o «UTF-8» para evitar letras cambiadas"
            );
            (text, vec![warning])
        }
    }
}

/// One Windows-1252 byte as a character (0x80–0x9F hold the curly quotes and dashes that
/// Latin-1 leaves as control codes).
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The line and column of byte `offset` of `text`.
pub fn position(text: &str, offset: usize) -> At {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    At { line, column }
}

/// Reads TOML into a table; a syntax error is reported at its place.
pub fn toml(text: &Text) -> Result<Table, SourceError> {
    let parsed = toml::de::DeTable::parse(&text.text).map_err(|e| {
        let at = position(&text.text, e.span().map_or(0, |s| s.start));
        syntax(&text.file, at, "TOML", e.message(), "revisa comillas, corchetes y signos =")
    })?;
    let mut convert = TomlConvert { text: &text.text };
    Ok(convert.table(parsed.get_ref(), At { line: 1, column: 1 }))
}

struct TomlConvert<'t> {
    text: &'t str,
}

impl TomlConvert<'_> {
    fn table(&mut self, table: &toml::de::DeTable<'_>, at: At) -> Table {
        let entries = table
            .iter()
            .map(|(k, v)| {
                let key_at = position(self.text, k.span().start);
                Entry { key: k.get_ref().to_string(), label: k.get_ref().to_string(), key_at, node: self.node(v) }
            })
            .collect();
        Table { at, entries }
    }

    fn node(&mut self, v: &toml::Spanned<toml::de::DeValue<'_>>) -> Node {
        use toml::de::DeValue;
        let at = position(self.text, v.span().start);
        let value = match v.get_ref() {
            DeValue::String(s) => Value::Text(s.to_string()),
            DeValue::Integer(i) => {
                i.to_string().replace('_', "").parse().map_or(Value::Text(i.to_string()), Value::Integer)
            }
            DeValue::Float(x) => {
                x.to_string().replace('_', "").parse().map_or(Value::Text(x.to_string()), Value::Float)
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => match (d.date, d.time) {
                (Some(date), None) => jiff::civil::Date::new(date.year as i16, date.month as i8, date.day as i8)
                    .map_or(Value::DateTime(d.to_string()), Value::Date),
                _ => Value::DateTime(d.to_string()),
            },
            DeValue::Array(items) => Value::List(items.iter().map(|i| self.node(i)).collect()),
            DeValue::Table(t) => Value::Table(self.table(t, at)),
        };
        Node { at, value }
    }
}

/// Reads a CSV whose rows become the list `records` of the returned table. Headers are
/// compared normalised (no case, accents or punctuation; spaces as `_`) and renamed through
/// `aliases` (canonical name, other names); a header no field knows is an error.
pub fn csv(text: &Text, records: &str, aliases: &[(&str, &[&str])], check: &mut Check) -> Result<Table, SourceError> {
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_error(&text.file, &e))?.clone();
    let mut keys = Vec::new();
    for (i, label) in headers.iter().enumerate() {
        let at = At { line: 1, column: i + 1 };
        let wanted = normalize(label).replace(' ', "_");
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

fn csv_error(file: &str, e: &::csv::Error) -> SourceError {
    let at = e.position().map_or(At { line: 1, column: 1 }, |p| At { line: p.line(), column: 1 });
    syntax(file, at, "CSV", &e.to_string(), "revisa comillas sin cerrar")
}

/// A file that does not parse at all: one error at its place.
fn syntax(file: &str, at: At, format: &str, message: &str, hint: &str) -> SourceError {
    let error = ValidationError {
        file: file.to_owned(),
        line: at.line,
        column: at.column,
        field: format.to_owned(),
        value: String::new(),
        reason: format!("el archivo no es {format} válido ({}); {hint}", message.trim()),
    };
    SourceError::Rejected { summary: format!("{file}: se rechazó: {error}"), errors: vec![error] }
}

/// Reads JSON into a node tree with positions (serde_json keeps none).
pub fn json(text: &Text) -> Result<Node, SourceError> {
    let mut p = JsonParser { text: &text.text, bytes: text.text.as_bytes(), pos: 0 };
    let result = p.value().and_then(|v| {
        p.ws();
        if p.pos < p.bytes.len() { Err((p.pos, "sobra texto después del valor")) } else { Ok(v) }
    });
    result.map_err(|(offset, message)| {
        syntax(&text.file, position(&text.text, offset), "JSON", message, "revisa comas, comillas y llaves")
    })
}

struct JsonParser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

type JsonResult<T> = Result<T, (usize, &'static str)>;

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, what: &'static str) -> JsonResult<()> {
        self.ws();
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            Ok(())
        } else {
            Err((self.pos, what))
        }
    }

    fn value(&mut self) -> JsonResult<Node> {
        self.ws();
        let at = position(self.text, self.pos);
        let value = match self.bytes.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        let key_at = position(self.text, self.pos);
                        if self.bytes.get(self.pos) != Some(&b'"') {
                            return Err((self.pos, "se esperaba el nombre de un campo entre comillas"));
                        }
                        let key = self.string()?;
                        self.expect(b':', "se esperaba «:»")?;
                        let node = self.value()?;
                        entries.push(Entry { label: key.clone(), key, key_at, node });
                        self.ws();
                        match self.bytes.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err((self.pos, "se esperaba «,» o «}»")),
                        }
                    }
                }
                Value::Table(Table { at, entries })
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.bytes.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err((self.pos, "se esperaba «,» o «]»")),
                        }
                    }
                }
                Value::List(items)
            }
            Some(b'"') => Value::Text(self.string()?),
            Some(b't') if self.text[self.pos..].starts_with("true") => {
                self.pos += 4;
                Value::Bool(true)
            }
            Some(b'f') if self.text[self.pos..].starts_with("false") => {
                self.pos += 5;
                Value::Bool(false)
            }
            Some(b'n') if self.text[self.pos..].starts_with("null") => {
                self.pos += 4;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.pos += 1;
                }
                let raw = &self.text[start..self.pos];
                match raw.parse::<i64>() {
                    Ok(i) => Value::Integer(i),
                    Err(_) => Value::Float(raw.parse().map_err(|_| (start, "número mal escrito"))?),
                }
            }
            _ => return Err((self.pos, "se esperaba un valor")),
        };
        Ok(Node { at, value })
    }

    fn string(&mut self) -> JsonResult<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(c) = rest.chars().next() else { return Err((start, "comillas sin cerrar")) };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let esc = self.bytes.get(self.pos).copied().ok_or((start, "comillas sin cerrar"))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut unit = self.hex4()?;
                            if (0xD800..0xDC00).contains(&unit) && self.text[self.pos..].starts_with("\\u") {
                                self.pos += 2;
                                let low = self.hex4()?;
                                unit = 0x10000 + ((unit - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err((self.pos - 1, "secuencia de escape desconocida")),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> JsonResult<u32> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or((self.pos, "\\u sin cuatro dígitos"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| (self.pos - 4, "\\u sin cuatro dígitos"))
    }
}

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
        self.errors.push(ValidationError {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            field: field.to_owned(),
            value: value.to_string(),
            reason: reason.into(),
        });
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
            Value::Text(_) => None,
            _ => {
                self.bad(entry, "debe ser un texto entre comillas");
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

    /// A municipio of Guanajuato by name, short name, alias or INEGI code.
    pub fn municipio(&mut self, t: &Table, key: &str, required: bool) -> Option<MunicipioId> {
        let entry = self.get(t, key, required)?;
        let found = match &entry.node.value {
            Value::Text(s) => catalogue().find(s),
            Value::Integer(i) => u16::try_from(*i).ok().and_then(|c| MunicipioId::try_from(c).ok()),
            _ => None,
        };
        if found.is_none() {
            self.bad(
                entry,
                "no es un municipio de Guanajuato; escribe su nombre (León), un nombre corto (Silao) o su clave INEGI (020)",
            );
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

/// Plausibility of a count that should not shrink much: a reason when `now` fell more than
/// `max_fall_percent` below `before`.
pub fn fell(what: &str, before: u64, now: u64, max_fall_percent: f64) -> Option<String> {
    if before == 0 || now >= before {
        return None;
    }
    let fall = (before - now) as f64 * 100.0 / before as f64;
    (fall > max_fall_percent).then(|| {
        format!(
            "{what} bajan de {} a {} (−{}), por encima del umbral de {} %",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64),
            es_mx::percent(fall / 100.0),
            es_mx::decimal(max_fall_percent, 1)
        )
    })
}

/// Plausibility of a cumulative figure: a reason when it fell at all, or rose more than
/// `max_jump_percent` in one publication.
pub fn cumulative(what: &str, before: u64, now: u64, max_jump_percent: f64) -> Option<String> {
    if now < before {
        return Some(format!(
            "{what} bajan de {} a {}, y son acumulados",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64)
        ));
    }
    let jump = if before == 0 { 0.0 } else { (now - before) as f64 * 100.0 / before as f64 };
    (jump > max_jump_percent).then(|| {
        format!(
            "{what} suben de {} a {} (+{}), por encima del umbral de {} %",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64),
            es_mx::percent(jump / 100.0),
            es_mx::decimal(max_jump_percent, 1)
        )
    })
}

/// Checks the thresholds every maintainer kind's options share, naming the field.
pub fn check_percent(source: &schemas::SourceName, field: &str, value: f64) -> Result<(), crate::ConfigError> {
    if (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(crate::ConfigError {
            name: source.to_string(),
            field: field.into(),
            message: "debe estar entre 0 y 100".into(),
        })
    }
}

/// Checks that an attribution is not empty.
pub fn check_attribution(source: &schemas::SourceName, attribution: &str) -> Result<(), crate::ConfigError> {
    if attribution.trim().is_empty() {
        return Err(crate::ConfigError {
            name: source.to_string(),
            field: "attribution".into(),
            message: "no puede estar vacía: cada respuesta dice su fuente".into(),
        });
    }
    Ok(())
}

/// Whether a file is TOML: by its extension, else by its first line that says something
/// (`clave = …` or `[tabla]`; a CSV header has neither).
pub fn is_toml(file: &str, text: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".toml") {
        return true;
    }
    if lower.ends_with(".csv") {
        return false;
    }
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with('[') || l.split_once('=').is_some_and(|(k, _)| !k.contains(',')))
}

/// The first `AAAA-MM-DD` date in a file name (`Hospitalizaciones_2020-09-24.csv`).
pub fn date_in_name(file: &str) -> Option<Date> {
    let bytes = file.as_bytes();
    (0..bytes.len().saturating_sub(9)).find_map(|i| file.get(i..i + 10).and_then(|s| s.parse::<Date>().ok()))
}

/// A CSV's data date: its `fecha` column (one date for every row, `dates`), else the date
/// in the file name; `example` is a file name to suggest.
pub fn csv_date(
    check: &mut Check,
    file: &str,
    dates: &std::collections::BTreeSet<(Date, At)>,
    example: &str,
) -> Option<Date> {
    let distinct: std::collections::BTreeSet<Date> = dates.iter().map(|(d, _)| *d).collect();
    match distinct.len() {
        0 => {
            let date = date_in_name(file);
            if date.is_none() {
                let reason = format!(
                    "falta la fecha de los datos: agrega una columna fecha o pon la fecha en el nombre del archivo ({example})"
                );
                check.error(At { line: 1, column: 1 }, "fecha", "", reason);
            }
            date
        }
        1 => distinct.first().copied(),
        _ => {
            let (date, at) = dates.iter().find(|(d, _)| Some(d) != distinct.first()).expect("two dates");
            check.error(*at, "fecha", date, "todas las filas deben tener la misma fecha de los datos");
            None
        }
    }
}

/// Whether the first bytes of a file hold all of `words` (for recognising a kind by content).
pub fn head_has(head: &[u8], words: &[&str]) -> bool {
    let head = normalize(&String::from_utf8_lossy(head));
    words.iter().all(|w| head.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "a = 1\nnombre = \"León\"\nx = 2";
        assert_eq!(position(text, 0), At { line: 1, column: 1 });
        let x = text.find("x =").unwrap();
        assert_eq!(position(text, x), At { line: 3, column: 1 });
        let quote = text.rfind('"').unwrap();
        assert_eq!(position(text, quote), At { line: 2, column: 15 });
    }

    #[test]
    fn windows_1252_is_decoded_with_a_warning() {
        let (text, warnings) = decode("h.csv", b"a\nLe\xf3n \x93x\x94\n");
        assert_eq!(text, "a\nLeón “x”\n");
        assert!(warnings[0].starts_with("h.csv:2: el archivo no está en UTF-8"), "{warnings:?}");
        assert_eq!(decode("h.csv", "\u{feff}León".as_bytes()), ("León".to_owned(), vec![]));
    }

    #[test]
    fn json_values_know_their_place() {
        let text = Text {
            file: "x.json".into(),
            text: "{\"casos\": {\"recuperados\": \"33\"},\n \"lista\": [1, -2.5, \"\\u00e9\"]}".into(),
            checksum: String::new(),
            warnings: vec![],
        };
        let Node { value: Value::Table(root), .. } = json(&text).unwrap() else { panic!() };
        let lista = root.entry("lista").unwrap();
        assert_eq!(lista.key_at, At { line: 2, column: 2 });
        let Value::List(items) = &lista.node.value else { panic!() };
        assert_eq!(items[1].at, At { line: 2, column: 15 });
        assert!(matches!(&items[2].value, Value::Text(s) if s == "é"));
        let bad = Text { text: "{\"a\": [1, 2}".into(), ..text };
        let Err(SourceError::Rejected { errors, .. }) = json(&bad) else { panic!() };
        assert_eq!((errors[0].line, errors[0].column), (1, 12));
    }
}
