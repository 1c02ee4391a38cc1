//! The options maintainer kinds share (`[sources.NAME]`) and their checks, naming the field.

use std::collections::BTreeMap;

use schemas::SourceName;
use serde::Deserialize;

use crate::ConfigError;

/// Options of the generic kinds (`cifras`, `texto`, `tabla`), which hold any topic and so
/// have nothing of their own to tune: only how every answer names the source.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenericConfig {
    /// How every answer names the source; by default the state's Secretaría de Salud.
    pub attribution: String,
}

impl Default for GenericConfig {
    fn default() -> Self {
        GenericConfig { attribution: format!("Secretaría de Salud de {}", schemas::state().name) }
    }
}

impl GenericConfig {
    /// The options of `[sources.NAME]`, checked.
    pub fn read(source: &SourceName, options: &BTreeMap<String, serde_json::Value>) -> Result<Self, ConfigError> {
        let config: GenericConfig = crate::source::options(source, options)?;
        check_attribution(source, &config.attribution)?;
        Ok(config)
    }
}

/// Checks the thresholds every maintainer kind's options share, naming the field.
pub fn check_percent(source: &SourceName, field: &str, value: f64) -> Result<(), ConfigError> {
    if (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError { name: source.to_string(), field: field.into(), message: "debe estar entre 0 y 100".into() })
    }
}

/// Checks that an attribution is not empty.
pub fn check_attribution(source: &SourceName, attribution: &str) -> Result<(), ConfigError> {
    if attribution.trim().is_empty() {
        return Err(ConfigError {
            name: source.to_string(),
            field: "attribution".into(),
            message: "no puede estar vacía: cada respuesta dice su fuente".into(),
        });
    }
    Ok(())
}
