//! The programme report, for any date range: what the seed programme was judged by.
//!
//! - interactions (answered messages) per day, every day of the range with zeros included, and
//!   in total; the average per day (total ÷ days in the range, one decimal);
//! - unique users over the whole range (the union of the days' HyperLogLogs, not a sum of
//!   days, which would count a citizen once per day);
//! - Conéctate subscribers from the consent ledger's quarter-hour counts: new and left within
//!   the range, and subscribed at the end of its last day (a number change moves a
//!   subscription and counts as neither new nor left);
//! - contents whose sending finished within the range, and the messages the platform accepted
//!   for them (canaries to the staff not included);
//! - replies to citizens that failed for good (after every retry), by reason, so that a wrong
//!   token or a wave of unreachable numbers shows up in the report and not only in the logs;
//! - interactions by topic, named as the published catalogue names them; a topic removed from
//!   the catalogue keeps its counts, under its slug.
//!
//! Days are local days in the programme's time zone (`timezone`). Served as JSON
//! (`GET /admin/report?from=…&to=…`), CSV (`GET /admin/report.csv`) and text (`contacto report
//! DESDE HASTA`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use conectate::{ConectateError, Report};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Unit};
use schemas::{Topic, es_mx};
use serde::Serialize;
use store::{Store, StoreError};

use crate::error::{ApiError, Params};
use crate::{Ops, Routes};

/// The longest range one report covers (ten years of days).
pub const MAX_DAYS: i64 = 3_660;

/// One day of the range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: Date,
    pub interactions: u64,
    pub unique_users: u64,
}

/// Conéctate subscribers over the range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Subscribers {
    /// Subscriptions within the range.
    pub new: u64,
    /// Opt-outs within the range (BAJA, buttons, platform signals, the 131050 error).
    pub left: u64,
    /// Subscribed at the end of the range's last day.
    pub total_at_end: u64,
}

/// Contents sent over the range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContentsSent {
    /// Contents whose sending finished within the range.
    pub contents: u64,
    /// Messages the platform accepted for them (text or template).
    pub messages: u64,
    /// Of those, delivered or read according to the statuses.
    pub delivered: u64,
}

/// Interactions with one topic over the range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicCount {
    /// The slug, as the counters keep it.
    pub topic: String,
    /// Its Spanish name in the published catalogue; its slug once the catalogue no longer has it.
    pub label: String,
    pub interactions: u64,
}

/// Replies that failed for good over the range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FailedReplies {
    pub total: u64,
    /// Most frequent first.
    pub by_reason: Vec<FailureReason>,
}

/// One reason replies failed for, as the store counts it and in Spanish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureReason {
    /// The send error's class and the platform's code: `unreachable:131026`, `expired`.
    pub reason: String,
    pub description: String,
    pub count: u64,
}

/// What a failure reason means, for the people who read the report.
pub fn describe_failure(reason: &str) -> String {
    let (class, code) = reason.split_once(':').map_or((reason, None), |(c, n)| (c, Some(n)));
    let what = match class {
        "unreachable" => "el número no está disponible en WhatsApp",
        "needs_template" => "fuera de la ventana de 24 horas del ciudadano",
        "opted_out" => "el ciudadano pidió no recibir mensajes",
        "permanent" => "la plataforma rechazó el mensaje",
        "frozen" => "la cuenta o el número de la institución está bloqueado",
        "config" => "error de configuración (token, número o permisos)",
        "expired" => "no pudo enviarse en 24 horas",
        "unreadable" => "la respuesta guardada no se pudo leer",
        _ => "otro motivo",
    };
    match code {
        Some(code) => format!("{what} (código {code})"),
        None => what.to_owned(),
    }
}

/// The programme report of `from..=to`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammeReport {
    pub from: Date,
    pub to: Date,
    pub days: Vec<Day>,
    pub total_interactions: u64,
    /// Total ÷ days in the range, rounded to one decimal.
    pub average_per_day: f64,
    pub unique_users: u64,
    pub subscribers: Subscribers,
    pub contents_sent: ContentsSent,
    pub failed_replies: FailedReplies,
    /// Interactions by topic over the range: every topic of [`listed_topics`].
    pub topics: Vec<TopicCount>,
}

/// Why there is no report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The range is not usable; `field` is `from` or `to`.
    #[error("{message}")]
    Range { field: &'static str, message: String },
    /// The store's message already says what failed and what to do.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Conectate(#[from] ConectateError),
}

/// `2020-03-23`, the only form accepted: a date people and programs both write unambiguously.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let valid_shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = valid_shape.then(|| text.parse::<Date>().ok()).flatten();
    parsed.ok_or_else(|| format!("«{text}» no es una fecha válida; se espera AAAA-MM-DD, por ejemplo 2020-03-23"))
}

/// The days of `from..=to`, or why the range is not usable.
fn days_in(from: Date, to: Date) -> Result<i64, ReportError> {
    if to < from {
        return Err(ReportError::Range {
            field: "to",
            message: format!("el final ({to}) es anterior al inicio ({from})"),
        });
    }
    let days = from.until((Unit::Day, to)).map(|span| span.get_days() as i64 + 1).unwrap_or(i64::MAX);
    if days > MAX_DAYS {
        return Err(ReportError::Range {
            field: "to",
            message: format!(
                "el periodo tiene {} días; el máximo es {}",
                es_mx::integer(days),
                es_mx::integer(MAX_DAYS)
            ),
        });
    }
    Ok(days)
}

/// One day as the counters and ledgers tell it: what both the programme report and the open
/// data ([`crate::open_data`]) are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountedDay {
    pub date: Date,
    /// Answered messages by topic; topics nobody asked about are absent.
    pub by_topic: BTreeMap<Topic, u64>,
    pub interactions: u64,
    /// The day's HyperLogLog, never above `interactions`.
    pub unique_users: u64,
    /// Conéctate subscribers at the end of the day.
    pub subscribers_at_end: u64,
    /// Contents whose sending finished that day.
    pub contents: u64,
    /// Messages the platform accepted for them.
    pub messages: u64,
}

/// Every day of a range, and the range's subscribers and contents, read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    pub from: Date,
    pub to: Date,
    pub days: Vec<CountedDay>,
    pub subscribers: Subscribers,
    pub contents_sent: ContentsSent,
}

impl Counted {
    pub fn total_interactions(&self) -> u64 {
        self.days.iter().map(|d| d.interactions).sum()
    }
}

/// Distinct users over `from..=to` as published: the union of the days' HyperLogLogs, which
/// can overshoot, bounded by the `interactions` it counts (every user counted wrote at least
/// once). The flag says whether the bound was applied.
pub async fn unique_users(
    store: &dyn Store,
    from: Date,
    to: Date,
    interactions: u64,
) -> Result<(u64, bool), StoreError> {
    let estimate = store.unique_users(from, to).await?;
    Ok((estimate.min(interactions), estimate > interactions))
}

/// The counters, the consent counts and the contents of `from..=to`, days read in `tz`.
pub async fn count(store: &dyn Store, from: Date, to: Date, tz: &TimeZone) -> Result<Counted, ReportError> {
    let count = days_in(from, to)?;
    let recorded = store.interactions(from, to).await?;
    let mut recorded = recorded.into_iter().peekable();
    let (subscribers, subscribed_at_end) = subscribers(store, from, count as usize, to, tz).await?;
    let (contents_sent, contents_by_day) = contents_sent(store, from, count as usize, to, tz).await?;
    let days = from
        .series(1.day())
        .take(count as usize)
        .enumerate()
        .map(|(i, date)| {
            let day = recorded.next_if(|d| d.day == Some(date)).unwrap_or_default();
            let interactions = day.total();
            CountedDay {
                date,
                interactions,
                // A HyperLogLog estimate can exceed the exact count it estimates from; every
                // user counted wrote at least once, so the day's interactions bound it.
                unique_users: day.unique_users.min(interactions),
                by_topic: day.by_topic,
                subscribers_at_end: subscribed_at_end[i],
                contents: contents_by_day[i].0,
                messages: contents_by_day[i].1,
            }
        })
        .collect();
    Ok(Counted { from, to, days, subscribers, contents_sent })
}

/// The topics a report lists, each with its Spanish name: the published catalogue's in its
/// order (the bundled catalogue before any is published), then any topic counted in `days`
/// that the catalogue no longer has, named by its slug, so a removed topic keeps its history.
pub async fn listed_topics(store: &dyn Store, days: &[CountedDay]) -> Result<Vec<(Topic, String)>, StoreError> {
    let published = store.current_snapshot().await?;
    let catalogue = ingest::sources::menu::in_force(published.as_ref().map(|s| &s.content.router.topics));
    let mut topics: Vec<Topic> = catalogue.all().collect();
    let removed: std::collections::BTreeSet<Topic> =
        days.iter().flat_map(|d| d.by_topic.keys().copied()).filter(|t| !topics.contains(t)).collect();
    topics.extend(removed);
    Ok(topics.into_iter().map(|t| (t, catalogue.label(t).to_owned())).collect())
}

/// The report of `from..=to`, days read in `tz`.
pub async fn programme(store: &dyn Store, from: Date, to: Date, tz: &TimeZone) -> Result<ProgrammeReport, ReportError> {
    let counted = count(store, from, to, tz).await?;
    let topics = listed_topics(store, &counted.days)
        .await?
        .into_iter()
        .map(|(topic, label)| TopicCount {
            topic: topic.slug().to_owned(),
            label,
            interactions: counted.days.iter().filter_map(|d| d.by_topic.get(&topic)).sum(),
        })
        .collect();
    let total_interactions = counted.total_interactions();
    let average_per_day = (total_interactions as f64 / counted.days.len() as f64 * 10.0).round() / 10.0;
    Ok(ProgrammeReport {
        from,
        to,
        days: counted
            .days
            .iter()
            .map(|d| Day { date: d.date, interactions: d.interactions, unique_users: d.unique_users })
            .collect(),
        total_interactions,
        average_per_day,
        unique_users: unique_users(store, from, to, total_interactions).await?.0,
        subscribers: counted.subscribers,
        contents_sent: counted.contents_sent,
        failed_replies: failed_replies(store, from, to).await?,
        topics,
    })
}

/// The failures of every day of the range, added up by reason.
async fn failed_replies(store: &dyn Store, from: Date, to: Date) -> Result<FailedReplies, StoreError> {
    let mut by_reason: BTreeMap<String, u64> = Default::default();
    for day in store.failed_replies(from, to).await? {
        for (reason, n) in day.by_reason {
            *by_reason.entry(reason).or_default() += n;
        }
    }
    let mut by_reason: Vec<FailureReason> = by_reason
        .into_iter()
        .map(|(reason, count)| FailureReason { description: describe_failure(&reason), reason, count })
        .collect();
    by_reason.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    Ok(FailedReplies { total: by_reason.iter().map(|r| r.count).sum(), by_reason })
}

/// New, left and subscribed at the end of the range, and subscribed at the end of each of its
/// `days` days, from the consent ledger's quarter-hour counts (never the ledger itself): each
/// quarter falls in one local day in `tz`, and the subscribers at the end of a day are those
/// subscribed now minus the net changes after it.
async fn subscribers(
    store: &dyn Store,
    from: Date,
    days: usize,
    to: Date,
    tz: &TimeZone,
) -> Result<(Subscribers, Vec<u64>), StoreError> {
    // Two days before `from` at midnight UTC: before the start of `from` in any zone.
    let since = TimeZone::UTC
        .to_timestamp(from.at(0, 0, 0, 0))
        .ok()
        .and_then(|start| start.checked_sub(48.hours()).ok())
        .unwrap_or(Timestamp::MIN);
    let counts = store.consent_counts(since).await?;
    // Subscriptions minus opt-outs on each day of the range, then after it.
    let mut change = vec![0i64; days];
    let mut after = 0i64;
    let mut out = Subscribers::default();
    for quarter in &counts.quarters {
        let day = tz.to_datetime(quarter.start).date();
        if day > to {
            after += quarter.net;
            continue;
        }
        let Some(i) = day_index(from, day) else { continue };
        out.new += quarter.new;
        out.left += quarter.left;
        change[i] += quarter.net;
    }
    let mut running = counts.subscribers as i64 - after;
    let mut at_end = vec![0; days];
    for (i, step) in change.iter().enumerate().rev() {
        at_end[i] = running.max(0) as u64;
        running -= step;
    }
    out.total_at_end = at_end.last().copied().unwrap_or(0);
    Ok((out, at_end))
}

/// The position of `day` in a range starting on `from`; `None` before it.
fn day_index(from: Date, day: Date) -> Option<usize> {
    let days = from.until((Unit::Day, day)).ok()?.get_days();
    usize::try_from(days).ok()
}

/// Contents finished within the range and their messages, from their delivery reports; in
/// total and for each of its `days` days (contents, messages).
async fn contents_sent(
    store: &dyn Store,
    from: Date,
    days: usize,
    to: Date,
    tz: &TimeZone,
) -> Result<(ContentsSent, Vec<(u64, u64)>), ReportError> {
    let mut out = ContentsSent::default();
    let mut by_day = vec![(0, 0); days];
    for content in conectate::contents::read_after(store, 0).await? {
        let Some(finished) = content.finished_at else { continue };
        let day = tz.to_datetime(finished).date();
        let Some(i) = day_index(from, day).filter(|_| content.state == conectate::State::Done && day <= to) else {
            continue;
        };
        let report = Report::new(&content, &store.report_counts(content.id).await?);
        let messages = report.recipients.sent_text + report.recipients.sent_template;
        out.contents += 1;
        out.messages += messages;
        out.delivered += report.messages.delivered_or_read();
        by_day[i].0 += 1;
        by_day[i].1 += messages;
    }
    Ok((out, by_day))
}

impl ProgrammeReport {
    /// One row per day, then the totals; plain numbers (no thousands separators) so a
    /// spreadsheet reads them as numbers.
    pub fn csv(&self) -> String {
        let mut out = String::from("fecha,interacciones,usuarios_unicos\n");
        for d in &self.days {
            let _ = writeln!(out, "{},{},{}", d.date, d.interactions, d.unique_users);
        }
        let _ = writeln!(out, "total,{},{}", self.total_interactions, self.unique_users);
        let _ = writeln!(out, "promedio_por_dia,{:.1},", self.average_per_day);
        let s = &self.subscribers;
        let _ = writeln!(out, "suscriptores_nuevos,{},", s.new);
        let _ = writeln!(out, "suscriptores_bajas,{},", s.left);
        let _ = writeln!(out, "suscriptores_al_final,{},", s.total_at_end);
        let c = &self.contents_sent;
        let _ = writeln!(out, "contenidos_enviados,{},", c.contents);
        let _ = writeln!(out, "mensajes_enviados,{},", c.messages);
        let _ = writeln!(out, "mensajes_entregados,{},", c.delivered);
        let _ = writeln!(out, "respuestas_no_entregadas,{},", self.failed_replies.total);
        for r in &self.failed_replies.by_reason {
            let _ = writeln!(out, "respuestas_no_entregadas:{},{},", r.reason, r.count);
        }
        out
    }

    /// The report as ops and the communications team read it (`contacto report`).
    pub fn render(&self) -> String {
        let int = |n: u64| es_mx::integer(n as i64);
        let days = self.days.len() as u64;
        let s = &self.subscribers;
        let c = &self.contents_sent;
        let mut out = format!(
            "Reporte del programa del {} al {} ({} {})\n\n",
            es_mx::long_date(self.from),
            es_mx::long_date(self.to),
            int(days),
            if days == 1 { "día" } else { "días" }
        );
        let _ = writeln!(out, "Interacciones:           {}", int(self.total_interactions));
        let _ = writeln!(out, "Promedio por día:        {}", es_mx::decimal(self.average_per_day, 1));
        let _ = writeln!(out, "Usuarios únicos:         {}", int(self.unique_users));
        let _ = writeln!(out, "Suscriptores de Conéctate: {} al final del periodo", int(s.total_at_end));
        let _ = writeln!(out, "  altas:                 {}", int(s.new));
        let _ = writeln!(out, "  bajas:                 {}", int(s.left));
        let _ = writeln!(out, "Contenidos enviados:     {}", int(c.contents));
        let _ = writeln!(out, "  mensajes enviados:     {}", int(c.messages));
        let _ = writeln!(out, "  entregados o leídos:   {}", int(c.delivered));
        let _ = writeln!(out, "Respuestas no entregadas: {}", int(self.failed_replies.total));
        for r in &self.failed_replies.by_reason {
            let _ = writeln!(out, "  {}: {}", r.description, int(r.count));
        }
        let asked: Vec<&TopicCount> = self.topics.iter().filter(|t| t.interactions > 0).collect();
        if !asked.is_empty() {
            let _ = writeln!(out, "Interacciones por tema:");
            for t in asked {
                let _ = writeln!(out, "  {}: {}", t.label, int(t.interactions));
            }
        }
        if let Some(busiest) =
            self.days.iter().filter(|d| d.interactions > 0).max_by_key(|d| (d.interactions, std::cmp::Reverse(d.date)))
        {
            let _ = writeln!(
                out,
                "Día con más interacciones: {} ({})",
                es_mx::long_date(busiest.date),
                int(busiest.interactions)
            );
        }
        out
    }
}

pub fn routes(ops: Ops) -> Routes {
    Routes::default().get("/report", json).get("/report.csv", csv).with_state(ops)
}

/// The report of the range a request asks for.
async fn requested(ops: &Ops, params: Params) -> Result<ProgrammeReport, ApiError> {
    let params = params.only(&["from", "to"])?;
    let date = |name: &'static str| match params.text(name) {
        None => Err(ApiError::bad_parameter(name, "falta; se espera una fecha AAAA-MM-DD, por ejemplo 2020-03-23")),
        Some(text) => parse_date(text).map_err(|message| ApiError::bad_parameter(name, message)),
    };
    let (from, to) = (date("from")?, date("to")?);
    programme(&*ops.store, from, to, &ops.timezone).await.map_err(|e| match e {
        ReportError::Range { field, message } => ApiError::bad_parameter(field, message),
        ReportError::Store(error) => ApiError::store(error),
        ReportError::Conectate(error) => error.into(),
    })
}

async fn json(State(ops): State<Ops>, params: Params) -> Result<Json<ProgrammeReport>, ApiError> {
    Ok(Json(requested(&ops, params).await?))
}

async fn csv(State(ops): State<Ops>, params: Params) -> Result<Response, ApiError> {
    let report = requested(&ops, params).await?;
    let disposition = format!("attachment; filename=\"reporte_{}_{}.csv\"", report.from, report.to);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        report.csv(),
    )
        .into_response())
}
