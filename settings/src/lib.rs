//! The configuration of Contacto Ciudadano.
//!
//! One TOML file (`contacto.toml` by default) with environment overrides: prefix `CONTACTO_`,
//! `__` for nesting (`CONTACTO_RESPONDER__LISTEN`, `CONTACTO_SOURCES__COVID__URL`), plus the two
//! short names `CONTACTO_DATA_DIR` and `CONTACTO_REDIS_URL`. Every field is documented in the
//! file of its section, with its default beside it and nowhere else. Secrets (the [`SECRETS`])
//! come from the environment only: a file that contains one is refused, and no secret is ever
//! printed, `Debug` included.
//!
//! # Layout
//! - This file: [`Settings`], the whole configuration; [`Settings::load`] reads and validates
//!   everything and names the failing field; [`Settings::validate`] asks each section.
//! - One file per section, each with its fields, defaults and checks: [`responder`]
//!   (`[responder]`), [`channels`] (`[channels.meta]`, `[channels.twilio]`), [`storage`]
//!   (`[store]`), [`conectate`] (`[conectate]` and WhatsApp's messaging limit), [`drafts`]
//!   (`[conectate.drafts]`), [`privacy`], [`admin`], [`console`], [`open_data`], [`telemetry`],
//!   [`ingest`], [`sources`] (`[sources.NAME]`).
//! - [`secrets`]: the secret fields, local secrets for `contacto run`, and the check that a
//!   production service has the secrets it needs.
//! - [`error`]: [`ConfigError`], and figment's errors in Spanish.
//! - `values`: what several sections share (comma-separated lists, URLs).
//!
//! Every type is re-exported here: `settings::ResponderSettings`, `settings::DraftTrigger`, …

pub mod admin;
pub mod channels;
pub mod conectate;
pub mod console;
pub mod drafts;
pub mod error;
pub mod ingest;
pub mod open_data;
pub mod privacy;
pub mod responder;
pub mod secrets;
pub mod sources;
pub mod storage;
pub mod telemetry;
#[cfg(test)]
mod testing;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use schemas::SourceName;
use serde::Deserialize;

pub use admin::AdminSettings;
pub use channels::{ChannelsSettings, MetaSettings, TwilioSettings};
pub use conectate::{ConectateSettings, MessagingLimit};
pub use console::ConsoleSettings;
pub use drafts::{DraftSettings, DraftTrigger};
pub use error::ConfigError;
pub use ingest::IngestSettings;
pub use open_data::OpenDataSettings;
pub use privacy::PrivacySettings;
pub use responder::ResponderSettings;
pub use secrets::{SECRETS, Secret};
pub use sources::SourceSettings;
pub use storage::StoreSettings;
pub use telemetry::{LogFormat, TelemetrySettings};

use error::{field, spanish};

/// The default configuration file, relative to the working directory.
pub const DEFAULT_FILE: &str = "contacto.toml";

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

    /// Checks what types alone cannot: each section its own fields, then what spans them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.responder.validate()?;
        self.channels.validate()?;
        self.conectate.validate(&self.channels, &self.sources)?;
        self.store.validate()?;
        self.ingest.validate()?;
        // The scheduler reads zones with chrono-tz, everything else with jiff: both must know it.
        if jiff::tz::TimeZone::get(&self.timezone).is_err() || self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(field(
                "timezone",
                format!("«{}» no es una zona horaria IANA (por ejemplo America/Mexico_City)", self.timezone),
            ));
        }
        for (name, source) in &self.sources {
            source.validate(name.as_str())?;
        }
        Ok(())
    }

    /// The store this configuration selects.
    pub fn store_config(&self) -> store::StoreConfig {
        self.store.store_config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_each_names_its_field, load};
    use figment::Jail;

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
    fn a_secret_in_the_file_is_refused_with_the_variable_to_use() {
        let err = load("[channels.meta]\napp_secret = \"abc\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("channels.meta.app_secret"), "{err}");
        assert!(err.contains("CONTACTO_CHANNELS__META__APP_SECRET"), "{err}");
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
    fn invalid_values_name_their_field() {
        let cases = [
            ("timezone = \"Marte/Base\"\n", "timezone"),
            ("[responder]\ntimezone = \"America/Mexico_City\"\n", "timezone"),
        ];
        assert_each_names_its_field(&cases);
    }
}
