//! `contacto run`: the whole system in one process, on the embedded store unless a Redis is
//! configured, with local secrets made up on first start so nothing has to be set by hand.

use std::process::ExitCode;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use settings::Settings;
use store::SharedStore;

pub async fn run(mut settings: Settings) -> anyhow::Result<ExitCode> {
    if let Some(path) = settings.fill_local_secrets()? {
        eprintln!(
            "Se crearon secretos locales para esta máquina en {}. En producción define las variables CONTACTO_… en su lugar.",
            path.display()
        );
    }
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    // Ingest of the configured sources (the bundled fixtures out of the box): once now, so
    // answers exist from the start, then on each source's schedule.
    let ingest = std::sync::Arc::new(ingest::Ingest::from_settings(&settings, store.clone())?);
    let scheduler = ingest::Scheduler::start(ingest, ingest::scheduler::timezone(&settings), true).await?;
    let internal = tokio::net::TcpListener::bind(settings.responder.internal_listen)
        .await
        .with_context(|| format!("no se pudo escuchar en {}", settings.responder.internal_listen))?;
    tracing::info!(store = store.kind(), internal = %internal.local_addr()?, "Contacto Ciudadano is running.");
    axum::serve(internal, health_router(store))
        .with_graceful_shutdown(crate::shutdown::signal())
        .await
        .context("el puerto interno se detuvo con error")?;
    scheduler.shutdown().await;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}

/// `/health`: the store answers.
pub(crate) fn health_router(store: SharedStore) -> Router {
    Router::new().route(
        "/health",
        get(move || {
            let store = store.clone();
            async move {
                match store.current_version().await {
                    Ok(version) => (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!({"status": "ok", "store": store.kind(), "snapshot": version.map(|v| v.0)})),
                    ),
                    Err(error) => (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(serde_json::json!({"status": "unavailable", "error": error.to_string()})),
                    ),
                }
            }
        }),
    )
}
