//! Figures per municipio with a data date, for any topic: the generic kind a maintainer feeds a
//! new topic with (dengue, influenza, a vaccination campaign…) without a line of code.
//!
//! # File
//! CSV, one municipio per row (headers without case or accents):
//!
//! ```csv
//! municipio,fecha,confirmados,defunciones
//! León,2026-11-30,120,1
//! Celaya,2026-11-30,45,0
//! ```
//!
//! | column | required | what |
//! |---|---|---|
//! | `municipio` (or `clave`) | yes | a municipio of the state by name, short name or INEGI code; `estado` (or `total`) for the state's own row |
//! | `fecha` | no | the data date, the same in every row; without it, the `AAAA-MM-DD` in the file name |
//! | any other | at least one | a figure (a whole number ≥ 0), named as the templates read it (`cifras.confirmados`) |
//!
//! Without an `estado` row, the state's figures are the sum of the municipios'. Every topic of
//! the catalogue whose `fuente` is this source is rendered with its template for the state and,
//! when the topic has `por_municipio = true`, for every municipio of the file. A template sees
//! `cifras` (the scope's figures), `estado` (the state's), `dato` (the topic's `dato`) and
//! `valor` (that figure of the scope, if the file has it).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::normalize::normalize;
use schemas::{Answer, AnswerKey, MunicipioId, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, At, Check, GenericConfig, Text};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "cifras";

/// The columns that are not figures, with the other names they may have.
const PLACE: (&str, &[&str]) = ("municipio", &["clave", "cve_mun", "nombre"]);
const DATE: (&str, &[&str]) = ("fecha", &["fecha_datos"]);
/// What the state's own row says in the `municipio` column.
const STATE_ROW: [&str; 2] = ["estado", "total"];

/// Figures by name (the file's column headers, normalised).
pub type Figures = BTreeMap<String, u64>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CifrasDataset {
    pub data_date: Date,
    /// The figure columns, in file order.
    pub columnas: Vec<String>,
    /// The state's row, or the sum of the municipios'.
    pub estado: Figures,
    /// Whether the state's figures are the sum of the municipios' (no `estado` row).
    pub estado_sumado: bool,
    pub municipios: BTreeMap<MunicipioId, Figures>,
}

impl Dataset for CifrasDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        format!(
            "{} cifras ({}) de {} municipios; datos al {}",
            self.columnas.len(),
            self.columnas.join(", "),
            es_mx::integer(self.municipios.len() as i64),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Cifras {
    pub config: GenericConfig,
}

impl SourceKind for Cifras {
    type Dataset = CifrasDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        Ok(Cifras { config: GenericConfig::read(source, options)? })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<CifrasDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let columnas = figure_columns(&text);
        let mut aliases: Vec<(&str, &[&str])> = vec![PLACE, DATE];
        aliases.extend(columnas.iter().map(|c| (c.as_str(), &[] as &[&str])));
        let root = maintainer::csv(&text, "fila", &aliases, &mut check)?;
        if columnas.is_empty() {
            let reason =
                "no hay columnas de cifras: agrega al menos una además de municipio y fecha (por ejemplo confirmados)";
            check.error(At { line: 1, column: 1 }, "cabecera", "", reason);
        }
        let rows = check.tables(&root, "fila", true);
        let mut dates = BTreeSet::new();
        let mut estado: Option<Figures> = None;
        let mut municipios: BTreeMap<MunicipioId, Figures> = BTreeMap::new();
        for row in &rows {
            if let Some(date) = check.date(row, "fecha", false) {
                dates.insert((date, row.at));
            }
            let Some(place) = check.text(row, "municipio", true) else { continue };
            let at = row.entry("municipio").expect("read").node.at;
            let figures: Figures =
                columnas.iter().filter_map(|c| check.count(row, c, true).map(|n| (c.clone(), n))).collect();
            if figures.len() != columnas.len() {
                continue;
            }
            if STATE_ROW.contains(&normalize(&place).as_str()) {
                if estado.replace(figures).is_some() {
                    check.error(at, "municipio", &place, "ya hay una fila del estado; deja solo una");
                }
                continue;
            }
            let Some(id) = check.municipio(row, "municipio", true) else { continue };
            if municipios.insert(id, figures).is_some() {
                check.error(at, "municipio", &place, "este municipio ya tiene una fila; deja solo una");
            }
        }
        let data_date = maintainer::csv_date(&mut check, &text.file, &dates, "dengue_2026-11-30.csv");
        let mut warnings = check.finish(rows.len() as u64, 0.0)?;
        warnings.extend(text.warnings);
        let estado_sumado = estado.is_none();
        let estado = estado.unwrap_or_else(|| {
            let mut sum = Figures::new();
            for figures in municipios.values() {
                for (name, n) in figures {
                    *sum.entry(name.clone()).or_default() += n;
                }
            }
            sum
        });
        Ok(Parsed {
            rows: rows.len() as u64,
            dataset: CifrasDataset {
                data_date: data_date.expect("checked"),
                columnas,
                estado,
                estado_sumado,
                municipios,
            },
            checksum: text.checksum,
            warnings,
        })
    }

    /// Figures of this kind may go down from one file to the next (cases of the last weeks),
    /// so nothing is held back but a data date going back (the pipeline's own check).
    fn implausibilities(&self, _last_good: &CifrasDataset, _new: &CifrasDataset) -> Vec<String> {
        Vec::new()
    }

    fn render(
        &self,
        dataset: &CifrasDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let estado = J::from(minijinja::value::Serde(&dataset.estado));
        let mut answers = Vec::new();
        for entry in &common.fed {
            let municipios = dataset.municipios.iter().filter(|_| entry.by_municipio);
            let scopes = std::iter::once((Scope::Estado, &dataset.estado))
                .chain(municipios.map(|(id, figures)| (Scope::Municipio(*id), figures)));
            for (scope, figures) in scopes {
                let values = minijinja::context! {
                    cifras => J::from(minijinja::value::Serde(figures)),
                    estado => estado.clone(),
                    dato => entry.figure.clone(),
                    valor => figures.get(&entry.figure).copied(),
                };
                answers.push(renderer.render_topic(entry, scope, common, values)?);
            }
        }
        Ok(answers)
    }
}

/// The figure columns of the file's header: every column but the place and the date, named
/// as the CSV reader names them (normalised, spaces as `_`).
fn figure_columns(text: &Text) -> Vec<String> {
    let fixed = |name: &str| [PLACE, DATE].iter().any(|(n, others)| *n == name || others.contains(&name));
    maintainer::header_names(text).into_iter().filter(|name| !fixed(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(csv: &str) -> Result<CifrasDataset, SourceError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dengue_2026-11-30.csv");
        std::fs::write(&path, csv).unwrap();
        let kind = Cifras { config: GenericConfig::default() };
        let body = Body::from_file(&path).unwrap();
        kind.parse(&body, &crate::progress::Progress::shared()).map(|p| p.dataset)
    }

    #[test]
    fn the_state_is_the_sum_of_the_municipios_unless_it_has_a_row_of_its_own() {
        let summed = parse("Municipio,Confirmados,Defunciones\nLeón,120,1\n007,45,0\n").unwrap();
        assert_eq!(summed.columnas, ["confirmados", "defunciones"]);
        assert_eq!(summed.data_date, jiff::civil::date(2026, 11, 30), "the date in the file's name");
        assert!(summed.estado_sumado);
        assert_eq!(summed.estado, Figures::from([("confirmados".into(), 165), ("defunciones".into(), 1)]));
        let celaya = MunicipioId::try_from(7).unwrap();
        assert_eq!(summed.municipios[&celaya]["confirmados"], 45);
        let own = parse("municipio,fecha,confirmados\nEstado,2026-12-01,500\nLeón,2026-12-01,120\n").unwrap();
        assert_eq!((own.estado["confirmados"], own.estado_sumado), (500, false));
        assert_eq!(own.data_date, jiff::civil::date(2026, 12, 1));
    }

    #[test]
    fn bad_rows_are_named_by_line_and_column() {
        let Err(SourceError::Rejected { errors, .. }) =
            parse("municipio,confirmados\nLeón,muchos\nTijuana,3\nCelaya,4\nCelaya,5\n")
        else {
            panic!("rejected")
        };
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(lines[0].starts_with("dengue_2026-11-30.csv:2:2: confirmados: debe ser un número entero"), "{lines:?}");
        assert!(
            lines[1].starts_with("dengue_2026-11-30.csv:3:1: municipio: no es un municipio de Guanajuato"),
            "{lines:?}"
        );
        assert!(lines[2].contains(":5:1: municipio: este municipio ya tiene una fila"), "{lines:?}");
    }
}
