//! Sources as tests configure them: served by a test server, quick to give up.

use std::collections::BTreeMap;

use settings::SourceSettings;

/// The settings of a source of `kind` at `url`, hourly, with short timeouts and no retries.
pub fn source_settings(kind: &str, url: &str) -> SourceSettings {
    SourceSettings {
        kind: kind.into(),
        url: url.into(),
        schedule: "0 0 * * * *".into(),
        cadence_hours: 24,
        connect_timeout_secs: 2,
        timeout_secs: 5,
        retries: 0,
        max_bytes: 1 << 30,
        options: BTreeMap::new(),
    }
}
