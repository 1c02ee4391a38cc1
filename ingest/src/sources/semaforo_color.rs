//! The semáforo's four colours, shared by both semáforo kinds (the federal page and the
//! state's own record), and the Conéctate draft a change of colour makes.

use jiff::civil::Date;
use schemas::normalize::normalize;
use serde::{Deserialize, Serialize};
use settings::DraftTrigger;

use crate::drafts::Change;

/// The four colours, from most to least restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Color {
    Rojo,
    Naranja,
    Amarillo,
    Verde,
}

impl Color {
    /// Spanish or English, any case or accents.
    pub fn parse(text: &str) -> Option<Color> {
        match normalize(text).as_str() {
            "rojo" | "red" => Some(Color::Rojo),
            "naranja" | "orange" => Some(Color::Naranja),
            "amarillo" | "yellow" => Some(Color::Amarillo),
            "verde" | "green" => Some(Color::Verde),
            _ => None,
        }
    }

    pub fn nombre(self) -> &'static str {
        match self {
            Color::Rojo => "rojo",
            Color::Naranja => "naranja",
            Color::Amarillo => "amarillo",
            Color::Verde => "verde",
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Color::Rojo => "🔴",
            Color::Naranja => "🟠",
            Color::Amarillo => "🟡",
            Color::Verde => "🟢",
        }
    }
}

/// What a colour must be, for messages.
pub const COLORS: &str = "rojo, naranja, amarillo o verde (o red, orange, yellow, green)";

/// A semáforo's colour that changed, for a Conéctate draft to the whole state (a semáforo has
/// one colour for the state).
pub fn color_change(what: &str, previous: Color, new: Color, since: Option<Date>) -> Vec<Change> {
    if previous == new {
        return Vec::new();
    }
    vec![Change {
        trigger: DraftTrigger::Semaforo,
        subject: "color".into(),
        what: what.to_owned(),
        from: Some(previous.nombre().to_owned()),
        to: new.nombre().to_owned(),
        since,
        detail: None,
        municipios: Vec::new(),
    }]
}
