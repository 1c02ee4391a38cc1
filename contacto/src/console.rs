//! `contacto console`: the web console and the admin API it calls, as a process of their own
//! (the `console` service beside the responders and senders on one Redis), with `/health`, on
//! `console.listen`. It refuses to start without the admin token and the user-hash key (the
//! Conéctate routes hash the staff list), naming the variable to set.

use std::process::ExitCode;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use settings::Settings;
use settings::secrets::{ADMIN_TOKEN, USER_HASH_KEY};
use store::SharedStore;

pub async fn console(mut settings: Settings) -> anyhow::Result<ExitCode> {
    settings.require(&[ADMIN_TOKEN, USER_HASH_KEY])?;
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    let routes = crate::admin_api::router(&mut settings, store.clone())?.context("falta el token de administración")?;
    let listen = settings.console.listen;
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("no se pudo escuchar en {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = store.kind(), "Serving the console and the admin API.");
    eprintln!("La consola está en http://{addr}/console/ (entra con el token de administración).");
    axum::serve(listener, routes.merge(health_router(store)))
        .with_graceful_shutdown(crate::shutdown::signal())
        .await
        .context("la consola se detuvo con error")?;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}

/// `/health`: the store answers, and which snapshot version citizens are answered from.
fn health_router(store: SharedStore) -> Router {
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
