//! The ingest run log (`GET /admin/runs`), newest first, as `contacto runs` shows it:
//! `?source=covid&result=quarantined&limit=20`.

use axum::Json;
use axum::extract::State;
use schemas::{IngestRun, RunFilter, RunResult, SourceName};
use serde::Serialize;

use crate::error::{ApiError, Params};
use crate::{Ops, Routes};

/// Runs listed when no `limit` is given.
const DEFAULT_LIMIT: usize = 50;
/// The most runs one request lists.
const MAX_LIMIT: usize = 1_000;

pub fn routes(ops: Ops) -> Routes {
    Routes::default().get("/runs", list).with_state(ops)
}

#[derive(Serialize)]
struct Runs {
    runs: Vec<IngestRun>,
}

async fn list(State(ops): State<Ops>, params: Params) -> Result<Json<Runs>, ApiError> {
    let params = params.only(&["source", "result", "limit"])?;
    let source = params.text("source").map(|name| configured(&ops, name)).transpose()?;
    let result = match params.text("result") {
        Some(text) => Some(text.parse::<RunResult>().map_err(|e| ApiError::bad_parameter("result", e))?),
        None => None,
    };
    let limit = params.parse::<usize>("limit", &format!("un número entero de 1 a {MAX_LIMIT}"))?;
    let limit = match limit {
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("{n} está fuera de rango; se espera de 1 a {MAX_LIMIT}"),
            ));
        }
        None => DEFAULT_LIMIT,
    };
    Ok(Json(Runs { runs: ops.store.runs(&RunFilter { source, result, limit }).await? }))
}

/// `name` as a configured source, or a 400 listing the configured ones (a misspelt name would
/// otherwise list nothing and look like a source that never ran).
pub(crate) fn configured(ops: &Ops, name: &str) -> Result<SourceName, ApiError> {
    ops.sources.keys().find(|s| s.as_str() == name).cloned().ok_or_else(|| {
        let known: Vec<&str> = ops.sources.keys().map(|s| s.as_str()).collect();
        ApiError::bad_parameter(
            "source",
            format!("no hay una fuente «{name}» configurada; las fuentes son: {}", known.join(", ")),
        )
    })
}
