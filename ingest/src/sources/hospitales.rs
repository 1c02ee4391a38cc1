//! Hospitales habilitados: the units of the Red IRAG (docs/formats.md §d.4) that take COVID-19
//! patients, with their occupancy, for the state and for each municipio the list names.
//!
//! # File
//! The Red IRAG download as it is (one row per unit, every field quoted), optionally with a
//! `Municipio` column added by the maintainer; rows of other states are skipped, so the
//! national file works too. Headers are matched without case or accents:
//!
//! ```csv
//! "Unidad médica","Estado","Institución","CLUES","% de Ocupación","Municipio"
//! "Hospital General León","Guanajuato","SSA","GTSSA005683","31","León"
//! ```
//!
//! | column | required | what |
//! |---|---|---|
//! | `Unidad médica` (or `nombre`, `unidad`, `hospital`) | yes | the unit's name |
//! | `Institución` | yes | SSA, IMSS, ISSSTE, IMSS-BIENESTAR, SEDENA, PEMEX, … |
//! | `CLUES` | yes | the unit's CLUES code (`GTSSA005683`); unique in the file |
//! | `% de Ocupación` (or `ocupacion`) | no | 0 to 100; the dashboard publishes negative values and values above 100 at times, which are errors |
//! | `Municipio` | no | name, short name or INEGI code; units with one appear in that municipio's answer |
//! | `Estado` | no | rows whose state is not `estado` (option) are skipped |
//! | `Fecha` | no | the data date, the same in every row; without it, the `AAAA-MM-DD` in the file name |
//!
//! Or TOML: `fecha = 2020-09-24` and one `[[unidad]]` per unit with `nombre`, `institucion`,
//! `clues`, `ocupacion`, `municipio`.
//!
//! ```toml
//! [sources.hospitales]
//! kind = "hospitales"
//! url = "file://fixtures/hospitales/hospitales_2020-09-24.csv"
//! estado = "Guanajuato"
//! max_fall_percent = 50.0   # 57 units, then 3: quarantined
//! ```

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::{Answer, AnswerKey, MunicipioId, Scope, SourceName, es_mx, normalize::normalize};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, Check, Table, Text};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "hospitales";

/// CSV headers (normalised) of each field.
const COLUMNS: &[(&str, &[&str])] = &[
    ("nombre", &["unidad_medica", "unidad", "hospital"]),
    ("estado", &["entidad"]),
    ("institucion", &[]),
    ("clues", &[]),
    ("ocupacion", &["de_ocupacion", "ocupacion", "porcentaje_de_ocupacion"]),
    ("municipio", &[]),
    ("fecha", &["fecha_datos"]),
];

/// Options of `[sources.NAME]` for `kind = "hospitales"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HospitalesConfig {
    /// The state whose units are listed, as the list's `Estado` column spells it; rows with
    /// another `Estado` are skipped (compared without case or accents). Left out: the
    /// deployment's state, by its name or official name ([`schemas::State::is_named`]).
    pub estado: Option<String>,
    /// Rows with errors tolerated, as a percentage of the rows, left out and reported; 0 =
    /// any bad row rejects the file.
    pub error_budget_percent: f64,
    /// A list with this much fewer units than the published one is quarantined.
    pub max_fall_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for HospitalesConfig {
    fn default() -> Self {
        HospitalesConfig {
            estado: None,
            error_budget_percent: 0.0,
            max_fall_percent: 50.0,
            attribution: "Red IRAG, Secretaría de Salud".into(),
        }
    }
}

/// One unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unidad {
    pub nombre: String,
    pub institucion: String,
    pub clues: String,
    pub municipio: Option<MunicipioId>,
    /// Percentage of beds in use, 0–100.
    pub ocupacion: Option<f64>,
}

/// The list of one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HospitalesDataset {
    pub data_date: Date,
    pub unidades: Vec<Unidad>,
}

impl Dataset for HospitalesDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        let municipios: BTreeSet<_> = self.unidades.iter().filter_map(|u| u.municipio).collect();
        format!(
            "{} unidades, {} de ellas en {} municipios; datos al {}",
            es_mx::integer(self.unidades.len() as i64),
            es_mx::integer(self.unidades.iter().filter(|u| u.municipio.is_some()).count() as i64),
            municipios.len(),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Hospitales {
    pub config: HospitalesConfig,
}

impl SourceKind for Hospitales {
    type Dataset = HospitalesDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: HospitalesConfig = crate::source::options(source, options)?;
        maintainer::check_percent(source, "error_budget_percent", config.error_budget_percent)?;
        maintainer::check_percent(source, "max_fall_percent", config.max_fall_percent)?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Hospitales { config })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["clues", "institucion"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<HospitalesDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let toml = maintainer::is_toml(&text.file, &text.text);
        let root = if toml { maintainer::toml(&text)? } else { maintainer::csv(&text, "unidad", COLUMNS, &mut check)? };
        if toml {
            check.only(&root, &["fecha", "unidad"]);
        }
        let wanted_state = self.config.estado.as_deref().map(normalize);
        let of_the_state = |state: &str| match &wanted_state {
            Some(wanted) => normalize(state) == *wanted,
            None => schemas::state().is_named(state),
        };
        let rows = check.tables(&root, "unidad", true);
        let mut dates = BTreeSet::new();
        let mut unidades: Vec<Unidad> = Vec::new();
        let mut clues_seen = BTreeMap::new();
        let mut records = 0;
        for row in &rows {
            if let Some(e) = row.entry("estado")
                && let maintainer::Value::Text(state) = &e.node.value
                && !of_the_state(state)
            {
                continue;
            }
            records += 1;
            if !toml && let Some(date) = check.date(row, "fecha", false) {
                dates.insert((date, row.at));
            }
            let unidad = check.record(|c| read_unit(c, row, toml, &mut clues_seen));
            unidades.extend(unidad);
        }
        let data_date = if toml {
            check.date(&root, "fecha", true)
        } else {
            maintainer::csv_date(&mut check, &text.file, &dates, "hospitales_2020-09-24.csv")
        };
        if records == 0 && !rows.is_empty() {
            check.error(
                root.at,
                "estado",
                self.config.estado.as_deref().unwrap_or(&schemas::state().name),
                "ninguna fila es de este estado; revisa la opción `estado` de la fuente o la columna Estado",
            );
        }
        let mut warnings = check.finish(records, self.config.error_budget_percent)?;
        warnings.extend(text.warnings);
        let data_date = data_date.expect("a missing date is an error above");
        Ok(Parsed {
            rows: records,
            dataset: HospitalesDataset { data_date, unidades },
            checksum: text.checksum,
            warnings,
        })
    }

    fn implausibilities(&self, last_good: &HospitalesDataset, new: &HospitalesDataset) -> Vec<String> {
        let (before, now) = (last_good.unidades.len() as u64, new.unidades.len() as u64);
        maintainer::fell("las unidades de la lista", before, now, self.config.max_fall_percent).into_iter().collect()
    }

    fn render(
        &self,
        dataset: &HospitalesDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let view = |u: &Unidad| {
            serde_json::json!({
                "nombre": u.nombre,
                "institucion": u.institucion,
                "clues": u.clues,
                "ocupacion": u.ocupacion,
            })
        };
        let mut by_municipio: BTreeMap<Option<MunicipioId>, Vec<&Unidad>> = BTreeMap::new();
        for u in &dataset.unidades {
            by_municipio.entry(u.municipio).or_default().push(u);
        }
        let grupos: Vec<serde_json::Value> = by_municipio
            .iter()
            .filter_map(|(m, units)| m.map(|m| (m, units)))
            .map(|(m, units)| {
                serde_json::json!({
                    "municipio": m.municipio().name,
                    "unidades": units.iter().map(|u| view(u)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let sin_municipio: Vec<_> = by_municipio.get(&None).into_iter().flatten().map(|u| view(u)).collect();
        let mut answers = Vec::new();
        for scope in Scope::all() {
            let unidades: Vec<_> = match scope {
                Scope::Estado => Vec::new(),
                Scope::Municipio(id) => by_municipio.get(&Some(id)).into_iter().flatten().map(|u| view(u)).collect(),
            };
            let values = minijinja::context! {
                total => dataset.unidades.len(),
                grupos => J::from(minijinja::value::Serde(&grupos)),
                sin_municipio => J::from(minijinja::value::Serde(&sin_municipio)),
                unidades => J::from(minijinja::value::Serde(&unidades)),
            };
            for entry in &common.fed {
                answers.push(renderer.render_topic(entry, scope, common, values.clone())?);
            }
        }
        Ok(answers)
    }
}

fn read_unit(c: &mut Check, row: &Table, toml: bool, clues_seen: &mut BTreeMap<String, u64>) -> Option<Unidad> {
    if toml {
        c.only(row, &["nombre", "institucion", "clues", "ocupacion", "municipio"]);
    }
    let nombre = c.text(row, "nombre", true);
    let institucion = c.text(row, "institucion", true);
    let clues = c.text(row, "clues", true).map(|s| s.to_ascii_uppercase());
    let ocupacion = c.percent(row, "ocupacion", false);
    let municipio = c.municipio(row, "municipio", false);
    if let (Some(code), Some(e)) = (&clues, row.entry("clues")) {
        // By bytes: a value of eleven bytes may hold a letter of two («GTSS¡01744»), and
        // slicing the string inside it would panic.
        let bytes = code.as_bytes();
        let well_formed = bytes.len() == 11
            && bytes[..5].iter().all(u8::is_ascii_uppercase)
            && bytes[5..].iter().all(u8::is_ascii_digit);
        if !well_formed {
            c.error(e.node.at, &e.label, code, "una CLUES tiene 5 letras y 6 dígitos (por ejemplo GTSSA005683)");
        } else if let Some(first) = clues_seen.insert(code.clone(), e.node.at.line) {
            c.error(
                e.node.at,
                &e.label,
                code,
                format!("esta CLUES ya aparece en la línea {first}; deja una sola fila por unidad"),
            );
        }
    }
    Some(Unidad { nombre: nombre?, institucion: institucion?, clues: clues?, municipio, ocupacion })
}
