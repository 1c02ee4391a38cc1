//! `contacto sender`: the Conéctate sender as a production process (usually on Redis, beside
//! other senders that share the broadcast queue), with `/health` on the internal port like
//! every service. It refuses to start without the secrets of the channels it sends through,
//! naming the variable to set. Also what `contacto run` starts inside its own process
//! ([`start`]).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use channels::Channels;
use conectate::{ConectateConfig, Sender};
use metrics::{BroadcastOutcome, Metrics};
use responder::ResponderConfig;
use serde_json::json;
use settings::Settings;
use store::{QueueName, SharedStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A sender running in this process, and how to stop it.
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Finishes the batch in hand and stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts a sender on `store` with the channels and Conéctate settings of `settings`,
/// recording into `metrics`.
pub fn start(settings: &mut Settings, store: SharedStore, metrics: Arc<Metrics>) -> anyhow::Result<Running> {
    let responder = ResponderConfig::from_settings(settings)?;
    let conectate = Arc::new(ConectateConfig::from_settings(settings)?);
    if conectate.sender.unpaced {
        tracing::warn!("The Conéctate sender runs without its rate governor (conectate.unpaced): tests only.");
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(conectate.sender.concurrency)
        .build()
        .context("no se pudo crear el cliente HTTP")?;
    let channels = Channels::from_config(&responder.channels, &http);
    let consumer = format!("sender-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let sender = Sender::new(store, channels, conectate, consumer).with_metrics(metrics);
    let (stop, stopped) = watch::channel(false);
    Ok(Running { stop, task: tokio::spawn(sender.run(stopped)) })
}

pub async fn sender(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let required = ResponderConfig::required_secrets(&settings)?;
    settings.require(&required)?;
    let store = crate::deployment_store::open_store(&settings).await?;
    let internal = tokio::net::TcpListener::bind(settings.responder.internal_listen)
        .await
        .with_context(|| format!("no se pudo escuchar en {}", settings.responder.internal_listen))?;
    tracing::info!(store = store.kind(), internal = %internal.local_addr()?, "Starting the Conéctate sender.");
    let metrics = Arc::new(Metrics::new());
    let running = start(&mut settings, store.clone(), metrics.clone())?;
    let routes = health_router(store.clone(), metrics.clone()).merge(crate::scrape::routes(&settings, store, metrics)?);
    axum::serve(internal, routes)
        .with_graceful_shutdown(crate::shutdown::signal())
        .await
        .context("el puerto interno se detuvo con error")?;
    running.stop().await;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}

/// `/health` of the sender: the store answers; whether sending is frozen; what was sent.
fn health_router(store: SharedStore, metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/health",
        get(move || {
            let (store, metrics) = (store.clone(), metrics.clone());
            async move {
                let state = async {
                    let queue = store.depth(QueueName::Broadcast).await?;
                    let frozen = conectate::freeze::frozen(&store).await?;
                    Ok::<_, store::StoreError>((queue, frozen))
                };
                match state.await {
                    Ok((queue, frozen)) => (
                        StatusCode::OK,
                        Json(json!({
                            "status": if frozen.is_some() { "frozen" } else { "ok" },
                            "store": store.kind(),
                            "queue": queue,
                            "sent": metrics.broadcast_count(BroadcastOutcome::Sent),
                            "failed": metrics.broadcast_count(BroadcastOutcome::Failed),
                        })),
                    ),
                    Err(error) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"status": "unavailable", "store": store.kind(), "error": error.to_string()})),
                    ),
                }
            }
        }),
    )
}
