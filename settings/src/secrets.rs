//! Secrets: only from the environment, never printed, and created locally for `contacto run`.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::{ConfigError, Settings};

/// A secret value. `Debug` never shows it; only [`Secret::expose`] does, at the point of use.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([oculto])")
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// Tokens made only of digits arrive from the environment as numbers; they are text.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(u64),
        }
        Ok(Secret::new(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::N(n) => n.to_string(),
        }))
    }
}

/// One secret field of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretField {
    /// Its path in the configuration.
    pub field: &'static str,
    /// What it is for, in the words of the error that reports it missing.
    pub purpose: &'static str,
}

impl SecretField {
    /// The environment variable that sets it: `CONTACTO_` + the path with `__` for dots.
    pub fn env_var(&self) -> String {
        format!("CONTACTO_{}", self.field.replace('.', "__").to_uppercase())
    }
}

pub const META_APP_SECRET: SecretField =
    SecretField { field: "channels.meta.app_secret", purpose: "verifica la firma de los webhooks de Meta" };
pub const META_VERIFY_TOKEN: SecretField =
    SecretField { field: "channels.meta.verify_token", purpose: "responde la verificación del webhook de Meta" };
pub const META_ACCESS_TOKEN: SecretField =
    SecretField { field: "channels.meta.access_token", purpose: "envía mensajes por la Graph API" };
pub const TWILIO_AUTH_TOKEN: SecretField =
    SecretField { field: "channels.twilio.auth_token", purpose: "verifica la firma de Twilio y envía mensajes" };
pub const USER_HASH_KEY: SecretField = SecretField {
    field: "privacy.user_hash_key",
    purpose: "anonimiza los números en bitácoras, claves y contadores",
};
pub const ADMIN_TOKEN: SecretField =
    SecretField { field: "admin.token", purpose: "protege la API de administración y la consola" };

/// Every secret field.
pub const SECRETS: [SecretField; 6] =
    [META_APP_SECRET, META_VERIFY_TOKEN, META_ACCESS_TOKEN, TWILIO_AUTH_TOKEN, USER_HASH_KEY, ADMIN_TOKEN];

/// The file in the data directory where `contacto run` keeps the secrets it made up.
pub const LOCAL_SECRETS_FILE: &str = "secretos-locales.toml";

impl Settings {
    fn secret_mut(&mut self, field: SecretField) -> &mut Option<Secret> {
        match field.field {
            "channels.meta.app_secret" => &mut self.channels.meta.app_secret,
            "channels.meta.verify_token" => &mut self.channels.meta.verify_token,
            "channels.meta.access_token" => &mut self.channels.meta.access_token,
            "channels.twilio.auth_token" => &mut self.channels.twilio.auth_token,
            "privacy.user_hash_key" => &mut self.privacy.user_hash_key,
            "admin.token" => &mut self.admin.token,
            other => unreachable!("{other} is listed in SECRETS and handled above"),
        }
    }

    /// The value of a secret, if set.
    pub fn secret(&mut self, field: SecretField) -> Option<&Secret> {
        self.secret_mut(field).as_ref()
    }

    /// Refuses to go on without `fields`, naming the first missing one and its variable. The
    /// separate production services call this; `contacto run` makes local ones instead.
    pub fn require(&mut self, fields: &[SecretField]) -> Result<(), ConfigError> {
        for &f in fields {
            // An empty variable (`VAR=` in a compose file) is as good as none.
            if self.secret_mut(f).as_ref().is_none_or(|s| s.expose().trim().is_empty()) {
                return Err(ConfigError::MissingSecret { field: f.field.into(), env: f.env_var(), why: f.purpose });
            }
        }
        Ok(())
    }

    /// For `contacto run` on one machine: fills every unset secret from
    /// `data_dir/secretos-locales.toml`, creating random ones there the first time. Returns the
    /// file's path when it was created now, so the caller says so once.
    pub fn fill_local_secrets(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        let missing: Vec<SecretField> = SECRETS.into_iter().filter(|f| self.secret_mut(*f).is_none()).collect();
        if missing.is_empty() {
            return Ok(None);
        }
        let path = self.store.data_dir.join(LOCAL_SECRETS_FILE);
        let mut stored = read_local(&path)?;
        let mut created = false;
        for f in &missing {
            let value = stored.entry(f.field.to_owned()).or_insert_with(|| {
                created = true;
                hex::encode(rand::random::<[u8; 24]>())
            });
            *self.secret_mut(*f) = Some(Secret::new(value.clone()));
        }
        if created {
            write_local(&path, &stored)?;
            return Ok(Some(path));
        }
        Ok(None)
    }
}

fn read_local(path: &Path) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(source) => Err(ConfigError::Io { path: path.display().to_string(), source }),
    }
}

fn write_local(path: &Path, values: &std::collections::BTreeMap<String, String>) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut text = String::from(
        "# Secretos locales creados por `contacto run` para probar el sistema en esta máquina.\n\
         # En producción define cada uno con su variable de entorno (CONTACTO_…) y borra este archivo.\n",
    );
    text.push_str(&toml::to_string(values).map_err(|e| ConfigError::Invalid(e.to_string()))?);
    std::fs::write(path, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_follow_the_nesting_rule() {
        assert_eq!(META_APP_SECRET.env_var(), "CONTACTO_CHANNELS__META__APP_SECRET");
        assert_eq!(USER_HASH_KEY.env_var(), "CONTACTO_PRIVACY__USER_HASH_KEY");
        assert_eq!(ADMIN_TOKEN.env_var(), "CONTACTO_ADMIN__TOKEN");
    }

    #[test]
    fn a_production_service_names_the_missing_variable() {
        let mut s = Settings::default();
        let err = s.require(&[USER_HASH_KEY, META_APP_SECRET]).unwrap_err().to_string();
        assert!(err.contains("CONTACTO_PRIVACY__USER_HASH_KEY"), "{err}");
        s.privacy.user_hash_key = Some(Secret::new("0123456789abcdef0123"));
        s.channels.meta.app_secret = Some(Secret::new(""));
        let err = s.require(&[USER_HASH_KEY, META_APP_SECRET]).unwrap_err().to_string();
        assert!(err.contains("CONTACTO_CHANNELS__META__APP_SECRET"), "an empty secret is a missing one: {err}");
    }

    #[test]
    fn local_secrets_are_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::default();
        s.store.data_dir = dir.path().to_owned();
        s.admin.token = Some(Secret::new("given"));
        let created = s.fill_local_secrets().unwrap();
        assert_eq!(created, Some(dir.path().join(LOCAL_SECRETS_FILE)));
        assert_eq!(s.admin.token.as_ref().unwrap().expose(), "given", "a given secret is kept");
        let key = s.privacy.user_hash_key.clone().unwrap();
        assert!(key.expose().len() >= 32);
        assert!(s.require(&SECRETS).is_ok());

        let mut again = Settings::default();
        again.store.data_dir = dir.path().to_owned();
        again.admin.token = Some(Secret::new("given"));
        assert_eq!(again.fill_local_secrets().unwrap(), None, "the second run says nothing");
        assert_eq!(again.privacy.user_hash_key.unwrap().expose(), key.expose());
        let text = std::fs::read_to_string(dir.path().join(LOCAL_SECRETS_FILE)).unwrap();
        assert!(!text.contains("given"), "secrets from the environment are not written to disk");
    }

    #[test]
    fn secrets_never_print() {
        let s = crate::testing::load(
            "",
            &[("CONTACTO_ADMIN__TOKEN", "s3cr3t-admin"), ("CONTACTO_PRIVACY__USER_HASH_KEY", "0123456789abcdef0123")],
        )
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-admin") && !shown.contains("0123456789abcdef0123"), "{shown}");
    }
}
