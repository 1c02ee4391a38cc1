//! `contacto runs`: the ingest run log as a table ops can read, newest first.

use std::process::ExitCode;

use schemas::{IngestRun, RunFilter, SourceName, es_mx};
use settings::Settings;

pub async fn runs(settings: Settings, source: Option<SourceName>, limit: usize) -> anyhow::Result<ExitCode> {
    let store = crate::deployment_store::open_store(&settings).await?;
    let runs = store.runs(&RunFilter { source, result: None, limit }).await?;
    if runs.is_empty() {
        println!("Todavía no hay corridas registradas.");
        return Ok(ExitCode::SUCCESS);
    }
    let timezone = ingest::scheduler::timezone(&settings).to_string();
    print!("{}", table(&runs, &timezone));
    println!("(inicio en hora de {timezone})");
    Ok(ExitCode::SUCCESS)
}

/// `contacto runs --stale`: the sources whose answers are older than their cadence, and why.
pub async fn stale(settings: Settings, source: Option<SourceName>) -> anyhow::Result<ExitCode> {
    let store = crate::deployment_store::open_store(&settings).await?;
    let tz =
        jiff::tz::TimeZone::get(&ingest::scheduler::timezone(&settings).to_string()).unwrap_or(jiff::tz::TimeZone::UTC);
    let sources = settings.sources.iter().filter(|(n, _)| source.as_ref().is_none_or(|s| s == *n));
    let sources = sources.map(|(n, s)| (n.clone(), s.clone())).collect();
    let stale = ingest::staleness::stale(&*store, &sources, jiff::Timestamp::now(), &tz).await?;
    if stale.is_empty() {
        println!("Ninguna respuesta está vencida: cada fuente tiene datos dentro de su cadencia.");
    }
    for s in &stale {
        println!("{s}");
        println!("    por qué: {}", s.why.describe(&s.source, &tz));
    }
    Ok(ExitCode::SUCCESS)
}

/// The runs as aligned columns; errors and warnings go on indented lines under their run.
pub fn table(runs: &[IngestRun], timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let header = ["#", "fuente", "inicio", "duración", "bytes", "filas", "resultado", "datos al", "versión"];
    let rows: Vec<[String; 9]> = runs
        .iter()
        .map(|r| {
            let start = r.started_at.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string();
            let seconds = (r.finished_at - r.started_at).as_secs_f64();
            [
                r.id.to_string(),
                r.source.to_string(),
                start,
                format!("{} s", es_mx::decimal(seconds, 1)),
                es_mx::integer(r.bytes as i64),
                es_mx::integer(r.rows as i64),
                format!("{}{}", r.result.label(), if r.forced { " (forzado)" } else { "" }),
                r.data_date.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                r.version.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> =
            cells.iter().zip(widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header.map(String::from));
    for (row, run) in rows.iter().zip(runs) {
        out.push_str(&line(row));
        if let Some(error) = &run.error {
            out.push_str(&format!("    {error}\n"));
        }
        for warning in &run.warnings {
            out.push_str(&format!("    {warning}\n"));
        }
    }
    out
}
