//! `contacto ingest`: the scheduler as a service of its own (on Redis or the embedded store,
//! with `/health` and `/metrics` on the internal port),
//! or one run of every source or of one (`--once [--source NAME]`), or the publication of a
//! quarantined dataset a maintainer checked (`--force NAME`).
//!
//! Long runs show a progress bar (bytes, rows, rate) on a terminal and a log line every few
//! seconds otherwise.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::{Ingest, Phase, Prepared, Progress, RunError, RunMode, RunReport, Scheduler, SharedProgress};
use schemas::{Actor, RunResult, es_mx};
use settings::Settings;

/// How often a log line reports progress when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// What `contacto ingest` was asked to do.
pub enum Mode {
    Service,
    Once { source: Option<String> },
    Force { source: String },
}

pub async fn ingest(settings: Settings, mode: Mode) -> anyhow::Result<ExitCode> {
    let store = crate::deployment_store::open_store(&settings).await?;
    let metrics = Arc::new(metrics::Metrics::new());
    // A publish that changes what citizens care about prepares a Conéctate draft.
    let drafts = Arc::new(conectate::SystemDrafts::new(store.clone()));
    let ingest = Arc::new(
        Ingest::from_settings(&settings, store.clone())?.with_metrics(metrics.clone()).with_draft_sink(drafts),
    );
    if ingest.source_names().is_empty() {
        anyhow::bail!("no hay fuentes configuradas: agrega una tabla [sources.NOMBRE] a la configuración");
    }
    match mode {
        Mode::Service => {
            // Health and metrics on the internal port, as every service has, for orchestrators.
            let internal = tokio::net::TcpListener::bind(settings.responder.internal_listen)
                .await
                .with_context(|| format!("no se pudo escuchar en {}", settings.responder.internal_listen))?;
            let scheduler = Scheduler::start(ingest.clone(), ingest::scheduler::timezone(&settings), true).await?;
            tracing::info!(sources = ?ingest.source_names(), internal = %internal.local_addr()?, "Ingest scheduler is running.");
            let routes = crate::health::routes(store.clone()).merge(crate::scrape::routes(&settings, store, metrics)?);
            axum::serve(internal, routes)
                .with_graceful_shutdown(crate::shutdown::signal())
                .await
                .context("el puerto interno se detuvo con error")?;
            scheduler.shutdown().await;
            tracing::info!("Stopped cleanly.");
            Ok(ExitCode::SUCCESS)
        }
        Mode::Once { source } => {
            let names = match source {
                Some(name) => vec![name],
                None => ingest.source_names().iter().map(|n| n.to_string()).collect(),
            };
            let mut all_good = true;
            for name in names {
                all_good &= report(&name, run_with_progress(&ingest, &name, RunMode::Normal).await)?;
            }
            Ok(if all_good { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Mode::Force { source } => {
            let ok = report(&source, run_with_progress(&ingest, &source, RunMode::Force(Actor::CommandLine)).await)?;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// Runs one source while a reporter shows its progress.
async fn run_with_progress(ingest: &Ingest, name: &str, mode: RunMode) -> Result<RunReport, RunError> {
    let progress = Progress::shared();
    let reporter = tokio::spawn(show_progress(name.to_owned(), progress.clone()));
    let result = ingest.run(name, mode, progress).await;
    reporter.abort();
    let _ = reporter.await;
    result
}

/// Draws the bar, or logs every [`LOG_EVERY`], until aborted.
async fn show_progress(name: String, progress: SharedProgress) {
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix} {spinner} {wide_bar} {bytes}/{total_bytes} · {msg}")
                .expect("a valid template"),
        );
        bar.set_prefix(name);
        let _clear = scopeguard(bar.clone());
        loop {
            let (bytes, total, rows) = progress.snapshot();
            bar.set_length(total.max(bytes));
            bar.set_position(bytes);
            bar.set_message(status(progress.phase(), rows, started.elapsed()));
            bar.tick();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    } else {
        loop {
            tokio::time::sleep(LOG_EVERY).await;
            let (bytes, total, rows) = progress.snapshot();
            tracing::info!(source = %name, phase = progress.phase().label(), bytes, total_bytes = total, rows, "Ingest progress.");
        }
    }
}

/// Clears the bar when the reporter is aborted.
fn scopeguard(bar: ProgressBar) -> impl Drop {
    struct Clear(ProgressBar);
    impl Drop for Clear {
        fn drop(&mut self) {
            self.0.finish_and_clear();
        }
    }
    Clear(bar)
}

/// `leyendo · 1,234,567 filas · 512,000 filas/s`.
fn status(phase: Phase, rows: u64, elapsed: Duration) -> String {
    let rate = rows as f64 / elapsed.as_secs_f64().max(0.001);
    format!("{} · {} filas · {} filas/s", phase.label(), es_mx::integer(rows as i64), es_mx::integer(rate as i64))
}

/// Prints how a run ended; `false` when it needs someone's attention.
fn report(name: &str, result: Result<RunReport, RunError>) -> anyhow::Result<bool> {
    let (run, drafts) = match result {
        Ok(report) => (report.run, report.drafts),
        Err(RunError::NotRun(why)) => {
            eprintln!("{name}: {why}");
            return Ok(false);
        }
        Err(e @ RunError::UnknownSource { .. }) => return Err(e.into()),
    };
    let seconds = (run.finished_at - run.started_at).as_secs_f64();
    let mut line = format!("{name}: {}", run.result.label());
    if let Some(version) = run.version {
        line.push_str(&format!(" {version}"));
    }
    if run.rows > 0 {
        let noun = if run.rows == 1 { "fila" } else { "filas" };
        line.push_str(&format!(" · {} {noun}", es_mx::integer(run.rows as i64)));
    }
    if let Some(date) = run.data_date {
        line.push_str(&format!(" · datos al {}", es_mx::long_date(date)));
    }
    line.push_str(&format!(" · {} s", es_mx::decimal(seconds, 1)));
    println!("{line}");
    if let Some(error) = &run.error {
        println!("  {error}");
    }
    for warning in &run.warnings {
        println!("  {warning}");
    }
    for draft in drafts {
        println!(
            "  {}",
            match draft {
                Prepared::Created(id) =>
                    format!("borrador de Conéctate #{id} preparado: revísalo con `contacto conectate show {id}`"),
                Prepared::Updated(id) =>
                    format!("borrador de Conéctate #{id} actualizado con el último cambio del día"),
                Prepared::Kept(id) => format!("el aviso #{id} de hoy ya lo tomó el equipo; no se preparó otro"),
            }
        );
    }
    Ok(matches!(run.result, RunResult::Published | RunResult::Unchanged))
}
