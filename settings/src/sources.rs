//! `[sources.NAME]`: one table per source.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ConfigError;
use crate::error::field;
use crate::values::check_url;

/// One source. Fields common to every kind are typed here; options of one kind (selectors,
/// thresholds, state code) sit in the same table and are read and validated by that kind.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceSettings {
    /// What is read: `covid` (the national open-data file), `semaforo` (an HTML page), a
    /// maintainer file, or a generic kind that feeds a topic of the catalogue. The kinds are
    /// listed once, in `ingest::sources::KINDS`, which checks this name.
    pub kind: String,
    /// `http(s)://…` or `file://…`. A `file://` path without a leading `/`
    /// (`file://fixtures/covid19mexico.zip`) is relative to the configuration file's directory.
    pub url: String,
    /// When to run: a cron expression with seconds (`0 0 */2 * * *` = every two hours).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// How often the source is expected to change; answers older than this are listed as
    /// stale with the reason.
    #[serde(default = "default_cadence_hours")]
    pub cadence_hours: u32,
    /// Limit on connecting to an `http(s)` source.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Limit on a whole fetch.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Retries after a failed fetch, with exponential back-off and jitter.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// A fetch larger than this fails (protects the disk and the run).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// The kind's own options.
    #[serde(flatten)]
    pub options: BTreeMap<String, serde_json::Value>,
}

fn default_schedule() -> String {
    "0 0 * * * *".into()
}
fn default_cadence_hours() -> u32 {
    24
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_timeout_secs() -> u64 {
    600
}
fn default_retries() -> u32 {
    3
}
fn default_max_bytes() -> u64 {
    8 << 30
}

impl SourceSettings {
    /// Checks what types alone cannot; `name` is the source's key in `[sources]`.
    pub(crate) fn validate(&self, name: &str) -> Result<(), ConfigError> {
        let at = |f: &str| format!("sources.{name}.{f}");
        check_url(&at("url"), &self.url, &["http", "https", "file"])?;
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return Err(field(&at("timeout_secs"), "los tiempos límite deben ser mayores que 0"));
        }
        if self.cadence_hours == 0 {
            return Err(field(&at("cadence_hours"), "debe ser mayor que 0"));
        }
        if self.schedule.split_whitespace().count() != 6 {
            return Err(field(
                &at("schedule"),
                format!(
                    "«{}» no es una expresión cron de 6 campos (segundo minuto hora día mes día-de-semana)",
                    self.schedule
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_each_names_its_field, load};

    #[test]
    fn sources_keep_their_kind_options() {
        let s = load(
            "[sources.covid]\nkind = \"covid\"\nurl = \"file:///fixtures/covid.zip\"\nstate_code = 11\nschedule = \"0 30 20 * * *\"\n",
            &[],
        )
        .unwrap();
        let covid = &s.sources["covid"];
        assert_eq!(covid.kind, "covid");
        assert_eq!(covid.options["state_code"], 11);
        assert_eq!(covid.retries, 3);
    }

    #[test]
    fn invalid_values_name_their_field() {
        let cases = [
            ("[sources.covid]\nkind = \"covid\"\nurl = \"ftp://x\"\n", "sources.covid.url"),
            (
                "[sources.covid]\nkind = \"covid\"\nurl = \"file:///x.zip\"\nschedule = \"@daily\"\n",
                "sources.covid.schedule",
            ),
        ];
        assert_each_names_its_field(&cases);
    }
}
