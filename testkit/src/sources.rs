//! Sources as tests configure them: served by a test server, quick to give up; and the
//! fixture snapshot tests publish when they need answers without running ingest.

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

/// The realistic fixture snapshot (`fixtures/responder/snapshot.json`): answers for the state
/// and six municipios, a main menu whose first entry is the "cifras" sub-menu, keywords and
/// synonyms (ALTA, BAJA and their variants included), extra municipio aliases.
pub fn fixture_snapshot() -> schemas::SnapshotContent {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/responder/snapshot.json");
    serde_json::from_slice(&std::fs::read(path).expect("the fixture snapshot")).expect("the fixture snapshot parses")
}
