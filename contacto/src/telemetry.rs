//! Logs go through `tracing`: pretty for people, JSON for collectors, filtered by `RUST_LOG` or
//! `telemetry.filter`. No log line carries a phone number or user id: the libraries log the
//! keyed hash ([`schemas::UserKey`]) only.

use settings::{LogFormat, TelemetrySettings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops. A `service` logs as
/// `telemetry.filter` says; a one-shot command (preview, report, conectate …) speaks to a
/// person in its own words, so only warnings and errors join them, unless `RUST_LOG` says more.
pub fn init(settings: &TelemetrySettings, service: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if service { settings.filter.as_str() } else { "warn" }));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
