//! `[ingest]`: how sources become published answers.

use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;
use crate::error::field;

/// Ingest: how sources become published answers.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// The directory of the answer templates (minijinja), one `TOPIC.j2` per topic plus shared
    /// pieces whose names start with `_`. Maintainers edit them without recompiling; the next
    /// run uses them. Relative to the configuration file's directory.
    pub templates_dir: PathBuf,
    /// A publish that loses the race for the current pointer this many times in a row fails.
    pub publish_attempts: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings { templates_dir: "templates".into(), publish_attempts: 5 }
    }
}

impl IngestSettings {
    /// Checks what types alone cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.publish_attempts == 0 {
            return Err(field("ingest.publish_attempts", "debe ser mayor que 0"));
        }
        Ok(())
    }
}
