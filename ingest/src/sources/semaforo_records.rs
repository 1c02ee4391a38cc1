//! The two records the semáforo answer shows: the federal colour of the state
//! ([`SemaforoDataset`], kind `semaforo`) and the state's own semáforo ([`EstatalRecord`], kind
//! `semaforo_estatal`), each a source's dataset, and how their periods read in es-MX.

use jiff::civil::Date;
use schemas::es_mx;
use serde::{Deserialize, Serialize};

use super::semaforo_color::Color;
use crate::source::Dataset;

/// The federal colour of the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemaforoDataset {
    pub state_code: u8,
    pub color: Color,
    pub desde: Option<Date>,
    pub hasta: Option<Date>,
    /// The day the page was read.
    pub consultado: Date,
    /// Who publishes it (the source's attribution), so that the state semáforo's answer names it.
    #[serde(default)]
    pub fuente: String,
}

impl Dataset for SemaforoDataset {
    /// The period's first day, or the day the page was read.
    fn data_date(&self) -> Date {
        self.desde.unwrap_or(self.consultado)
    }

    fn summary(&self) -> String {
        match (self.desde, self.hasta) {
            (Some(d), Some(h)) => format!("semáforo federal {} {}", self.color.nombre(), periodo(d, h)),
            _ => format!(
                "semáforo federal {} (página leída el {})",
                self.color.nombre(),
                es_mx::long_date(self.consultado)
            ),
        }
    }
}

/// Capacity allowed for one activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aforo {
    pub actividad: String,
    pub aforo: Option<f64>,
    pub nota: Option<String>,
}

/// The state's semáforo for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstatalRecord {
    pub nombre: String,
    pub color: Color,
    pub vigente_desde: Date,
    pub vigente_hasta: Date,
    pub fuente_url: String,
    pub nota: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aforos: Vec<Aforo>,
    /// Who publishes it (the source's attribution), so that the federal semáforo's answer names it.
    #[serde(default)]
    pub fuente: String,
}

impl Dataset for EstatalRecord {
    fn data_date(&self) -> Date {
        self.vigente_desde
    }

    fn summary(&self) -> String {
        format!(
            "semáforo estatal {} {}, {} actividades con aforo",
            self.color.nombre(),
            periodo(self.vigente_desde, self.vigente_hasta),
            self.aforos.len()
        )
    }
}

/// A period in es-MX, as short as it reads well: "del 12 al 25 de abril de 2021", "del 28
/// de septiembre al 11 de octubre de 2020", "del 28 de diciembre de 2020 al 10 de enero de
/// 2021".
pub fn periodo(desde: Date, hasta: Date) -> String {
    let end = es_mx::long_date(hasta);
    if desde.year() != hasta.year() {
        format!("del {} al {end}", es_mx::long_date(desde))
    } else if desde.month() != hasta.month() {
        format!("del {} de {} al {end}", desde.day(), es_mx::month_name(desde.month()))
    } else {
        format!("del {} al {end}", desde.day())
    }
}
