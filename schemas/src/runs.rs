//! The record of one ingest run, which ops reads in `contacto runs` and the console.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::snapshot::SnapshotVersion;
use crate::source_name::SourceName;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// New answers were published.
    Published,
    /// The source had not changed (HTTP 304 or the same checksum); nothing was published.
    Unchanged,
    /// The data broke the schema or the error budget; nothing was published.
    Rejected,
    /// The data was valid but implausible against the last good dataset; it waits for a
    /// maintainer to force it.
    Quarantined,
    /// The source could not be read (network, timeout, size cap, changed page structure).
    Failed,
}

impl RunResult {
    pub const ALL: [RunResult; 5] =
        [RunResult::Published, RunResult::Unchanged, RunResult::Rejected, RunResult::Quarantined, RunResult::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            RunResult::Published => "published",
            RunResult::Unchanged => "unchanged",
            RunResult::Rejected => "rejected",
            RunResult::Quarantined => "quarantined",
            RunResult::Failed => "failed",
        }
    }

    /// The Spanish word ops reads.
    pub const fn label(self) -> &'static str {
        match self {
            RunResult::Published => "publicado",
            RunResult::Unchanged => "sin cambios",
            RunResult::Rejected => "rechazado",
            RunResult::Quarantined => "en cuarentena",
            RunResult::Failed => "falló",
        }
    }
}

impl fmt::Display for RunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunResult {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunResult::ALL.into_iter().find(|r| r.as_str() == s || r.label() == s).ok_or_else(|| {
            format!("«{s}» no es un resultado de corrida (published, unchanged, rejected, quarantined, failed)")
        })
    }
}

/// One run of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestRun {
    /// Assigned by the store when the run is recorded (increasing).
    #[serde(default)]
    pub id: u64,
    pub source: SourceName,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub bytes: u64,
    pub rows: u64,
    pub result: RunResult,
    /// Why it was rejected, quarantined or failed, in words a maintainer can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_date: Option<Date>,
    /// The snapshot version this run published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SnapshotVersion>,
    /// The page or file changed structure (a selector matched nothing, an unknown layout).
    #[serde(default)]
    pub source_drift: bool,
    /// A maintainer forced this run past the plausibility checks.
    #[serde(default)]
    pub forced: bool,
    /// Who forced it, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_by: Option<Actor>,
    /// Tolerated problems (schema errors within the budget), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Who did by hand something ops audits (forcing a quarantined dataset, a rollback). The
/// admin API has one token, so the token is the most precise "who" there is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A request to the admin API (the console included), with the admin token.
    AdminToken,
    /// A `contacto` command on a machine with access to the store.
    CommandLine,
}

impl Actor {
    /// How it was done, in Spanish, as the audit trail tells ops.
    pub const fn label(self) -> &'static str {
        match self {
            Actor::AdminToken => "con el token de administración",
            Actor::CommandLine => "desde la línea de órdenes",
        }
    }
}

/// Which runs to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub source: Option<SourceName>,
    pub result: Option<RunResult>,
    pub limit: usize,
}
