//! Telemetry events as types: each logs exactly once, with the same fields
//! every time, so that log queries do not depend on how a message happened to be worded. The
//! Prometheus series of a run (`contacto_ingest_runs_total`, its duration) are recorded once per
//! run by [`Ingest::run`](crate::Ingest::run) from its result.
//!
//! Events are emitted through an [`Events`] list kept per run: the run report carries the names
//! of the events it emitted, which the compliance test checks for every source kind.

use std::time::Duration;

use schemas::{SnapshotVersion, SourceName};

/// The names of the events one run emitted, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Events(Vec<&'static str>);

impl Events {
    pub fn names(&self) -> &[&'static str] {
        &self.0
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name)
    }

    /// Logs the event and notes its name.
    pub fn emit(&mut self, event: impl Event) {
        event.log();
        self.0.push(event.name());
    }
}

/// One kind of telemetry event.
pub trait Event {
    /// The stable name (also the future metric's name).
    fn name(&self) -> &'static str;
    fn log(&self);
}

/// A source was fetched, or answered that it has not changed.
pub struct SourceFetched<'a> {
    pub source: &'a SourceName,
    pub bytes: u64,
    pub not_modified: bool,
    pub elapsed: Duration,
}

impl Event for SourceFetched<'_> {
    fn name(&self) -> &'static str {
        "SourceFetched"
    }
    fn log(&self) {
        tracing::info!(
            source = %self.source,
            bytes = self.bytes,
            not_modified = self.not_modified,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "Source fetched."
        );
    }
}

/// A fetch attempt failed; `will_retry` says whether another attempt follows.
pub struct SourceFetchFailed<'a> {
    pub source: &'a SourceName,
    pub attempt: u32,
    pub will_retry: bool,
    pub error: &'a crate::error::FetchError,
}

impl Event for SourceFetchFailed<'_> {
    fn name(&self) -> &'static str {
        "SourceFetchFailed"
    }
    fn log(&self) {
        tracing::warn!(
            source = %self.source,
            attempt = self.attempt,
            will_retry = self.will_retry,
            error = %crate::error::with_causes(self.error),
            "Source fetch failed."
        );
    }
}

/// A body was read into a dataset.
pub struct DatasetParsed<'a> {
    pub source: &'a SourceName,
    pub rows: u64,
    /// Problems tolerated within the error budget (lines of the report).
    pub warnings: usize,
    pub elapsed: Duration,
}

impl Event for DatasetParsed<'_> {
    fn name(&self) -> &'static str {
        "DatasetParsed"
    }
    fn log(&self) {
        tracing::info!(
            source = %self.source,
            rows = self.rows,
            warnings = self.warnings,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "Dataset parsed."
        );
    }
}

/// A dataset broke its schema or budget, or could not be read; nothing was published.
pub struct DatasetRejected<'a> {
    pub source: &'a SourceName,
    pub reason: &'a str,
    pub drift: bool,
}

impl Event for DatasetRejected<'_> {
    fn name(&self) -> &'static str {
        "DatasetRejected"
    }
    fn log(&self) {
        tracing::error!(source = %self.source, drift = self.drift, error = %self.reason, "Dataset rejected.");
    }
}

/// A valid dataset looks implausible against the last good one; it waits for `--force`.
pub struct DatasetQuarantined<'a> {
    pub source: &'a SourceName,
    pub reasons: &'a [String],
}

impl Event for DatasetQuarantined<'_> {
    fn name(&self) -> &'static str {
        "DatasetQuarantined"
    }
    fn log(&self) {
        tracing::warn!(source = %self.source, reasons = %self.reasons.join("; "), "Dataset quarantined.");
    }
}

/// Answers could not be rendered (a template error or an answer beyond WhatsApp's limits).
pub struct RenderFailed<'a> {
    pub source: &'a SourceName,
    pub error: &'a crate::error::RenderError,
}

impl Event for RenderFailed<'_> {
    fn name(&self) -> &'static str {
        "RenderFailed"
    }
    fn log(&self) {
        tracing::error!(source = %self.source, template = %self.error.template, key = %self.error.key, error = %crate::error::with_causes(self.error), "Render failed.");
    }
}

/// A new snapshot with this source's answers is what citizens read now.
pub struct SnapshotPublished<'a> {
    pub source: &'a SourceName,
    pub version: SnapshotVersion,
    pub answers: usize,
    pub conflicts: u32,
}

impl Event for SnapshotPublished<'_> {
    fn name(&self) -> &'static str {
        "SnapshotPublished"
    }
    fn log(&self) {
        tracing::info!(
            source = %self.source,
            version = %self.version,
            answers = self.answers,
            conflicts = self.conflicts,
            "Snapshot published."
        );
    }
}

/// The run ended without publishing because nothing changed.
pub struct SourceUnchanged<'a> {
    pub source: &'a SourceName,
    pub why: &'static str,
}

impl Event for SourceUnchanged<'_> {
    fn name(&self) -> &'static str {
        "SourceUnchanged"
    }
    fn log(&self) {
        tracing::info!(source = %self.source, why = self.why, "Source unchanged; nothing to publish.");
    }
}

/// A run could not start: another run of the same source holds it.
pub struct RunSkipped<'a> {
    pub source: &'a SourceName,
}

impl Event for RunSkipped<'_> {
    fn name(&self) -> &'static str {
        "RunSkipped"
    }
    fn log(&self) {
        tracing::info!(source = %self.source, "Another run of this source is still going; skipping.");
    }
}
