//! The delivery report of a content: how many subscribers it was for, how many the platform
//! accepted (as free text or as the template), skipped and failed by reason, and what the
//! statuses say of the messages (queued, sent, delivered, read, failed by reason). The canary
//! has its own, smaller report.
//!
//! It is read from the counts the store keeps per label (see `channels::delivery`): each
//! recipient counts once under its outcome, each message once under its most advanced state.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemas::es_mx;
use serde::Serialize;

use crate::content::Content;
use crate::state::State;

/// What the statuses say of the messages, each counted in its most advanced state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Messages {
    /// Accepted by the platform, no status yet.
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    /// Failed, by error code.
    pub failed: BTreeMap<String, u64>,
}

impl Messages {
    pub fn total(&self) -> u64 {
        self.queued + self.sent + self.delivered + self.read + self.failed.values().sum::<u64>()
    }

    /// Delivered, read ones included.
    pub fn delivered_or_read(&self) -> u64 {
        self.delivered + self.read
    }

    fn add(&mut self, state: &str, n: u64) {
        match state {
            "queued" => self.queued += n,
            "sent" => self.sent += n,
            "delivered" => self.delivered += n,
            "read" => self.read += n,
            other => {
                let reason = other.strip_prefix("failed.").unwrap_or(other);
                *self.failed.entry(reason.to_owned()).or_default() += n;
            }
        }
    }
}

/// What became of each recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Recipients {
    /// Accepted by the platform as the free-form text (inside the 24-hour window).
    pub sent_text: u64,
    /// Accepted as the approved template (outside the window; these count for the messaging
    /// limit and are billed).
    pub sent_template: u64,
    /// Not sent, by reason (`unsubscribed`, `unreachable`, `no_template`, `not_served`).
    pub skipped: BTreeMap<String, u64>,
    /// Refused by the platform for good, by error code or class.
    pub failed: BTreeMap<String, u64>,
}

impl Recipients {
    pub fn settled(&self) -> u64 {
        self.sent_text + self.sent_template + self.skipped.values().sum::<u64>() + self.failed.values().sum::<u64>()
    }

    fn add(&mut self, outcome: &str, n: u64) {
        if let Some(form) = outcome.strip_prefix("sent.") {
            match form {
                "template" => self.sent_template += n,
                _ => self.sent_text += n,
            }
        } else if let Some(reason) = outcome.strip_prefix("skipped.") {
            *self.skipped.entry(reason.to_owned()).or_default() += n;
        } else if let Some(reason) = outcome.strip_prefix("failed.") {
            *self.failed.entry(reason.to_owned()).or_default() += n;
        }
    }
}

/// The canary's report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CanaryReport {
    pub round: u32,
    pub staff: u32,
    pub recipients: Recipients,
    pub messages: Messages,
}

/// A content's delivery report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub content: u64,
    pub title: String,
    pub state: State,
    pub scheduled_for: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Subscribers it was for (known once the fan-out is complete).
    pub planned: Option<u64>,
    pub recipients: Recipients,
    /// Deliveries not settled yet (waiting for their turn, a retry or the messaging limit).
    pub pending: Option<u64>,
    /// Free-form messages the platform refused after the fact for a closed window, sent again
    /// as the template.
    pub resent_as_template: u64,
    pub messages: Messages,
    pub canary: Option<CanaryReport>,
}

impl Report {
    pub fn new(content: &Content, counts: &BTreeMap<String, u64>) -> Report {
        let mut recipients = Recipients::default();
        let mut messages = Messages::default();
        let mut resent = Recipients::default();
        let mut canary =
            content.canary.as_ref().map(|c| CanaryReport { round: c.round, staff: c.recipients, ..Default::default() });
        for (label, &n) in counts {
            let (scope, rest) = match label.split_once('.') {
                Some((scope @ ("canary" | "resend"), rest)) => (Some(scope), rest),
                _ => (None, label.as_str()),
            };
            let (kind, rest) = rest.split_once('.').unwrap_or((rest, ""));
            match (scope, kind) {
                (None, "rcpt") => recipients.add(rest, n),
                (None | Some("resend"), "msg") => messages.add(rest, n),
                (Some("resend"), "rcpt") => resent.add(rest, n),
                (Some("canary"), "rcpt") => {
                    if let Some(c) = canary.as_mut() {
                        c.recipients.add(rest, n);
                    }
                }
                (Some("canary"), "msg") => {
                    if let Some(c) = canary.as_mut() {
                        c.messages.add(rest, n);
                    }
                }
                _ => {}
            }
        }
        let pending = content.deliveries.map(|planned| planned.saturating_sub(recipients.settled()));
        Report {
            content: content.id,
            title: content.draft.title.clone(),
            state: content.state,
            scheduled_for: content.scheduled_for,
            started_at: content.started_at,
            finished_at: content.finished_at,
            planned: content.deliveries,
            resent_as_template: resent.sent_template,
            recipients,
            pending,
            messages,
            canary,
        }
    }

    /// The report as the communications team reads it in a terminal.
    pub fn render(&self, tz: &TimeZone) -> String {
        let n = |v: u64| es_mx::integer(i64::try_from(v).unwrap_or(i64::MAX));
        let when = |t: Option<Timestamp>| t.map_or_else(|| "—".to_owned(), |t| local_time(t, tz));
        let mut out = format!("Contenido {} «{}»: {}\n", self.content, self.title, self.state.spanish());
        out.push_str(&format!(
            "  programado: {}   inicio: {}   fin: {}\n",
            when(self.scheduled_for),
            when(self.started_at),
            when(self.finished_at)
        ));
        match self.planned {
            Some(planned) => out.push_str(&format!("  suscriptores a los que va: {}\n", n(planned))),
            None => out.push_str("  suscriptores a los que va: se están contando\n"),
        }
        let r = &self.recipients;
        out.push_str(&format!(
            "  aceptados por WhatsApp: {} (texto: {}, plantilla: {})\n",
            n(r.sent_text + r.sent_template),
            n(r.sent_text),
            n(r.sent_template)
        ));
        for (reason, count) in &r.skipped {
            out.push_str(&format!("  no enviados, {}: {}\n", skipped_reason(reason), n(*count)));
        }
        for (reason, count) in &r.failed {
            out.push_str(&format!("  rechazados, {}: {}\n", error_reason(reason), n(*count)));
        }
        if let Some(pending) = self.pending.filter(|p| *p > 0) {
            out.push_str(&format!("  pendientes: {}\n", n(pending)));
        }
        if self.resent_as_template > 0 {
            out.push_str(&format!("  reenviados como plantilla: {}\n", n(self.resent_as_template)));
        }
        let m = &self.messages;
        out.push_str(&format!(
            "  mensajes: {} en cola, {} enviados, {} entregados, {} leídos\n",
            n(m.queued),
            n(m.sent),
            n(m.delivered),
            n(m.read)
        ));
        for (reason, count) in &m.failed {
            out.push_str(&format!("  mensajes fallidos, {}: {}\n", error_reason(reason), n(*count)));
        }
        if let Some(c) = &self.canary {
            out.push_str(&format!(
                "  prueba (ronda {}, {} personas): {} aceptados, {} entregados, {} leídos\n",
                c.round,
                n(u64::from(c.staff)),
                n(c.recipients.sent_text + c.recipients.sent_template),
                n(c.messages.delivered_or_read()),
                n(c.messages.read)
            ));
        }
        out
    }
}

/// `27 de mayo de 2020 a las 10:00` in the team's time zone.
pub fn local_time(t: Timestamp, tz: &TimeZone) -> String {
    es_mx::date_time(tz.to_datetime(t))
}

/// Why a recipient was skipped, in Spanish.
pub fn skipped_reason(reason: &str) -> String {
    match reason {
        "unsubscribed" => "se dieron de baja".into(),
        "unreachable" => "no tienen WhatsApp o no se les puede entregar (131026)".into(),
        "no_template" => "llevan más de 24 horas sin escribir y no hay plantilla".into(),
        "not_served" => "su número de atención ya no está configurado".into(),
        other => other.into(),
    }
}

/// What an error code or class means, in Spanish.
pub fn error_reason(reason: &str) -> String {
    let text = match reason {
        "131050" | "21610" => "pidieron no recibir avisos",
        "131026" | "63024" => "no se les puede entregar",
        "131049" => "Meta los retuvo para cuidar la interacción",
        "131047" | "63016" => "pasaron las 24 horas de la ventana",
        "131048" => "límite por reportes de spam",
        "131031" | "368" => "cuenta restringida",
        "131056" => "demasiados mensajes a la misma persona",
        "transient" => "errores de red o de la plataforma tras varios intentos",
        "permanent" => "rechazados por la plataforma",
        "unknown" => "sin código de error",
        code if code.starts_with("132") => "problema con la plantilla",
        _ => "",
    };
    match (text.is_empty(), reason.bytes().all(|b| b.is_ascii_digit())) {
        (true, _) => format!("error {reason}"),
        (false, true) => format!("{text} ({reason})"),
        (false, false) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Draft;

    #[test]
    fn counts_become_a_report() {
        let mut content =
            Content::new(4, Draft { title: "Vacunas".into(), text: "x".into(), ..Draft::default() }, Timestamp::now());
        content.deliveries = Some(10);
        content.state = State::Sending;
        content.canary = Some(crate::content::Canary { round: 2, at: Timestamp::now(), recipients: 3 });
        let counts: BTreeMap<String, u64> = [
            ("rcpt.sent.text", 4),
            ("rcpt.sent.template", 2),
            ("rcpt.skipped.unsubscribed", 1),
            ("rcpt.failed.131026", 1),
            ("msg.read", 3),
            ("msg.delivered", 2),
            ("msg.failed.131047", 1),
            ("resend.rcpt.sent.template", 1),
            ("resend.msg.delivered", 1),
            ("canary.rcpt.sent.text", 3),
            ("canary.msg.read", 2),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let r = Report::new(&content, &counts);
        assert_eq!((r.recipients.sent_text, r.recipients.sent_template), (4, 2));
        assert_eq!(r.recipients.settled(), 8);
        assert_eq!(r.pending, Some(2));
        assert_eq!(r.resent_as_template, 1);
        assert_eq!((r.messages.read, r.messages.delivered, r.messages.failed["131047"]), (3, 3, 1));
        let canary = r.canary.as_ref().unwrap();
        assert_eq!((canary.round, canary.recipients.sent_text, canary.messages.read), (2, 3, 2));
        let text = r.render(&TimeZone::get("America/Mexico_City").unwrap());
        assert!(text.contains("aceptados por WhatsApp: 6 (texto: 4, plantilla: 2)"), "{text}");
        assert!(text.contains("no enviados, se dieron de baja: 1"), "{text}");
        assert!(text.contains("rechazados, no se les puede entregar (131026): 1"), "{text}");
        assert!(text.contains("prueba (ronda 2, 3 personas)"), "{text}");
    }
}
