//! Each source on its own cron (tokio-cron-scheduler), read in the programme's time zone (`timezone`).
//!
//! A tick whose previous run of the same source is still going is skipped (the run lease and
//! the in-process lock of [`Ingest::run`] both say so), so runs of one source never overlap,
//! while different sources run side by side.

use std::sync::Arc;

use chrono_tz::Tz;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::Ingest;
use crate::pipeline::RunMode;
use crate::progress::Progress;

/// The running scheduler; [`Scheduler::shutdown`] stops it.
pub struct Scheduler {
    inner: JobScheduler,
}

/// A schedule that could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("no se pudo programar la fuente {name}: {message}")]
pub struct ScheduleError {
    pub name: String,
    pub message: String,
    /// What the scheduler said.
    #[source]
    pub cause: JobSchedulerError,
}

impl Scheduler {
    /// Schedules every source of `ingest` and starts ticking. With `run_now`, every source also
    /// runs once right away (what `contacto run` does, so answers exist from the start).
    pub async fn start(ingest: Arc<Ingest>, timezone: Tz, run_now: bool) -> Result<Scheduler, ScheduleError> {
        let fail = |source: &str, cause: JobSchedulerError| ScheduleError {
            name: source.into(),
            message: "el programador de corridas falló; reinicia el servicio".into(),
            cause,
        };
        let inner = JobScheduler::new().await.map_err(|e| fail("*", e))?;
        for name in ingest.source_names() {
            let schedule = ingest.source(name.as_str()).map(|s| s.schedule().to_owned()).unwrap_or_default();
            let (job_ingest, job_name) = (ingest.clone(), name.clone());
            let job = Job::new_async_tz(schedule.as_str(), timezone, move |_id, _scheduler| {
                let (ingest, name) = (job_ingest.clone(), job_name.clone());
                Box::pin(async move { run_logged(&ingest, &name).await })
            })
            .map_err(|cause| ScheduleError {
                name: name.to_string(),
                message: format!("«{schedule}» no es una expresión cron válida de 6 campos"),
                cause,
            })?;
            inner.add(job).await.map_err(|e| fail(name.as_str(), e))?;
            tracing::info!(source = %name, schedule = %schedule, timezone = %timezone, "Source scheduled.");
        }
        inner.start().await.map_err(|e| fail("*", e))?;
        if run_now {
            for name in ingest.source_names() {
                let ingest = ingest.clone();
                tokio::spawn(async move { run_logged(&ingest, &name).await });
            }
        }
        Ok(Scheduler { inner })
    }

    pub async fn shutdown(mut self) {
        if let Err(error) = self.inner.shutdown().await {
            tracing::warn!(error = %error, "The scheduler did not stop cleanly.");
        }
    }
}

/// The time zone schedules are read in (`timezone`, checked at load).
pub fn timezone(settings: &settings::Settings) -> Tz {
    settings.timezone.parse().unwrap_or(chrono_tz::America::Mexico_City)
}

async fn run_logged(ingest: &Ingest, name: &schemas::SourceName) {
    match ingest.run(name.as_str(), RunMode::Normal, Progress::shared()).await {
        Ok(_) => {}
        Err(error) => tracing::info!(source = %name, error = %error, "Scheduled run did not start."),
    }
}
