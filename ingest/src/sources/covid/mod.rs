//! The national COVID-19 open-data file of the Secretaría de Salud (docs/formats.md §a): one CSV,
//! re-issued in full every day inside a ZIP, 15–20 million rows by 2022.
//!
//! The file streams through: the ZIP entry is inflated on one thread ([`crate::input`]) while
//! this module splits ([`scan`]), validates and counts ([`count`]) on another, so memory does
//! not grow with the file. Columns are found by header name ([`layout`]), in every layout from
//! 34 to 42 columns. The result is a [`CovidDataset`]: confirmados, sospechosos, descartados
//! and defunciones for the state (by care unit and by residence) and for each municipio (by
//! residence, plus 999 "no especificado"), dated by `FECHA_ACTUALIZACION`.
//!
//! ```toml
//! [sources.covid]
//! kind = "covid"
//! url = "http://datosabiertos.salud.gob.mx/gobmx/salud/datos_abiertos/datos_abiertos_covid19.zip"
//! schedule = "0 30 20 * * *"      # every day at 20:30
//! state_basis = "unidad_medica"   # or "residencia"
//! error_budget_percent = 0.01
//! max_fall_percent = 0.0
//! max_jump_percent = 50.0
//! ```
//!
//! The state counted is the deployment's (`state_code` at the top of the configuration,
//! [`schemas::state`]); the municipio codes accepted are that state's, looked up once per file
//! ([`known_municipios`]), never per row.

pub mod count;
pub mod layout;
pub mod scan;

use std::collections::BTreeMap;

use jiff::civil::Date;
use minijinja::context;
use minijinja::value::{Serde, Value};
use schemas::{Answer, AnswerKey, MunicipioId, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::input::ChunkReader;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

/// The `kind` of this source in the configuration.
pub const KIND: &str = "covid";
/// The municipio code for "no especificado".
pub const NO_ESPECIFICADO: u16 = schemas::municipio::NO_ESPECIFICADO;
/// The figures this source computes, which catalogue topics name as their `dato`.
pub const FIGURES: [&str; 4] = ["confirmados", "sospechosos", "descartados", "defunciones"];
/// Errors listed in a rejection or among the warnings; the rest are counted.
const ERRORS_LISTED: usize = 20;

/// Options of `[sources.NAME]` for `kind = "covid"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CovidConfig {
    /// Left out: the deployment's state (`state_code` at the top of the configuration), whose
    /// figures are published. Given, it must be that same state.
    pub state_code: Option<u8>,
    /// Which rows make the state's totals: `unidad_medica` (`ENTIDAD_UM`, the state of the
    /// unit that notified the case; reproduces the federal daily report) or `residencia`
    /// (`ENTIDAD_RES`). Municipal figures are always by residence.
    pub state_basis: StateBasis,
    /// Rows with bad values tolerated, as a percentage of all data rows (0.01 = one in ten
    /// thousand). They are reported and left out; beyond the budget the dataset is rejected.
    pub error_budget_percent: f64,
    /// A cumulative state figure (confirmados, descartados, defunciones) that falls by more
    /// than this percentage against the last published dataset quarantines the new one
    /// (0 = any fall).
    pub max_fall_percent: f64,
    /// A cumulative state figure that rises by more than this percentage in one run
    /// quarantines the dataset.
    pub max_jump_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for CovidConfig {
    fn default() -> Self {
        CovidConfig {
            state_code: None,
            state_basis: StateBasis::UnidadMedica,
            error_budget_percent: 0.01,
            max_fall_percent: 0.0,
            max_jump_percent: 50.0,
            attribution: "Secretaría de Salud federal, datos abiertos COVID-19".into(),
        }
    }
}

/// Which rows make the state's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBasis {
    /// `ENTIDAD_UM`: where the case was notified (the federal daily report's rule).
    #[default]
    UnidadMedica,
    /// `ENTIDAD_RES`: where the person lives.
    Residencia,
}

impl StateBasis {
    fn slug(self) -> &'static str {
        match self {
            StateBasis::UnidadMedica => "unidad_medica",
            StateBasis::Residencia => "residencia",
        }
    }
}

/// The four figures of one scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub confirmados: u64,
    pub sospechosos: u64,
    pub descartados: u64,
    pub defunciones: u64,
}

impl Figures {
    /// The cumulative figures (sospechosos come and go) with their Spanish names.
    fn cumulative(&self) -> [(&'static str, u64); 3] {
        [
            ("casos confirmados", self.confirmados),
            ("casos descartados", self.descartados),
            ("defunciones", self.defunciones),
        ]
    }
}

/// The figures of one day's file for one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovidDataset {
    /// `FECHA_ACTUALIZACION`.
    pub data_date: Date,
    /// The layout recognised (`40 columnas (…)`).
    pub layout: String,
    pub state_code: u8,
    /// Data rows of the whole file.
    pub rows: u64,
    /// The state's totals by `ENTIDAD_UM`.
    pub unidad_medica: Figures,
    /// The state's totals by `ENTIDAD_RES`.
    pub residencia: Figures,
    /// By residence, per municipio code; 999 is "no especificado". Codes without rows are absent.
    pub municipios: BTreeMap<u16, Figures>,
}

impl CovidDataset {
    pub fn estado(&self, basis: StateBasis) -> &Figures {
        match basis {
            StateBasis::UnidadMedica => &self.unidad_medica,
            StateBasis::Residencia => &self.residencia,
        }
    }

    pub fn municipio(&self, code: u16) -> Figures {
        self.municipios.get(&code).cloned().unwrap_or_default()
    }
}

impl Dataset for CovidDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }
}

/// The national-file source kind.
pub struct Covid {
    pub config: CovidConfig,
    /// The state whose rows are counted: the deployment's.
    state_code: u8,
}

impl Covid {
    /// The source for the deployment's state ([`schemas::state`]).
    pub fn new(config: CovidConfig) -> Covid {
        Covid { config, state_code: schemas::state().code }
    }
}

/// The municipio codes of the deployment's state ([`schemas::catalogue`]), plus 999: built
/// once per file, so a row's municipio is checked by one index, whatever the state.
fn known_municipios() -> Vec<bool> {
    let mut known = vec![false; 1000];
    for id in MunicipioId::all() {
        known[usize::from(id.code())] = true;
    }
    known[usize::from(NO_ESPECIFICADO)] = true;
    known
}

/// Reads a whole body of the national file and counts `state`'s figures. `known_municipios`
/// (indexed by code) rejects municipio codes the state does not have; `None` accepts any.
pub fn count_body(
    body: &Body,
    state: u8,
    known_municipios: Option<Vec<bool>>,
    error_budget_percent: f64,
    progress: &SharedProgress,
) -> Result<Parsed<CovidDataset>, SourceError> {
    let mut reader = ChunkReader::open(body, progress.clone())?;
    let file = reader.name.clone();
    let mut counter: Option<count::Counter> = None;
    let mut known = known_municipios;
    // Lines are found and split in one pass over each chunk ([`count::Counter::scan`]); the
    // header, and a line cut by the end of a chunk, go through `carry` as whole lines.
    let mut carry: Vec<u8> = Vec::new();
    let mut line_no = 0u64;
    let mut whole_line = |line_no: u64, line: &[u8], counter: &mut Option<count::Counter>| -> Result<(), SourceError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match counter {
            Some(c) => c.row(line_no, line),
            None => {
                let cols = layout::recognise(&file, line)?;
                *counter = Some(count::Counter::new(file.clone(), cols, u16::from(state), known.take()));
            }
        }
        Ok(())
    };
    while let Some(chunk) = reader.next_chunk()? {
        let mut rest: &[u8] = &chunk;
        if counter.is_none() || !carry.is_empty() {
            let Some(i) = memchr::memchr(b'\n', rest) else {
                carry.extend_from_slice(rest);
                reader.recycle(chunk);
                continue;
            };
            carry.extend_from_slice(&rest[..i]);
            rest = &rest[i + 1..];
            line_no += 1;
            whole_line(line_no, &carry, &mut counter)?;
            carry.clear();
        }
        let c = counter.as_mut().expect("the header was read");
        let rows_before = c.rows;
        while let Some(taken) = c.scan(line_no + 1, rest) {
            line_no += 1;
            rest = &rest[taken..];
        }
        progress.add_rows(c.rows - rows_before);
        carry.extend_from_slice(rest);
        reader.recycle(chunk);
    }
    if !carry.is_empty() {
        line_no += 1;
        whole_line(line_no, &carry, &mut counter)?;
    }
    let Some(counter) = counter else {
        return Err(SourceError::Drift(format!("{file}: el archivo está vacío (ni siquiera tiene cabecera)")));
    };
    let rows = counter.rows;
    let reject = |summary: String, counter: &count::Counter| SourceError::Rejected {
        summary,
        errors: counter.errors().iter().take(ERRORS_LISTED).cloned().collect(),
    };
    if rows == 0 {
        return Err(reject(format!("{file}: no tiene filas de datos"), &counter));
    }
    let bad_percent = counter.bad_rows as f64 * 100.0 / rows as f64;
    let summary_of_errors = || {
        format!(
            "{} filas con errores de {} ({}; el máximo permitido es {} %)",
            es_mx::integer(counter.bad_rows as i64),
            es_mx::integer(rows as i64),
            percent(bad_percent),
            es_mx::decimal(error_budget_percent, 3).trim_end_matches('0').trim_end_matches('.'),
        )
    };
    if bad_percent > error_budget_percent {
        let first = counter.errors().first().map(|e| format!("; el primero: {e}")).unwrap_or_default();
        return Err(reject(format!("{file}: se rechazó: {}{first}", summary_of_errors()), &counter));
    }
    let Some(data_date) = counter.data_date() else {
        return Err(reject(format!("{file}: ninguna fila tiene una FECHA_ACTUALIZACION válida"), &counter));
    };
    if counter.by_unidad_medica == Figures::default() && counter.by_residencia == Figures::default() {
        return Err(reject(
            format!("{file}: ninguna fila válida es de la entidad {state:02}; ¿es el archivo correcto?"),
            &counter,
        ));
    }
    let mut warnings: Vec<String> = counter.errors().iter().take(ERRORS_LISTED).map(|e| e.to_string()).collect();
    if counter.bad_rows > 0 {
        warnings.push(format!("{file}: {} se dejaron fuera de las cifras", summary_of_errors()));
    }
    let checksum = reader.checksum().unwrap_or_default().to_owned();
    Ok(Parsed {
        dataset: CovidDataset {
            data_date,
            layout: counter.layout_name().to_owned(),
            state_code: state,
            rows,
            unidad_medica: counter.by_unidad_medica.clone(),
            residencia: counter.by_residencia.clone(),
            municipios: counter.municipios(),
        },
        rows,
        checksum,
        warnings,
    })
}

/// A percentage for messages: `0.004 %`.
fn percent(p: f64) -> String {
    let places = if p >= 1.0 { 1 } else { 3 };
    format!("{} %", es_mx::decimal(p, places))
}

impl SourceKind for Covid {
    type Dataset = CovidDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: CovidConfig = crate::source::options(source, options)?;
        let field = |field: &str, message: &str| ConfigError {
            name: source.to_string(),
            field: field.into(),
            message: message.into(),
        };
        crate::source::state_code(source, config.state_code)?;
        if !(0.0..=100.0).contains(&config.error_budget_percent) {
            return Err(field("error_budget_percent", "debe estar entre 0 y 100"));
        }
        if !(0.0..=100.0).contains(&config.max_fall_percent) {
            return Err(field("max_fall_percent", "debe estar entre 0 y 100"));
        }
        if config.max_jump_percent.is_nan() || config.max_jump_percent < 0.0 {
            return Err(field("max_jump_percent", "debe ser 0 o mayor"));
        }
        if config.attribution.trim().is_empty() {
            return Err(field("attribution", "no puede estar vacía: cada respuesta dice su fuente"));
        }
        Ok(Covid::new(config))
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn parse(&self, body: &Body, progress: &SharedProgress) -> Result<Parsed<CovidDataset>, SourceError> {
        count_body(body, self.state_code, Some(known_municipios()), self.config.error_budget_percent, progress)
    }

    fn implausibilities(&self, last_good: &CovidDataset, new: &CovidDataset) -> Vec<String> {
        let basis = self.config.state_basis;
        let (old, new) = (last_good.estado(basis).cumulative(), new.estado(basis).cumulative());
        let mut reasons = Vec::new();
        for ((name, before), (_, now)) in old.into_iter().zip(new) {
            let change = if before == 0 { 0.0 } else { (now as f64 - before as f64) * 100.0 / before as f64 };
            let (b, n) = (es_mx::integer(before as i64), es_mx::integer(now as i64));
            if now < before && -change > self.config.max_fall_percent {
                reasons.push(format!(
                    "los {name} del estado bajan de {b} a {n} ({}), y son acumulados",
                    es_mx::percent(change / 100.0)
                ));
            } else if before > 0 && change > self.config.max_jump_percent {
                reasons.push(format!(
                    "los {name} del estado suben de {b} a {n} (+{}), por encima del umbral de {} %",
                    es_mx::percent(change / 100.0),
                    es_mx::decimal(self.config.max_jump_percent, 1)
                ));
            }
        }
        reasons
    }

    fn render(
        &self,
        dataset: &CovidDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let estado = dataset.estado(self.config.state_basis);
        let no_especificado = dataset.municipio(NO_ESPECIFICADO);
        let fed = super::maintainer::figures_named(&common.fed, &FIGURES)?;
        let mut answers = Vec::with_capacity(fed.len() * Scope::all().count());
        for entry in fed {
            for scope in Scope::all() {
                let cifras = match scope {
                    Scope::Estado => estado.clone(),
                    Scope::Municipio(id) => dataset.municipio(id.code()),
                };
                let values = context! {
                    cifras => Value::from(Serde(&cifras)),
                    estado => Value::from(Serde(estado)),
                    no_especificado => Value::from(Serde(&no_especificado)),
                    base_estatal => self.config.state_basis.slug(),
                };
                answers.push(renderer.render_topic(entry, scope, common, values)?);
            }
        }
        Ok(answers)
    }
}
