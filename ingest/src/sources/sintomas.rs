//! Signos y síntomas: the official text, as the health authority words it, published by a
//! maintainer.
//!
//! # File
//! TOML:
//!
//! ```toml
//! fecha = 2020-04-13                       # when this text was published
//! titulo = "Signos y síntomas de COVID-19"  # optional
//! texto = """
//! Los síntomas más comunes son fiebre, tos seca y dolor de cabeza…
//! """
//! fuente_url = "https://coronavirus.gob.mx/"   # optional: where the official text is
//! ```

use std::collections::BTreeMap;

use jiff::civil::Date;
use schemas::{Answer, AnswerKey, Scope, SourceName, es_mx};
use serde::{Deserialize, Serialize};

use super::maintainer::{self, Check, Text};
use crate::configured_sources::ConfiguredSources;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Parsed, SourceKind};

pub const KIND: &str = "sintomas";

/// Options of `[sources.NAME]` for `kind = "sintomas"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SintomasConfig {
    /// A text this much shorter than the published one is quarantined (a truncated file).
    pub max_fall_percent: f64,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for SintomasConfig {
    fn default() -> Self {
        SintomasConfig { max_fall_percent: 50.0, attribution: "Secretaría de Salud".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SintomasDataset {
    pub data_date: Date,
    pub titulo: String,
    pub texto: String,
    pub fuente_url: Option<String>,
}

impl Dataset for SintomasDataset {
    fn data_date(&self) -> Date {
        self.data_date
    }

    fn summary(&self) -> String {
        format!(
            "«{}», {} caracteres; publicado el {}",
            self.titulo,
            es_mx::integer(self.texto.chars().count() as i64),
            es_mx::long_date(self.data_date)
        )
    }
}

pub struct Sintomas {
    pub config: SintomasConfig,
}

impl SourceKind for Sintomas {
    type Dataset = SintomasDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: SintomasConfig = crate::source::options(source, options)?;
        maintainer::check_percent(source, "max_fall_percent", config.max_fall_percent)?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Sintomas { config })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        maintainer::head_has(head, &["texto", "sintomas"])
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<SintomasDataset>, SourceError> {
        let text = Text::read(body)?;
        let mut check = Check::new(&text.file);
        let root = maintainer::toml(&text)?;
        check.only(&root, &["fecha", "titulo", "texto", "fuente_url"]);
        let data_date = check.date(&root, "fecha", true);
        let titulo = check.text(&root, "titulo", false).unwrap_or_else(|| "Signos y síntomas de COVID-19".into());
        let texto = check.text(&root, "texto", true);
        let fuente_url = check.url(&root, "fuente_url", false);
        let mut warnings = check.finish(1, 0.0)?;
        warnings.extend(text.warnings);
        let dataset = SintomasDataset {
            data_date: data_date.expect("checked"),
            titulo,
            texto: texto.expect("checked"),
            fuente_url,
        };
        Ok(Parsed { dataset, rows: 1, checksum: text.checksum, warnings })
    }

    fn implausibilities(&self, last_good: &SintomasDataset, new: &SintomasDataset) -> Vec<String> {
        let (before, now) = (last_good.texto.chars().count() as u64, new.texto.chars().count() as u64);
        maintainer::fell("los caracteres del texto", before, now, self.config.max_fall_percent).into_iter().collect()
    }

    fn render(
        &self,
        dataset: &SintomasDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let values = minijinja::context! {
            titulo => dataset.titulo.clone(),
            texto => dataset.texto.clone(),
            fuente_url => dataset.fuente_url.clone(),
        };
        common.fed.iter().map(|entry| renderer.render_topic(entry, Scope::Estado, common, values.clone())).collect()
    }
}
