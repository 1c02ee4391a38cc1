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

use crate::configured_sources::ConfiguredSources;
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
/// [`crate::sources::KINDS`] and [`crate::sources::visit`].
pub trait SourceKind: Sized + Send + Sync + 'static {
    type Dataset: Dataset;

    /// The kind's own options from `[sources.NAME]` (everything but the common fields).
    /// Unknown options must be refused, naming the field. `configured` is every source of the
    /// deployment, for a kind whose files name other sources (the menu's `[[tema]]`).
    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError>;

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

    /// Whether [`Self::changes`] can report anything: only then does a publish decode the
    /// previous dataset to compare, so the national file's runs pay nothing for drafts.
    const REPORTS_CHANGES: bool = false;

    /// What citizens care about that changed from `previous` (the last good dataset) to `new`,
    /// once `new` is published: the changes that may make a Conéctate draft ([`crate::drafts`]).
    /// The pipeline fills nothing in; a kind without such changes keeps the default.
    fn changes(&self, _previous: &Self::Dataset, _new: &Self::Dataset) -> Vec<crate::drafts::Change> {
        Vec::new()
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
    /// Builds a source from its settings and the deployment's others; `base_dir` resolves relative `file://` paths and
    /// `spool_dir` holds HTTP bodies while they are read.
    pub fn new(
        name: &SourceName,
        settings: &SourceSettings,
        configured: &ConfiguredSources,
        base_dir: &std::path::Path,
        spool_dir: &std::path::Path,
    ) -> Result<Source<K>, ConfigError> {
        let kind = std::sync::Arc::new(K::from_options(name, &settings.options, configured)?);
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

/// A source's own `state_code`, a copy of the deployment's: left out it is the deployment's
/// state ([`schemas::state`]); given, it must be that state, since the municipio catalogue,
/// the answers and the texts are that state's.
pub fn state_code(source: &SourceName, own: Option<u8>) -> Result<u8, ConfigError> {
    let state = schemas::state();
    match own {
        Some(code) if code != state.code => Err(ConfigError {
            name: source.to_string(),
            field: "state_code".into(),
            message: format!(
                "la entidad {code:02} no es la de esta instalación ({:02}, {}); la entidad se elige una sola vez, con `state_code` al principio de contacto.toml (o CONTACTO_STATE_CODE): quita esta línea de la fuente",
                state.code, state.name
            ),
        }),
        _ => Ok(state.code),
    }
}

/// serde's English messages for the common cases, in Spanish: `invalid type: string "x",
/// expected u32` → `tipo inválido: se dio el texto «x» y se espera un número entero`.
fn translate_serde(message: &str) -> String {
    let (head, raw) = match message.split_once(", expected ") {
        Some((head, raw)) => (head, Some(raw)),
        None => (message, None),
    };
    let expected = raw.map(es_mx::expected);
    let wanted = |what: &str| expected.as_ref().map_or(String::new(), |e| format!("{what}{e}"));
    // serde lists names as "one of `a`, `b`, `c`", or "`a` or `b`".
    let names = raw.map(|r| r.strip_prefix("one of ").unwrap_or(r).replace("` or `", "` o `"));
    if let Some(name) = head.strip_prefix("unknown field ") {
        match names {
            Some(list) => format!("opción desconocida {name}; las opciones son {list}"),
            None => format!("opción desconocida {name}; aquí no hay opciones"),
        }
    } else if let Some(name) = head.strip_prefix("unknown variant ") {
        format!("valor desconocido {name}; los valores son {}", names.unwrap_or_default())
    } else if let Some(found) = head.strip_prefix("invalid type: ") {
        format!("tipo inválido: se dio {}{}", found_words(found), wanted(" y se espera "))
    } else if let Some(found) = head.strip_prefix("invalid value: ") {
        format!("valor inválido: se dio {}{}", found_words(found), wanted(" y se espera "))
    } else if let Some(name) = head.strip_prefix("missing field ") {
        format!("falta la opción {name}")
    } else {
        message.to_owned()
    }
}

/// serde's words for a value found: `string "x"` → `el texto «x»`, ``integer `5` `` → `el
/// número 5`.
fn found_words(found: &str) -> String {
    let quoted = |s: &str| s.trim_matches(|c| c == '"' || c == '`').to_owned();
    for (prefix, said) in [
        ("string ", "el texto «"),
        ("integer ", "el número "),
        ("floating point ", "el número "),
        ("boolean ", "el valor "),
        ("character ", "el carácter «"),
    ] {
        if let Some(value) = found.strip_prefix(prefix) {
            let close = if said.ends_with('«') { "»" } else { "" };
            return format!("{said}{}{close}", quoted(value));
        }
    }
    match found {
        "sequence" => "una lista".into(),
        "map" => "una tabla".into(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only deserialised")]
    struct Example {
        periodo_selector: Option<String>,
        umbral: Option<u32>,
    }

    /// serde's own messages, as a maintainer reads them.
    #[test]
    fn option_errors_read_in_spanish() {
        let name: SourceName = "semaforo".parse().unwrap();
        let error = |options: serde_json::Value| {
            let given: BTreeMap<String, serde_json::Value> = serde_json::from_value(options).unwrap();
            super::options::<Example>(&name, &given).unwrap_err()
        };
        let unknown = error(serde_json::json!({"selector": "#x"}));
        assert_eq!(unknown.field, "selector");
        assert_eq!(unknown.message, "opción desconocida `selector`; las opciones son `periodo_selector` o `umbral`");
        let wrong = error(serde_json::json!({"umbral": "diez"}));
        assert_eq!(wrong.field, "umbral");
        assert_eq!(wrong.message, "tipo inválido: se dio el texto «diez» y se espera un número entero");
        let negative = error(serde_json::json!({"umbral": -3}));
        assert_eq!(negative.message, "valor inválido: se dio el número -3 y se espera un número entero");
    }
}
