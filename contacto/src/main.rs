//! `contacto`, the one binary: every service and tool is a subcommand.
//!
//! # Layout
//! - [`cli`]: the commands and their flags (the help text is what users read); [`help`]: the
//!   Spanish layout of `--help`.
//! - [`telemetry`]: logs through `tracing`, pretty or JSON, with an `EnvFilter`.
//! - [`run`]: `contacto run`, the whole system in one process on the embedded store.
//! - [`ingest`]: `contacto ingest` (the scheduler, `--once`, `--force`) with its progress bar.
//! - [`preview`], [`runs`], [`rollback`]: what a citizen reads now (or once the files of a
//!   directory are published), the run log and stale answers, going back to an older snapshot.
//! - [`report`]: `contacto report DESDE HASTA [--csv]`, the programme report (computed by
//!   `admin::report`, which the admin API serves too).
//! - [`sin_entender`]: `contacto sin-entender`, the phrases citizens wrote that the bot did not
//!   understand (masked, above a minimum of distinct citizens) and the topics closest to each.
//! - [`validate`]: maintainers' files checked offline, every error with its line and column.
//! - [`responder`]: `contacto responder`, the webhook service on its own (production, Redis),
//!   with the open data beside the webhooks (`admin::open_data`) and the admin API on its
//!   internal port ([`admin_api`]).
//! - [`console`]: `contacto console`, the web console and the admin API as their own process
//!   (the console is also on the internal port of `run` and `responder`, see [`admin_api`]).
//! - [`sender`]: `contacto sender`, the Conéctate sender on its own; [`conectate`]: `contacto
//!   conectate …`, the communications team's commands.
//! - [`deployment_store`]: the store every command opens, refused when it holds another
//!   state's data.
//! - [`shutdown`]: the ctrl-c / SIGTERM future every service stops on; [`scrape`]: `/metrics`
//!   on the internal port of the services that are not the responder; [`health`]: `/health`
//!   of `ingest` and `console`.
//!
//! `anyhow` is used here only, at the binary's edge; the libraries return typed errors.

mod admin_api;
mod cli;
mod conectate;
mod console;
mod deployment_store;
mod health;
mod help;
mod ingest;
mod preview;
mod report;
mod responder;
mod rollback;
mod run;
mod runs;
mod scrape;
mod sender;
mod shutdown;
mod sin_entender;
mod telemetry;
mod validate;

use clap::Parser;

/// mimalloc instead of the system allocator: a webhook allocates a few dozen small buffers
/// from two threads at once, where glibc's malloc showed up as a tenth of the CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("start the Tokio runtime");
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
