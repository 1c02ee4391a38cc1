//! The figures as published: the counted days of [`crate::report::count`] with the small
//! counts of a day and topic masked, unique users per calendar month, and the totals; written
//! as JSON (its serialisation) and as one tidy CSV table.
//!
//! Masking, unless `publish_small_counts`: a day-topic cell from 1 to `min_count − 1` is
//! published as «<N» (N = `min_count`). Because the day's total is published, a day with a
//! single masked cell would give it away (total minus the others), so the smallest other cell
//! of that day is withheld too: as «<N» when it is under N (zero included, «<N» means «fewer
//! than N»), otherwise as «reservado». Months with 1 to N − 1 unique users are «<N» as well.

use std::fmt::Write as _;

use jiff::civil::Date;
use schemas::Topic;
use serde::{Serialize, Serializer};
use store::{Store, StoreError};

use crate::report::{Counted, listed_topics, unique_users};

/// One published count: a number, or withheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Count(u64),
    /// Fewer than the threshold (`<5`).
    Small(u64),
    /// Withheld so that a masked cell cannot be worked out from the day's total.
    Withheld,
}

impl Cell {
    /// How the CSV and the page write it: `1248`, `<5`, `reservado`.
    pub fn text(self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Small(threshold) => format!("<{threshold}"),
            Cell::Withheld => "reservado".into(),
        }
    }
}

/// JSON: a number, or the string `"<5"` / `"reservado"`.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Count(n) => serializer.serialize_u64(*n),
            other => serializer.serialize_str(&other.text()),
        }
    }
}

fn as_object<S: Serializer>(cells: &[(&'static str, Cell)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(cells.iter().map(|(topic, cell)| (topic, cell)))
}

/// One day.
#[derive(Clone, Debug, Serialize)]
pub struct DayFigures {
    pub fecha: Date,
    /// Every answered message of the day, all topics together (never masked).
    pub interacciones: u64,
    /// By topic slug, every topic of the bot (zeros included), in menu order; a JSON object.
    #[serde(serialize_with = "as_object")]
    pub por_tema: Vec<(&'static str, Cell)>,
    pub suscriptores_al_final: u64,
    pub contenidos_enviados: u64,
    pub mensajes_enviados: u64,
}

/// The unique users of one calendar month, or of its part inside the range.
#[derive(Clone, Debug, Serialize)]
pub struct MonthFigures {
    /// `2020-06`.
    pub mes: String,
    pub desde: Date,
    pub hasta: Date,
    /// The range cuts the month.
    pub parcial: bool,
    pub usuarios_unicos: Cell,
    /// The HyperLogLog's estimate was above the month's interactions and was lowered to them.
    pub acotado: bool,
}

/// A topic of the files: its slug and its Spanish name.
#[derive(Clone, Debug, Serialize)]
pub struct TopicName {
    pub tema: &'static str,
    pub nombre: String,
}

/// Everything published for a range.
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub desde: Date,
    pub hasta: Date,
    /// Counts under this are «<N» (when masking is on).
    pub umbral: u64,
    /// Small counts are published as they are (`open_data.publish_small_counts`).
    pub cifras_pequenas_publicadas: bool,
    pub total_interacciones: u64,
    /// Conéctate subscribers at the end of the range's last day.
    pub suscriptores_al_final: u64,
    pub contenidos_enviados: u64,
    pub mensajes_enviados: u64,
    pub temas: Vec<TopicName>,
    pub dias: Vec<DayFigures>,
    pub usuarios_unicos_por_mes: Vec<MonthFigures>,
}

/// How small counts are published.
#[derive(Clone, Copy, Debug)]
pub struct Masking {
    pub min_count: u64,
    pub publish_small_counts: bool,
}

impl Masking {
    fn cell(self, n: u64) -> Cell {
        if !self.publish_small_counts && (1..self.min_count).contains(&n) {
            Cell::Small(self.min_count)
        } else {
            Cell::Count(n)
        }
    }

    /// A day's topic cells, with the second cell withheld when only one is masked.
    fn day(self, counts: &[u64]) -> Vec<Cell> {
        let mut cells: Vec<Cell> = counts.iter().map(|&n| self.cell(n)).collect();
        if cells.iter().filter(|c| matches!(c, Cell::Small(_))).count() == 1 {
            let smallest =
                (0..counts.len()).filter(|&i| !matches!(cells[i], Cell::Small(_))).min_by_key(|&i| counts[i]);
            if let Some(i) = smallest {
                cells[i] = if counts[i] < self.min_count { Cell::Small(self.min_count) } else { Cell::Withheld };
            }
        }
        cells
    }
}

impl Figures {
    /// The figures of `counted`, with each calendar month's unique users read from the
    /// store's HyperLogLogs. The topics are those of the published catalogue, in its order,
    /// then any topic counted in the range that the catalogue no longer has (its history stays).
    pub async fn new(store: &dyn Store, counted: &Counted, masking: Masking) -> Result<Figures, StoreError> {
        let listed = listed_topics(store, &counted.days).await?;
        let columns: Vec<Topic> = listed.iter().map(|(topic, _)| *topic).collect();
        let dias: Vec<DayFigures> = counted
            .days
            .iter()
            .map(|d| {
                let counts: Vec<u64> = columns.iter().map(|t| d.by_topic.get(t).copied().unwrap_or(0)).collect();
                DayFigures {
                    fecha: d.date,
                    interacciones: d.interactions,
                    por_tema: columns.iter().map(|t| t.slug()).zip(masking.day(&counts)).collect(),
                    suscriptores_al_final: d.subscribers_at_end,
                    contenidos_enviados: d.contents,
                    mensajes_enviados: d.messages,
                }
            })
            .collect();
        let mut months = Vec::new();
        let mut start = counted.from;
        while start <= counted.to {
            let month_end = start.last_of_month();
            let end = month_end.min(counted.to);
            let interactions =
                counted.days.iter().filter(|d| (start..=end).contains(&d.date)).map(|d| d.interactions).sum();
            let (users, clamped) = unique_users(store, start, end, interactions).await?;
            months.push(MonthFigures {
                mes: format!("{:04}-{:02}", start.year(), start.month()),
                desde: start,
                hasta: end,
                parcial: start.day() != 1 || end != month_end,
                usuarios_unicos: masking.cell(users),
                acotado: clamped,
            });
            let Ok(next) = month_end.tomorrow() else { break };
            start = next;
        }
        Ok(Figures {
            desde: counted.from,
            hasta: counted.to,
            umbral: masking.min_count,
            cifras_pequenas_publicadas: masking.publish_small_counts,
            total_interacciones: counted.total_interactions(),
            suscriptores_al_final: counted.subscribers.total_at_end,
            contenidos_enviados: counted.contents_sent.contents,
            mensajes_enviados: counted.contents_sent.messages,
            temas: listed.into_iter().map(|(t, nombre)| TopicName { tema: t.slug(), nombre }).collect(),
            dias,
            usuarios_unicos_por_mes: months,
        })
    }

    /// One tidy table: `desde,hasta,cifra,tema,valor`, one row per figure and period (a day,
    /// a month, the whole range); `tema` is empty for figures of every topic together. Plain
    /// numbers, so a spreadsheet reads them as numbers; masked cells as `<5` or `reservado`.
    pub fn csv(&self) -> String {
        let mut out = String::from("desde,hasta,cifra,tema,valor\n");
        let mut row = |from: Date, to: Date, figure: &str, topic: &str, value: &str| {
            let _ = writeln!(out, "{from},{to},{figure},{topic},{value}");
        };
        for d in &self.dias {
            let day = d.fecha;
            row(day, day, "interacciones", "", &d.interacciones.to_string());
            for (topic, cell) in &d.por_tema {
                row(day, day, "interacciones", topic, &cell.text());
            }
            row(day, day, "suscriptores_al_final", "", &d.suscriptores_al_final.to_string());
            row(day, day, "contenidos_enviados", "", &d.contenidos_enviados.to_string());
            row(day, day, "mensajes_enviados", "", &d.mensajes_enviados.to_string());
        }
        for m in &self.usuarios_unicos_por_mes {
            row(m.desde, m.hasta, "usuarios_unicos", "", &m.usuarios_unicos.text());
        }
        let (from, to) = (self.desde, self.hasta);
        row(from, to, "interacciones", "", &self.total_interacciones.to_string());
        row(from, to, "suscriptores_al_final", "", &self.suscriptores_al_final.to_string());
        row(from, to, "contenidos_enviados", "", &self.contenidos_enviados.to_string());
        row(from, to, "mensajes_enviados", "", &self.mensajes_enviados.to_string());
        out
    }
}
