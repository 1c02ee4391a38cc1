//! Programas de apoyo by sector: name, for whom, how to apply and where, as the state's
//! maintainers publish them.
//!
//! # File
//! CSV, one programme per row (headers without case or accents):
//!
//! ```csv
//! sector,nombre,para_quien,como_solicitar,url
//! Economía,Impulso económico GTO,Negocios locales afectados por la contingencia,Regístrate en línea,https://impulsoeconomico.guanajuato.gob.mx
//! ```
//!
//! | column | required | what |
//! |---|---|---|
//! | `sector` | yes | the sector it supports (answers group by it, in file order) |
//! | `nombre` | yes | the programme's name |
//! | `para_quien` (or `dirigido_a`) | yes | who can apply |
//! | `como_solicitar` (or `requisitos`) | yes | how to apply |
//! | `url` (or `enlace`) | yes | `https://…` where to apply or read more |
//! | `fecha` | no | the data date, the same in every row; without it, the `AAAA-MM-DD` in the file name |
//!
//! Or TOML: `fecha = 2020-07-01` and one `[[programa]]` per programme with the same fields.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::{Answer, AnswerKey, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, Check, Table, Text};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "programas";

const COLUMNS: &[(&str, &[&str])] = &[
    ("sector", &[]),
    ("nombre", &["programa"]),
    ("para_quien", &["dirigido_a", "beneficiarios", "quien"]),
    ("como_solicitar", &["como_aplicar", "requisitos", "solicitud"]),
    ("url", &["enlace", "liga", "pagina"]),
    ("fecha", &["fecha_datos"]),
];
const FIELDS: [&str; 5] = ["sector", "nombre", "para_quien", "como_solicitar", "url"];

/// Options of `[sources.NAME]` for `kind = "programas"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgramasConfig {
    /// A list with this much fewer programmes than the published one is quarantined.
    pub max_fall_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for ProgramasConfig {
    fn default() -> Self {
        ProgramasConfig { max_fall_percent: 50.0, attribution: schemas::state().government.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programa {
    pub sector: String,
    pub nombre: String,
    pub para_quien: String,
    pub como_solicitar: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramasDataset {
    pub data_date: Date,
    pub programas: Vec<Programa>,
}

impl Dataset for ProgramasDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        let sectores: BTreeSet<&str> = self.programas.iter().map(|p| p.sector.as_str()).collect();
        format!(
            "{} programas en {} sectores; datos al {}",
            es_mx::integer(self.programas.len() as i64),
            sectores.len(),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Programas {
    pub config: ProgramasConfig,
}

impl SourceKind for Programas {
    type Dataset = ProgramasDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: ProgramasConfig = crate::source::options(source, options)?;
        maintainer::check_percent(source, "max_fall_percent", config.max_fall_percent)?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Programas { config })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["sector", "como solicitar"]) || maintainer::head_has(head, &["programa", "sector"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<ProgramasDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let toml = maintainer::is_toml(&text.file, &text.text);
        let root =
            if toml { maintainer::toml(&text)? } else { maintainer::csv(&text, "programa", COLUMNS, &mut check)? };
        if toml {
            check.only(&root, &["fecha", "programa"]);
        }
        let rows = check.tables(&root, "programa", true);
        let mut dates = BTreeSet::new();
        let mut programas = Vec::new();
        for row in &rows {
            if !toml && let Some(date) = check.date(row, "fecha", false) {
                dates.insert((date, row.at));
            }
            programas.extend(check.record(|c| read(c, row, toml)));
        }
        let data_date = if toml {
            check.date(&root, "fecha", true)
        } else {
            maintainer::csv_date(&mut check, &text.file, &dates, "programas_2020-07-01.csv")
        };
        let mut warnings = check.finish(rows.len() as u64, 0.0)?;
        warnings.extend(text.warnings);
        Ok(Parsed {
            rows: rows.len() as u64,
            dataset: ProgramasDataset { data_date: data_date.expect("checked"), programas },
            checksum: text.checksum,
            warnings,
        })
    }

    fn implausibilities(&self, last_good: &ProgramasDataset, new: &ProgramasDataset) -> Vec<String> {
        let (before, now) = (last_good.programas.len() as u64, new.programas.len() as u64);
        maintainer::fell("los programas", before, now, self.config.max_fall_percent).into_iter().collect()
    }

    fn render(
        &self,
        dataset: &ProgramasDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let mut sectores: Vec<(String, Vec<&Programa>)> = Vec::new();
        for p in &dataset.programas {
            match sectores.iter_mut().find(|(s, _)| *s == p.sector) {
                Some((_, list)) => list.push(p),
                None => sectores.push((p.sector.clone(), vec![p])),
            }
        }
        let sectores: Vec<serde_json::Value> = sectores
            .into_iter()
            .map(|(sector, programas)| serde_json::json!({ "sector": sector, "programas": programas }))
            .collect();
        let values = minijinja::context! { sectores => J::from(minijinja::value::Serde(&sectores)) };
        common.fed.iter().map(|entry| renderer.render_topic(entry, Scope::Estado, common, values.clone())).collect()
    }
}

fn read(c: &mut Check, row: &Table, toml: bool) -> Option<Programa> {
    if toml {
        c.only(row, &FIELDS);
    }
    let sector = c.text(row, "sector", true);
    let nombre = c.text(row, "nombre", true);
    let para_quien = c.text(row, "para_quien", true);
    let como_solicitar = c.text(row, "como_solicitar", true);
    let url = c.url(row, "url", true);
    Some(Programa {
        sector: sector?,
        nombre: nombre?,
        para_quien: para_quien?,
        como_solicitar: como_solicitar?,
        url: url?,
    })
}
