//! What the bot says: a text plus, optionally, a WhatsApp interactive list or reply buttons.
//!
//! WhatsApp rejects a message that breaks its limits (docs/protocols.md §2), and a rejected reply is
//! a citizen left without an answer. So the limits are checked when an [`Answer`] is built and
//! again when one is deserialised: an `Answer` that exists can be sent.
//!
//! The text always carries the whole meaning (a menu lists its numbered options in the text
//! too), because Twilio replies inline with plain TwiML and cannot show the list.

use serde::{Deserialize, Serialize};

/// WhatsApp's limit on a text message body, in characters.
pub const TEXT_MAX: usize = 4096;
/// Limit on the body of a message with reply buttons.
pub const BUTTONS_BODY_MAX: usize = 1024;
/// Limit on the list's button label.
pub const LIST_BUTTON_MAX: usize = 20;
/// Limit on a list's header and any footer.
pub const HEADER_FOOTER_MAX: usize = 60;
/// At most this many sections in a list.
pub const LIST_SECTIONS_MAX: usize = 10;
/// At most this many rows in a list, across all sections.
pub const LIST_ROWS_MAX: usize = 10;
/// Limit on a list row's and a section's title.
pub const ROW_TITLE_MAX: usize = 24;
/// Limit on a list row's description.
pub const ROW_DESCRIPTION_MAX: usize = 72;
/// Limit on a list row's id.
pub const ROW_ID_MAX: usize = 200;
/// At most this many reply buttons.
pub const BUTTONS_MAX: usize = 3;
/// Limit on a reply button's title.
pub const BUTTON_TITLE_MAX: usize = 20;
/// Limit on a reply button's id.
pub const BUTTON_ID_MAX: usize = 256;

/// A limit of WhatsApp that a would-be answer breaks. The message names the part and the limit
/// so that a maintainer editing a template knows what to shorten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{part} está vacío")]
    Empty { part: &'static str },
    #[error(
        "{part} tiene {} caracteres; WhatsApp admite como máximo {}",
        crate::es_mx::integer(*len as i64),
        crate::es_mx::integer(*max as i64)
    )]
    TooLong { part: &'static str, len: usize, max: usize },
    #[error("{part}: hay {count}; WhatsApp admite como máximo {max}")]
    TooMany { part: &'static str, count: usize, max: usize },
    #[error("dos botones tienen el mismo título «{0}»; WhatsApp exige títulos distintos")]
    DuplicateButton(String),
    #[error("dos opciones de la lista tienen el mismo identificador «{0}»")]
    DuplicateRowId(String),
}

fn check_len(part: &'static str, value: &str, max: usize) -> Result<(), AnswerError> {
    let len = value.chars().count();
    if value.trim().is_empty() {
        Err(AnswerError::Empty { part })
    } else if len > max {
        Err(AnswerError::TooLong { part, len, max })
    } else {
        Ok(())
    }
}

fn check_opt(part: &'static str, value: &Option<String>, max: usize) -> Result<(), AnswerError> {
    value.as_deref().map_or(Ok(()), |v| check_len(part, v, max))
}

/// One answer, ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedAnswer")]
pub struct Answer {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    interactive: Option<Interactive>,
}

/// The interactive part of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interactive {
    List(ListMenu),
    Buttons(ReplyButtons),
}

/// A WhatsApp list message: a button that opens up to 10 rows in up to 10 sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMenu {
    pub button: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    pub sections: Vec<ListSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Up to three reply buttons under the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButtons {
    pub buttons: Vec<ReplyButton>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    pub id: String,
    pub title: String,
}

impl ListMenu {
    fn check(&self) -> Result<(), AnswerError> {
        check_len("el botón de la lista", &self.button, LIST_BUTTON_MAX)?;
        check_opt("el encabezado de la lista", &self.header, HEADER_FOOTER_MAX)?;
        check_opt("el pie de la lista", &self.footer, HEADER_FOOTER_MAX)?;
        if self.sections.is_empty() {
            return Err(AnswerError::Empty { part: "la lista" });
        }
        if self.sections.len() > LIST_SECTIONS_MAX {
            return Err(AnswerError::TooMany {
                part: "secciones de la lista",
                count: self.sections.len(),
                max: LIST_SECTIONS_MAX,
            });
        }
        let rows: usize = self.sections.iter().map(|s| s.rows.len()).sum();
        if rows > LIST_ROWS_MAX {
            return Err(AnswerError::TooMany { part: "opciones de la lista", count: rows, max: LIST_ROWS_MAX });
        }
        let mut ids = std::collections::BTreeSet::new();
        for section in &self.sections {
            if self.sections.len() > 1 && section.title.is_none() {
                return Err(AnswerError::Empty { part: "el título de sección (obligatorio con varias secciones)" });
            }
            check_opt("el título de sección", &section.title, ROW_TITLE_MAX)?;
            if section.rows.is_empty() {
                return Err(AnswerError::Empty { part: "una sección de la lista" });
            }
            for row in &section.rows {
                check_len("el identificador de una opción", &row.id, ROW_ID_MAX)?;
                check_len("el título de una opción", &row.title, ROW_TITLE_MAX)?;
                check_opt("la descripción de una opción", &row.description, ROW_DESCRIPTION_MAX)?;
                if !ids.insert(row.id.as_str()) {
                    return Err(AnswerError::DuplicateRowId(row.id.clone()));
                }
            }
        }
        Ok(())
    }
}

impl ReplyButtons {
    fn check(&self) -> Result<(), AnswerError> {
        if self.buttons.is_empty() {
            return Err(AnswerError::Empty { part: "los botones" });
        }
        if self.buttons.len() > BUTTONS_MAX {
            return Err(AnswerError::TooMany { part: "botones", count: self.buttons.len(), max: BUTTONS_MAX });
        }
        check_opt("el pie de los botones", &self.footer, HEADER_FOOTER_MAX)?;
        let mut titles = std::collections::BTreeSet::new();
        for b in &self.buttons {
            check_len("el identificador de un botón", &b.id, BUTTON_ID_MAX)?;
            check_len("el título de un botón", &b.title, BUTTON_TITLE_MAX)?;
            if !titles.insert(b.title.as_str()) {
                return Err(AnswerError::DuplicateButton(b.title.clone()));
            }
        }
        Ok(())
    }
}

impl Answer {
    /// A plain text answer.
    pub fn text(text: impl Into<String>) -> Result<Self, AnswerError> {
        Answer::new(text.into(), None)
    }

    /// A text with a list menu under it.
    pub fn with_list(text: impl Into<String>, list: ListMenu) -> Result<Self, AnswerError> {
        Answer::new(text.into(), Some(Interactive::List(list)))
    }

    /// A text with reply buttons under it; the text may then have at most 1,024 characters.
    pub fn with_buttons(text: impl Into<String>, buttons: ReplyButtons) -> Result<Self, AnswerError> {
        Answer::new(text.into(), Some(Interactive::Buttons(buttons)))
    }

    fn new(text: String, interactive: Option<Interactive>) -> Result<Self, AnswerError> {
        let max = match interactive {
            Some(Interactive::Buttons(_)) => BUTTONS_BODY_MAX,
            _ => TEXT_MAX,
        };
        check_len("el texto", &text, max)?;
        match &interactive {
            Some(Interactive::List(l)) => l.check()?,
            Some(Interactive::Buttons(b)) => b.check()?,
            None => {}
        }
        Ok(Answer { text, interactive })
    }

    /// The full text; it carries the whole meaning even without the interactive part.
    pub fn body(&self) -> &str {
        &self.text
    }

    pub fn interactive(&self) -> Option<&Interactive> {
        self.interactive.as_ref()
    }
}

/// The wire form, checked on the way in.
#[derive(Deserialize)]
struct UncheckedAnswer {
    text: String,
    #[serde(default)]
    interactive: Option<Interactive>,
}

impl TryFrom<UncheckedAnswer> for Answer {
    type Error = AnswerError;

    fn try_from(raw: UncheckedAnswer) -> Result<Self, Self::Error> {
        Answer::new(raw.text, raw.interactive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, title: &str) -> ListRow {
        ListRow { id: id.into(), title: title.into(), description: None }
    }

    fn list(rows: Vec<ListRow>) -> ListMenu {
        ListMenu {
            button: "Ver opciones".into(),
            header: None,
            footer: None,
            sections: vec![ListSection { title: None, rows }],
        }
    }

    #[test]
    fn text_limit_is_4096_characters_not_bytes() {
        assert!(Answer::text("é".repeat(4096)).is_ok());
        let err = Answer::text("a".repeat(4097)).unwrap_err();
        assert_eq!(err, AnswerError::TooLong { part: "el texto", len: 4097, max: 4096 });
        assert!(err.to_string().contains("4,097 caracteres; WhatsApp admite como máximo 4,096"), "{err}");
        assert!(Answer::text("  ").is_err());
    }

    #[test]
    fn list_limits() {
        let ten: Vec<ListRow> = (0..10).map(|i| row(&format!("t:{i}"), "Casos confirmados")).collect();
        assert!(Answer::with_list("Menú", list(ten.clone())).is_ok());
        let mut eleven = ten.clone();
        eleven.push(row("t:x", "Otro"));
        assert!(matches!(Answer::with_list("Menú", list(eleven)), Err(AnswerError::TooMany { max: 10, .. })));
        let long_title = row("t:1", "Transmisión comunitaria en GTO");
        assert!(matches!(Answer::with_list("Menú", list(vec![long_title])), Err(AnswerError::TooLong { max: 24, .. })));
        let dup = vec![row("a", "Uno"), row("a", "Dos")];
        assert_eq!(Answer::with_list("Menú", list(dup)), Err(AnswerError::DuplicateRowId("a".into())));
        let mut l = list(vec![row("a", "Uno")]);
        l.button = "Un botón demasiado largo".into();
        assert!(matches!(Answer::with_list("Menú", l), Err(AnswerError::TooLong { max: 20, .. })));
    }

    #[test]
    fn button_limits() {
        let b = |t: &str| ReplyButton { id: t.to_lowercase(), title: t.into() };
        let ok = ReplyButtons { buttons: vec![b("Sí"), b("No")], footer: None };
        assert!(Answer::with_buttons("¿Te suscribes?", ok.clone()).is_ok());
        let four = ReplyButtons { buttons: vec![b("A"), b("B"), b("C"), b("D")], footer: None };
        assert!(matches!(Answer::with_buttons("x", four), Err(AnswerError::TooMany { max: 3, .. })));
        let same = ReplyButtons { buttons: vec![b("Sí"), b("Sí")], footer: None };
        assert_eq!(Answer::with_buttons("x", same), Err(AnswerError::DuplicateButton("Sí".into())));
        assert!(matches!(Answer::with_buttons("a".repeat(1025), ok), Err(AnswerError::TooLong { max: 1024, .. })));
    }

    #[test]
    fn deserialising_checks_the_limits_again() {
        let good = Answer::with_list("Menú", list(vec![row("t:1", "Uno")])).unwrap();
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(serde_json::from_str::<Answer>(&json).unwrap(), good);
        let bad = format!("{{\"text\":\"{}\"}}", "x".repeat(5000));
        assert!(serde_json::from_str::<Answer>(&bad).is_err());
    }
}
