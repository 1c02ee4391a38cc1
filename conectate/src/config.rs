//! What Conéctate takes from the settings (`[conectate]`, the channels, the time zone), once.

use std::collections::BTreeMap;
use std::time::Duration;

use channels::Template;
use channels::delivery::DeliveryConfig;
use jiff::tz::TimeZone;
use schemas::{Bsuid, ChannelKind, PhoneNumber, TemplateCategory, UserAddress, UserHasher, UserKey};
use settings::secrets::USER_HASH_KEY;
use settings::{ConfigError, Settings};

/// How the sender works.
#[derive(Clone, Debug)]
pub struct SenderConfig {
    /// Sends in flight at once per process.
    pub concurrency: usize,
    pub reclaim_idle: Duration,
    /// How long a delivery whose sender died mid-send waits for the platform's status.
    pub in_doubt: Duration,
    /// A window with less than this left counts as closed.
    pub window_margin: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub max_attempts: u32,
    pub schedule_poll: Duration,
    /// Unique users business-initiated messages may reach per 24 hours (`u64::MAX`: no limit).
    pub messaging_limit: u64,
    /// No rate governor (tests and benchmarks against a local stand-in only).
    pub unpaced: bool,
}

/// How a broadcast reaches a channel's subscribers outside the 24-hour window, where only an
/// approved template may go. Read from that channel's settings here, the one place Conéctate
/// names a platform; the sender and the schedule check only look it up by channel.
#[derive(Clone, Debug)]
pub struct OutsideWindow {
    /// The template a content that names none of its own goes as on this channel, with the
    /// content's text as its one parameter (no parameters here).
    pub default_template: Option<Template>,
    /// The draft's field that names a content's own template on this channel, and the setting
    /// of the default: the message that asks for one names both.
    pub field: &'static str,
    pub setting: &'static str,
}

/// Everything Conéctate runs with.
#[derive(Clone, Debug)]
pub struct ConectateConfig {
    pub hasher: UserHasher,
    /// The staff list, who receive each content's canary.
    pub staff: Vec<(UserKey, UserAddress)>,
    /// Where a canary leaves from: the first Meta number, else Twilio's sender.
    pub canary_origin: Option<(ChannelKind, String)>,
    /// The channels subscribers can be on (those configured), each with how a broadcast
    /// reaches its citizens outside the 24-hour window.
    pub channels: BTreeMap<ChannelKind, OutsideWindow>,
    pub require_canary: bool,
    /// The language of a Meta template a content names without one.
    pub template_language: String,
    /// Meta's category of each template, as configured; unlisted ones are MARKETING.
    pub template_categories: BTreeMap<String, TemplateCategory>,
    /// The calendar in which the team reads and writes times.
    pub timezone: TimeZone,
    pub delivery: DeliveryConfig,
    pub sender: SenderConfig,
}

fn field(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.to_owned(), message: message.into() }
}

/// Where messages to staff leave from: the first Meta number, else Twilio's sender.
fn canary_origin(settings: &Settings) -> Option<(ChannelKind, String)> {
    if let Some(id) = settings.channels.meta.phone_number_ids.first() {
        return Some((channels::meta::KIND, id.clone()));
    }
    settings.channels.twilio.from.clone().map(|from| (channels::twilio::KIND, from))
}

impl ConectateConfig {
    /// Reads validated settings; needs the user-id hashing key (the staff's keys are hashes).
    pub fn from_settings(settings: &mut Settings) -> Result<ConectateConfig, ConfigError> {
        let key =
            settings.secret(USER_HASH_KEY).map(|s| s.expose().to_owned()).filter(|k| !k.trim().is_empty()).ok_or_else(
                || ConfigError::MissingSecret {
                    field: USER_HASH_KEY.field.into(),
                    env: USER_HASH_KEY.env_var(),
                    why: USER_HASH_KEY.purpose,
                },
            )?;
        let hasher = UserHasher::new(key.as_bytes()).map_err(|e| field("privacy.user_hash_key", e.to_string()))?;
        let c = &settings.conectate;
        let mut staff = Vec::new();
        for text in &c.staff {
            let address = PhoneNumber::parse(text)
                .map(UserAddress::Phone)
                .or_else(|_| Bsuid::parse(text).map(UserAddress::Bsuid))
                .map_err(|e| field("conectate.staff", e.to_string()))?;
            staff.push((hasher.key(&address), address));
        }
        let template = |name: &String, language: &str| Template {
            name: name.clone(),
            language: language.to_owned(),
            parameters: Vec::new(),
            category: TemplateCategory::Marketing,
        };
        let mut channels = BTreeMap::new();
        if !settings.channels.meta.phone_number_ids.is_empty() {
            let outside = OutsideWindow {
                default_template: c.default_template.as_ref().map(|name| template(name, &c.template_language)),
                field: "template",
                setting: "conectate.default_template",
            };
            channels.insert(channels::meta::KIND, outside);
        }
        if settings.channels.twilio.public_url.is_some() || settings.channels.twilio.from.is_some() {
            // Twilio's ContentSid fixes the language.
            let outside = OutsideWindow {
                default_template: c.default_content_sid.as_ref().map(|sid| template(sid, "")),
                field: "twilio",
                setting: "conectate.default_content_sid",
            };
            channels.insert(channels::twilio::KIND, outside);
        }
        let timezone = TimeZone::get(&settings.timezone).map_err(|e| field("timezone", e.to_string()))?;
        Ok(ConectateConfig {
            hasher,
            staff,
            canary_origin: canary_origin(settings),
            channels,
            require_canary: c.require_canary,
            template_language: c.template_language.clone(),
            template_categories: c.template_categories.clone(),
            timezone,
            delivery: DeliveryConfig {
                keep: Duration::from_secs(c.keep_days * 86_400),
                unreachable_for: Duration::from_secs(c.unreachable_days * 86_400),
                ..DeliveryConfig::default()
            },
            sender: SenderConfig {
                concurrency: c.sender_concurrency,
                reclaim_idle: Duration::from_secs(c.reclaim_idle_secs),
                in_doubt: Duration::from_secs(c.in_doubt_secs),
                window_margin: Duration::from_secs(c.window_margin_secs),
                retry_base: Duration::from_millis(c.retry_base_ms),
                retry_max: Duration::from_secs(c.retry_max_secs),
                max_attempts: c.max_attempts,
                schedule_poll: Duration::from_secs(c.schedule_poll_secs),
                messaging_limit: c.messaging_limit.users(),
                unpaced: c.unpaced,
            },
        })
    }
}
