//! Checks of the options every maintainer kind shares (`[sources.NAME]`), naming the field.

use schemas::SourceName;

use crate::ConfigError;

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
