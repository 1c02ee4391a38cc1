//! The source kinds, one module each, and the registry that builds a configured source.
//!
//! | kind | module | reads |
//! |---|---|---|
//! | `covid` | [`covid`] | the national COVID-19 open-data file (CSV, or the CSV inside its ZIP) |

pub mod covid;

use std::path::Path;
use std::sync::Arc;

use schemas::SourceName;
use settings::SourceSettings;

use crate::error::ConfigError;
use crate::pipeline::RunSource;
use crate::source::Source;

/// Builds the source `name` from its settings; an unknown kind or a bad option fails naming
/// the field.
pub fn build(
    name: &SourceName,
    settings: &SourceSettings,
    base_dir: &Path,
    spool_dir: &Path,
) -> Result<Arc<dyn RunSource>, ConfigError> {
    match settings.kind.as_str() {
        covid::KIND => Ok(Arc::new(Source::<covid::Covid>::new(name, settings, base_dir, spool_dir)?)),
        other => Err(ConfigError {
            name: name.to_string(),
            field: "kind".into(),
            message: format!("«{other}» no es un tipo de fuente conocido; los tipos son: {}", covid::KIND),
        }),
    }
}
