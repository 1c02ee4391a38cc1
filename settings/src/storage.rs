//! `[store]`: where everything is kept. (Not named `store`, which is the store crate.)

use std::path::PathBuf;

use schemas::KeyLayout;
use serde::Deserialize;

use crate::error::field;
use crate::{ConfigError, Secret};

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

impl StoreSettings {
    /// Checks what types alone cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        KeyLayout::new(&self.key_prefix).map_err(|e| field("store.key_prefix", e.to_string()))?;
        if let Some(url) = &self.redis_url {
            store::redis_store::RedisTarget::parse(url.expose()).map_err(|e| field("store.redis_url", e))?;
        }
        if self.keep_versions < 2 {
            return Err(field("store.keep_versions", "conserva al menos 2 versiones para poder revertir"));
        }
        Ok(())
    }

    /// The store these settings select.
    pub(crate) fn store_config(&self) -> store::StoreConfig {
        let keys = KeyLayout::new(&self.key_prefix).expect("validated at load");
        match &self.redis_url {
            Some(url) => store::StoreConfig::Redis { url: url.expose().to_owned(), keys },
            None => store::StoreConfig::Embedded { data_dir: self.data_dir.clone(), keys },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_each_names_its_field, load};

    #[test]
    fn a_bad_redis_url_names_its_field_and_not_its_password() {
        for url in ["redis+cluster://:s3cret@10.0.0.1:7000/2", "redis+cluster://:s3cret@10.0.0.1", "http://:s3cret@x"] {
            let err = load("", &[("CONTACTO_REDIS_URL", url)]).unwrap_err().to_string();
            assert!(err.contains("store.redis_url") && !err.contains("s3cret"), "{url} → {err}");
        }
    }

    #[test]
    fn invalid_values_name_their_field() {
        assert_each_names_its_field(&[("[store]\nkey_prefix = \"A B\"\n", "store.key_prefix")]);
    }
}
