//! The configuration of Contacto Ciudadano.
//!
//! One TOML file (`contacto.toml` by default) with environment overrides: prefix `CONTACTO_`,
//! `__` for nesting (`CONTACTO_RESPONDER__LISTEN`, `CONTACTO_SOURCES__COVID__URL`), plus the two
//! short names `CONTACTO_DATA_DIR` and `CONTACTO_REDIS_URL`. Every field is documented here and
//! its default is in this file only. Secrets (the [`SECRETS`]) come from the environment only:
//! a file that contains one is refused, and no secret is ever printed, `Debug` included.
//!
//! # Layout
//! - [`Settings`] and its sections; [`Settings::load`] reads and validates everything and
//!   names the failing field.
//! - [`secrets`]: the secret fields, local secrets for `contacto run`, and the check that a
//!   production service has the secrets it needs.

pub mod secrets;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use schemas::{KeyLayout, SourceName};
use serde::{Deserialize, Deserializer};

pub use secrets::{SECRETS, Secret};

/// The default configuration file, relative to the working directory.
pub const DEFAULT_FILE: &str = "contacto.toml";

/// A configuration that cannot be used, with the field to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuración inválida: {0}")]
    Invalid(String),
    #[error("configuración inválida en `{field}`: {message}")]
    Field { field: String, message: String },
    #[error(
        "`{field}` es un secreto y no puede estar en {file}: quítalo del archivo y defínelo con la variable de entorno {env}"
    )]
    SecretInFile { field: String, file: String, env: String },
    #[error("falta el secreto `{field}`: define la variable de entorno {env} ({why})")]
    MissingSecret { field: String, env: String, why: &'static str },
    #[error("no se pudo leer o escribir {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// figment's error in Spanish, naming the key and where its value came from (the file, or the
/// environment variable).
fn spanish(error: figment::Error) -> ConfigError {
    use figment::error::{Actual, Kind};
    let found = |actual: &Actual| match actual {
        Actual::Str(s) => format!("el texto «{s}»"),
        Actual::Unsigned(n) => format!("el número {n}"),
        Actual::Signed(n) => format!("el número {n}"),
        Actual::Float(n) => format!("el número {n}"),
        Actual::Bool(b) => format!("el valor {b}"),
        Actual::Seq => "una lista".into(),
        Actual::Map => "una tabla".into(),
        other => other.to_string(),
    };
    let names = |list: &[&str]| list.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let message = match &error.kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("se dio {} y se espera {}", found(actual), schemas::es_mx::expected(expected))
        }
        Kind::UnknownField(name, known) => format!("opción desconocida `{name}`; las opciones son {}", names(known)),
        Kind::UnknownVariant(name, known) => format!("valor desconocido `{name}`; los valores son {}", names(known)),
        Kind::MissingField(name) => format!("falta la opción `{name}`"),
        Kind::Message(text) => text
            .replace("TOML parse error at line", "el TOML no se puede leer en la línea")
            .replace(", column", ", columna"),
        other => other.to_string(),
    };
    let key = error.path.join(".");
    let from_env = error.metadata.as_ref().is_some_and(|m| m.name.contains("environment"));
    let message = if from_env {
        format!("{message} (en la variable CONTACTO_{})", key.replace('.', "__").to_uppercase())
    } else {
        match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            Some(source) => format!("{message} (en {source})"),
            None => message,
        }
    };
    if key.is_empty() { ConfigError::Invalid(message) } else { ConfigError::Field { field: key, message } }
}

fn field(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.to_owned(), message: message.into() }
}

/// Everything `contacto` can be told.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The programme's time zone (IANA name, default `America/Mexico_City`): source schedules
    /// run in it, the days of counters and reports are its days, and the console, the command
    /// line and Conéctate read and show times in it. One setting, so they never disagree.
    pub timezone: String,
    pub responder: ResponderSettings,
    pub channels: ChannelsSettings,
    pub store: StoreSettings,
    pub conectate: ConectateSettings,
    pub privacy: PrivacySettings,
    pub admin: AdminSettings,
    pub console: ConsoleSettings,
    pub open_data: OpenDataSettings,
    pub telemetry: TelemetrySettings,
    pub ingest: IngestSettings,
    /// One table per source, keyed by its name: `[sources.covid]`, `[sources.semaforo]`, …
    pub sources: BTreeMap<SourceName, SourceSettings>,
    /// The directory of the configuration file read, which relative paths are resolved against
    /// (see [`Settings::resolve_path`]); the working directory when no file was given.
    #[serde(skip)]
    pub config_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: "America/Mexico_City".into(),
            responder: ResponderSettings::default(),
            channels: ChannelsSettings::default(),
            store: StoreSettings::default(),
            conectate: ConectateSettings::default(),
            privacy: PrivacySettings::default(),
            admin: AdminSettings::default(),
            console: ConsoleSettings::default(),
            open_data: OpenDataSettings::default(),
            telemetry: TelemetrySettings::default(),
            ingest: IngestSettings::default(),
            sources: BTreeMap::new(),
            config_dir: PathBuf::new(),
        }
    }
}

/// Ingest: how sources become published answers.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// The directory of the answer templates (minijinja), one `TOPIC.j2` per topic plus shared
    /// pieces whose names start with `_`. Maintainers edit them without recompiling; the next
    /// run uses them. Relative to the configuration file's directory.
    pub templates_dir: PathBuf,
    /// A publish that loses the race for the current pointer this many times in a row fails.
    pub publish_attempts: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings { templates_dir: "templates".into(), publish_attempts: 5 }
    }
}

/// The webhook service.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponderSettings {
    /// Address of the internet-facing port: `/webhooks/meta` (GET and POST), `/webhooks/twilio`,
    /// `/webhooks/twilio/status`.
    pub listen: SocketAddr,
    /// Address of the internal port: health, metrics, the admin API and the console. Keep it
    /// off the internet.
    pub internal_listen: SocketAddr,
    /// A request that takes longer is answered 503 so the platform retries it; its webhook is
    /// still handled to the end.
    pub request_timeout_secs: u64,
    /// Requests handled at once, and webhooks being handled at once (those whose requests
    /// went away included); beyond it requests wait (load shedding happens upstream).
    pub max_concurrent_requests: usize,
    /// Messages one user may send per minute before the bot stops answering them for the rest
    /// of the minute.
    pub flood_per_minute: u32,
    /// How long the bot remembers the last menu shown to a user.
    pub session_ttl_secs: u64,
    /// How long a platform message id is remembered to answer it only once. Meta retries a
    /// webhook for up to 7 days, so the default is 8 days.
    pub dedupe_ttl_hours: u64,
    /// The largest webhook body accepted; larger ones are answered 413 without being read.
    /// Meta documents payloads of up to 3 MB, so the default is 3 MiB.
    pub max_body_bytes: usize,
    /// How often the current snapshot is polled, in case an announcement was missed.
    pub snapshot_poll_secs: u64,
    /// How often counters (interactions, unique users) are written to the store in one batch.
    pub counters_flush_ms: u64,
    /// Replies the outbox sends at once per process (each still waits for the rate governor).
    pub outbox_concurrency: usize,
    /// The first retry of a failed reply waits this long; each later one twice as long.
    pub outbox_retry_base_ms: u64,
    /// No retry waits longer than this.
    pub outbox_retry_max_secs: u64,
    /// A reply claimed by a worker that has not finished it after this long is taken over by
    /// another worker (the first one died or hangs).
    pub outbox_reclaim_idle_secs: u64,
    /// A reply still unsent this long after the citizen wrote is dropped and recorded: outside
    /// WhatsApp's 24-hour customer service window only templates may be sent.
    pub reply_max_age_hours: u64,
    /// «Sin entender»: a phrase the bot did not understand (kept masked, never with who wrote
    /// it) is forgotten this many days after it was last written.
    pub unmatched_days: u64,
    /// «Sin entender»: a phrase is shown to maintainers only once at least this many distinct
    /// citizens wrote it, so no single citizen's words are ever shown.
    pub unmatched_min_citizens: u64,
}

impl ResponderSettings {
    /// How long a phrase not understood is kept after it was last written.
    pub fn unmatched_keep(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.unmatched_days.saturating_mul(86_400))
    }
}

impl Default for ResponderSettings {
    fn default() -> Self {
        ResponderSettings {
            listen: "0.0.0.0:8080".parse().expect("literal address"),
            internal_listen: "127.0.0.1:9090".parse().expect("literal address"),
            request_timeout_secs: 10,
            max_concurrent_requests: 1024,
            flood_per_minute: 20,
            session_ttl_secs: 30 * 60,
            dedupe_ttl_hours: 8 * 24,
            max_body_bytes: 3 << 20,
            snapshot_poll_secs: 5,
            counters_flush_ms: 250,
            outbox_concurrency: 64,
            outbox_retry_base_ms: 1_000,
            outbox_retry_max_secs: 300,
            outbox_reclaim_idle_secs: 60,
            reply_max_age_hours: 24,
            unmatched_days: 30,
            unmatched_min_citizens: 5,
        }
    }
}

/// The messaging platforms.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsSettings {
    pub meta: MetaSettings,
    pub twilio: TwilioSettings,
}

/// Meta's WhatsApp Cloud API.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaSettings {
    /// Secret: the App Secret that signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: Option<Secret>,
    /// Secret: the token typed into App Dashboard › WhatsApp › Configuration.
    pub verify_token: Option<Secret>,
    /// Secret: the system-user token for the Graph API.
    pub access_token: Option<Secret>,
    /// The business numbers we answer from (`phone_number_id`); in the environment, a
    /// comma-separated list. A message to any other number is skipped. Empty: Meta is off.
    #[serde(deserialize_with = "string_list")]
    pub phone_number_ids: Vec<String>,
    /// The Graph API's address (a local fake in tests).
    pub graph_base_url: String,
    /// The pinned Graph API version.
    pub graph_version: String,
    /// Messages per second per business number, inbound included (Meta's default is 80; up to
    /// 1,000 after Meta's automatic upgrade).
    pub messages_per_second: u32,
    /// Limit on one Graph API call; a call that takes longer is retried later.
    pub graph_timeout_secs: u64,
    /// Send MARKETING templates (Conéctate outside the 24-hour window) through Meta's Marketing
    /// Messages API (`/{phone_number_id}/marketing_messages`) instead of `/messages`; templates
    /// of any other category still go to `/messages`. Turn it on only once the WhatsApp Business
    /// Account accepted the Marketing Messages API's terms.
    pub marketing_messages: bool,
}

impl Default for MetaSettings {
    fn default() -> Self {
        MetaSettings {
            app_secret: None,
            verify_token: None,
            access_token: None,
            phone_number_ids: Vec::new(),
            graph_base_url: "https://graph.facebook.com".into(),
            graph_version: "v23.0".into(),
            messages_per_second: 80,
            graph_timeout_secs: 10,
            marketing_messages: false,
        }
    }
}

/// Twilio's WhatsApp API.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    /// Secret: the Auth Token that signs webhooks (`X-Twilio-Signature`) and authenticates sends.
    pub auth_token: Option<Secret>,
    /// The public URL Twilio posts incoming messages to, exactly as configured in Twilio (it
    /// is what Twilio signs). Empty: Twilio is off.
    pub public_url: Option<String>,
    /// The public URL of the status callback, exactly as given to Twilio.
    pub status_url: Option<String>,
    /// The account that sends (`AC…`).
    pub account_sid: Option<String>,
    /// The sender, `whatsapp:+…`.
    pub from: Option<String>,
    /// Twilio's REST API address (a local fake in tests).
    pub api_base_url: String,
    /// Limit on one call to Twilio's API; a call that takes longer is retried later.
    pub timeout_secs: u64,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            auth_token: None,
            public_url: None,
            status_url: None,
            account_sid: None,
            from: None,
            api_base_url: "https://api.twilio.com".into(),
            timeout_secs: 10,
        }
    }
}

/// Where everything is kept.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// A Redis URL (`redis://host:6379/0`); set it (or `CONTACTO_REDIS_URL`) to share the store
    /// between processes. For a Redis Cluster, list some of its primaries (any one that answers
    /// is enough; the rest are discovered): `redis+cluster://[user:password@]host:port,host:port`
    /// (database 0 only). Unset: the embedded store in `data_dir`.
    pub redis_url: Option<Secret>,
    /// The embedded store's directory (`CONTACTO_DATA_DIR`); local secrets live here too.
    pub data_dir: PathBuf,
    /// The prefix of every key, so deployments can share a Redis.
    pub key_prefix: String,
    /// How many snapshot versions are kept for rollback.
    pub keep_versions: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { redis_url: None, data_dir: "data".into(), key_prefix: "contacto".into(), keep_versions: 20 }
    }
}

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

/// `[conectate.drafts]`: when a publish changes something citizens care about, ingest prepares
/// a Conéctate draft (never sends it) for the communications team to review, edit, canary and
/// schedule, or discard. One draft per change, source, target and day: the colour flapping
/// within a day updates the pending draft instead of adding another.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DraftSettings {
    /// Prepare drafts at all.
    pub enabled: bool,
    /// Which changes make a draft, from [`DraftTrigger::ALL`]: `semaforo` (the colour of a
    /// semáforo, federal or state), `etapa_vacunacion` (a vaccination stage that was not
    /// published before), `forzado` (a quarantined dataset a maintainer published anyway). In
    /// the environment a comma-separated list.
    #[serde(deserialize_with = "string_list")]
    pub changes: Vec<String>,
    /// Only changes of these sources (their names in `[sources.NAME]`); empty: every source.
    /// In the environment a comma-separated list.
    #[serde(deserialize_with = "string_list")]
    pub sources: Vec<String>,
    /// The template of a draft's text, in `ingest.templates_dir`: maintainers edit it without
    /// recompiling, like the answers' templates.
    pub template: String,
}

impl Default for DraftSettings {
    fn default() -> Self {
        DraftSettings {
            enabled: true,
            changes: DraftTrigger::ALL.iter().map(|t| t.name().to_owned()).collect(),
            sources: Vec::new(),
            template: "borrador_conectate.j2".into(),
        }
    }
}

impl DraftSettings {
    /// The configured changes, as triggers (checked by [`Settings::validate`]).
    pub fn triggers(&self) -> Vec<DraftTrigger> {
        self.changes.iter().filter_map(|c| DraftTrigger::parse(c)).collect()
    }
}

/// A kind of change that can make a Conéctate draft (`conectate.drafts.changes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DraftTrigger {
    /// A semáforo's colour, federal or state.
    Semaforo,
    /// A vaccination stage published for the first time.
    EtapaVacunacion,
    /// A quarantined dataset a maintainer published anyway (`contacto ingest --force`).
    Forzado,
}

impl DraftTrigger {
    /// Every trigger: the default of `conectate.drafts.changes`. A topic added to the catalogue
    /// is not one yet: topics are still a closed list in the code, so none is ever added by a
    /// publish.
    pub const ALL: [DraftTrigger; 3] = [DraftTrigger::Semaforo, DraftTrigger::EtapaVacunacion, DraftTrigger::Forzado];

    /// Its name in the configuration (and in a draft's dedupe key).
    pub fn name(self) -> &'static str {
        match self {
            DraftTrigger::Semaforo => "semaforo",
            DraftTrigger::EtapaVacunacion => "etapa_vacunacion",
            DraftTrigger::Forzado => "forzado",
        }
    }

    pub fn parse(name: &str) -> Option<DraftTrigger> {
        DraftTrigger::ALL.into_iter().find(|t| t.name() == name.trim())
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

/// Privacy.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Secret: the key of the HMAC-SHA256 that replaces every phone number and user id in
    /// logs, keys and counters; at least 16 bytes. Changing it starts new counters of users.
    pub user_hash_key: Option<Secret>,
}

/// The admin API and console.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Secret: the bearer token of the admin API and the console.
    pub token: Option<Secret>,
}

/// `contacto console`: the admin API and the web console as a process of their own.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Address `contacto console` serves `/console/`, `/admin` and `/health` on. Not the
    /// responder's internal port, so both can run on one machine; keep it off the internet
    /// (`contacto run` and `contacto responder` serve the console on `responder.internal_listen`).
    pub listen: SocketAddr,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings { listen: "127.0.0.1:9091".parse().expect("literal address") }
    }
}

/// The programme's figures as open data, on the responder's public port (`/datos/`), with no
/// token: interactions per day and topic, unique users per month, subscribers, contents sent.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenDataSettings {
    /// A day's count of one topic below this many interactions is published as «<N»
    /// (default 5), so that nobody can be picked out of a quiet day. Months with fewer unique
    /// users than this are published the same way.
    pub min_count: u64,
    /// Publish small counts as they are, below `min_count` too (default `false`): only when
    /// the programme decided its figures carry no risk for anyone.
    pub publish_small_counts: bool,
    /// How long browsers and proxies may keep a file before asking again (`Cache-Control:
    /// max-age`), in seconds; the figures are also computed at most once per range in that
    /// time (default 300).
    pub max_age_secs: u64,
}

impl Default for OpenDataSettings {
    fn default() -> Self {
        OpenDataSettings { min_count: 5, publish_small_counts: false, max_age_secs: 300 }
    }
}

/// Logs.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings { format: LogFormat::Pretty, filter: "info,tokio_cron_scheduler=warn".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One source. Fields common to every kind are typed here; options of one kind (selectors,
/// thresholds, state code) sit in the same table and are read and validated by that kind.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceSettings {
    /// What is read: `covid` (the national open-data file), `semaforo` (an HTML page), or a
    /// maintainer file (`estatal`, `hospitales`, `programas`, `sintomas`, `vacunas`, `menu`,
    /// `semaforo_estatal`).
    pub kind: String,
    /// `http(s)://…` or `file://…`. A `file://` path without a leading `/`
    /// (`file://fixtures/covid19mexico.zip`) is relative to the configuration file's directory.
    pub url: String,
    /// When to run: a cron expression with seconds (`0 0 */2 * * *` = every two hours).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// How often the source is expected to change; answers older than this are listed as
    /// stale with the reason.
    #[serde(default = "default_cadence_hours")]
    pub cadence_hours: u32,
    /// Limit on connecting to an `http(s)` source.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Limit on a whole fetch.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Retries after a failed fetch, with exponential back-off and jitter.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// A fetch larger than this fails (protects the disk and the run).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// The kind's own options.
    #[serde(flatten)]
    pub options: BTreeMap<String, serde_json::Value>,
}

fn default_schedule() -> String {
    "0 0 * * * *".into()
}
fn default_cadence_hours() -> u32 {
    24
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_timeout_secs() -> u64 {
    600
}
fn default_retries() -> u32 {
    3
}
fn default_max_bytes() -> u64 {
    8 << 30
}

/// A list given as a TOML array or, from the environment, as a comma-separated string. Numbers
/// are kept as their digits (phone number ids look like numbers).
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        S(String),
        N(u64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(Item),
        Many(Vec<Item>),
    }
    let text = |i: Item| match i {
        Item::S(s) => s,
        Item::N(n) => n.to_string(),
    };
    Ok(match List::deserialize(d)? {
        List::One(i) => text(i).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        List::Many(v) => v.into_iter().map(text).collect(),
    })
}

impl Settings {
    /// Reads `file` (when it exists), then the environment, and validates the result.
    pub fn load(file: &Path) -> Result<Settings, ConfigError> {
        let file_name = file.display().to_string();
        let from_file = Figment::from(Toml::file(file));
        for secret in SECRETS {
            if from_file.find_value(secret.field).is_ok() {
                return Err(ConfigError::SecretInFile {
                    field: secret.field.into(),
                    file: file_name,
                    env: secret.env_var(),
                });
            }
        }
        // An empty variable (`VAR=` in a compose file that passes every setting on) is as good
        // as none: the file's value or the default stays.
        let empty: std::collections::HashSet<String> = std::env::vars_os()
            .filter(|(_, value)| value.is_empty())
            .filter_map(|(key, _)| key.to_str()?.strip_prefix("CONTACTO_").map(str::to_lowercase))
            .collect();
        let env = Env::prefixed("CONTACTO_")
            .filter(move |k| !empty.contains(&k.as_str().to_lowercase()))
            .map(|k| {
                if k == "data_dir" {
                    "store.data_dir".into()
                } else if k == "redis_url" {
                    "store.redis_url".into()
                } else {
                    k.as_str().replace("__", ".").into()
                }
            })
            .lowercase(true);
        let mut settings: Settings = from_file.merge(env).extract().map_err(spanish)?;
        settings.config_dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// A path from the configuration: absolute as given, relative to the configuration file's
    /// directory otherwise, so `contacto.toml` at the repository root finds `fixtures/` and
    /// `templates/` whatever the working directory.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_owned() } else { self.config_dir.join(path) }
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.responder.listen == self.responder.internal_listen && self.responder.listen.port() != 0 {
            return Err(field("responder.internal_listen", "debe ser distinta de responder.listen"));
        }
        if self.responder.request_timeout_secs == 0 {
            return Err(field("responder.request_timeout_secs", "debe ser mayor que 0"));
        }
        if self.responder.max_concurrent_requests == 0 {
            return Err(field("responder.max_concurrent_requests", "debe ser mayor que 0"));
        }
        let r = &self.responder;
        if r.max_body_bytes < 64 << 10 {
            return Err(field("responder.max_body_bytes", "debe ser de al menos 65,536 bytes"));
        }
        for (name, value) in [
            ("responder.snapshot_poll_secs", r.snapshot_poll_secs),
            ("responder.counters_flush_ms", r.counters_flush_ms),
            ("responder.outbox_retry_base_ms", r.outbox_retry_base_ms),
            ("responder.outbox_retry_max_secs", r.outbox_retry_max_secs),
            ("responder.outbox_reclaim_idle_secs", r.outbox_reclaim_idle_secs),
            ("responder.session_ttl_secs", r.session_ttl_secs),
            ("responder.dedupe_ttl_hours", r.dedupe_ttl_hours),
            ("responder.unmatched_days", r.unmatched_days),
            ("channels.meta.graph_timeout_secs", self.channels.meta.graph_timeout_secs),
            ("channels.twilio.timeout_secs", self.channels.twilio.timeout_secs),
        ] {
            if value == 0 {
                return Err(field(name, "debe ser mayor que 0"));
            }
        }
        if r.unmatched_min_citizens < 2 {
            return Err(field(
                "responder.unmatched_min_citizens",
                "debe ser de al menos 2: una frase de un solo ciudadano no se muestra",
            ));
        }
        if r.outbox_concurrency == 0 {
            return Err(field("responder.outbox_concurrency", "debe ser mayor que 0"));
        }
        if !(1..=24).contains(&r.reply_max_age_hours) {
            return Err(field(
                "responder.reply_max_age_hours",
                "debe estar entre 1 y 24: fuera de la ventana de 24 horas solo se envían plantillas",
            ));
        }
        self.validate_conectate()?;
        let meta = &self.channels.meta;
        if !(1..=1000).contains(&meta.messages_per_second) {
            return Err(field("channels.meta.messages_per_second", "debe estar entre 1 y 1,000"));
        }
        for id in &meta.phone_number_ids {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(field(
                    "channels.meta.phone_number_ids",
                    format!("«{id}» no es un phone_number_id (solo dígitos)"),
                ));
            }
        }
        check_url("channels.meta.graph_base_url", &meta.graph_base_url, &["http", "https"])?;
        check_url("channels.twilio.api_base_url", &self.channels.twilio.api_base_url, &["http", "https"])?;
        if let Some(url) = &self.channels.twilio.public_url {
            check_url("channels.twilio.public_url", url, &["http", "https"])?;
        }
        if let Some(url) = &self.channels.twilio.status_url {
            check_url("channels.twilio.status_url", url, &["http", "https"])?;
        }
        KeyLayout::new(&self.store.key_prefix).map_err(|e| field("store.key_prefix", e.to_string()))?;
        if let Some(url) = &self.store.redis_url {
            store::redis_store::RedisTarget::parse(url.expose()).map_err(|e| field("store.redis_url", e))?;
        }
        if self.store.keep_versions < 2 {
            return Err(field("store.keep_versions", "conserva al menos 2 versiones para poder revertir"));
        }
        if self.ingest.publish_attempts == 0 {
            return Err(field("ingest.publish_attempts", "debe ser mayor que 0"));
        }
        // The scheduler reads zones with chrono-tz, everything else with jiff: both must know it.
        if jiff::tz::TimeZone::get(&self.timezone).is_err() || self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(field(
                "timezone",
                format!("«{}» no es una zona horaria IANA (por ejemplo America/Mexico_City)", self.timezone),
            ));
        }
        for (name, source) in &self.sources {
            let at = |f: &str| format!("sources.{name}.{f}");
            check_url(&at("url"), &source.url, &["http", "https", "file"])?;
            if source.timeout_secs == 0 || source.connect_timeout_secs == 0 {
                return Err(field(&at("timeout_secs"), "los tiempos límite deben ser mayores que 0"));
            }
            if source.cadence_hours == 0 {
                return Err(field(&at("cadence_hours"), "debe ser mayor que 0"));
            }
            if source.schedule.split_whitespace().count() != 6 {
                return Err(field(
                    &at("schedule"),
                    format!(
                        "«{}» no es una expresión cron de 6 campos (segundo minuto hora día mes día-de-semana)",
                        source.schedule
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_conectate(&self) -> Result<(), ConfigError> {
        let c = &self.conectate;
        if let Some(unknown) = c.drafts.changes.iter().find(|name| DraftTrigger::parse(name).is_none()) {
            let known = DraftTrigger::ALL.map(DraftTrigger::name).join(", ");
            return Err(field(
                "conectate.drafts.changes",
                format!("«{unknown}» no es un cambio conocido; los cambios son {known}"),
            ));
        }
        if let Some(unknown) =
            c.drafts.sources.iter().find(|name| !self.sources.keys().any(|s| s.as_str() == name.as_str()))
        {
            return Err(field(
                "conectate.drafts.sources",
                format!("no hay una fuente «{unknown}» configurada en [sources]"),
            ));
        }
        if c.drafts.template.trim().is_empty() {
            return Err(field("conectate.drafts.template", "no puede estar vacío"));
        }
        if c.consent_text_version.trim().is_empty() {
            return Err(field("conectate.consent_text_version", "no puede estar vacío"));
        }
        for address in &c.staff {
            if schemas::PhoneNumber::parse(address).is_err() && schemas::Bsuid::parse(address).is_err() {
                return Err(field(
                    "conectate.staff",
                    format!("«{address}» no es un número de WhatsApp (5214771234567) ni un identificador MX.…"),
                ));
            }
        }
        if let MessagingLimit::Limited(n) = c.messaging_limit
            && !MessagingLimit::TIERS.contains(&n)
        {
            return Err(field(
                "conectate.messaging_limit",
                format!("{n} no es un nivel de WhatsApp: usa 250, 2,000, 10,000, 100,000 o \"unlimited\""),
            ));
        }
        if !(1..=50).contains(&c.twilio_messages_per_second) {
            return Err(field("conectate.twilio_messages_per_second", "debe estar entre 1 y 50"));
        }
        if c.sender_concurrency == 0 {
            return Err(field("conectate.sender_concurrency", "debe ser mayor que 0"));
        }
        for (name, value) in [
            ("conectate.reclaim_idle_secs", c.reclaim_idle_secs),
            ("conectate.retry_base_ms", c.retry_base_ms),
            ("conectate.retry_max_secs", c.retry_max_secs),
            ("conectate.max_attempts", u64::from(c.max_attempts)),
            ("conectate.schedule_poll_secs", c.schedule_poll_secs),
            ("conectate.keep_days", c.keep_days),
            ("conectate.unreachable_days", c.unreachable_days),
        ] {
            if value == 0 {
                return Err(field(name, "debe ser mayor que 0"));
            }
        }
        // A send lasts at most the platform's timeout: a lease shorter than that could expire
        // while the send is still under way.
        let send = self.channels.meta.graph_timeout_secs.max(self.channels.twilio.timeout_secs);
        if c.in_doubt_secs < 2 * send {
            return Err(field(
                "conectate.in_doubt_secs",
                format!("debe ser al menos el doble del tiempo límite de un envío ({} s)", 2 * send),
            ));
        }
        if c.reclaim_idle_secs <= send {
            return Err(field(
                "conectate.reclaim_idle_secs",
                format!("debe ser mayor que el tiempo límite de un envío ({send} s)"),
            ));
        }
        if c.window_margin_secs >= 24 * 3600 {
            return Err(field("conectate.window_margin_secs", "debe ser menor que 24 horas"));
        }
        if c.unpaced {
            let local = |url: &str| {
                let rest = url.split_once("://").map_or(url, |(_, r)| r);
                ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| rest.starts_with(h))
            };
            // Only the platforms this deployment sends through.
            let meta = !self.channels.meta.phone_number_ids.is_empty();
            let twilio = self.channels.twilio.account_sid.is_some();
            if (meta && !local(&self.channels.meta.graph_base_url))
                || (twilio && !local(&self.channels.twilio.api_base_url))
            {
                return Err(field(
                    "conectate.unpaced",
                    "solo se permite con la Graph API y Twilio en 127.0.0.1 (pruebas y mediciones); \
                     en producción WhatsApp bloquearía el número",
                ));
            }
        }
        Ok(())
    }

    /// The store this configuration selects.
    pub fn store_config(&self) -> store::StoreConfig {
        let keys = KeyLayout::new(&self.store.key_prefix).expect("validated at load");
        match &self.store.redis_url {
            Some(url) => store::StoreConfig::Redis { url: url.expose().to_owned(), keys },
            None => store::StoreConfig::Embedded { data_dir: self.store.data_dir.clone(), keys },
        }
    }
}

fn check_url(name: &str, url: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if schemes.contains(&s) && url.len() > s.len() + 3 => Ok(()),
        _ => Err(field(name, format!("«{url}» no es una URL {}://…", schemes.join("://, ")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    /// Loads `text` as contacto.toml inside a jail whose environment holds only `vars`.
    #[allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn load(text: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut out = None;
        Jail::expect_with(|jail| {
            jail.clear_env();
            for (k, v) in vars {
                jail.set_env(k, v);
            }
            jail.create_file("contacto.toml", text)?;
            out = Some(Settings::load(Path::new("contacto.toml")));
            Ok(())
        });
        out.expect("the jail ran")
    }

    #[test]
    #[allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn defaults_are_usable_without_a_file() {
        // Inside a jail: other tests set CONTACTO_* variables in this process meanwhile.
        let mut missing_file = None;
        Jail::expect_with(|jail| {
            jail.clear_env();
            missing_file = Some(Settings::load(Path::new("/nonexistent/contacto.toml")));
            Ok(())
        });
        let s = missing_file.expect("the jail ran").unwrap();
        assert_eq!(s.responder.internal_listen.port(), 9090);
        let s = load("", &[]).unwrap();
        assert_eq!(s.responder.listen.port(), 8080);
        assert_eq!(s.channels.meta.messages_per_second, 80);
        assert!(matches!(s.store_config(), store::StoreConfig::Embedded { .. }));
    }

    #[test]
    fn a_bad_value_is_named_with_where_it_came_from_in_spanish() {
        let err = load("[responder]\nrequest_timeout_secs = \"abc\"\n", &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "configuración inválida en `responder.request_timeout_secs`: se dio el texto «abc» y se espera un número entero (en contacto.toml)"
        );
        let err = load("", &[("CONTACTO_RESPONDER__FLOOD_PER_MINUTE", "-1")]).unwrap_err().to_string();
        assert!(err.contains("en `responder.flood_per_minute`: se dio el número -1"), "{err}");
        assert!(err.ends_with("(en la variable CONTACTO_RESPONDER__FLOOD_PER_MINUTE)"), "{err}");
        let err = load("[store]\nbackend = \"x\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("opción desconocida `backend`; las opciones son `redis_url`"), "{err}");
    }

    #[test]
    fn draft_rules_default_to_every_change_and_name_a_wrong_one() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.conectate.drafts.triggers(), DraftTrigger::ALL);
        let s = load("", &[("CONTACTO_CONECTATE__DRAFTS__CHANGES", "semaforo, forzado")]).unwrap();
        assert_eq!(s.conectate.drafts.triggers(), [DraftTrigger::Semaforo, DraftTrigger::Forzado]);
        let err = load("[conectate.drafts]\nchanges = [\"semaforo\", \"tema\"]\n", &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "configuración inválida en `conectate.drafts.changes`: «tema» no es un cambio conocido; los cambios son semaforo, etapa_vacunacion, forzado"
        );
        let err = load("[conectate.drafts]\nsources = [\"semaforo\"]\n", &[]).unwrap_err().to_string();
        assert!(err.contains("`conectate.drafts.sources`: no hay una fuente «semaforo» configurada"), "{err}");
    }

    #[test]
    fn an_empty_variable_is_as_good_as_none() {
        let file = "[channels.twilio]\nfrom = \"whatsapp:+14155238886\"\n";
        let vars = [
            ("CONTACTO_CHANNELS__TWILIO__PUBLIC_URL", ""),
            ("CONTACTO_CHANNELS__TWILIO__FROM", ""),
            ("CONTACTO_CONECTATE__STAFF", ""),
            ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", "106540352242922"),
        ];
        let s = load(file, &vars).expect("empty variables do not make the settings invalid");
        assert_eq!(s.channels.twilio.public_url, None);
        assert_eq!(s.channels.twilio.from.as_deref(), Some("whatsapp:+14155238886"), "the file's value stays");
        assert!(s.conectate.staff.is_empty());
        assert_eq!(s.channels.meta.phone_number_ids, ["106540352242922"]);
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file = "[sources.covid]\nkind = \"covid\"\nurl = \"file:///fixtures/covid.zip\"\n[responder]\nlisten = \"0.0.0.0:8080\"\n";
        let s = load(
            file,
            &[
                ("CONTACTO_SOURCES__COVID__URL", "http://127.0.0.1:1234/covid.zip"),
                ("CONTACTO_RESPONDER__LISTEN", "127.0.0.1:0"),
                ("CONTACTO_DATA_DIR", "/var/lib/contacto"),
                ("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", "106540352242922,106540352242923"),
                ("CONTACTO_CHANNELS__META__VERIFY_TOKEN", "12345"),
            ],
        )
        .unwrap();
        assert_eq!(s.sources["covid"].url, "http://127.0.0.1:1234/covid.zip");
        assert_eq!(s.responder.listen.port(), 0);
        assert_eq!(s.store.data_dir, PathBuf::from("/var/lib/contacto"));
        assert_eq!(s.channels.meta.phone_number_ids, vec!["106540352242922", "106540352242923"]);
        assert_eq!(s.channels.meta.verify_token.as_ref().unwrap().expose(), "12345");
        let s = load("", &[("CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS", "106540352242922")]).unwrap();
        assert_eq!(s.channels.meta.phone_number_ids, vec!["106540352242922"]);
        let s = load("", &[("CONTACTO_REDIS_URL", "redis://127.0.0.1:6379/0")]).unwrap();
        assert!(matches!(s.store_config(), store::StoreConfig::Redis { .. }));
        let s = load("", &[("CONTACTO_REDIS_URL", "redis+cluster://10.0.0.1:7000,10.0.0.2:7000")]).unwrap();
        assert!(matches!(s.store_config(), store::StoreConfig::Redis { .. }));
    }

    #[test]
    fn a_bad_redis_url_names_its_field_and_not_its_password() {
        for url in ["redis+cluster://:s3cret@10.0.0.1:7000/2", "redis+cluster://:s3cret@10.0.0.1", "http://:s3cret@x"] {
            let err = load("", &[("CONTACTO_REDIS_URL", url)]).unwrap_err().to_string();
            assert!(err.contains("store.redis_url") && !err.contains("s3cret"), "{url} → {err}");
        }
    }

    #[test]
    fn a_secret_in_the_file_is_refused_with_the_variable_to_use() {
        let err = load("[channels.meta]\napp_secret = \"abc\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("channels.meta.app_secret"), "{err}");
        assert!(err.contains("CONTACTO_CHANNELS__META__APP_SECRET"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let s = load(
            "",
            &[("CONTACTO_ADMIN__TOKEN", "s3cr3t-admin"), ("CONTACTO_PRIVACY__USER_HASH_KEY", "0123456789abcdef0123")],
        )
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-admin") && !shown.contains("0123456789abcdef0123"), "{shown}");
    }

    #[test]
    fn invalid_values_name_their_field() {
        let cases = [
            ("[responder]\nlisten = \"nowhere\"\n", "responder.listen"),
            ("[channels.meta]\nmessages_per_second = 5000\n", "channels.meta.messages_per_second"),
            ("[channels.meta]\nphone_number_ids = [\"+52 477\"]\n", "channels.meta.phone_number_ids"),
            ("[sources.covid]\nkind = \"covid\"\nurl = \"ftp://x\"\n", "sources.covid.url"),
            (
                "[sources.covid]\nkind = \"covid\"\nurl = \"file:///x.zip\"\nschedule = \"@daily\"\n",
                "sources.covid.schedule",
            ),
            ("[store]\nkey_prefix = \"A B\"\n", "store.key_prefix"),
            ("timezone = \"Marte/Base\"\n", "timezone"),
            ("[responder]\ntimezone = \"America/Mexico_City\"\n", "timezone"),
            ("[responder]\nmax_body_bytes = 10\n", "responder.max_body_bytes"),
            ("[responder]\nreply_max_age_hours = 48\n", "responder.reply_max_age_hours"),
            ("[responder]\noutbox_concurrency = 0\n", "responder.outbox_concurrency"),
            ("[responder]\nlistne = \"0.0.0.0:1\"\n", "listne"),
            ("[conectate]\nstaff = [\"477\"]\n", "conectate.staff"),
            ("[conectate]\nmessaging_limit = 1000\n", "conectate.messaging_limit"),
            ("[conectate]\nin_doubt_secs = 5\n", "conectate.in_doubt_secs"),
            ("[conectate]\nunpaced = true\n[channels.meta]\nphone_number_ids = [\"1\"]\n", "conectate.unpaced"),
            ("[conectate]\ntwilio_messages_per_second = 80\n", "conectate.twilio_messages_per_second"),
        ];
        for (text, wanted) in cases {
            let err = load(text, &[]).unwrap_err().to_string();
            assert!(err.contains(wanted), "{text:?} → {err}");
        }
    }

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
    #[allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn relative_paths_follow_the_configuration_file() {
        // Inside a jail: other tests change the environment and the working directory.
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("contacto.toml", "[ingest]\ntemplates_dir = \"plantillas\"\n")?;
            let file = jail.directory().join("contacto.toml");
            let s = Settings::load(&file).unwrap();
            assert_eq!(s.resolve_path(&s.ingest.templates_dir), jail.directory().join("plantillas"));
            assert_eq!(s.resolve_path(Path::new("/srv/t")), PathBuf::from("/srv/t"));
            assert_eq!(Settings::load(Path::new("contacto.toml")).unwrap().config_dir, PathBuf::from("."));
            Ok(())
        });
    }

    #[test]
    fn sources_keep_their_kind_options() {
        let s = load(
            "[sources.covid]\nkind = \"covid\"\nurl = \"file:///fixtures/covid.zip\"\nstate_code = 11\nschedule = \"0 30 20 * * *\"\n",
            &[],
        )
        .unwrap();
        let covid = &s.sources["covid"];
        assert_eq!(covid.kind, "covid");
        assert_eq!(covid.options["state_code"], 11);
        assert_eq!(covid.retries, 3);
    }
}
