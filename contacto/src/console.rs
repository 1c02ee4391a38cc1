//! `contacto console`: the web console and the admin API it calls, as a process of their own
//! (the `console` service beside the responders and senders on one Redis), with `/health` and
//! `/metrics` (the store's gauges: queue depths, answer age), on
//! `console.listen`. It refuses to start without the admin token and the user-hash key (the
//! Conéctate routes hash the staff list), naming the variable to set.

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context;
use settings::Settings;
use settings::secrets::{ADMIN_TOKEN, USER_HASH_KEY};

pub async fn console(mut settings: Settings) -> anyhow::Result<ExitCode> {
    settings.require(&[ADMIN_TOKEN, USER_HASH_KEY])?;
    let store = crate::deployment_store::open_store(&settings).await?;
    let routes = crate::admin_api::router(&mut settings, store.clone(), Default::default())?
        .context("falta el token de administración")?;
    let listen = settings.console.listen;
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("no se pudo escuchar en {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = store.kind(), "Serving the console and the admin API.");
    eprintln!("La consola está en http://{addr}/console/ (entra con el token de administración).");
    let scrape = crate::scrape::routes(&settings, store.clone(), Arc::new(metrics::Metrics::new()))?;
    axum::serve(listener, routes.merge(crate::health::routes(store)).merge(scrape))
        .with_graceful_shutdown(crate::shutdown::signal())
        .await
        .context("la consola se detuvo con error")?;
    tracing::info!("Stopped cleanly.");
    Ok(ExitCode::SUCCESS)
}
