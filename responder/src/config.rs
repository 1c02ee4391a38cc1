//! What the responder needs to know, taken from [`settings::Settings`] once at start-up.
//!
//! Secrets are exposed here and nowhere else; the structs below never print them (`Debug`
//! is written by hand).

use std::time::Duration;

use channels::ChannelsConfig;
use channels::delivery::DeliveryConfig;
use channels::meta::MetaConfig;
use channels::twilio::TwilioConfig;
use jiff::tz::TimeZone;
use schemas::UserHasher;
use settings::Settings;
use settings::secrets::{
    META_ACCESS_TOKEN, META_APP_SECRET, META_VERIFY_TOKEN, SecretField, TWILIO_AUTH_TOKEN, USER_HASH_KEY,
};

/// A configuration the responder cannot run with; the message names what to set.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Settings(#[from] settings::ConfigError),
    #[error("configuración inválida en `{field}`: {message}")]
    Field { field: &'static str, message: String },
}

/// The outbox worker.
#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// Sends in flight at once per worker.
    pub concurrency: usize,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Entries claimed longer ago than this by a silent worker are taken over.
    pub reclaim_idle: Duration,
    /// A reply older than this (counted from the citizen's message) is dropped and recorded.
    pub max_age: Duration,
    /// The days failed replies are counted in (`timezone`, as the interactions).
    pub timezone: TimeZone,
}

/// Everything the responder runs with.
#[derive(Clone, Debug)]
pub struct ResponderConfig {
    pub hasher: UserHasher,
    /// Every channel's configuration; a channel without one is off.
    pub channels: ChannelsConfig,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_body_bytes: usize,
    pub flood_per_minute: u32,
    pub session_ttl: Duration,
    pub dedupe_ttl: Duration,
    pub snapshot_poll: Duration,
    pub counters_flush: Duration,
    /// How long a phrase not understood is kept after it was last written («Sin entender»).
    pub unmatched_keep: Duration,
    /// The calendar whose days the counters use.
    pub timezone: TimeZone,
    pub outbox: OutboxConfig,
    /// Recorded with every consent change.
    pub consent_text_version: String,
    /// What the delivery hook remembers, and for how long (Conéctate).
    pub delivery: DeliveryConfig,
}

/// A secret's value; an empty one counts as unset (a channel is never keyed with "").
fn exposed(settings: &mut Settings, field: SecretField) -> Option<String> {
    settings.secret(field).map(|s| s.expose().to_owned()).filter(|s| !s.trim().is_empty())
}

impl ResponderConfig {
    /// The secrets a production `contacto responder` must have: the user-id hashing key, and
    /// those of each channel it is configured to serve (Meta when it has numbers, Twilio when
    /// it has a public URL). Refuses a responder with no channel at all.
    pub fn required_secrets(settings: &Settings) -> Result<Vec<SecretField>, ConfigError> {
        let mut required = vec![USER_HASH_KEY];
        let meta = !settings.channels.meta.phone_number_ids.is_empty();
        let twilio = settings.channels.twilio.public_url.is_some();
        if !meta && !twilio {
            return Err(ConfigError::Field {
                field: "channels.meta.phone_number_ids",
                message: "no hay ningún canal configurado: define los números de Meta \
                          (CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS) o la URL pública de Twilio \
                          (CONTACTO_CHANNELS__TWILIO__PUBLIC_URL)"
                    .into(),
            });
        }
        if meta {
            required.extend([META_APP_SECRET, META_VERIFY_TOKEN, META_ACCESS_TOKEN]);
        }
        if twilio {
            required.push(TWILIO_AUTH_TOKEN);
        }
        Ok(required)
    }

    /// Builds the configuration from validated settings. A channel is on when its secrets are
    /// there (Twilio also needs its public URL); callers that must not run without them call
    /// [`Settings::require`] with [`ResponderConfig::required_secrets`] first.
    pub fn from_settings(settings: &mut Settings) -> Result<ResponderConfig, ConfigError> {
        let hash_key = exposed(settings, USER_HASH_KEY).ok_or(settings::ConfigError::MissingSecret {
            field: USER_HASH_KEY.field.into(),
            env: USER_HASH_KEY.env_var(),
            why: USER_HASH_KEY.purpose,
        })?;
        let hasher = UserHasher::new(hash_key.as_bytes())
            .map_err(|e| ConfigError::Field { field: "privacy.user_hash_key", message: e.to_string() })?;
        let meta = match (
            exposed(settings, META_APP_SECRET),
            exposed(settings, META_VERIFY_TOKEN),
            exposed(settings, META_ACCESS_TOKEN),
        ) {
            (Some(app_secret), Some(verify_token), Some(access_token)) => {
                let m = &settings.channels.meta;
                Some(MetaConfig {
                    app_secret,
                    verify_token,
                    access_token,
                    phone_number_ids: m.phone_number_ids.clone(),
                    graph_base_url: m.graph_base_url.clone(),
                    graph_version: m.graph_version.clone(),
                    messages_per_second: m.messages_per_second,
                    graph_timeout: Duration::from_secs(m.graph_timeout_secs),
                    marketing_messages: m.marketing_messages,
                })
            }
            _ => None,
        };
        let twilio = match (exposed(settings, TWILIO_AUTH_TOKEN), settings.channels.twilio.public_url.clone()) {
            (Some(auth_token), Some(public_url)) => {
                let t = &settings.channels.twilio;
                let status_url = t.status_url.clone().unwrap_or_else(|| {
                    let base = public_url.split_once('?').map_or(public_url.as_str(), |(b, _)| b);
                    format!("{}/status", base.trim_end_matches('/'))
                });
                Some(TwilioConfig {
                    auth_token,
                    public_url,
                    status_url,
                    account_sid: t.account_sid.clone(),
                    from: t.from.clone(),
                    api_base_url: t.api_base_url.clone(),
                    timeout: Duration::from_secs(t.timeout_secs),
                    broadcast_messages_per_second: settings.conectate.twilio_messages_per_second,
                })
            }
            _ => None,
        };
        let r = &settings.responder;
        let timezone = TimeZone::get(&settings.timezone)
            .map_err(|e| ConfigError::Field { field: "timezone", message: e.to_string() })?;
        Ok(ResponderConfig {
            hasher,
            channels: ChannelsConfig { meta, twilio },
            request_timeout: Duration::from_secs(r.request_timeout_secs),
            max_concurrent_requests: r.max_concurrent_requests,
            max_body_bytes: r.max_body_bytes,
            flood_per_minute: r.flood_per_minute,
            session_ttl: Duration::from_secs(r.session_ttl_secs),
            dedupe_ttl: Duration::from_secs(r.dedupe_ttl_hours * 3600),
            snapshot_poll: Duration::from_secs(r.snapshot_poll_secs),
            counters_flush: Duration::from_millis(r.counters_flush_ms),
            unmatched_keep: r.unmatched_keep(),
            timezone: timezone.clone(),
            outbox: OutboxConfig {
                concurrency: r.outbox_concurrency,
                retry_base: Duration::from_millis(r.outbox_retry_base_ms),
                retry_max: Duration::from_secs(r.outbox_retry_max_secs),
                reclaim_idle: Duration::from_secs(r.outbox_reclaim_idle_secs),
                max_age: Duration::from_secs(r.reply_max_age_hours * 3600),
                timezone,
            },
            consent_text_version: settings.conectate.consent_text_version.clone(),
            delivery: DeliveryConfig {
                keep: Duration::from_secs(settings.conectate.keep_days * 86_400),
                unreachable_for: Duration::from_secs(settings.conectate.unreachable_days * 86_400),
                ..Default::default()
            },
        })
    }
}
