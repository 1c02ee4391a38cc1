//! TOML into values that know their place: `toml`'s spanned parse, each span turned into a
//! line and column.

use jiff::civil::Date;

use super::node::{At, Entry, Node, Table, Value, position};
use super::syntax::syntax;
use super::text::Text;
use crate::error::SourceError;

/// Reads TOML into a table; a syntax error is reported at its place.
pub fn toml(text: &Text) -> Result<Table, SourceError> {
    let parsed = toml::de::DeTable::parse(&text.text).map_err(|e| {
        let at = position(&text.text, e.span().map_or(0, |s| s.start));
        syntax(&text.file, at, "TOML", e.message(), "revisa comillas, corchetes y signos =")
    })?;
    let convert = TomlConvert { text: &text.text };
    Ok(convert.table(parsed.get_ref(), At { line: 1, column: 1 }))
}

struct TomlConvert<'t> {
    text: &'t str,
}

impl TomlConvert<'_> {
    fn table(&self, table: &toml::de::DeTable<'_>, at: At) -> Table {
        let entries = table
            .iter()
            .map(|(k, v)| {
                let key_at = position(self.text, k.span().start);
                Entry { key: k.get_ref().to_string(), label: k.get_ref().to_string(), key_at, node: self.node(v) }
            })
            .collect();
        Table { at, entries }
    }

    fn node(&self, v: &toml::Spanned<toml::de::DeValue<'_>>) -> Node {
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
                (Some(date), None) => Date::new(date.year as i16, date.month as i8, date.day as i8)
                    .map_or(Value::DateTime(d.to_string()), Value::Date),
                _ => Value::DateTime(d.to_string()),
            },
            DeValue::Array(items) => Value::List(items.iter().map(|i| self.node(i)).collect()),
            DeValue::Table(t) => Value::Table(self.table(t, at)),
        };
        Node { at, value }
    }
}
