//! `contacto report DESDE HASTA [--csv]`: the programme report for a date range, as text in
//! Spanish or as the same CSV the admin API serves.

use std::process::ExitCode;

use admin::report::{ReportError, parse_date};
use anyhow::Context;
use settings::Settings;

pub async fn report(settings: Settings, from: &str, to: &str, csv: bool) -> anyhow::Result<ExitCode> {
    let from = parse_date(from).map_err(|e| anyhow::anyhow!("DESDE: {e}"))?;
    let to = parse_date(to).map_err(|e| anyhow::anyhow!("HASTA: {e}"))?;
    let timezone = jiff::tz::TimeZone::get(&settings.timezone)
        .with_context(|| format!("timezone: «{}» no es una zona horaria", settings.timezone))?;
    let store = crate::deployment_store::open_store(&settings).await?;
    let report = match admin::report::programme(&*store, from, to, &timezone).await {
        Ok(report) => report,
        Err(ReportError::Range { message, .. }) => anyhow::bail!("{message}"),
        Err(e) => return Err(e.into()),
    };
    print!("{}", if csv { report.csv() } else { report.render() });
    Ok(ExitCode::SUCCESS)
}
