//! A content of the communications team and its lifecycle:
//!
//! ```text
//! draft ──canary──► canary ──schedule──► scheduled ──(its time)──► sending ──► done
//!   │                 │  ▲ (again)          │
//!   └────────────┬────┴──┘                  │
//!                └──────── cancel ──────────┴──► cancelled   (only before sending starts)
//! ```
//!
//! A draft (or a content whose canary went out) can be edited; an edit after a canary takes it
//! back to a draft, since the staff saw another text. Cancelling a draft discards it.
//! A content ingest prepared from the data carries its [`Origin`]: why it exists and which
//! publish caused it.
//!
//! Scheduling needs the canary first unless `conectate.require_canary` is off. The rules are
//! methods here, on the record; [`crate::Contents`] applies them with compare-and-set, so a
//! sender starting a content and an operator cancelling it never both win.

use channels::Template;
use jiff::Timestamp;
use schemas::{ChannelKind, MunicipioId, SnapshotVersion, TemplateCategory};
use serde::{Deserialize, Serialize};

use crate::error::ConectateError;
use crate::state::State;

/// An approved Meta template and its body parameters (`{{1}}`, `{{2}}`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaTemplate {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// A Twilio Content API template (`HX…`) and its variables (`1`, `2`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioTemplate {
    pub content_sid: String,
    #[serde(default)]
    pub variables: Vec<String>,
}

/// What the communications team writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// A name for the team (never sent).
    pub title: String,
    /// The message, sent as is inside the 24-hour window.
    pub text: String,
    /// A link added at the end of the text; WhatsApp shows its preview.
    #[serde(default)]
    pub link: Option<String>,
    /// An image sent with the text as its caption.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The approved template for citizens outside the window (else `conectate.default_template`).
    #[serde(default)]
    pub template: Option<MetaTemplate>,
    /// The same for Twilio (else `conectate.default_content_sid`).
    #[serde(default)]
    pub twilio: Option<TwilioTemplate>,
    /// Only subscribers who named one of these municipios; empty: every subscriber.
    #[serde(default)]
    pub municipios: Vec<MunicipioId>,
}

/// Why the system prepared a content from the data (`ingest::drafts`), as the team sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// One system draft per key: the change, source, subject, target and day.
    pub key: String,
    /// Why it exists, in Spanish.
    pub reason: String,
    /// The source whose publish caused it.
    pub source: String,
    /// The ingest run that published.
    pub run: u64,
    /// The snapshot version that run published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SnapshotVersion>,
    /// The value before the day's first change, for the day's later updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// The canary rounds a content had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    pub round: u32,
    pub at: Timestamp,
    pub recipients: u32,
}

/// A content and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub id: u64,
    #[serde(flatten)]
    pub draft: Draft,
    pub state: State,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// Deliveries put in the broadcast queue, once the fan-out is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
    /// Set when the system prepared it from the data; none for what the team wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// When the team last edited it (the system no longer rewrites a draft the team edited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// The stored revision it was read at (compare-and-set); not part of the record.
    #[serde(skip)]
    pub revision: u64,
}

/// WhatsApp's limit on a text message and on a media caption.
pub const TEXT_MAX: usize = 4096;
pub const CAPTION_MAX: usize = 1024;

fn invalid(field: &'static str, message: impl Into<String>) -> ConectateError {
    ConectateError::Invalid { field, message: message.into() }
}

fn check_url(field: &'static str, url: &str) -> Result<(), ConectateError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !url.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(invalid(field, format!("«{url}» no es una dirección http(s)://…"))),
    }
}

/// Meta refuses template parameters with line breaks, tabs or more than four spaces in a row
/// (error 132018), so they are checked before anything is sent.
fn check_parameter(field: &'static str, value: &str) -> Result<(), ConectateError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "un parámetro de la plantilla no puede estar vacío"));
    }
    if value.contains(['\n', '\r', '\t']) || value.contains("     ") {
        return Err(invalid(
            field,
            "los parámetros de una plantilla no llevan saltos de línea, tabuladores ni más de 4 espacios seguidos",
        ));
    }
    if value.chars().count() > CAPTION_MAX {
        let max = schemas::es_mx::integer(CAPTION_MAX as i64);
        return Err(invalid(field, format!("un parámetro tiene más de {max} caracteres")));
    }
    Ok(())
}

impl Draft {
    /// The approved template this content names of its own for `channel`, as the channel
    /// sends it: `template` is Meta's and `twilio` Twilio's (their fields in the admin API and
    /// in stored contents). Any other channel has none here and goes as its default.
    pub fn own_template(&self, channel: ChannelKind) -> Option<Template> {
        let category = TemplateCategory::Marketing;
        if channel == channels::meta::KIND {
            self.template.as_ref().map(|t| Template {
                name: t.name.clone(),
                language: t.language.clone(),
                parameters: t.parameters.clone(),
                category,
            })
        } else if channel == channels::twilio::KIND {
            self.twilio.as_ref().map(|t| Template {
                name: t.content_sid.clone(),
                language: String::new(),
                parameters: t.variables.clone(),
                category,
            })
        } else {
            None
        }
    }

    /// Checks everything WhatsApp would refuse later, naming the field.
    pub fn validate(&self) -> Result<(), ConectateError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 120 {
            return Err(invalid("title", "el título es obligatorio y de hasta 120 caracteres"));
        }
        if self.text.trim().is_empty() {
            return Err(invalid("text", "el texto es obligatorio"));
        }
        if let Some(link) = &self.link {
            check_url("link", link)?;
        }
        if let Some(image) = &self.image_url {
            check_url("image_url", image)?;
        }
        let (max, what) = if self.image_url.is_some() { (CAPTION_MAX, "con imagen") } else { (TEXT_MAX, "") };
        let length = self.message_text().chars().count();
        if length > max {
            return Err(invalid(
                "text",
                format!(
                    "el texto{} tiene {} caracteres y WhatsApp acepta {}",
                    if what.is_empty() { String::new() } else { format!(" {what}") },
                    schemas::es_mx::integer(length as i64),
                    schemas::es_mx::integer(max as i64)
                ),
            ));
        }
        if let Some(t) = &self.template {
            let name_ok =
                !t.name.is_empty() && t.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok {
                return Err(invalid(
                    "template.name",
                    format!("«{}» no es un nombre de plantilla (minúsculas, dígitos y _)", t.name),
                ));
            }
            if !valid_language(&t.language) {
                return Err(invalid(
                    "template.language",
                    format!("«{}» no es un código de idioma como es_MX", t.language),
                ));
            }
            for p in &t.parameters {
                check_parameter("template.parameters", p)?;
            }
        }
        if let Some(t) = &self.twilio {
            let sid_ok = t.content_sid.len() == 34
                && t.content_sid.starts_with("HX")
                && t.content_sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
            if !sid_ok {
                return Err(invalid(
                    "twilio.content_sid",
                    format!("«{}» no es un ContentSid de Twilio (HX y 32 hexadecimales)", t.content_sid),
                ));
            }
            for v in &t.variables {
                check_parameter("twilio.variables", v)?;
            }
        }
        Ok(())
    }

    /// The free-form text as sent: the text, then the link on a line of its own.
    pub fn message_text(&self) -> String {
        match &self.link {
            Some(link) => format!("{}\n\n{link}", self.text.trim_end()),
            None => self.text.clone(),
        }
    }
}

/// A time as the team writes it: RFC 3339 with its offset (`2021-05-27T10:00:00-05:00`), or a
/// date and time on the team's calendar (`2021-05-27 10:00`, `2021-05-27T10:00`).
pub fn parse_time(text: &str, tz: &jiff::tz::TimeZone) -> Result<Timestamp, ConectateError> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    text.replace(' ', "T").parse::<jiff::civil::DateTime>().ok().and_then(|dt| tz.to_timestamp(dt).ok()).ok_or_else(
        || invalid("at", format!("«{text}» no es una fecha y hora: usa 2021-05-27 10:00 o 2021-05-27T10:00:00-06:00")),
    )
}

/// `es_MX`, `es`, `en_US`.
pub fn valid_language(code: &str) -> bool {
    let (lang, region) = code.split_once('_').map_or((code, None), |(l, r)| (l, Some(r)));
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    lang_ok && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

impl Content {
    pub fn new(id: u64, draft: Draft, now: Timestamp) -> Content {
        Content {
            id,
            draft,
            state: State::Draft,
            created_at: now,
            canary: None,
            scheduled_for: None,
            started_at: None,
            deliveries: None,
            finished_at: None,
            cancelled_at: None,
            origin: None,
            edited_at: None,
            revision: 0,
        }
    }

    /// Replaces what the team wrote, only before it is scheduled; after a canary it becomes a
    /// draft again, so the next canary shows the staff the new text.
    pub fn edit(&mut self, draft: Draft, now: Timestamp) -> Result<(), ConectateError> {
        if !matches!(self.state, State::Draft | State::Canary) {
            return Err(self.refuse("solo se edita antes de programarlo"));
        }
        draft.validate()?;
        self.draft = draft;
        self.state = State::Draft;
        self.edited_at = Some(now);
        Ok(())
    }

    /// Whether the system may still rewrite it: a draft it prepared that nobody touched.
    pub fn is_untouched_system_draft(&self) -> bool {
        self.origin.is_some() && self.state == State::Draft && self.edited_at.is_none()
    }

    fn refuse(&self, what: &'static str) -> ConectateError {
        ConectateError::WrongState { id: self.id, state: self.state, what }
    }

    /// Records a canary round (from a draft, or again after one).
    pub fn start_canary(&mut self, recipients: u32, now: Timestamp) -> Result<u32, ConectateError> {
        if !matches!(self.state, State::Draft | State::Canary) {
            return Err(self.refuse("la prueba solo se envía antes de programarlo"));
        }
        let round = self.canary.as_ref().map_or(1, |c| c.round + 1);
        self.canary = Some(Canary { round, at: now, recipients });
        self.state = State::Canary;
        Ok(round)
    }

    /// Schedules it for `at` (now when `None`).
    pub fn schedule(&mut self, at: Timestamp, require_canary: bool, now: Timestamp) -> Result<(), ConectateError> {
        match self.state {
            State::Canary | State::Scheduled => {}
            State::Draft if !require_canary => {}
            State::Draft => return Err(self.refuse("primero envía la prueba al personal")),
            _ => return Err(self.refuse("ya no se puede programar")),
        }
        // A minute of slack for clocks and typing; a time clearly past is a mistake.
        if at < now - jiff::SignedDuration::from_secs(60) {
            return Err(invalid("at", "la fecha ya pasó"));
        }
        self.scheduled_for = Some(at.max(now));
        self.state = State::Scheduled;
        Ok(())
    }

    /// Cancels it, only before sending starts.
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), ConectateError> {
        match self.state {
            State::Draft | State::Canary | State::Scheduled => {
                self.state = State::Cancelled;
                self.cancelled_at = Some(now);
                Ok(())
            }
            State::Sending | State::Done => Err(self.refuse("ya empezó a enviarse y no se puede cancelar")),
            State::Cancelled => Err(self.refuse("ya estaba cancelado")),
        }
    }

    /// Whether its time has come.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.state == State::Scheduled && self.scheduled_for.is_some_and(|at| at <= now)
    }

    /// Starts sending (only the sender does this).
    pub fn start(&mut self, now: Timestamp) -> Result<(), ConectateError> {
        if !self.is_due(now) {
            return Err(self.refuse("todavía no es su hora"));
        }
        self.state = State::Sending;
        self.started_at = Some(now);
        Ok(())
    }

    /// Whether it goes to a subscriber of `municipio` (`None`: subscribed for the whole state).
    pub fn targets(&self, municipio: Option<MunicipioId>) -> bool {
        self.draft.municipios.is_empty() || municipio.is_some_and(|m| self.draft.municipios.contains(&m))
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a content serialises")
    }

    pub fn decode(bytes: &[u8], revision: u64) -> Result<Content, serde_json::Error> {
        let mut content: Content = serde_json::from_slice(bytes)?;
        content.revision = revision;
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft { title: "Vacunación".into(), text: "Mañana abre el módulo.".into(), ..Draft::default() }
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        assert!(draft().validate().is_ok());
        let field = |d: Draft| match d.validate() {
            Err(ConectateError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Draft { title: " ".into(), ..draft() }), "title");
        assert_eq!(field(Draft { text: "x".repeat(4097), ..draft() }), "text");
        assert_eq!(
            field(Draft { image_url: Some("https://gto.mx/a.jpg".into()), text: "x".repeat(1025), ..draft() }),
            "text"
        );
        assert_eq!(field(Draft { link: Some("guanajuato.gob.mx".into()), ..draft() }), "link");
        let template = |name: &str, language: &str, p: &str| {
            Some(MetaTemplate { name: name.into(), language: language.into(), parameters: vec![p.into()] })
        };
        assert_eq!(field(Draft { template: template("Aviso", "es_MX", "a"), ..draft() }), "template.name");
        assert_eq!(field(Draft { template: template("aviso", "español", "a"), ..draft() }), "template.language");
        assert_eq!(
            field(Draft { template: template("aviso", "es_MX", "dos\nlíneas"), ..draft() }),
            "template.parameters"
        );
        let twilio = Some(TwilioTemplate { content_sid: "HX123".into(), variables: vec![] });
        assert_eq!(field(Draft { twilio, ..draft() }), "twilio.content_sid");
        assert_eq!(
            Draft { link: Some("https://gto.mx".into()), ..draft() }.message_text(),
            "Mañana abre el módulo.\n\nhttps://gto.mx"
        );
    }

    #[test]
    fn the_lifecycle_allows_only_its_steps() {
        let now = Timestamp::now();
        let mut c = Content::new(1, draft(), now);
        assert!(matches!(c.schedule(now, true, now), Err(ConectateError::WrongState { .. })), "canary first");
        assert_eq!(c.start_canary(2, now).unwrap(), 1);
        assert_eq!(c.start_canary(2, now).unwrap(), 2, "a second round");
        assert!(c.schedule(now - jiff::SignedDuration::from_hours(1), true, now).is_err(), "a past time");
        let later = now + jiff::SignedDuration::from_hours(1);
        c.schedule(later, true, now).unwrap();
        assert!(!c.is_due(now) && c.is_due(later));
        assert!(c.start(now).is_err());
        c.start(later).unwrap();
        assert_eq!(c.state, State::Sending);
        assert!(c.cancel(later).is_err(), "sending already started");
        let mut d = Content::new(2, draft(), now);
        d.schedule(now, false, now).unwrap();
        d.cancel(now).unwrap();
        assert_eq!(d.state, State::Cancelled);
        assert!(d.start_canary(1, now).is_err());
    }

    #[test]
    fn an_edit_is_checked_and_takes_a_canaried_content_back_to_a_draft() {
        let now = Timestamp::now();
        let mut c = Content::new(1, draft(), now);
        c.origin = Some(Origin {
            key: "semaforo/semaforo/color/estado/2021-04-12".into(),
            reason: "Lo preparó el sistema".into(),
            source: "semaforo".into(),
            run: 3,
            version: None,
            from: Some("amarillo".into()),
        });
        assert!(c.is_untouched_system_draft());
        c.start_canary(1, now).unwrap();
        assert!(!c.is_untouched_system_draft(), "the team sent its canary");
        assert!(c.edit(Draft { text: " ".into(), ..draft() }, now).is_err(), "an empty text");
        c.edit(Draft { text: "Nuevo texto.".into(), ..draft() }, now).unwrap();
        assert_eq!((c.state, c.draft.text.as_str(), c.edited_at), (State::Draft, "Nuevo texto.", Some(now)));
        assert!(!c.is_untouched_system_draft(), "the team edited it");
        c.schedule(now, false, now).unwrap();
        assert!(matches!(c.edit(draft(), now), Err(ConectateError::WrongState { .. })), "scheduled");
    }

    #[test]
    fn times_are_read_with_an_offset_or_on_the_teams_calendar() {
        let tz = jiff::tz::TimeZone::get("America/Mexico_City").unwrap();
        let expected: Timestamp = "2021-05-27T15:00:00Z".parse().unwrap();
        for text in ["2021-05-27T10:00:00-05:00", "2021-05-27 10:00", "2021-05-27T10:00", " 2021-05-27 10:00:00 "] {
            assert_eq!(parse_time(text, &tz).unwrap(), expected, "{text}");
        }
        assert!(parse_time("mañana", &tz).unwrap_err().to_string().contains("2021-05-27 10:00"));
    }

    #[test]
    fn targeting_by_municipio() {
        let now = Timestamp::now();
        let leon: MunicipioId = 20u16.try_into().unwrap();
        let celaya: MunicipioId = 7u16.try_into().unwrap();
        let everyone = Content::new(1, draft(), now);
        assert!(everyone.targets(None) && everyone.targets(Some(leon)));
        let only_leon = Content::new(2, Draft { municipios: vec![leon], ..draft() }, now);
        assert!(only_leon.targets(Some(leon)));
        assert!(!only_leon.targets(Some(celaya)) && !only_leon.targets(None));
    }
}
