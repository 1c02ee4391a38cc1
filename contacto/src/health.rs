//! `/health` of the processes that serve no webhooks (`contacto ingest`, `contacto console`):
//! the store answers, and which snapshot version citizens are answered from.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use store::SharedStore;

/// `GET /health`: 200 with the current snapshot version, or 503 when the store does not answer.
pub fn routes(store: SharedStore) -> Router {
    Router::new().route(
        "/health",
        get(move || {
            let store = store.clone();
            async move { health(&store).await }
        }),
    )
}

async fn health(store: &SharedStore) -> Response {
    match store.current_version().await {
        Ok(version) => {
            axum::Json(json!({"status": "ok", "store": store.kind(), "snapshot": version.map(|v| v.0)})).into_response()
        }
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "store": store.kind(), "error": error.to_string()})),
        )
            .into_response(),
    }
}
