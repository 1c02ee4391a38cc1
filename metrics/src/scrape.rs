//! `/metrics`: the gauges read from the store at scrape time, then the whole registry.
//!
//! Queue depths and the current snapshot are shared state: reading them from the store on
//! each scrape makes every process report the same numbers, with nothing to keep in sync.
//! The current snapshot's provenance is read once per version (a snapshot holds every
//! answer; a scrape every few seconds should not move it), and the ages are computed from
//! it at each scrape.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemas::{Provenance, QueueName, SnapshotVersion};
use store::{SharedStore, StoreError};

use crate::{AgeLabels, Metrics, QueueLabels};

/// The content type of OpenMetrics text, which Prometheus reads natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a scrape reads: the process's metrics, and the store for the shared gauges.
pub struct Scrape {
    metrics: Arc<Metrics>,
    store: SharedStore,
    /// Data dates are days in this time zone; their age counts from the day's start.
    timezone: TimeZone,
    /// The provenance of the last snapshot read, by version.
    provenance: Mutex<Option<(SnapshotVersion, Vec<Provenance>)>>,
}

impl Scrape {
    pub fn new(metrics: Arc<Metrics>, store: SharedStore, timezone: TimeZone) -> Scrape {
        Scrape { metrics, store, timezone, provenance: Mutex::default() }
    }

    /// The OpenMetrics text, with the store's gauges as they are now. When the store does
    /// not answer, `contacto_store_up` says so and the other gauges keep their last values.
    pub async fn render(&self) -> String {
        match self.refresh().await {
            Ok(()) => {
                self.metrics.store_up.set(1);
            }
            Err(error) => {
                self.metrics.store_up.set(0);
                tracing::warn!(%error, "The store did not answer a metrics scrape.");
            }
        }
        self.metrics.encode()
    }

    async fn refresh(&self) -> Result<(), StoreError> {
        let m = &self.metrics;
        for queue in QueueName::ALL {
            let depth = self.store.depth(queue).await?;
            for (state, n) in [("ready", depth.ready), ("pending", depth.pending), ("delayed", depth.delayed)] {
                let gauge = m.queue_depth.get_or_create_owned(&QueueLabels { queue: queue.as_str(), state });
                gauge.set(n.try_into().unwrap_or(i64::MAX));
            }
        }
        let Some(version) = self.store.current_version().await? else { return Ok(()) };
        m.current_version.set(version.0.try_into().unwrap_or(i64::MAX));
        let known = self.provenance.lock().expect("provenance lock").as_ref().map(|(v, _)| *v);
        if known != Some(version) {
            let Some(snapshot) = self.store.snapshot(version).await? else { return Ok(()) };
            let provenance = snapshot.content.provenance.into_values().collect();
            *self.provenance.lock().expect("provenance lock") = Some((version, provenance));
            // Sources no longer in the snapshot stop being reported.
            m.answer_age.clear();
        }
        let now = Timestamp::now();
        let guard = self.provenance.lock().expect("provenance lock");
        for p in guard.iter().flat_map(|(_, p)| p) {
            let data_day = p.data_date.to_zoned_datetime(self.timezone.clone()).map(|z| z.timestamp());
            let ages = [("fetched_at", Ok(p.fetched_at)), ("data_date", data_day)];
            for (since, at) in ages {
                let Ok(at) = at else { continue };
                let age = now.duration_since(at).as_secs_f64().max(0.0);
                m.answer_age.get_or_create(&AgeLabels { source: p.source.to_string(), since }).set(age);
            }
        }
        Ok(())
    }
}

/// `GET /metrics`, to merge into a process's internal router.
pub fn routes(scrape: Arc<Scrape>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let scrape = scrape.clone();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], scrape.render().await).into_response() }
        }),
    )
}
