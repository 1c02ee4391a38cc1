//! The state's own semáforo (docs/formats.md §b.2: Guanajuato's "Semáforo Estatal de Reactivación",
//! weekly, from May 2020 to May 2022): a record a maintainer keeps, since it was published as
//! press releases and images, with no feed.
//!
//! # File
//! TOML:
//!
//! ```toml
//! nombre = "Semáforo Estatal de Reactivación Económica"   # optional
//! color = "rojo"                          # rojo, naranja, amarillo o verde
//! vigente_desde = 2020-05-25
//! vigente_hasta = 2020-05-31
//! fuente_url = "https://…"                # where it was announced
//! nota = "Primera fase de la reactivación"   # optional
//!
//! [[aforo]]                               # capacity per activity, optional
//! actividad = "Restaurantes"
//! aforo = 30                              # percent, optional
//! nota = "Con cita"                       # optional
//! ```
//!
//! Its data date is `vigente_desde`. The semáforo answer shows it beside the federal colour
//! (`federal`, a source of kind `semaforo`).

use std::collections::BTreeMap;

use schemas::{Answer, AnswerKey, SourceName};
use serde::Deserialize;

use super::maintainer::{self, Check, Table, Text};
use super::semaforo_answer::{answer, companion};
use super::semaforo_color::{COLORS, Color, color_change};
use super::semaforo_records::{Aforo, EstatalRecord, SemaforoDataset};
use crate::configured_sources::ConfiguredSources;
use crate::drafts::Change;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Parsed, SourceKind};

pub const KIND: &str = "semaforo_estatal";

/// Options of `[sources.NAME]` for `kind = "semaforo_estatal"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemaforoEstatalConfig {
    /// The source of the federal semáforo, shown in the same answer. Empty: none.
    pub federal: String,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for SemaforoEstatalConfig {
    fn default() -> Self {
        SemaforoEstatalConfig { federal: "semaforo".into(), attribution: schemas::state().government.clone() }
    }
}

pub struct SemaforoEstatal {
    pub config: SemaforoEstatalConfig,
}

impl SourceKind for SemaforoEstatal {
    type Dataset = EstatalRecord;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: SemaforoEstatalConfig = crate::source::options(source, options)?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(SemaforoEstatal { config })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["vigente desde", "color"])
    }

    fn companions(&self) -> Vec<SourceName> {
        self.config.federal.parse().into_iter().collect()
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<EstatalRecord>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let root = maintainer::toml(&text)?;
        check.only(&root, &["nombre", "color", "vigente_desde", "vigente_hasta", "fuente_url", "nota", "aforo"]);
        let nombre = check.text(&root, "nombre", false).unwrap_or_else(|| "Semáforo Estatal de Reactivación".into());
        let color = check.text(&root, "color", true).and_then(|c| {
            let parsed = Color::parse(&c);
            if parsed.is_none() {
                let at = root.entry("color").expect("read").node.at;
                check.error(at, "color", &c, format!("debe ser {COLORS}"));
            }
            parsed
        });
        let desde = check.date(&root, "vigente_desde", true);
        let hasta = check.date(&root, "vigente_hasta", true);
        if let (Some(d), Some(h)) = (desde, hasta)
            && h < d
        {
            let at = root.entry("vigente_hasta").expect("read").node.at;
            check.error(at, "vigente_hasta", h, "termina antes de vigente_desde; revisa las dos fechas");
        }
        let fuente_url = check.url(&root, "fuente_url", true);
        let nota = check.text(&root, "nota", false);
        let rows = check.tables(&root, "aforo", false);
        let mut aforos = Vec::new();
        for row in &rows {
            aforos.extend(check.record(|c| read_aforo(c, row)));
        }
        let mut warnings = check.finish(1 + rows.len() as u64, 0.0)?;
        warnings.extend(text.warnings);
        let record = EstatalRecord {
            nombre,
            color: color.expect("checked"),
            vigente_desde: desde.expect("checked"),
            vigente_hasta: hasta.expect("checked"),
            fuente_url: fuente_url.expect("checked"),
            nota,
            aforos,
            fuente: self.config.attribution.clone(),
        };
        Ok(Parsed { dataset: record, rows: 1, checksum: text.checksum, warnings })
    }

    fn implausibilities(&self, _last_good: &EstatalRecord, _new: &EstatalRecord) -> Vec<String> {
        Vec::new()
    }

    const REPORTS_CHANGES: bool = true;

    fn changes(&self, previous: &EstatalRecord, new: &EstatalRecord) -> Vec<Change> {
        color_change("el semáforo estatal", previous.color, new.color, Some(new.vigente_desde))
    }

    fn render(
        &self,
        dataset: &EstatalRecord,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let federal: Option<SemaforoDataset> = companion(common, &self.config.federal);
        answer(federal.as_ref(), Some(dataset), renderer, common)
    }
}

fn read_aforo(c: &mut Check, row: &Table) -> Option<Aforo> {
    c.only(row, &["actividad", "aforo", "nota"]);
    let actividad = c.text(row, "actividad", true);
    let aforo = c.percent(row, "aforo", false);
    let nota = c.text(row, "nota", false);
    if aforo.is_none() && nota.is_none() && row.entry("aforo").is_none() {
        c.error(row.at, "aforo", "", "di el aforo permitido (aforo = 30) o una nota (nota = \"Cerrado\")");
    }
    Some(Aforo { actividad: actividad?, aforo, nota })
}
