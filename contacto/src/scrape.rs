//! `/metrics` for the internal port of every service this binary runs (`contacto ingest`,
//! `contacto sender`; the responder serves its own, and `contacto run` shares one registry
//! between all its parts).

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use jiff::tz::TimeZone;
use metrics::Metrics;
use metrics::scrape::Scrape;
use settings::Settings;
use store::SharedStore;

/// `GET /metrics` over `metrics` and the store's gauges. Data dates are read as days in
/// `timezone`, the programme's time zone citizens' days are counted in.
pub fn routes(settings: &Settings, store: SharedStore, metrics: Arc<Metrics>) -> anyhow::Result<Router> {
    let timezone = TimeZone::get(&settings.timezone)
        .with_context(|| format!("timezone: zona horaria desconocida «{}»", settings.timezone))?;
    Ok(metrics::scrape::routes(Arc::new(Scrape::new(metrics, store, timezone))))
}
