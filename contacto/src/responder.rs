//! `contacto responder`: the webhook service and its outbox worker, as a production process
//! (usually on Redis, beside other replicas), with the open data (`/datos/`) beside the
//! webhooks, and the admin API and the console on its internal port. It
//! refuses to start without the secrets of the channels it serves, naming the variable to set.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use metrics::Metrics;
use responder::{Responder, ResponderConfig};
use settings::Settings;
use store::SharedStore;
use tokio::net::TcpListener;

pub async fn responder(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let required = ResponderConfig::required_secrets(&settings)?;
    settings.require(&required)?;
    let store = crate::deployment_store::open_store(&settings).await?;
    tracing::info!(store = store.kind(), "Starting the responder.");
    serve(&mut settings, store, Arc::new(Metrics::new()), crate::shutdown::signal()).await?;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}

/// Serves the webhooks and the open data (`/datos/`), and health, metrics (from `metrics`), the admin API and the console on
/// the internal port, until `shutdown` completes.
pub async fn serve(
    settings: &mut Settings,
    store: SharedStore,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = ResponderConfig::from_settings(settings)?;
    let (public, internal) = listeners(settings).await?;
    let open_data = admin::open_data::OpenData::from_settings(settings, store.clone()).router();
    let mut responder =
        Responder::build_with_metrics(config, store.clone(), metrics).await.with_public_routes(open_data);
    if let Some(admin) = crate::admin_api::router(settings, store, responder.mirror())? {
        responder = responder.with_internal_routes(admin);
    }
    tracing::info!(internal = %internal.local_addr()?, "Serving webhooks; health, metrics, the admin API and the console on the internal port.");
    responder.run(public, internal, shutdown).await.context("el servicio de respuestas se detuvo con error")
}

/// Binds the webhook port and the internal port.
pub async fn listeners(settings: &Settings) -> anyhow::Result<(TcpListener, TcpListener)> {
    let bind =
        |addr| async move { TcpListener::bind(addr).await.with_context(|| format!("no se pudo escuchar en {addr}")) };
    Ok((bind(settings.responder.listen).await?, bind(settings.responder.internal_listen).await?))
}
