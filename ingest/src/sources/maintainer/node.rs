//! Values of a maintainer file that know where they are, so every error can name
//! `archivo:línea:columna`.
//!
//! Columns are 1-based: the character column of a TOML or JSON value, the field's position in
//! a CSV row (as in the national file's messages).

use jiff::civil::Date;

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
    pub fn shown(&self) -> String {
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
}
