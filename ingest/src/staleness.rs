//! Answers older than their source's cadence, and why: what `contacto runs --stale` lists.
//!
//! A source's answers are as old as their data date: data of day D are current until the end
//! of D, and stale once `cadence_hours` have passed since (in the schedules' time zone). The
//! reason comes from the source's last run: it failed, its data wait in quarantine, the source
//! has not changed, the source published but its data are old (late), or nothing has run it
//! within the cadence (is the scheduler running?).

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use schemas::{IngestRun, RunFilter, RunResult, SourceName, Topic, es_mx};
use settings::SourceSettings;
use store::{Store, StoreError};

/// A source whose answers are stale.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub source: SourceName,
    /// The topics of its answers in the current snapshot, in the catalogue's order, and how
    /// many answers.
    pub topics: Vec<Topic>,
    pub answers: usize,
    /// `None`: nothing of it was ever published.
    pub data_date: Option<Date>,
    /// Hours since the end of the data date.
    pub age_hours: Option<i64>,
    pub cadence_hours: u32,
    pub why: Why,
}

/// Why a source's answers are old.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// No run of it was ever recorded.
    NeverRun,
    /// No run within the cadence: the scheduler is not running it.
    NotRunning { last: Timestamp },
    /// The last run failed or was rejected.
    LastRunFailed { run: u64, at: Timestamp, error: String, drift: bool },
    /// The last run's data wait for a maintainer.
    Quarantined { run: u64, at: Timestamp, reasons: String },
    /// The last run found the source unchanged.
    Unchanged { run: u64, at: Timestamp },
    /// The last run published, but what the source publishes is this old.
    SourceLate { run: u64, at: Timestamp },
}

impl Why {
    fn of(last: Option<&IngestRun>, now: Timestamp, cadence_hours: u32) -> Why {
        let Some(r) = last else { return Why::NeverRun };
        let (run, at) = (r.id, r.finished_at);
        if now.duration_since(at).as_secs() > i64::from(cadence_hours) * 3600 {
            return Why::NotRunning { last: at };
        }
        let error = r.error.clone().unwrap_or_default();
        match r.result {
            RunResult::Failed | RunResult::Rejected => Why::LastRunFailed { run, at, error, drift: r.source_drift },
            RunResult::Quarantined => Why::Quarantined { run, at, reasons: error },
            RunResult::Unchanged => Why::Unchanged { run, at },
            RunResult::Published => Why::SourceLate { run, at },
        }
    }

    /// The run it refers to, in words, in `tz`.
    fn when(run: u64, at: &Timestamp, tz: &TimeZone) -> String {
        format!("corrida #{run}, {}", es_mx::date_time(tz.to_datetime(*at)))
    }

    /// In Spanish, for ops.
    pub fn describe(&self, source: &SourceName, tz: &TimeZone) -> String {
        match self {
            Why::NeverRun => "nunca ha corrido: ¿está configurada y corriendo `contacto ingest`?".into(),
            Why::NotRunning { last } => format!(
                "no ha corrido desde el {}: revisa que `contacto ingest` (o `contacto run`) esté corriendo",
                es_mx::date_time(tz.to_datetime(*last))
            ),
            Why::LastRunFailed { run, at, error, drift } => format!(
                "la última corrida falló ({}){}: {error}",
                Why::when(*run, at, tz),
                if *drift { "; la fuente cambió de estructura" } else { "" }
            ),
            Why::Quarantined { run, at, reasons } => format!(
                "los datos nuevos están en cuarentena ({}) hasta que alguien los revise y corra `contacto ingest --force {source}`: {reasons}",
                Why::when(*run, at, tz)
            ),
            Why::Unchanged { run, at } => {
                format!(
                    "la fuente no ha cambiado ({}): quien la publica no ha subido datos nuevos",
                    Why::when(*run, at, tz)
                )
            }
            Why::SourceLate { run, at } => format!(
                "la fuente publica con retraso: la última corrida ({}) trajo datos, pero ya eran así de viejos",
                Why::when(*run, at, tz)
            ),
        }
    }
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topics: Vec<&str> = self.topics.iter().map(|t| t.slug()).collect();
        let (Some(date), Some(age)) = (self.data_date, self.age_hours) else {
            return write!(f, "{}: sin respuestas publicadas", self.source);
        };
        let answers = match self.answers {
            // Its part is shown in an answer another source published last (the semáforo).
            0 => "datos".to_owned(),
            1 => format!("1 respuesta ({}) con datos", topics.join(", ")),
            n => format!("{} respuestas ({}) con datos", es_mx::integer(n as i64), topics.join(", ")),
        };
        write!(
            f,
            "{}: {answers} al {}, hace {}; se esperan datos nuevos {}",
            self.source,
            es_mx::long_date(date),
            age_words(age),
            es_mx::every_hours(self.cadence_hours)
        )
    }
}

impl Stale {
    /// Why, for a place that already names the source (the console's table of sources):
    /// "datos de hace 2,416 días, se esperan cada 24 h: la fuente publica con retraso …".
    pub fn why_short(&self, tz: &TimeZone) -> String {
        let why = self.why.describe(&self.source, tz);
        match self.age_hours {
            Some(age) => {
                format!(
                    "datos de hace {}, se esperan {}: {why}",
                    age_words(age),
                    es_mx::every_hours(self.cadence_hours)
                )
            }
            None => format!("sin respuestas publicadas: {why}"),
        }
    }
}

/// `36 h` or `3 días`.
fn age_words(hours: i64) -> String {
    if hours < 48 { format!("{hours} h") } else { format!("{} días", es_mx::integer(hours / 24)) }
}

/// The configured sources whose answers are stale at `now`, in name order.
pub async fn stale(
    store: &dyn Store,
    sources: &BTreeMap<SourceName, SourceSettings>,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Vec<Stale>, StoreError> {
    let snapshot = store.current_snapshot().await?;
    let catalogue = snapshot.as_ref().map(|s| &s.content.router.topics);
    let order = |t: &Topic| (catalogue.and_then(|c| c.all().position(|x| x == *t)).unwrap_or(usize::MAX), t.slug());
    let mut out = Vec::new();
    for (name, settings) in sources {
        let provenance = snapshot.as_ref().and_then(|s| s.content.provenance.get(name));
        let owned: Vec<Topic> = snapshot
            .iter()
            .flat_map(|s| s.content.answers.iter())
            .filter(|(_, a)| &a.source == name)
            .map(|(k, _)| k.topic)
            .collect();
        let age_hours = match provenance {
            Some(p) => {
                let end_of_day =
                    p.data_date.saturating_add(1.day()).to_zoned_datetime(tz.clone()).map(|z| z.timestamp());
                let Ok(end_of_day) = end_of_day else { continue };
                let age = now.duration_since(end_of_day).as_secs() / 3600;
                if age <= i64::from(settings.cadence_hours) {
                    continue;
                }
                Some(age.max(0))
            }
            None => None,
        };
        let last = store.runs(&RunFilter { source: Some(name.clone()), result: None, limit: 1 }).await?;
        let mut topics = owned.clone();
        topics.sort_by_key(order);
        topics.dedup();
        out.push(Stale {
            source: name.clone(),
            answers: owned.len(),
            topics,
            data_date: provenance.map(|p| p.data_date),
            age_hours,
            cadence_hours: settings.cadence_hours,
            why: Why::of(last.first(), now, settings.cadence_hours),
        });
    }
    Ok(out)
}
