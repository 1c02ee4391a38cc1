//! `[conectate]`: the opt-in broadcasts, and WhatsApp's messaging limit tiers.

use std::collections::BTreeMap;

use schemas::SourceName;
use serde::{Deserialize, Deserializer};

use crate::error::field;
use crate::values::string_list;
use crate::{ChannelsSettings, ConfigError, DraftSettings, SourceSettings};

/// Conéctate, the opt-in broadcasts.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConectateSettings {
    /// The version of the consent text citizens read when they subscribe (the `conectate_alta`
    /// answer); every consent change records it in the ledger. Change it whenever that text
    /// changes.
    pub consent_text_version: String,
    /// The staff who receive each content's canary before it goes to subscribers: WhatsApp
    /// numbers (`5214771234567`) or business-scoped user ids (`MX.…`); in the environment a
    /// comma-separated list.
    #[serde(deserialize_with = "string_list")]
    pub staff: Vec<String>,
    /// A content can be scheduled only once its canary was sent to the staff.
    pub require_canary: bool,
    /// Broadcast messages per second per Twilio sender (Twilio's WhatsApp default is 10, up to
    /// 50 on request). Meta's is `channels.meta.messages_per_second`, shared with the replies.
    pub twilio_messages_per_second: u32,
    /// WhatsApp's messaging limit of the business portfolio, as WhatsApp Manager shows it: the
    /// unique users business-initiated messages may reach in a moving 24 hours. 250 (a new
    /// portfolio), 2000, 10000, 100000 or "unlimited".
    pub messaging_limit: MessagingLimit,
    /// The approved Meta template sent outside the 24-hour window when a content names none;
    /// the content's text fills its `{{1}}`.
    pub default_template: Option<String>,
    /// The language of the templates (Meta's code).
    pub template_language: String,
    /// The category Meta gave each template (`aviso_conectate = "UTILITY"`): MARKETING,
    /// UTILITY or AUTHENTICATION. A template not listed, the default one included, counts as
    /// MARKETING. Meta's `template_category_update` webhook overrides it when the category
    /// changes; it decides whether a template goes to the Marketing Messages API
    /// (`channels.meta.marketing_messages`).
    pub template_categories: BTreeMap<String, schemas::TemplateCategory>,
    /// The Twilio Content API template (`HX…`) sent outside the window when a content names
    /// none; the content's text fills its variable 1.
    pub default_content_sid: Option<String>,
    /// Sends in flight at once per sender process (each still waits for the rate governor).
    pub sender_concurrency: usize,
    /// A delivery claimed by a sender that has been silent this long is taken over by another.
    pub reclaim_idle_secs: u64,
    /// A delivery whose sender died while the platform may already have had it waits this long
    /// for the platform's status before it is sent again: keep it well above the time a status
    /// takes to arrive, so nobody receives a content twice.
    pub in_doubt_secs: u64,
    /// A 24-hour window with less than this left counts as closed (the template goes), so a
    /// free-form message never arrives just after it closed.
    pub window_margin_secs: u64,
    /// The first retry of a failed send waits this long; each later one twice as long.
    pub retry_base_ms: u64,
    /// No retry waits longer than this.
    pub retry_max_secs: u64,
    /// A delivery that failed this many times (network, platform errors) is given up and
    /// reported as failed.
    pub max_attempts: u32,
    /// How often the sender looks for contents whose time has come.
    pub schedule_poll_secs: u64,
    /// How long each message's delivery state (for late statuses) and each delivery's
    /// idempotency key are kept.
    pub keep_days: u64,
    /// A citizen the platform cannot deliver to (error 131026) is skipped this long.
    pub unreachable_days: u64,
    /// Only for tests and benchmarks against a local stand-in of the platform (127.0.0.1):
    /// sends without the rate governor. Refused with any other platform address.
    pub unpaced: bool,
    /// The drafts ingest prepares when a publish changes something citizens care about.
    pub drafts: DraftSettings,
}

impl Default for ConectateSettings {
    fn default() -> Self {
        ConectateSettings {
            consent_text_version: "2021-01".into(),
            staff: Vec::new(),
            require_canary: true,
            twilio_messages_per_second: 10,
            messaging_limit: MessagingLimit::Limited(250),
            default_template: None,
            template_language: "es_MX".into(),
            template_categories: BTreeMap::new(),
            default_content_sid: None,
            sender_concurrency: 32,
            reclaim_idle_secs: 60,
            in_doubt_secs: 600,
            window_margin_secs: 300,
            retry_base_ms: 1_000,
            retry_max_secs: 300,
            max_attempts: 8,
            schedule_poll_secs: 5,
            keep_days: 30,
            unreachable_days: 30,
            unpaced: false,
            drafts: DraftSettings::default(),
        }
    }
}

impl ConectateSettings {
    /// Checks what types alone cannot; the platforms' settings bound the leases, and say
    /// where sends go.
    pub(crate) fn validate(
        &self,
        channels: &ChannelsSettings,
        sources: &BTreeMap<SourceName, SourceSettings>,
    ) -> Result<(), ConfigError> {
        self.drafts.validate(sources)?;
        if self.consent_text_version.trim().is_empty() {
            return Err(field("conectate.consent_text_version", "no puede estar vacío"));
        }
        for address in &self.staff {
            if schemas::PhoneNumber::parse(address).is_err() && schemas::Bsuid::parse(address).is_err() {
                return Err(field(
                    "conectate.staff",
                    format!("«{address}» no es un número de WhatsApp (5214771234567) ni un identificador MX.…"),
                ));
            }
        }
        if let MessagingLimit::Limited(n) = self.messaging_limit
            && !MessagingLimit::TIERS.contains(&n)
        {
            return Err(field(
                "conectate.messaging_limit",
                format!("{n} no es un nivel de WhatsApp: usa 250, 2,000, 10,000, 100,000 o \"unlimited\""),
            ));
        }
        if !(1..=50).contains(&self.twilio_messages_per_second) {
            return Err(field("conectate.twilio_messages_per_second", "debe estar entre 1 y 50"));
        }
        if self.sender_concurrency == 0 {
            return Err(field("conectate.sender_concurrency", "debe ser mayor que 0"));
        }
        for (name, value) in [
            ("conectate.reclaim_idle_secs", self.reclaim_idle_secs),
            ("conectate.retry_base_ms", self.retry_base_ms),
            ("conectate.retry_max_secs", self.retry_max_secs),
            ("conectate.max_attempts", u64::from(self.max_attempts)),
            ("conectate.schedule_poll_secs", self.schedule_poll_secs),
            ("conectate.keep_days", self.keep_days),
            ("conectate.unreachable_days", self.unreachable_days),
        ] {
            if value == 0 {
                return Err(field(name, "debe ser mayor que 0"));
            }
        }
        // A send lasts at most the platform's timeout: a lease shorter than that could expire
        // while the send is still under way.
        let send = channels.send_timeout_secs();
        if self.in_doubt_secs < 2 * send {
            return Err(field(
                "conectate.in_doubt_secs",
                format!("debe ser al menos el doble del tiempo límite de un envío ({} s)", 2 * send),
            ));
        }
        if self.reclaim_idle_secs <= send {
            return Err(field(
                "conectate.reclaim_idle_secs",
                format!("debe ser mayor que el tiempo límite de un envío ({send} s)"),
            ));
        }
        if self.window_margin_secs >= 24 * 3600 {
            return Err(field("conectate.window_margin_secs", "debe ser menor que 24 horas"));
        }
        if self.unpaced {
            let local = |url: &str| {
                let rest = url.split_once("://").map_or(url, |(_, r)| r);
                ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| rest.starts_with(h))
            };
            // Only the platforms this deployment sends through.
            let meta = !channels.meta.phone_number_ids.is_empty();
            let twilio = channels.twilio.account_sid.is_some();
            if (meta && !local(&channels.meta.graph_base_url)) || (twilio && !local(&channels.twilio.api_base_url)) {
                return Err(field(
                    "conectate.unpaced",
                    "solo se permite con la Graph API y Twilio en 127.0.0.1 (pruebas y mediciones); \
                     en producción WhatsApp bloquearía el número",
                ));
            }
        }
        Ok(())
    }
}

/// WhatsApp's messaging limit tiers (per business portfolio since 2025).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessagingLimit {
    Limited(u64),
    Unlimited,
}

impl MessagingLimit {
    /// The tiers WhatsApp grants, in order.
    pub const TIERS: [u64; 4] = [250, 2_000, 10_000, 100_000];

    /// The number of unique users, or `u64::MAX` when unlimited.
    pub fn users(self) -> u64 {
        match self {
            MessagingLimit::Limited(n) => n,
            MessagingLimit::Unlimited => u64::MAX,
        }
    }
}

impl<'de> Deserialize<'de> for MessagingLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(MessagingLimit::Limited(n)),
            Raw::S(s) if matches!(s.trim(), "unlimited" | "ilimitado") => Ok(MessagingLimit::Unlimited),
            Raw::S(s) => s
                .trim()
                .replace(',', "")
                .parse()
                .map(MessagingLimit::Limited)
                .map_err(|_| serde::de::Error::custom(format!("«{s}» no es un límite de mensajería"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_each_names_its_field, load};

    #[test]
    fn conectate_settings_read_from_the_file_and_the_environment() {
        let s = load(
            "[conectate]\nmessaging_limit = \"unlimited\"\n[channels.meta]\ngraph_base_url = \"http://127.0.0.1:9\"\n[channels.twilio]\napi_base_url = \"http://localhost:9\"\n",
            &[
                ("CONTACTO_CONECTATE__STAFF", "5214771234567, MX.1038472951662094"),
                ("CONTACTO_CONECTATE__UNPACED", "true"),
            ],
        )
        .unwrap();
        assert_eq!(s.conectate.staff, vec!["5214771234567", "MX.1038472951662094"]);
        assert_eq!(s.conectate.messaging_limit.users(), u64::MAX);
        assert!(s.conectate.unpaced);
        let s = load("", &[("CONTACTO_CONECTATE__MESSAGING_LIMIT", "10,000")]).unwrap();
        assert_eq!(s.conectate.messaging_limit, MessagingLimit::Limited(10_000));
        assert_eq!(load("", &[]).unwrap().conectate.messaging_limit.users(), 250);
    }

    #[test]
    fn template_categories_and_the_marketing_messages_api_are_read_and_checked() {
        use schemas::TemplateCategory::{Marketing, Utility};
        let defaults = load("", &[]).unwrap();
        assert!(!defaults.channels.meta.marketing_messages, "off unless asked for");
        assert!(defaults.conectate.template_categories.is_empty());
        let s = load(
            "[conectate]\ntemplate_categories = { aviso_conectate = \"UTILITY\", promo_vacunas = \"MARKETING\" }\n",
            &[("CONTACTO_CHANNELS__META__MARKETING_MESSAGES", "true")],
        )
        .unwrap();
        assert!(s.channels.meta.marketing_messages);
        let categories: Vec<_> = s.conectate.template_categories.into_iter().collect();
        assert_eq!(categories, vec![("aviso_conectate".to_owned(), Utility), ("promo_vacunas".to_owned(), Marketing)]);
        let err = load("[conectate]\ntemplate_categories = { aviso_conectate = \"PROMO\" }\n", &[]).unwrap_err();
        assert!(err.to_string().contains("template_categories"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_field() {
        let cases = [
            ("[conectate]\nstaff = [\"477\"]\n", "conectate.staff"),
            ("[conectate]\nmessaging_limit = 1000\n", "conectate.messaging_limit"),
            ("[conectate]\nin_doubt_secs = 5\n", "conectate.in_doubt_secs"),
            ("[conectate]\nunpaced = true\n[channels.meta]\nphone_number_ids = [\"1\"]\n", "conectate.unpaced"),
            ("[conectate]\ntwilio_messages_per_second = 80\n", "conectate.twilio_messages_per_second"),
        ];
        assert_each_names_its_field(&cases);
    }
}
