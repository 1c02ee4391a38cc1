//! One run of one source: fetch → parse and validate → plausibility → render → publish →
//! record. Every path through it ends in exactly one recorded [`IngestRun`], and no path lets
//! a rejected, quarantined or unrenderable dataset reach the snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use schemas::{Actor, IngestRun, Provenance, RunResult, SnapshotVersion, SourceName, TopicCatalogue, es_mx};
use settings::SourceSettings;
use store::SharedStore;

use crate::configured_sources::ConfiguredSources;
use crate::drafts::{Change, Changed, Prepared};
use crate::error::{ConfigError, SourceError};
use crate::events::{
    DatasetParsed, DatasetQuarantined, DatasetRejected, Events, RenderFailed, RunSkipped, SnapshotPublished,
    SourceUnchanged,
};
use crate::fetch::Fetched;
use crate::progress::{Phase, SharedProgress};
use crate::publish::{PublishError, Publisher};
use crate::render::{Common, Renderer};
use crate::source::{Dataset, Source, SourceKind};
use crate::sources::KindVisitor;
use crate::state::{SourceState, Stored};

/// How long a run's lease lasts without renewal: a crashed run blocks its source this long.
const LEASE_TTL: Duration = Duration::from_secs(60);
/// Tolerated problems listed in a run record; the rest are counted.
const WARNINGS_LISTED: usize = 20;

/// What every run of a process shares.
pub struct Context {
    pub store: SharedStore,
    pub templates_dir: PathBuf,
    pub publisher: Publisher,
}

/// How a run treats the plausibility checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Fetch, and quarantine an implausible dataset.
    Normal,
    /// Publish the quarantined dataset as it is (a maintainer looked at it); who forced it
    /// goes into the run record.
    Force(Actor),
}

/// A finished run: its record (as stored, with its id) and the events it emitted.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run: IngestRun,
    pub events: Events,
    /// What the publish changed that citizens care about (nothing unless it published).
    pub changed: Changed,
    /// The Conéctate drafts those changes prepared ([`crate::Ingest::run`] fills them in).
    pub drafts: Vec<Prepared>,
}

/// Why a run did not happen.
#[derive(Debug, thiserror::Error)]
pub enum NotRun {
    #[error("otra corrida de {0} sigue en curso; no se inició otra")]
    Busy(SourceName),
    #[error("{0} no tiene datos en cuarentena que forzar")]
    NothingQuarantined(SourceName),
    /// The store's message already says what failed and what to do.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A configured source of any kind, as the scheduler and the commands see it.
#[async_trait]
pub trait RunSource: Send + Sync {
    fn name(&self) -> &SourceName;
    fn kind(&self) -> &str;
    /// Its cron expression (6 fields, with seconds).
    fn schedule(&self) -> &str;
    /// Runs once, unless another run of the same source holds it.
    async fn run(&self, ctx: &Context, mode: RunMode, progress: SharedProgress) -> Result<RunReport, NotRun>;
}

/// Builds the source `name` from its settings, whatever its kind ([`crate::sources::visit`]);
/// an unknown kind or a bad option fails naming the field.
pub fn build_source(
    name: &SourceName,
    settings: &SourceSettings,
    configured: &ConfiguredSources,
    base_dir: &Path,
    spool_dir: &Path,
) -> Result<Arc<dyn RunSource>, ConfigError> {
    struct Build<'a> {
        name: &'a SourceName,
        settings: &'a SourceSettings,
        configured: &'a ConfiguredSources,
        base_dir: &'a Path,
        spool_dir: &'a Path,
    }
    impl KindVisitor for Build<'_> {
        type Output = Result<Arc<dyn RunSource>, ConfigError>;
        fn visit<K: SourceKind>(self) -> Self::Output {
            Ok(Arc::new(Source::<K>::new(self.name, self.settings, self.configured, self.base_dir, self.spool_dir)?))
        }
    }
    crate::sources::visit(&settings.kind, Build { name, settings, configured, base_dir, spool_dir })
        .unwrap_or_else(|| Err(crate::sources::unknown_kind(name.as_str(), &settings.kind)))
}

/// How a run ended, before it is recorded.
struct Outcome {
    result: RunResult,
    bytes: u64,
    rows: u64,
    error: Option<String>,
    data_date: Option<Date>,
    version: Option<SnapshotVersion>,
    drift: bool,
    warnings: Vec<String>,
    /// What the publish changed (kept only when it published).
    changes: Vec<Change>,
}

impl Outcome {
    fn new(result: RunResult) -> Outcome {
        Outcome {
            result,
            bytes: 0,
            rows: 0,
            error: None,
            data_date: None,
            version: None,
            drift: false,
            warnings: Vec::new(),
            changes: Vec::new(),
        }
    }

    fn failed(error: impl ToString) -> Outcome {
        Outcome { error: Some(error.to_string()), ..Outcome::new(RunResult::Failed) }
    }
}

#[async_trait]
impl<K: SourceKind> RunSource for Source<K> {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn kind(&self) -> &str {
        &self.kind_name
    }

    fn schedule(&self) -> &str {
        &self.schedule
    }

    #[tracing::instrument(name = "run", skip_all, fields(source = %self.name, ?mode))]
    async fn run(&self, ctx: &Context, mode: RunMode, progress: SharedProgress) -> Result<RunReport, NotRun> {
        let state = SourceState::new(&*ctx.store, &self.name);
        let mut events = Events::default();
        if matches!(mode, RunMode::Force(_)) && state.quarantined::<K::Dataset>().await?.is_none() {
            return Err(NotRun::NothingQuarantined(self.name.clone()));
        }
        if !state.acquire_lease(LEASE_TTL).await? {
            events.emit(RunSkipped { source: &self.name });
            return Err(NotRun::Busy(self.name.clone()));
        }
        let renew = {
            let store = ctx.store.clone();
            let name = self.name.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    if let Err(error) = SourceState::new(&*store, &name).renew_lease(LEASE_TTL).await {
                        tracing::warn!(source = %name, error = %error, "Could not renew the run lease.");
                    }
                }
            })
        };
        let started_at = Timestamp::now();
        let outcome = match mode {
            RunMode::Normal => self.run_normal(ctx, &state, &mut events, &progress).await,
            RunMode::Force(_) => self.run_forced(ctx, &state, &mut events, &progress).await,
        };
        renew.abort();
        progress.set_phase(Phase::Done);
        let changed = Changed {
            attribution: self.kind.attribution().to_owned(),
            data_date: outcome.data_date,
            changes: if outcome.result == RunResult::Published { outcome.changes } else { Vec::new() },
        };
        let mut run = IngestRun {
            id: 0,
            source: self.name.clone(),
            started_at,
            finished_at: Timestamp::now(),
            bytes: outcome.bytes,
            rows: outcome.rows,
            result: outcome.result,
            error: outcome.error,
            data_date: outcome.data_date,
            version: outcome.version,
            source_drift: outcome.drift,
            forced: matches!(mode, RunMode::Force(_)),
            forced_by: match mode {
                RunMode::Force(by) => Some(by),
                RunMode::Normal => None,
            },
            warnings: outcome.warnings,
        };
        let recorded = ctx.store.record_run(&run).await;
        if let Err(error) = state.release_lease().await {
            tracing::warn!(source = %self.name, error = %error, "Could not release the run lease; it expires by itself.");
        }
        run.id = recorded?;
        tracing::info!(
            source = %self.name,
            run = run.id,
            result = %run.result,
            rows = run.rows,
            elapsed_ms = (run.finished_at - run.started_at).as_millis(),
            "Run recorded."
        );
        Ok(RunReport { run, events, changed, drafts: Vec::new() })
    }
}

impl<K: SourceKind> Source<K> {
    async fn run_normal(
        &self,
        ctx: &Context,
        state: &SourceState<'_>,
        events: &mut Events,
        progress: &SharedProgress,
    ) -> Outcome {
        let validators = match state.validators().await {
            Ok(v) => v,
            Err(e) => return Outcome::failed(e),
        };
        let fetched_at = Timestamp::now();
        let body = match self.fetcher.fetch(&self.name, &validators, events, progress).await {
            Ok(Fetched::Body(body)) => body,
            Ok(Fetched::NotModified) => {
                events.emit(SourceUnchanged { source: &self.name, why: "not_modified" });
                return Outcome::new(RunResult::Unchanged);
            }
            Err(error) => return Outcome::failed(crate::error::with_causes(&error)),
        };
        let bytes = body.len;

        progress.set_phase(Phase::Parsing);
        let parse_started = Instant::now();
        let (parsed, body) = {
            let (kind, progress) = (self.kind.clone(), progress.clone());
            match tokio::task::spawn_blocking(move || (kind.parse(&body, &progress), body)).await {
                Ok(done) => done,
                Err(join) => {
                    return Outcome { bytes, ..Outcome::failed(format!("la lectura se interrumpió: {join}")) };
                }
            }
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                let drift = matches!(error, SourceError::Drift(_));
                let reason = crate::error::with_causes(&error);
                events.emit(DatasetRejected { source: &self.name, reason: &reason, drift });
                let mut outcome = Outcome { bytes, drift, ..Outcome::failed(&reason) };
                outcome.result = error.result();
                if let SourceError::Rejected { errors, .. } = &error {
                    outcome.warnings = errors.iter().take(WARNINGS_LISTED).map(|e| e.to_string()).collect();
                }
                return outcome;
            }
        };
        events.emit(DatasetParsed {
            source: &self.name,
            rows: parsed.rows,
            warnings: parsed.warnings.len(),
            elapsed: parse_started.elapsed(),
        });
        let data_date = parsed.dataset.data_date();
        let outcome = Outcome {
            bytes,
            rows: parsed.rows,
            data_date: Some(data_date),
            warnings: listed(&parsed.warnings),
            ..Outcome::new(RunResult::Published)
        };
        let provenance = Provenance {
            source: self.name.clone(),
            url: body.url.clone(),
            fetched_at,
            data_date,
            checksum: parsed.checksum.clone(),
            rows: parsed.rows,
        };
        let stored =
            Stored { provenance, dataset: parsed.dataset, reasons: Vec::new(), validators: body.validators.clone() };
        drop(body);

        let last_good = match state.last_good::<K::Dataset>().await {
            Ok(v) => v,
            Err(e) => return failed(outcome, crate::error::with_causes(&e)),
        };
        if let Some(last) = &last_good {
            if last.provenance.checksum == stored.provenance.checksum {
                events.emit(SourceUnchanged { source: &self.name, why: "same_checksum" });
                if let Err(e) = state.set_validators(&stored.validators).await {
                    tracing::warn!(source = %self.name, error = %e, "Could not save the fetch validators.");
                }
                return Outcome { result: RunResult::Unchanged, ..outcome };
            }
            let mut reasons = Vec::new();
            let last_date = last.dataset.data_date();
            if data_date < last_date {
                reasons.push(format!(
                    "la fecha de los datos retrocede: {} después de {}",
                    es_mx::long_date(data_date),
                    es_mx::long_date(last_date)
                ));
            }
            reasons.extend(self.kind.implausibilities(&last.dataset, &stored.dataset));
            if !reasons.is_empty() {
                events.emit(DatasetQuarantined { source: &self.name, reasons: &reasons });
                let quarantined = Stored { reasons: reasons.clone(), ..stored };
                let saved = async {
                    state.set_quarantined(&quarantined).await?;
                    state.set_validators(&quarantined.validators).await
                };
                if let Err(e) = saved.await {
                    return failed(outcome, e);
                }
                return Outcome {
                    result: RunResult::Quarantined,
                    error: Some(format!(
                        "datos en cuarentena hasta que alguien los revise y corra `contacto ingest --force {}`: {}",
                        self.name,
                        reasons.join("; ")
                    )),
                    ..outcome
                };
            }
        }
        self.render_and_publish(ctx, state, events, progress, &stored, outcome).await
    }

    async fn run_forced(
        &self,
        ctx: &Context,
        state: &SourceState<'_>,
        events: &mut Events,
        progress: &SharedProgress,
    ) -> Outcome {
        let stored = match state.quarantined::<K::Dataset>().await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Outcome::failed(format!("{} ya no tiene datos en cuarentena", self.name)),
            Err(e) => return Outcome::failed(e),
        };
        let reasons = stored.reasons.join("; ");
        let forced = Change {
            trigger: settings::DraftTrigger::Forzado,
            subject: "datos".into(),
            what: format!("los datos de «{}»", self.name),
            from: None,
            to: "se publicaron a pesar de la revisión automática".into(),
            since: None,
            detail: Some(reasons.clone()),
            municipios: Vec::new(),
        };
        let outcome = Outcome {
            rows: stored.provenance.rows,
            data_date: Some(stored.provenance.data_date),
            error: Some(format!("publicado a la fuerza a pesar de: {reasons}")),
            changes: vec![forced],
            ..Outcome::new(RunResult::Published)
        };
        let stored = Stored { reasons: Vec::new(), ..stored };
        self.render_and_publish(ctx, state, events, progress, &stored, outcome).await
    }

    async fn render_and_publish(
        &self,
        ctx: &Context,
        state: &SourceState<'_>,
        events: &mut Events,
        progress: &SharedProgress,
        stored: &Stored<K::Dataset>,
        outcome: Outcome,
    ) -> Outcome {
        progress.set_phase(Phase::Publishing);
        let renderer = match Renderer::load(&ctx.templates_dir) {
            Ok(r) => r,
            Err(e) => return failed(outcome, crate::error::with_causes(&e)),
        };
        // Saved first, so a companion publishing at the same time renders with it (see
        // `publish`); put back if the publish fails, so the next run publishes it.
        let replaced = match state.replace_last_good(stored).await {
            Ok(replaced) => replaced,
            Err(e) => return failed(outcome, format!("no se pudo guardar el conjunto de datos: {e}")),
        };
        let previous = if K::REPORTS_CHANGES { replaced.dataset::<K::Dataset>() } else { None };
        let changes = match previous {
            Some(previous) => self.kind.changes(&previous, &stored.dataset),
            None => Vec::new(),
        };
        let companions = self.kind.companions();
        let render = |companions, topics: &TopicCatalogue| {
            let common = Common {
                data_date: stored.provenance.data_date,
                attribution: self.kind.attribution().to_owned(),
                companions,
                fed: crate::render::fed(topics, &self.name, &self.kind_name, &self.kind.companions()),
            };
            let answers = self.kind.render(&stored.dataset, &renderer, &common)?;
            Ok((answers, self.kind.router(&stored.dataset, &renderer, &common)?))
        };
        let published = match ctx.publisher.publish(&*ctx.store, &stored.provenance, &companions, render).await {
            Ok(p) => p,
            Err(error) => {
                if let Err(e) = state.restore_last_good(replaced).await {
                    tracing::error!(source = %self.name, error = %e, "Could not put the last good dataset back after a failed publish.");
                }
                return match error {
                    PublishError::Render(error) => {
                        events.emit(RenderFailed { source: &self.name, error: &error });
                        failed(outcome, crate::error::with_causes(&error))
                    }
                    PublishError::Store(e) => failed(outcome, format!("no se pudo publicar: {e}")),
                };
            }
        };
        let version = published.snapshot.version;
        events.emit(SnapshotPublished {
            source: &self.name,
            version,
            answers: published.answers,
            conflicts: published.conflicts,
        });
        let saved = async {
            state.clear_quarantined().await?;
            state.set_validators(&stored.validators).await
        };
        if let Err(e) = saved.await {
            // The answers are out; only the baseline of the next checks is missing.
            tracing::error!(source = %self.name, error = %e, "Published, but could not save the source state.");
        }
        let mut outcome = Outcome { version: Some(version), result: RunResult::Published, ..outcome };
        outcome.changes.extend(changes);
        outcome
    }
}

/// `outcome` turned into a failure, keeping what was measured.
fn failed(outcome: Outcome, error: impl ToString) -> Outcome {
    Outcome { result: RunResult::Failed, error: Some(error.to_string()), ..outcome }
}

/// The first warnings, then how many more.
fn listed(warnings: &[String]) -> Vec<String> {
    let mut out: Vec<String> = warnings.iter().take(WARNINGS_LISTED).cloned().collect();
    if warnings.len() > WARNINGS_LISTED {
        out.push(format!("… y {} más", es_mx::integer((warnings.len() - WARNINGS_LISTED) as i64)));
    }
    out
}

/// Builds the shared context.
pub fn context(
    store: SharedStore,
    templates_dir: PathBuf,
    keep_versions: usize,
    publish_attempts: u32,
) -> Arc<Context> {
    Arc::new(Context { store, templates_dir, publisher: Publisher::new(keep_versions, publish_attempts) })
}
