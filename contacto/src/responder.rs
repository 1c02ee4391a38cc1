//! `contacto responder`: the webhook service and its outbox worker, as a production process
//! (usually on Redis, beside other replicas). It refuses to start without the secrets of the
//! channels it serves, naming the variable to set.

use std::process::ExitCode;

use anyhow::Context;
use responder::ResponderConfig;
use settings::Settings;
use tokio::net::TcpListener;

pub async fn responder(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let required = ResponderConfig::required_secrets(&settings)?;
    settings.require(&required)?;
    let config = ResponderConfig::from_settings(&mut settings)?;
    let store = store::open(&settings.store_config()).await.context("no se pudo abrir el almacén")?;
    let (public, internal) = listeners(&settings).await?;
    tracing::info!(store = store.kind(), "Starting the responder.");
    responder::run(config, store, public, internal, crate::shutdown::signal())
        .await
        .context("el servicio de respuestas se detuvo con error")?;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}

/// Binds the webhook port and the internal port.
pub async fn listeners(settings: &Settings) -> anyhow::Result<(TcpListener, TcpListener)> {
    let bind =
        |addr| async move { TcpListener::bind(addr).await.with_context(|| format!("no se pudo escuchar en {addr}")) };
    Ok((bind(settings.responder.listen).await?, bind(settings.responder.internal_listen).await?))
}
