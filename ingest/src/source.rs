//! The one trait a source kind implements, and the configured source built from it.
//!
//! A kind ([`SourceKind`]) knows its file format and its answers: it parses a fetched body into
//! a typed [`Dataset`], says what looks implausible against the last good dataset, and renders
//! its answers. Everything around that (fetching, the error budget's verdict, quarantine,
//! publishing, the run log, scheduling) is shared and lives in the [pipeline](crate::pipeline).

use std::collections::BTreeMap;

use jiff::civil::Date;
use schemas::{Answer, AnswerKey, RouterTable, SourceName, es_mx};
use serde::Serialize;
use serde::de::DeserializeOwned;
use settings::SourceSettings;

use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::{Body, FetchSettings, Fetcher};
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};

/// What a source kind reads a body into: small, typed, and stored (as JSON) as the last good
/// or the quarantined dataset of its source.
pub trait Dataset: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The date the data describes; a dataset whose date goes back is quarantined.
    fn data_date(&self) -> Date;

    /// What the dataset holds, in one Spanish line: what `contacto validate` prints for a
    /// valid file.
    fn summary(&self) -> String {
        format!("datos al {}", es_mx::long_date(self.data_date()))
    }
}

/// A body read into a dataset.
#[derive(Debug)]
pub struct Parsed<D> {
    pub dataset: D,
    /// Data rows (or records) read.
    pub rows: u64,
    /// SHA-256 of the body, lower-case hex.
    pub checksum: String,
    /// Problems tolerated within the error budget, one line each (`file:line:column: …`).
    pub warnings: Vec<String>,
}

/// One kind of source. Implement it in one module under `sources/` and register it in
/// [`crate::sources::build`].
pub trait SourceKind: Sized + Send + Sync + 'static {
    type Dataset: Dataset;

    /// The kind's own options from `[sources.NAME]` (everything but the common fields).
    /// Unknown options must be refused, naming the field.
    fn from_options(source: &SourceName, options: &BTreeMap<String, serde_json::Value>) -> Result<Self, ConfigError>;

    /// Who publishes the data, as every answer must name it.
    fn attribution(&self) -> &str;

    /// Reads a fetched body; runs on a blocking thread and may take long (update `progress`).
    /// Bad values within the kind's error budget become warnings; beyond it,
    /// [`SourceError::Rejected`]; an unknown structure is [`SourceError::Drift`].
    fn parse(&self, body: &Body, progress: &SharedProgress) -> Result<Parsed<Self::Dataset>, SourceError>;

    /// Why `new` should wait for a maintainer, compared with the last published dataset, in
    /// Spanish. The pipeline already checks that the data date does not go back.
    fn implausibilities(&self, last_good: &Self::Dataset, new: &Self::Dataset) -> Vec<String>;

    /// Every answer of the dataset, for every scope it covers.
    fn render(
        &self,
        dataset: &Self::Dataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError>;

    /// The router table the dataset defines, which then replaces the snapshot's (menus,
    /// keywords, aliases). Only the menu source has one; every other kind keeps the default.
    fn router(
        &self,
        _dataset: &Self::Dataset,
        _renderer: &Renderer,
        _common: &Common,
    ) -> Result<Option<RouterTable>, RenderError> {
        Ok(None)
    }

    /// Other sources whose last good datasets this kind's answers also show (the semáforo
    /// answer shows the federal colour and the state's own); they reach [`Self::render`] in
    /// [`Common::companions`].
    fn companions(&self) -> Vec<SourceName> {
        Vec::new()
    }

    /// Whether a file looks like one of this kind's, by its name and first bytes: how
    /// `contacto validate` tells a file's kind when it is not given.
    fn recognises(_file_name: &str, _head: &[u8]) -> bool {
        false
    }
}

/// A configured source: a name, its fetcher and schedule, and its kind.
pub struct Source<K: SourceKind> {
    pub name: SourceName,
    pub kind_name: String,
    pub schedule: String,
    pub fetcher: Fetcher,
    /// Shared with the blocking thread that parses.
    pub kind: std::sync::Arc<K>,
}

impl<K: SourceKind> Source<K> {
    /// Builds a source from its settings; `base_dir` resolves relative `file://` paths and
    /// `spool_dir` holds HTTP bodies while they are read.
    pub fn new(
        name: &SourceName,
        settings: &SourceSettings,
        base_dir: &std::path::Path,
        spool_dir: &std::path::Path,
    ) -> Result<Source<K>, ConfigError> {
        let kind = std::sync::Arc::new(K::from_options(name, &settings.options)?);
        let fetcher = Fetcher::new(FetchSettings {
            url: settings.url.clone(),
            connect_timeout: std::time::Duration::from_secs(settings.connect_timeout_secs),
            timeout: std::time::Duration::from_secs(settings.timeout_secs),
            retries: settings.retries,
            max_bytes: settings.max_bytes,
            base_dir: base_dir.to_owned(),
            spool_dir: spool_dir.to_owned(),
        })
        .map_err(|e| ConfigError { name: name.to_string(), field: "url".into(), message: e.to_string() })?;
        Ok(Source {
            name: name.clone(),
            kind_name: settings.kind.clone(),
            schedule: settings.schedule.clone(),
            fetcher,
            kind,
        })
    }
}

/// Deserialises a kind's options, naming the offending field.
pub fn options<T: DeserializeOwned>(
    source: &SourceName,
    options: &BTreeMap<String, serde_json::Value>,
) -> Result<T, ConfigError> {
    let object = |pairs: &mut dyn Iterator<Item = (&String, &serde_json::Value)>| {
        serde_json::Value::Object(pairs.map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    serde_json::from_value(object(&mut options.iter())).map_err(|e| {
        // serde names unknown fields but not the field of a bad value: try each option alone
        // (the others take their defaults) to find it.
        let message = e.to_string();
        let field = if message.starts_with("unknown field") || message.starts_with("missing field") {
            message.split('`').nth(1).unwrap_or("?").to_owned()
        } else {
            options
                .iter()
                .find(|(k, v)| serde_json::from_value::<T>(object(&mut std::iter::once((*k, *v)))).is_err())
                .map_or_else(|| "?".to_owned(), |(k, _)| k.clone())
        };
        ConfigError { name: source.to_string(), field, message: translate_serde(&message) }
    })
}

/// serde's English messages for the common cases, in Spanish.
fn translate_serde(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        format!("opción desconocida {}", rest.replace("expected one of", "; las opciones son"))
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        format!("tipo inválido: {rest}")
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        format!("valor inválido: {rest}")
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        format!(
            "valor desconocido {}",
            rest.replace("expected one of", "; los valores son").replace("expected", "; se espera")
        )
    } else {
        message.to_owned()
    }
}
