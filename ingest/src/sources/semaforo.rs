//! The federal semáforo de riesgo epidémico (docs/formats.md §b.1): one colour per state, effective
//! for a period (a week until late 2020, then two weeks), read from an HTML page.
//!
//! Two ways to find the colour, both set in the configuration so that a changed page is
//! followed by changing `contacto.toml`, not the code:
//! - CONACYT's `semaforo.php`, whose `<script>` sets `NColors['11']='yellow'` (colour names in
//!   Spanish or English): the default, reading the `<script>` elements (`script_selector`);
//! - any page, with `color_selector` (the first element it matches; its text, or the attribute
//!   `color_attribute`).
//!
//! The period comes from `periodo_selector` (its text, in Spanish: "del 12 al 25 de abril de
//! 2021"); without it, the answer is dated by the day the page was read.
//!
//! A page whose structure changed (a selector that matches nothing, a colour that is none of
//! the four, a period that does not read) fails the run naming the selector, as source drift;
//! the last good colour stays.
//!
//! ```toml
//! [sources.semaforo]
//! kind = "semaforo"
//! url = "https://datos.covid-19.conacyt.mx/Semaforo/semaforo.php"
//! schedule = "0 0 20 * * 5"              # Fridays 20:00, after the announcement
//! periodo_selector = "#vigencia"
//! # color_selector = "#estado-11 .color"  # for a page without the script
//! ```
//!
//! The state read is the deployment's (`state_code` at the top of the configuration).
//!
//! The semáforo answer also shows the state's own semáforo (`estatal`, a source of kind
//! `semaforo_estatal`), read from its last good record.

use std::collections::BTreeMap;

use jiff::civil::Date;
use schemas::{Answer, AnswerKey, SourceName, es_mx, normalize::normalize};
use scraper::{Html, Selector};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::maintainer;
use super::semaforo_answer::{answer, companion};
use super::semaforo_color::{COLORS, Color, color_change};
use super::semaforo_records::{EstatalRecord, SemaforoDataset};
use crate::configured_sources::ConfiguredSources;
use crate::drafts::Change;
use crate::error::{ConfigError, RenderError, SourceError};
use crate::fetch::Body;
use crate::progress::SharedProgress;
use crate::render::{Common, Renderer};
use crate::source::{Parsed, SourceKind};

pub const KIND: &str = "semaforo";

/// Options of `[sources.NAME]` for `kind = "semaforo"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemaforoConfig {
    /// Left out: the deployment's state (`state_code` at the top of the configuration), whose
    /// colour is read (`NColors['11']`). Given, it must be that same state.
    pub state_code: Option<u8>,
    /// CSS selector of the element whose text (or `color_attribute`) is the colour. Empty:
    /// the CONACYT script form.
    pub color_selector: String,
    /// Read the colour from this attribute of `color_selector`'s element instead of its text.
    pub color_attribute: String,
    /// CSS selector of the `<script>` elements that hold `NColors[…]`.
    pub script_selector: String,
    /// CSS selector of the element whose text states the period. Empty: no period.
    pub periodo_selector: String,
    /// The source holding the state's own semáforo, shown in the same answer. Empty: none.
    pub estatal: String,
    /// The time zone of the day the page was read.
    pub timezone: String,
    /// How every answer names the source.
    pub attribution: String,
}

impl Default for SemaforoConfig {
    fn default() -> Self {
        SemaforoConfig {
            state_code: None,
            color_selector: String::new(),
            color_attribute: String::new(),
            script_selector: "script".into(),
            periodo_selector: String::new(),
            estatal: "semaforo_estatal".into(),
            timezone: "America/Mexico_City".into(),
            attribution: "Secretaría de Salud federal, semáforo de riesgo epidémico".into(),
        }
    }
}

pub struct Semaforo {
    pub config: SemaforoConfig,
    /// The state whose colour is read: the deployment's.
    state_code: u8,
    color: Option<Selector>,
    script: Selector,
    periodo: Option<Selector>,
    timezone: jiff::tz::TimeZone,
}

/// A selector from the configuration, or the field that holds a bad one.
fn selector(source: &SourceName, field: &str, css: &str) -> Result<Option<Selector>, ConfigError> {
    if css.trim().is_empty() {
        return Ok(None);
    }
    Selector::parse(css).map(Some).map_err(|e| ConfigError {
        name: source.to_string(),
        field: field.into(),
        message: format!("«{css}» no es un selector CSS válido: {e}"),
    })
}

impl SourceKind for Semaforo {
    type Dataset = SemaforoDataset;

    fn from_options(
        source: &SourceName,
        options: &BTreeMap<String, serde_json::Value>,
        _configured: &ConfiguredSources,
    ) -> Result<Self, ConfigError> {
        let config: SemaforoConfig = crate::source::options(source, options)?;
        let field =
            |field: &str, message: String| ConfigError { name: source.to_string(), field: field.into(), message };
        let state_code = crate::source::state_code(source, config.state_code)?;
        let color = selector(source, "color_selector", &config.color_selector)?;
        let script = selector(source, "script_selector", &config.script_selector)?
            .ok_or_else(|| field("script_selector", "no puede estar vacío".into()))?;
        let periodo = selector(source, "periodo_selector", &config.periodo_selector)?;
        let timezone = jiff::tz::TimeZone::get(&config.timezone)
            .map_err(|_| field("timezone", format!("«{}» no es una zona horaria IANA", config.timezone)))?;
        maintainer::check_attribution(source, &config.attribution)?;
        Ok(Semaforo { config, state_code, color, script, periodo, timezone })
    }

    fn attribution(&self) -> &str {
        &self.config.attribution
    }

    fn recognises(_file_name: &str, head: &[u8]) -> bool {
        String::from_utf8_lossy(head).contains("NColors[")
    }

    fn companions(&self) -> Vec<SourceName> {
        self.config.estatal.parse().into_iter().collect()
    }

    fn parse(&self, body: &Body, _progress: &SharedProgress) -> Result<Parsed<SemaforoDataset>, SourceError> {
        let bytes = body.bytes()?;
        let checksum = body.checksum.clone().unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
        let (text, warnings) = maintainer::decode(&body.name, &bytes);
        let page = Html::parse_document(&text);
        let drift = |message: String| SourceError::Drift(format!("{}: la página cambió: {message}", body.name));
        let color = match &self.color {
            Some(sel) => {
                let css = &self.config.color_selector;
                let element = page
                    .select(sel)
                    .next()
                    .ok_or_else(|| drift(format!("el selector «{css}» (color_selector) no encontró nada")))?;
                let raw = if self.config.color_attribute.is_empty() {
                    element.text().collect::<String>()
                } else {
                    element.value().attr(&self.config.color_attribute).unwrap_or_default().to_owned()
                };
                Color::parse(&raw).ok_or_else(|| {
                    drift(format!(
                        "el selector «{css}» (color_selector) dio «{}», que no es un color del semáforo ({COLORS})",
                        raw.trim()
                    ))
                })?
            }
            None => {
                let css = &self.config.script_selector;
                let key = format!("{:02}", self.state_code);
                let raw = page
                    .select(&self.script)
                    .find_map(|s| ncolor(&s.text().collect::<String>(), &key))
                    .ok_or_else(|| {
                        drift(format!("ningún elemento del selector «{css}» (script_selector) asigna NColors['{key}']"))
                    })?;
                Color::parse(&raw).ok_or_else(|| {
                    drift(format!("NColors['{key}'] en «{css}» (script_selector) es «{raw}», que no es un color del semáforo ({COLORS})"))
                })?
            }
        };
        let (desde, hasta) = match &self.periodo {
            None => (None, None),
            Some(sel) => {
                let css = &self.config.periodo_selector;
                let element = page
                    .select(sel)
                    .next()
                    .ok_or_else(|| drift(format!("el selector «{css}» (periodo_selector) no encontró nada")))?;
                let raw = element.text().collect::<String>();
                let (d, h) = period(&raw).ok_or_else(|| {
                    drift(format!(
                        "el texto «{}» del selector «{css}» (periodo_selector) no dice un periodo como «del 12 al 25 de abril de 2021»",
                        raw.split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                })?;
                (Some(d), Some(h))
            }
        };
        let consultado = jiff::Timestamp::now().to_zoned_datetime(self.timezone.clone()).date();
        let dataset = SemaforoDataset {
            state_code: self.state_code,
            color,
            desde,
            hasta,
            consultado,
            fuente: self.config.attribution.clone(),
        };
        Ok(Parsed { dataset, rows: 1, checksum, warnings })
    }

    fn implausibilities(&self, _last_good: &SemaforoDataset, _new: &SemaforoDataset) -> Vec<String> {
        // Any colour may follow any other; a period going back is the pipeline's check.
        Vec::new()
    }

    const REPORTS_CHANGES: bool = true;

    fn changes(&self, previous: &SemaforoDataset, new: &SemaforoDataset) -> Vec<Change> {
        color_change("el semáforo federal de riesgo epidémico", previous.color, new.color, new.desde)
    }

    fn render(
        &self,
        dataset: &SemaforoDataset,
        renderer: &Renderer,
        common: &Common,
    ) -> Result<Vec<(AnswerKey, Answer)>, RenderError> {
        let estatal: Option<EstatalRecord> = companion(common, &self.config.estatal);
        answer(Some(dataset), estatal.as_ref(), renderer, common)
    }
}

/// The value of `NColors['key']='…'` (either quote, spaces allowed) in a script.
fn ncolor(script: &str, key: &str) -> Option<String> {
    let mut rest = script;
    while let Some(i) = rest.find("NColors[") {
        rest = &rest[i + "NColors[".len()..];
        let unquote = |s: &str| -> Option<(String, usize)> {
            let s2 = s.trim_start();
            let skipped = s.len() - s2.len();
            let q = s2.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let end = s2[1..].find(q)?;
            Some((s2[1..1 + end].to_owned(), skipped + end + 2))
        };
        let Some((k, used)) = unquote(rest) else { continue };
        if k != key {
            continue;
        }
        let after = rest[used..].trim_start().strip_prefix(']')?.trim_start().strip_prefix('=')?;
        return unquote(after).map(|(v, _)| v);
    }
    None
}

/// "del 12 al 25 de abril de 2021", "del 28 de septiembre al 11 de octubre de 2020",
/// "del 28 de diciembre de 2020 al 10 de enero de 2021" → the first and last day.
pub fn period(text: &str) -> Option<(Date, Date)> {
    #[derive(Clone, Copy)]
    enum Tok {
        N(i16),
        M(i8),
    }
    let normalized = normalize(text);
    let toks: Vec<Tok> = normalized
        .split(' ')
        .filter_map(|w| w.parse::<i16>().ok().map(Tok::N).or_else(|| es_mx::month_from_name(w).map(Tok::M)))
        .collect();
    let ymd = |y: i16, m: i8, d: i16| Date::new(y, m, i8::try_from(d).ok()?).ok();
    let (from, to) = match toks[..] {
        [Tok::N(d1), Tok::N(d2), Tok::M(m), Tok::N(y)] => (ymd(y, m, d1)?, ymd(y, m, d2)?),
        [Tok::N(d1), Tok::M(m1), Tok::N(d2), Tok::M(m2), Tok::N(y)] => (ymd(y, m1, d1)?, ymd(y, m2, d2)?),
        [Tok::N(d1), Tok::M(m1), Tok::N(y1), Tok::N(d2), Tok::M(m2), Tok::N(y2)] => {
            (ymd(y1, m1, d1)?, ymd(y2, m2, d2)?)
        }
        _ => return None,
    };
    (from <= to).then_some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::semaforo_records::periodo;
    use jiff::civil::date;

    #[test]
    fn periods_read_in_every_spanish_form() {
        assert_eq!(period("Del 12 al 25 de abril de 2021"), Some((date(2021, 4, 12), date(2021, 4, 25))));
        assert_eq!(
            period("semáforo del 28 de septiembre al 11 de octubre de 2020"),
            Some((date(2020, 9, 28), date(2020, 10, 11)))
        );
        assert_eq!(
            period("del 28 de diciembre de 2020 al 10 de enero de 2021"),
            Some((date(2020, 12, 28), date(2021, 1, 10)))
        );
        assert_eq!(period("Semáforo de riesgo"), None);
        assert_eq!(period("del 25 al 12 de abril de 2021"), None);
        for (d, h) in [
            (date(2021, 4, 12), date(2021, 4, 25)),
            (date(2020, 9, 28), date(2020, 10, 11)),
            (date(2020, 12, 28), date(2021, 1, 10)),
        ] {
            assert_eq!(period(&periodo(d, h)), Some((d, h)), "{}", periodo(d, h));
        }
        assert_eq!(periodo(date(2021, 4, 12), date(2021, 4, 25)), "del 12 al 25 de abril de 2021");
    }

    #[test]
    fn colours_in_spanish_or_english_from_the_script() {
        let js = "var NColors = {}; NColors['09']='red'; NColors[\"11\"] = 'Yellow';\nSColors['11']='#FFC60F';";
        assert_eq!(ncolor(js, "11").as_deref(), Some("Yellow"));
        assert_eq!(Color::parse("Yellow"), Some(Color::Amarillo));
        assert_eq!(Color::parse("NARANJA"), Some(Color::Naranja));
        assert_eq!(Color::parse("morado"), None);
        assert_eq!(ncolor(js, "14"), None);
    }
}
