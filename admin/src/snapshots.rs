//! The answers' versions, as ops inspects and moves them:
//!
//! | route | what |
//! |---|---|
//! | `GET /snapshots` | the kept versions, newest first, with each source's provenance |
//! | `GET /snapshots/{version}/diff?against=OTHER` | answers added, removed and changed, and provenance changes (default: against the previous kept version) |
//! | `POST /snapshots/rollback` | `{"version": 12}`, or `{}` for the previous one: citizens read it at once; audited |
//! | `GET /audit?at=RFC3339&limit=N` | the pointer history (who moved it, from what, to what) and which version was current at `at` |
//!
//! A rollback leaves the sources' state alone (as `contacto rollback` does): an unchanged
//! source does not publish over it; the next changed dataset does.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use schemas::{Actor, AnswerKey, Provenance, RunFilter, RunResult, Snapshot, SnapshotVersion, SourceName};
use serde::{Deserialize, Serialize};
use store::{PointerReason, StoreError};

use crate::error::{ApiError, Params};
use crate::{Ops, Routes};

/// Pointer changes listed when no `limit` is given.
const HISTORY_DEFAULT: usize = 100;
/// The most pointer changes one request lists (and how far back `at` looks).
const HISTORY_MAX: usize = 10_000;
/// Runs looked through to name the run behind each publication.
const RUNS_LOOKED_AT: usize = 1_000;

pub fn routes(ops: Ops) -> Routes {
    Routes::default()
        .get("/snapshots", list)
        .get("/snapshots/{version}/diff", diff)
        .post("/snapshots/rollback", rollback)
        .get("/audit", audit)
        .with_state(ops)
}

/// A kept version.
#[derive(Serialize)]
struct VersionRow {
    version: SnapshotVersion,
    created_at: Timestamp,
    current: bool,
    answers: usize,
    provenance: BTreeMap<SourceName, Provenance>,
}

#[derive(Serialize)]
struct Versions {
    versions: Vec<VersionRow>,
}

async fn list(State(ops): State<Ops>, params: Params) -> Result<Json<Versions>, ApiError> {
    params.only(&[])?;
    let mut versions = Vec::new();
    for summary in ops.store.versions().await? {
        // A version pruned between the two reads is simply no longer kept.
        let Some(snapshot) = ops.store.snapshot(summary.version).await? else { continue };
        versions.push(VersionRow {
            version: summary.version,
            created_at: summary.created_at,
            current: summary.current,
            answers: summary.answers,
            provenance: snapshot.content.provenance,
        });
    }
    Ok(Json(Versions { versions }))
}

/// One answer that changed.
#[derive(Serialize)]
struct Changed {
    /// `confirmados/020`: topic and scope (`estado` or the municipio's code).
    key: String,
    /// "Casos confirmados — León".
    label: String,
    source: SourceName,
    before: String,
    after: String,
}

/// One answer that only one side has.
#[derive(Serialize)]
struct OneSide {
    key: String,
    label: String,
    source: SourceName,
    text: String,
}

/// A source whose provenance differs (new data, another file, added or removed).
#[derive(Serialize)]
struct ProvenanceChange {
    source: SourceName,
    before: Option<Provenance>,
    after: Option<Provenance>,
}

/// What changed from `against` to `version`.
#[derive(Serialize)]
struct Diff {
    version: SnapshotVersion,
    against: SnapshotVersion,
    added: Vec<OneSide>,
    removed: Vec<OneSide>,
    changed: Vec<Changed>,
    /// Answers equal on both sides.
    unchanged: usize,
    provenance: Vec<ProvenanceChange>,
    /// Whether menus, keywords or aliases changed.
    router_changed: bool,
}

async fn diff(State(ops): State<Ops>, Path(version): Path<String>, params: Params) -> Result<Json<Diff>, ApiError> {
    let params = params.only(&["against"])?;
    let version: SnapshotVersion = version.parse().map_err(|_| {
        ApiError::bad_parameter("version", format!("«{version}» no es una versión (por ejemplo 12 o v12)"))
    })?;
    let after = kept(&ops, version).await?;
    let against = match params.parse::<SnapshotVersion>("against", "una versión (por ejemplo 11 o v11)")? {
        Some(against) => against,
        None => {
            let older = ops.store.versions().await?.into_iter().map(|v| v.version).filter(|v| *v < version).max();
            older.ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "sin_version_anterior",
                    format!("no hay una versión guardada anterior a la {version} contra la cual comparar"),
                )
            })?
        }
    };
    let before = kept(&ops, against).await?;
    Ok(Json(compare(&before, &after)))
}

/// A kept version, or a 404 listing the kept ones.
async fn kept(ops: &Ops, version: SnapshotVersion) -> Result<Snapshot, ApiError> {
    match ops.store.snapshot(version).await? {
        Some(snapshot) => Ok(snapshot),
        None => Err(not_kept(ops, version).await),
    }
}

async fn not_kept(ops: &Ops, version: SnapshotVersion) -> ApiError {
    let kept = match ops.store.versions().await {
        Ok(versions) => versions.iter().map(|v| v.version.to_string()).collect::<Vec<_>>().join(", "),
        Err(error) => return ApiError::store(error),
    };
    ApiError::not_found(
        "version_no_guardada",
        format!("la versión {version} no está guardada; las guardadas son: {kept}"),
    )
}

fn compare(before: &Snapshot, after: &Snapshot) -> Diff {
    let (old, new) = (&before.content.answers, &after.content.answers);
    let one_side = |(key, a): (&AnswerKey, &schemas::RenderedAnswer)| OneSide {
        key: key.to_string(),
        label: key.label(&after.content.router.topics),
        source: a.source.clone(),
        text: a.answer.body().to_owned(),
    };
    let added = new.iter().filter(|(k, _)| !old.contains_key(*k)).map(one_side).collect();
    let removed = old.iter().filter(|(k, _)| !new.contains_key(*k)).map(one_side).collect();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for (key, a) in new {
        match old.get(key) {
            Some(b) if b.answer == a.answer => unchanged += 1,
            Some(b) => changed.push(Changed {
                key: key.to_string(),
                label: key.label(&after.content.router.topics),
                source: a.source.clone(),
                before: b.answer.body().to_owned(),
                after: a.answer.body().to_owned(),
            }),
            None => {}
        }
    }
    let (p_old, p_new) = (&before.content.provenance, &after.content.provenance);
    let sources: BTreeSet<&SourceName> = p_old.keys().chain(p_new.keys()).collect();
    let provenance = sources
        .into_iter()
        .filter(|s| p_old.get(*s) != p_new.get(*s))
        .map(|s| ProvenanceChange { source: s.clone(), before: p_old.get(s).cloned(), after: p_new.get(s).cloned() })
        .collect();
    Diff {
        version: after.version,
        against: before.version,
        added,
        removed,
        changed,
        unchanged,
        provenance,
        router_changed: before.content.router != after.content.router,
    }
}

/// `{"version": 12}` or `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackRequest {
    #[serde(default)]
    version: Option<SnapshotVersion>,
}

#[derive(Serialize)]
struct RolledBack {
    /// The version citizens read now.
    current: SnapshotVersion,
    /// The one they read before.
    previous: Option<SnapshotVersion>,
}

async fn rollback(
    State(ops): State<Ops>,
    crate::error::Json(request): crate::error::Json<RollbackRequest>,
) -> Result<Json<RolledBack>, ApiError> {
    let previous = ops.store.current_version().await?;
    match ops.store.rollback(request.version, Actor::AdminToken).await {
        Ok(current) => {
            tracing::warn!(from = ?previous, to = %current, "Rolled back through the admin API.");
            Ok(Json(RolledBack { current, previous }))
        }
        Err(StoreError::NothingToRollBack) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "sin_version_anterior",
            "no hay una versión anterior guardada a la cual volver",
        )),
        Err(StoreError::NoSuchVersion(v)) => Err(not_kept(&ops, v).await),
        Err(StoreError::Conflict { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "cambio_simultaneo",
            "otra publicación movió la versión actual al mismo tiempo; revisa las versiones y vuelve a intentarlo",
        )),
        Err(error) => Err(ApiError::store(error)),
    }
}

/// One move of the current version, as the audit trail shows it.
#[derive(Serialize)]
struct AuditEntry {
    at: Timestamp,
    /// `publish` or `rollback`.
    reason: PointerReason,
    from: Option<SnapshotVersion>,
    version: SnapshotVersion,
    /// Who moved it by hand (`admin_token`, `command_line`); null for a scheduled publication.
    by: Option<Actor>,
    /// The run that published it, when the run log still has it.
    run: Option<u64>,
    source: Option<SourceName>,
    forced: bool,
    /// The entry in Spanish.
    description: String,
}

/// Which version citizens read at a moment.
#[derive(Serialize)]
struct AtMoment {
    at: Timestamp,
    /// Null before the first publication, or further back than the history kept.
    version: Option<SnapshotVersion>,
    /// The move that made it current.
    since: Option<AuditEntry>,
}

#[derive(Serialize)]
struct Audit {
    /// Only when asked with `?at=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_at: Option<AtMoment>,
    /// Newest first.
    history: Vec<AuditEntry>,
}

async fn audit(State(ops): State<Ops>, params: Params) -> Result<Json<Audit>, ApiError> {
    let params = params.only(&["at", "limit"])?;
    let at = params.parse::<Timestamp>("at", "una fecha y hora RFC 3339 (por ejemplo 2020-05-27T15:00:00Z)")?;
    let limit = match params.parse::<usize>("limit", &format!("un número entero de 1 a {HISTORY_MAX}"))? {
        Some(n) if (1..=HISTORY_MAX).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("{n} está fuera de rango; se espera de 1 a {HISTORY_MAX}"),
            ));
        }
        None => HISTORY_DEFAULT,
    };
    let changes = ops.store.pointer_history(if at.is_some() { HISTORY_MAX } else { limit }).await?;
    let runs =
        ops.store.runs(&RunFilter { source: None, result: Some(RunResult::Published), limit: RUNS_LOOKED_AT }).await?;
    let by_version: BTreeMap<SnapshotVersion, &schemas::IngestRun> =
        runs.iter().filter_map(|r| r.version.map(|v| (v, r))).collect();
    let entry = |c: &store::PointerChange| {
        let run = by_version.get(&c.version).copied();
        let by = c.by.or(run.and_then(|r| r.forced_by));
        let how = by.map(Actor::label).unwrap_or("sin registro de quién");
        let from = c.from.map(|v| format!(" (antes {v})")).unwrap_or_default();
        let description = match (c.reason, run) {
            (PointerReason::Rollback, _) => format!("vuelta atrás a la versión {}{from}, {how}", c.version),
            (PointerReason::Publish, Some(r)) if r.forced => format!(
                "versión {} publicada a la fuerza por la corrida #{} de {}{from}, {how}",
                c.version, r.id, r.source
            ),
            (PointerReason::Publish, Some(r)) => {
                format!("versión {} publicada por la corrida #{} de {}{from}", c.version, r.id, r.source)
            }
            (PointerReason::Publish, None) => format!("versión {} publicada{from}", c.version),
        };
        AuditEntry {
            at: c.at,
            reason: c.reason,
            from: c.from,
            version: c.version,
            by,
            run: run.map(|r| r.id),
            source: run.map(|r| r.source.clone()),
            forced: run.is_some_and(|r| r.forced),
            description,
        }
    };
    let current_at = at.map(|at| {
        let since = changes.iter().find(|c| c.at <= at).map(entry);
        AtMoment { at, version: since.as_ref().map(|e| e.version), since }
    });
    let history = changes.iter().take(limit).map(entry).collect();
    Ok(Json(Audit { current_at, history }))
}
