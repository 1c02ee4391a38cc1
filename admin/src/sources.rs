//! The configured sources as ops watches them:
//!
//! | route | what |
//! |---|---|
//! | `GET /sources` | each source's health (`ok`, `stale`, `failed`, `quarantined`), its last run, data date, cadence, and why in Spanish |
//! | `GET /stale` | the stale answers and why (what `contacto runs --stale` prints) |
//! | `POST /sources/{name}/force` | publishes the quarantined dataset (`contacto ingest --force NAME`), audited |
//!
//! Health reads, in this order: a dataset waiting in quarantine (whatever ran since), a last
//! run that failed or was rejected, answers older than the cadence, and otherwise ok.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ingest::staleness::{self, Stale, Why};
use ingest::state::SourceState;
use ingest::{NotRun, Progress, RunError, RunMode};
use jiff::Timestamp;
use jiff::civil::Date;
use schemas::{Actor, IngestRun, RunFilter, RunResult, SourceName, Topic};
use serde::Serialize;
use serde::de::IgnoredAny;

use crate::error::{ApiError, Params};
use crate::{Ops, Routes};

pub fn routes(ops: Ops) -> Routes {
    Routes::default().get("/sources", list).get("/stale", stale).post("/sources/{name}/force", force).with_state(ops)
}

/// How a source is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    Stale,
    Failed,
    Quarantined,
}

/// One row of `GET /sources`.
#[derive(Serialize)]
struct SourceRow {
    source: SourceName,
    kind: String,
    health: Health,
    last_run: Option<IngestRun>,
    /// The date of the data citizens read now (none if nothing of it was published).
    data_date: Option<Date>,
    cadence_hours: u32,
    /// Why it is not ok, in Spanish; null when ok.
    why: Option<String>,
}

#[derive(Serialize)]
struct Sources {
    sources: Vec<SourceRow>,
}

async fn list(State(ops): State<Ops>, params: Params) -> Result<Json<Sources>, ApiError> {
    params.only(&[])?;
    let store = &*ops.store;
    let now = Timestamp::now();
    let stale = staleness::stale(store, &ops.sources, now, &ops.timezone).await?;
    let snapshot = store.current_snapshot().await?;
    let mut rows = Vec::new();
    for (name, settings) in ops.sources.iter() {
        let last_run = store.runs(&RunFilter { source: Some(name.clone()), result: None, limit: 1 }).await?.pop();
        let quarantined = SourceState::new(store, name).quarantined::<IgnoredAny>().await?;
        let stale = stale.iter().find(|s| &s.source == name);
        let (health, why) = if let Some(q) = quarantined {
            let why = format!(
                "datos al {} en cuarentena hasta que alguien los revise y los publique a la fuerza: {}",
                schemas::es_mx::long_date(q.provenance.data_date),
                q.reasons.join("; ")
            );
            (Health::Quarantined, Some(why))
        } else if let Some(run) =
            last_run.as_ref().filter(|r| matches!(r.result, RunResult::Failed | RunResult::Rejected))
        {
            let error = run.error.as_deref().unwrap_or("sin detalle");
            let ended = if run.result == RunResult::Rejected { "fue rechazada" } else { "falló" };
            (Health::Failed, Some(format!("la última corrida (#{}) {ended}: {error}", run.id)))
        } else if let Some(s) = stale {
            (Health::Stale, Some(s.why_short(&ops.timezone)))
        } else {
            (Health::Ok, None)
        };
        rows.push(SourceRow {
            source: name.clone(),
            kind: settings.kind.clone(),
            health,
            last_run,
            data_date: snapshot.as_ref().and_then(|s| s.content.provenance.get(name)).map(|p| p.data_date),
            cadence_hours: settings.cadence_hours,
            why,
        });
    }
    Ok(Json(Sources { sources: rows }))
}

/// One stale source, as `contacto runs --stale` prints it.
#[derive(Serialize)]
struct StaleRow {
    source: SourceName,
    answers: usize,
    topics: Vec<Topic>,
    /// The same topics, as the published catalogue names them ("Casos confirmados").
    topic_labels: Vec<String>,
    data_date: Option<Date>,
    age_hours: Option<i64>,
    cadence_hours: u32,
    /// A stable code for programs: `never_run`, `not_running`, `last_run_failed`,
    /// `quarantined`, `unchanged`, `source_late`.
    reason: &'static str,
    /// Why, in Spanish.
    why: String,
    /// The line `contacto runs --stale` prints, in Spanish.
    description: String,
}

fn reason(why: &Why) -> &'static str {
    match why {
        Why::NeverRun => "never_run",
        Why::NotRunning { .. } => "not_running",
        Why::LastRunFailed { .. } => "last_run_failed",
        Why::Quarantined { .. } => "quarantined",
        Why::Unchanged { .. } => "unchanged",
        Why::SourceLate { .. } => "source_late",
    }
}

#[derive(Serialize)]
struct StaleList {
    stale: Vec<StaleRow>,
}

async fn stale(State(ops): State<Ops>, params: Params) -> Result<Json<StaleList>, ApiError> {
    params.only(&[])?;
    let tz = &ops.timezone;
    let found = staleness::stale(&*ops.store, &ops.sources, Timestamp::now(), tz).await?;
    let published = ops.store.current_snapshot().await?;
    let catalogue = ingest::sources::menu::in_force(published.as_ref().map(|s| &s.content.router.topics));
    let rows = found
        .into_iter()
        .map(|s: Stale| StaleRow {
            description: s.to_string(),
            why: s.why.describe(&s.source, tz),
            reason: reason(&s.why),
            source: s.source,
            answers: s.answers,
            topic_labels: s.topics.iter().map(|t| catalogue.label(*t).to_owned()).collect(),
            topics: s.topics,
            data_date: s.data_date,
            age_hours: s.age_hours,
            cadence_hours: s.cadence_hours,
        })
        .collect();
    Ok(Json(StaleList { stale: rows }))
}

/// Publishes the source's quarantined dataset, recording the admin token as who forced it.
async fn force(State(ops): State<Ops>, Path(name): Path<String>) -> Result<Json<IngestRun>, ApiError> {
    match ops.ingest.run(&name, RunMode::Force(Actor::AdminToken), Progress::shared()).await {
        Ok(report) => {
            tracing::warn!(source = %name, run = report.run.id, result = %report.run.result, version = ?report.run.version, "A quarantined dataset was forced through the admin API.");
            Ok(Json(report.run))
        }
        Err(e @ RunError::UnknownSource { .. }) => Err(ApiError::not_found("fuente_desconocida", e.to_string())),
        Err(RunError::NotRun(NotRun::Store(error))) => Err(ApiError::store(error)),
        Err(RunError::NotRun(e @ NotRun::NothingQuarantined(_))) => {
            Err(ApiError::new(StatusCode::CONFLICT, "nada_en_cuarentena", e.to_string()))
        }
        Err(RunError::NotRun(e @ NotRun::Busy(_))) => {
            Err(ApiError::new(StatusCode::CONFLICT, "corrida_en_curso", e.to_string()))
        }
    }
}
