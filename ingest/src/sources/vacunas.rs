//! Vacunación: the stages of the national vaccination policy (who, when, where) and the doses
//! applied in the state (docs/formats.md §d.3: the vacunacovid.gob.mx map's figure).
//!
//! # File
//! TOML:
//!
//! ```toml
//! fecha = 2022-05-09
//! dosis_aplicadas = "7,062,547 "   # a number, or the map's text as published
//! poblacion = 6154885               # optional: doses per inhabitant
//! registro_url = "https://mivacuna.salud.gob.mx"   # optional
//!
//! [[etapa]]
//! numero = 1
//! periodo = "diciembre de 2020 a febrero de 2021"
//! quienes = "Personal de salud de primera línea"
//! donde = "En su unidad de trabajo"                 # optional
//! ```

use std::collections::BTreeMap;

use jiff::civil::Date;
use minijinja::value::Value as J;
use schemas::{Answer, AnswerKey, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};
use settings::DraftTrigger;

use super::maintainer::{self, Check, Table, Text};
use crate::configured_sources::ConfiguredSources;
use crate::drafts::Change;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "vacunas";

/// Options of `[sources.NAME]` for `kind = "vacunas"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VacunasConfig {
    /// Doses applied are cumulative: any fall quarantines; a rise beyond this percentage in one
    /// publication does too.
    pub max_jump_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for VacunasConfig {
    fn default() -> Self {
        VacunasConfig { max_jump_percent: 100.0, attribution: "Secretaría de Salud, vacunacovid.gob.mx".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Etapa {
    pub numero: u64,
    pub periodo: String,
    pub quienes: String,
    pub donde: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VacunasDataset {
    pub data_date: Date,
    pub dosis_aplicadas: u64,
    pub poblacion: Option<u64>,
    pub registro_url: Option<String>,
    pub etapas: Vec<Etapa>,
}

impl Dataset for VacunasDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        format!(
            "{} dosis aplicadas, {} etapas; datos al {}",
            es_mx::integer(self.dosis_aplicadas as i64),
            self.etapas.len(),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Vacunas {
    pub config: VacunasConfig,
}

impl SourceKind for Vacunas {
    type Dataset = VacunasDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: VacunasConfig = crate::source::options(source, options)?;
        if config.max_jump_percent.is_nan() || config.max_jump_percent < 0.0 {
            return Err(ConfigError {
                name: source.to_string(),
                field: "max_jump_percent".into(),
                message: "debe ser 0 o mayor".into(),
            });
        }
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Vacunas { config })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["dosis aplicadas"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<VacunasDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let root = maintainer::toml(&text)?;
        check.only(&root, &["fecha", "dosis_aplicadas", "poblacion", "registro_url", "etapa"]);
        let data_date = check.date(&root, "fecha", true);
        let dosis_aplicadas = check.count(&root, "dosis_aplicadas", true);
        let poblacion = check.count(&root, "poblacion", false);
        let registro_url = check.url(&root, "registro_url", false);
        let rows = check.tables(&root, "etapa", true);
        let mut etapas: Vec<Etapa> = Vec::new();
        for row in &rows {
            etapas.extend(check.record(|c| read(c, row)));
        }
        for pair in etapas.windows(2) {
            if pair[1].numero <= pair[0].numero {
                let at = rows.iter().find(|r| r.entry("numero").is_some()).map_or(root.at, |r| r.at);
                check.error(at, "numero", pair[1].numero, "las etapas van en orden: 1, 2, 3, …");
                break;
            }
        }
        let mut warnings = check.finish(rows.len() as u64, 0.0)?;
        warnings.extend(text.warnings);
        let dataset = VacunasDataset {
            data_date: data_date.expect("checked"),
            dosis_aplicadas: dosis_aplicadas.expect("checked"),
            poblacion,
            registro_url,
            etapas,
        };
        Ok(Parsed { dataset, rows: rows.len() as u64, checksum: text.checksum, warnings })
    }

    fn implausibilities(&self, last_good: &VacunasDataset, new: &VacunasDataset) -> Vec<String> {
        let (before, now) = (last_good.dosis_aplicadas, new.dosis_aplicadas);
        maintainer::cumulative("las dosis aplicadas", before, now, self.config.max_jump_percent).into_iter().collect()
    }

    const REPORTS_CHANGES: bool = true;

    /// Each stage whose number was not published before opens.
    fn changes(&self, previous: &VacunasDataset, new: &VacunasDataset) -> Vec<Change> {
        let known: Vec<u64> = previous.etapas.iter().map(|e| e.numero).collect();
        new.etapas
            .iter()
            .filter(|e| !known.contains(&e.numero))
            .map(|e| Change {
                trigger: DraftTrigger::EtapaVacunacion,
                subject: format!("etapa-{}", e.numero),
                what: format!("la etapa {} de la vacunación", e.numero),
                from: None,
                to: e.quienes.clone(),
                since: None,
                detail: Some(match &e.donde {
                    Some(donde) => format!("Periodo: {}. Dónde: {donde}.", e.periodo),
                    None => format!("Periodo: {}.", e.periodo),
                }),
                municipios: Vec::new(),
            })
            .collect()
    }

    fn render(
        &self,
        dataset: &VacunasDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let per_100 = dataset.poblacion.filter(|&p| p > 0).map(|p| dataset.dosis_aplicadas as f64 * 100.0 / p as f64);
        let values = minijinja::context! {
            dosis_aplicadas => dataset.dosis_aplicadas as i64,
            dosis_por_cada_100 => per_100,
            registro_url => dataset.registro_url.clone(),
            etapas => J::from(minijinja::value::Serde(&dataset.etapas)),
        };
        common.fed.iter().map(|entry| renderer.render_topic(entry, Scope::Estado, common, values.clone())).collect()
    }
}

fn read(c: &mut Check, row: &Table) -> Option<Etapa> {
    c.only(row, &["numero", "periodo", "quienes", "donde"]);
    let numero = c.count(row, "numero", true);
    let periodo = c.text(row, "periodo", true);
    let quienes = c.text(row, "quienes", true);
    let donde = c.text(row, "donde", false);
    Some(Etapa { numero: numero?, periodo: periodo?, quienes: quienes?, donde })
}
