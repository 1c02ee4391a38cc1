//! Ingest: official sources → validated datasets → rendered answers → published snapshot.
//!
//! Each configured source (`[sources.NAME]` in `contacto.toml`) runs on its own cron. A run
//! fetches the source (streamed, conditional, bounded, retried), parses and validates it into a
//! small typed dataset, checks it against the last good dataset (a falling cumulative figure or
//! a data date that goes back quarantines it until a maintainer forces it), renders every
//! answer for every scope from templates, publishes them into a new snapshot next to the other
//! sources' answers, and records the run. A rejected or quarantined dataset never reaches the
//! snapshot; the answers citizens read stay the last good ones.
//!
//! # Layout
//! - [`Ingest`]: the configured sources of a process and the way to run them
//!   ([`Ingest::run`]); [`scheduler`] runs them on their crons.
//! - [`source`]: the [`SourceKind`] trait a kind implements, and [`Source`], a configured source.
//! - [`sources`]: the kinds, one module each, and [`sources::visit`], the one list of them.
//!   - [`sources::covid`]: the national COVID-19 open-data file (CSV or ZIP).
//!   - [`sources::semaforo`], [`sources::semaforo_estatal`]: the federal semáforo page and
//!     the state's own semáforo record, shown together.
//!   - [`sources::estatal`], [`sources::hospitales`], [`sources::programas`],
//!     [`sources::sintomas`], [`sources::vacunas`]: files maintainers publish (CSV, TOML,
//!     the state portal's JSON), read through [`sources::maintainer`].
//!   - The generic kinds, for any topic of the catalogue: how a maintainer feeds a new topic
//!     with no code. [`sources::cifras`]: figures per municipio with a data date (CSV);
//!     [`sources::texto`]: a text for the state, optionally one per municipio (TOML);
//!     [`sources::tabla`]: rows per municipio shown by the topic's template (CSV).
//!   - [`sources::menu`]: menus, keywords, aliases and the topic catalogue (`[[tema]]`,
//!     [`sources::menu::temas`]): the snapshot's router table. The kinds that compute figures
//!     render the catalogue topics whose `fuente` is their source ([`render::Common::fed`]),
//!     each with the template the catalogue names; until a menu is published the bundled
//!     catalogue is in force ([`sources::menu::bundled_topics`]). Its texts name the state
//!     through placeholders filled when it publishes ([`sources::menu::placeholders`]).
//! - [`configured_sources`]: the deployment's sources by name and kind, handed to every kind
//!   when it is built (the menu checks each `[[tema]]`'s `fuente` against them).
//! - [`pipeline`]: one run: fetch → parse → plausibility → render → publish → record; and
//!   [`pipeline::build_source`], a configured source of any kind as the scheduler runs it.
//! - [`keyword_change`]: the exact change to the menu file that makes a phrase from «Sin
//!   entender» lead to the topic a maintainer picks.
//! - [`fetch`]: `http(s)://` and `file://`, conditional GET, timeouts, retries, size cap.
//! - [`input`]: a body as decoded chunks: plain, or the `.csv` of a ZIP inflated on a thread
//!   of its own.
//! - [`render`]: minijinja templates from `templates/`, es-MX filters, the checks every
//!   answer passes.
//! - [`publish`]: one source's answers into a new snapshot, retried on conflict.
//! - [`state`]: per-source state in the store: validators, last good and quarantined
//!   datasets, the run lease.
//! - [`drafts`]: Conéctate drafts prepared when a publish changes what citizens care about
//!   (a semáforo's colour, a vaccination stage, a topic added to the catalogue, a forced
//!   publish), handed to a [`DraftSink`].
//! - [`events`]: telemetry events as types; [`progress`]: counters a progress bar reads.
//! - [`offline`]: a file checked and rendered without a store (`contacto validate`,
//!   `contacto preview --from`); [`staleness`]: answers older than their source's cadence,
//!   and why (`contacto runs --stale`).
//! - [`error`]: errors that say whether retrying helps and which run result they give.
//!
//! # Adding a source kind
//! 1. Create `sources/KIND.rs` (or `sources/KIND/` with `mod.rs`) with a config struct (every
//!    field documented, units in names: `max_fall_percent`), a `Dataset` type, and an
//!    `impl SourceKind` (parse, implausibilities, render).
//! 2. Add the module to `sources/mod.rs`, one arm to [`sources::visit`] and its name to
//!    [`sources::KINDS`]: building sources, `contacto validate` and `contacto preview --from`
//!    all go through that one list.
//! 3. Render, for each topic of [`render::Common::fed`], that topic's template
//!    ([`render::Renderer::render_topic`]); add the templates and the `[[tema]]` entries of the
//!    bundled menu file, and a fixture under `fixtures/`. A file that
//!    maintainers write reads through [`sources::maintainer`], which locates every error.
//! 4. Test it like the national file in `tests/ingest/`: served by `testkit::serve`, figures
//!    checked against a recount written in the test, and the events every run must emit
//!    (`tests/ingest/pipeline.rs`).
//!
//! Fetching, quarantine, the checks on every rendered answer, publishing (the router table too,
//! for the kind that owns it: [`SourceKind::router`]), scheduling and the run log come
//! with it. A kind reports bad values as located [`ValidationError`]s: within its error budget
//! as warnings, beyond it as [`SourceError::Rejected`].

pub mod configured_sources;
pub mod drafts;
pub mod error;
pub mod events;
pub mod fetch;
pub mod input;
pub mod keyword_change;
pub mod offline;
pub mod pipeline;
pub mod progress;
pub mod publish;
pub mod render;
pub mod scheduler;
pub mod source;
pub mod sources;
pub mod staleness;
pub mod state;

use std::collections::BTreeMap;
use std::sync::Arc;

use metrics::Metrics;
use schemas::SourceName;
use settings::Settings;
use store::SharedStore;

pub use configured_sources::ConfiguredSources;
pub use drafts::{Change, DraftSink, Drafts, Prepared};
pub use error::{ConfigError, FetchError, RenderError, SourceError, ValidationError};
pub use pipeline::{Context, NotRun, RunMode, RunReport, RunSource};
pub use progress::{Phase, Progress, SharedProgress};
pub use scheduler::Scheduler;
pub use source::{Dataset, Parsed, Source, SourceKind};

/// The configured sources of a process and what their runs share.
pub struct Ingest {
    ctx: Arc<Context>,
    sources: BTreeMap<SourceName, Arc<dyn RunSource>>,
    /// One lock per source: runs of one source never overlap within the process (the store
    /// lease covers other processes).
    running: BTreeMap<SourceName, tokio::sync::Mutex<()>>,
    /// Runs by source and result, for `/metrics`.
    metrics: Arc<Metrics>,
    /// The Conéctate drafts a publish's changes prepare.
    drafts: Drafts,
}

impl Ingest {
    /// Builds every source of `settings` over `store`; fails naming the first bad option.
    pub fn from_settings(settings: &Settings, store: SharedStore) -> Result<Ingest, ConfigError> {
        // HTTP bodies wait in the data directory (`CONTACTO_DATA_DIR`), whichever store is used.
        let spool_dir = settings.store.data_dir.join("spool");
        let configured = ConfiguredSources::new(&settings.sources);
        let mut sources = BTreeMap::new();
        for (name, source) in &settings.sources {
            let built = pipeline::build_source(name, source, &configured, &settings.config_dir, &spool_dir)?;
            sources.insert(name.clone(), built);
        }
        let ctx = pipeline::context(
            store,
            settings.resolve_path(&settings.ingest.templates_dir),
            settings.store.keep_versions,
            settings.ingest.publish_attempts,
        );
        Ok(Ingest::new(ctx, sources).with_drafts(Drafts::from_settings(settings)))
    }

    pub fn new(ctx: Arc<Context>, sources: BTreeMap<SourceName, Arc<dyn RunSource>>) -> Ingest {
        let running = sources.keys().map(|n| (n.clone(), tokio::sync::Mutex::new(()))).collect();
        let drafts = Drafts::new(&settings::DraftSettings::default(), jiff::tz::TimeZone::UTC);
        Ingest { ctx, sources, running, metrics: Arc::new(Metrics::new()), drafts }
    }

    /// Prepares Conéctate drafts by these rules (without a sink, none are prepared).
    pub fn with_drafts(mut self, drafts: Drafts) -> Ingest {
        self.drafts = drafts;
        self
    }

    /// Hands the drafts to `sink` (Conéctate's contents).
    pub fn with_draft_sink(mut self, sink: Arc<dyn DraftSink>) -> Ingest {
        self.drafts = self.drafts.with_sink(sink);
        self
    }

    /// Records into `metrics` (shared with the other parts of the process).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Ingest {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn source_names(&self) -> Vec<SourceName> {
        self.sources.keys().cloned().collect()
    }

    pub fn source(&self, name: &str) -> Option<&Arc<dyn RunSource>> {
        self.sources.get(name)
    }

    /// Runs one source once.
    pub async fn run(&self, name: &str, mode: RunMode, progress: SharedProgress) -> Result<RunReport, RunError> {
        let source = self.sources.get(name).ok_or_else(|| RunError::UnknownSource {
            name: name.to_owned(),
            known: self.sources.keys().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
        })?;
        let lock = &self.running[name];
        let Ok(_running) = lock.try_lock() else {
            return Err(RunError::NotRun(NotRun::Busy(source.name().clone())));
        };
        let started = std::time::Instant::now();
        let mut report = source.run(&self.ctx, mode, progress).await?;
        self.metrics.ingest_run(source.name(), report.run.result, started.elapsed());
        for prepared in self.drafts.prepare(&self.ctx.templates_dir, &report.run, &report.changed).await {
            match prepared {
                Ok(prepared) => report.drafts.push(prepared),
                // The answers are out; a draft the team misses is worth an error, not a failed run.
                Err(error) => {
                    tracing::error!(source = %source.name(), error = %error::with_causes(&error), "Could not prepare a Conéctate draft.")
                }
            }
        }
        Ok(report)
    }
}

/// Why [`Ingest::run`] did not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no hay una fuente «{name}» configurada; las fuentes son: {known}")]
    UnknownSource { name: String, known: String },
    #[error(transparent)]
    NotRun(#[from] NotRun),
}
