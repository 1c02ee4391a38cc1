//! JSON (the state portal's files) into values that know their place.
//!
//! `serde_json` parses; its values carry no place, so each level is read as borrowed
//! [`RawValue`]s, slices of the file's text whose offsets give the line and column of every
//! key and value. Nesting is shallow in these files and bounded by serde_json's recursion
//! limit, so reading each level again costs little.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::node::{Entry, Node, Table, Value, position};
use super::syntax::syntax;
use super::text::Text;
use crate::error::SourceError;

/// Reads JSON into a node tree with positions; a syntax error is reported at its place.
pub fn json(text: &Text) -> Result<Node, SourceError> {
    let whole = text.text.as_str();
    serde_json::from_str::<&RawValue>(whole)
        .map_err(|error| Misread { start: 0, error })
        .and_then(|root| node(whole, root))
        .map_err(|Misread { start, error }| {
            let at = position(whole, start + offset_of_error(&whole[start..], &error));
            syntax(&text.file, at, "JSON", &reason(&error), "revisa comas, comillas y llaves")
        })
}

/// A parse error of the slice that starts at byte `start` of the file.
struct Misread {
    start: usize,
    error: serde_json::Error,
}

/// The node of `raw`, a slice of `whole`.
fn node(whole: &str, raw: &RawValue) -> Result<Node, Misread> {
    let json = raw.get();
    let start = offset_in(whole, json);
    let misread = |error| Misread { start, error };
    let value = match json.as_bytes().first() {
        Some(b'{') => {
            let Members(members) = serde_json::from_str(json).map_err(misread)?;
            let mut entries = Vec::with_capacity(members.len());
            for (key, value) in members {
                let name: String = serde_json::from_str(key.get()).map_err(misread)?;
                let key_at = position(whole, offset_in(whole, key.get()));
                entries.push(Entry { label: name.clone(), key: name, key_at, node: node(whole, value)? });
            }
            Value::Table(Table { at: position(whole, start), entries })
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(json).map_err(misread)?;
            Value::List(items.into_iter().map(|item| node(whole, item)).collect::<Result<_, _>>()?)
        }
        Some(b'"') => Value::Text(serde_json::from_str(json).map_err(misread)?),
        Some(b't' | b'f') => Value::Bool(serde_json::from_str(json).map_err(misread)?),
        Some(b'n') => Value::Null,
        _ => {
            let number: serde_json::Number = serde_json::from_str(json).map_err(misread)?;
            match (number.as_i64(), number.as_f64()) {
                (Some(i), _) => Value::Integer(i),
                (None, Some(x)) => Value::Float(x),
                (None, None) => Value::Text(number.to_string()),
            }
        }
    };
    Ok(Node { at: position(whole, start), value })
}

/// The members of an object in file order, duplicates kept, each key as written (with its
/// quotes) so that its place is known.
struct Members<'t>(Vec<(&'t RawValue, &'t RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("un objeto JSON")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<&RawValue>()? {
                    members.push((key, map.next_value()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// The byte offset of `part` in `whole`, of which it is a slice.
fn offset_in(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// The byte offset in `json` of the place `error` names (serde_json counts 1-based lines and
/// byte columns).
fn offset_of_error(json: &str, error: &serde_json::Error) -> usize {
    let line_start: usize = json.split_inclusive('\n').take(error.line().saturating_sub(1)).map(str::len).sum();
    (line_start + error.column().saturating_sub(1)).min(json.len())
}

/// What serde_json found, in the maintainers' words (its message without the place, which
/// the error names in the file's own terms).
fn reason(error: &serde_json::Error) -> String {
    const SPANISH: [(&str, &str); 21] = [
        ("EOF while parsing a list", "el archivo termina antes de cerrar una lista con «]»"),
        ("EOF while parsing an object", "el archivo termina antes de cerrar un objeto con «}»"),
        ("EOF while parsing a string", "comillas sin cerrar"),
        ("EOF while parsing a value", "el archivo termina donde se esperaba un valor"),
        ("expected `:`", "se esperaba «:»"),
        ("expected `,` or `]`", "se esperaba «,» o «]»"),
        ("expected `,` or `}`", "se esperaba «,» o «}»"),
        ("expected ident", "se esperaba true, false o null"),
        ("expected value", "se esperaba un valor"),
        ("expected `\"`", "se esperaban comillas"),
        ("invalid escape", "secuencia de escape desconocida"),
        ("invalid number", "número mal escrito"),
        ("number out of range", "número fuera de rango"),
        ("invalid unicode code point", "\\u con un código que no es un carácter"),
        (
            "control character (\\u0000-\\u001F) found while parsing a string",
            "un salto de línea o un carácter de control dentro de un texto entre comillas",
        ),
        ("key must be a string", "se esperaba el nombre de un campo entre comillas"),
        ("lone leading surrogate in hex escape", "\\u incompleto: falta la segunda mitad del par"),
        ("trailing comma", "sobra una coma antes del cierre"),
        ("trailing characters", "sobra texto después del valor"),
        ("unexpected end of hex escape", "\\u incompleto: faltan dígitos o la segunda mitad del par"),
        ("recursion limit exceeded", "demasiados niveles anidados"),
    ];
    let message = error.to_string();
    let found = message.rsplit_once(" at line ").map_or(message.as_str(), |(found, _)| found);
    SPANISH
        .iter()
        .find(|(english, _)| *english == found)
        .map_or_else(|| found.to_owned(), |(_, spanish)| (*spanish).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::maintainer::At;

    fn text(json: &str) -> Text {
        Text { file: "x.json".into(), text: json.into(), checksum: String::new(), warnings: vec![] }
    }

    #[test]
    fn json_values_know_their_place() {
        let good = text("{\"casos\": {\"recuperados\": \"33\"},\n \"lista\": [1, -2.5, \"\\u00e9\"]}");
        let Node { value: Value::Table(root), .. } = json(&good).unwrap() else { panic!() };
        let lista = root.entry("lista").unwrap();
        assert_eq!(lista.key_at, At { line: 2, column: 2 });
        let Value::List(items) = &lista.node.value else { panic!() };
        assert_eq!(items[1].at, At { line: 2, column: 15 });
        assert!(matches!(&items[2].value, Value::Text(s) if s == "é"));
        let bad = text("{\"a\": [1, 2}");
        let Err(SourceError::Rejected { errors, .. }) = json(&bad) else { panic!() };
        assert_eq!((errors[0].line, errors[0].column), (1, 12));
    }

    #[test]
    fn json_errors_are_placed_in_characters_and_said_in_spanish() {
        // «ó» is two bytes: serde_json's byte column is 15, the character column 14.
        let bad = text("{\"a\": \"León\" \"b\": 1}");
        let Err(SourceError::Rejected { errors, .. }) = json(&bad) else { panic!() };
        assert_eq!((errors[0].line, errors[0].column), (1, 14));
        assert_eq!(
            errors[0].reason,
            "el archivo no es JSON válido (se esperaba «,» o «}»); revisa comas, comillas y llaves"
        );
        // An error inside a nested value is placed in the whole file, at the bad escape.
        let lone = text("{\"a\":\n  [\"\\ud800x\"]}");
        let Err(SourceError::Rejected { errors, .. }) = json(&lone) else { panic!() };
        assert_eq!((errors[0].line, errors[0].column), (2, 11), "{errors:?}");
    }
}
