//! Conéctate in the admin API (paths under `/admin/conectate`, see `admin/openapi.yaml`):
//!
//! | route | what |
//! |---|---|
//! | `GET /contents`, `POST /contents` | list; create a draft |
//! | `GET /contents/{id}` | one content (with its `origin` when the system prepared it) |
//! | `POST /contents/{id}/edit` | replaces its fields, before it is scheduled |
//! | `POST /contents/{id}/canary` | send it to the staff list |
//! | `POST /contents/{id}/schedule` | `{"at": "2021-05-27 10:00"}`, or `{}` for now |
//! | `POST /contents/{id}/cancel` | only before sending starts (a draft's discard) |
//! | `GET /contents/{id}/report` | the delivery report |
//! | `GET /consent-ledger.csv` | the consent ledger; `?addresses=true` adds the addresses |
//! | `GET /status`, `POST /unfreeze` | the sender's state (frozen, messaging limit, queue); clear a freeze |

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use conectate::freeze::{self, Frozen};
use conectate::{Content, Contents, Draft, Report, content::parse_time};
use serde::{Deserialize, Serialize};
use store::{QueueDepth, QueueName, SharedStore};

use crate::Routes;
use crate::error::{ApiError, Json};

#[derive(Clone)]
struct Api {
    contents: Contents,
    store: SharedStore,
}

/// The Conéctate routes, relative to `/admin`.
pub fn routes(contents: Contents, store: SharedStore) -> Routes {
    Routes::default()
        .get("/conectate/contents", list)
        .post("/conectate/contents", create)
        .get("/conectate/contents/{id}", show)
        .post("/conectate/contents/{id}/edit", edit)
        .post("/conectate/contents/{id}/canary", canary)
        .post("/conectate/contents/{id}/schedule", schedule)
        .post("/conectate/contents/{id}/cancel", cancel)
        .get("/conectate/contents/{id}/report", report)
        .get("/conectate/consent-ledger.csv", ledger)
        .get("/conectate/status", status)
        .post("/conectate/unfreeze", unfreeze)
        .with_state(Api { contents, store })
}

type Answer<T> = Result<T, ApiError>;

async fn list(State(api): State<Api>) -> Answer<axum::Json<Vec<Content>>> {
    Ok(axum::Json(api.contents.list().await?))
}

async fn create(State(api): State<Api>, Json(draft): Json<Draft>) -> Answer<(StatusCode, axum::Json<Content>)> {
    Ok((StatusCode::CREATED, axum::Json(api.contents.create(draft).await?)))
}

async fn show(State(api): State<Api>, Path(id): Path<u64>) -> Answer<axum::Json<Content>> {
    Ok(axum::Json(api.contents.get(id).await?))
}

async fn edit(State(api): State<Api>, Path(id): Path<u64>, Json(draft): Json<Draft>) -> Answer<axum::Json<Content>> {
    Ok(axum::Json(api.contents.edit(id, draft).await?))
}

async fn canary(State(api): State<Api>, Path(id): Path<u64>) -> Answer<(StatusCode, axum::Json<Content>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(api.contents.canary(id).await?)))
}

/// When to send: a time, or now when absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleRequest {
    #[serde(default)]
    at: Option<String>,
}

async fn schedule(
    State(api): State<Api>,
    Path(id): Path<u64>,
    Json(request): Json<ScheduleRequest>,
) -> Answer<axum::Json<Content>> {
    let at = request.at.map(|text| parse_time(&text, &api.contents.config().timezone)).transpose()?;
    Ok(axum::Json(api.contents.schedule(id, at).await?))
}

async fn cancel(State(api): State<Api>, Path(id): Path<u64>) -> Answer<axum::Json<Content>> {
    Ok(axum::Json(api.contents.cancel(id).await?))
}

async fn report(State(api): State<Api>, Path(id): Path<u64>) -> Answer<axum::Json<Report>> {
    Ok(axum::Json(api.contents.report(id).await?))
}

#[derive(Deserialize)]
struct LedgerQuery {
    /// Adds each citizen's WhatsApp address (where still kept). The bearer token is the admin
    /// token, so asking is enough here; the CLI asks for the token explicitly.
    #[serde(default)]
    addresses: bool,
}

async fn ledger(State(api): State<Api>, Query(query): Query<LedgerQuery>) -> Answer<Response> {
    let mut csv = Vec::new();
    let tz = &api.contents.config().timezone;
    let rows = conectate::ledger::export(&api.store, &mut csv, query.addresses, tz).await?;
    if query.addresses {
        tracing::warn!(rows, "The consent ledger was exported with addresses.");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"consentimientos.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// What the sender is doing.
#[derive(Serialize)]
struct Status {
    /// Why sending is stopped, if it is.
    frozen: Option<FrozenStatus>,
    /// Unique users reached by templates in the last 24 hours, and the limit (null: none).
    reached_24h: u64,
    messaging_limit: Option<u64>,
    subscribers: u64,
    queue: QueueDepth,
}

#[derive(Serialize)]
struct FrozenStatus {
    #[serde(flatten)]
    state: Frozen,
    /// What it means and what to do, in Spanish.
    explanation: String,
}

fn frozen_status(state: Frozen) -> FrozenStatus {
    FrozenStatus { explanation: state.explain(), state }
}

async fn status(State(api): State<Api>) -> Answer<axum::Json<Status>> {
    let store = &api.store;
    let fail = |e: store::StoreError| ApiError::from(conectate::ConectateError::Store(e));
    let limit = api.contents.config().sender.messaging_limit;
    Ok(axum::Json(Status {
        frozen: freeze::frozen(store).await.map_err(fail)?.map(frozen_status),
        reached_24h: store.reached(Duration::from_secs(86_400)).await.map_err(fail)?,
        messaging_limit: (limit != u64::MAX).then_some(limit),
        subscribers: store.subscriber_count().await.map_err(fail)?,
        queue: store.depth(QueueName::Broadcast).await.map_err(fail)?,
    }))
}

#[derive(Serialize)]
struct Unfrozen {
    cleared: Option<FrozenStatus>,
}

async fn unfreeze(State(api): State<Api>) -> Answer<axum::Json<Unfrozen>> {
    let cleared =
        freeze::unfreeze(&api.store).await.map_err(|e| ApiError::from(conectate::ConectateError::Store(e)))?;
    Ok(axum::Json(Unfrozen { cleared: cleared.map(frozen_status) }))
}
