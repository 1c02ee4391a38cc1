//! A file that does not parse at all (TOML, CSV or JSON): one error at its place, with a
//! hint of what to look for.

use super::node::At;
use crate::error::{SourceError, ValidationError};

/// Rejects `file` with one error at `at`: `message` says what the parser found, `hint` where
/// to look.
pub(super) fn syntax(file: &str, at: At, format: &str, message: &str, hint: &str) -> SourceError {
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
