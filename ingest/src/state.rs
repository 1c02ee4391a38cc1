//! A source's state between runs, kept in the store (`KvStore` under
//! `KeyLayout::source_state`) so that every process sharing the store sees the same:
//!
//! | part | what |
//! |---|---|
//! | `validators` | ETag / Last-Modified (or a file's size and time) of the last fetch whose data was used |
//! | `last_good` | the last published dataset with its provenance: the baseline of the plausibility checks |
//! | `quarantined` | a valid but implausible dataset waiting for `contacto ingest --force NAME` |
//! | `lease` | held while a run is going, so that no two runs of one source overlap, across processes too |

use std::collections::BTreeMap;
use std::time::Duration;

use schemas::{Provenance, SourceName};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use store::{Store, StoreError};

use crate::fetch::Validators;

/// Other sources' last good datasets, by source, as stored.
pub type Companions = BTreeMap<SourceName, Stored<serde_json::Value>>;

/// A dataset as kept in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored<D> {
    pub provenance: Provenance,
    pub dataset: D,
    /// Why it was quarantined (empty for the last good dataset).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The validators of the fetch that brought it, saved when it is published.
    #[serde(default)]
    pub validators: Validators,
}

/// The state of one source.
pub struct SourceState<'a> {
    store: &'a dyn Store,
    name: &'a SourceName,
}

/// A last good dataset as it was stored, before [`SourceState::replace_last_good`].
#[must_use = "restore it if the publish fails"]
pub struct Replaced(Option<Vec<u8>>);

impl Replaced {
    /// The dataset it held, if it still reads as `D`.
    pub fn dataset<D: DeserializeOwned>(&self) -> Option<D> {
        let bytes = self.0.as_deref()?;
        serde_json::from_slice::<Stored<D>>(bytes).ok().map(|s| s.dataset)
    }
}

impl<'a> SourceState<'a> {
    pub fn new(store: &'a dyn Store, name: &'a SourceName) -> Self {
        SourceState { store, name }
    }

    fn key(&self, part: &str) -> schemas::Key {
        self.store.keys().source_state(self.name, part)
    }

    async fn get_json<T: DeserializeOwned>(&self, part: &str) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.store.get(&self.key(part)).await? else { return Ok(None) };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Some(value)),
            Err(error) => {
                // A record written by an older version of the kind: treat it as absent rather
                // than block the source forever.
                tracing::warn!(source = %self.name, part, error = %error, "Ignoring a source state record that no longer reads.");
                Ok(None)
            }
        }
    }

    async fn put_json<T: Serialize>(&self, part: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).expect("source state serialises");
        self.store.put(&self.key(part), &bytes, None).await
    }

    pub async fn validators(&self) -> Result<Validators, StoreError> {
        Ok(self.get_json("validators").await?.unwrap_or_default())
    }

    pub async fn set_validators(&self, validators: &Validators) -> Result<(), StoreError> {
        self.put_json("validators", validators).await
    }

    pub async fn last_good<D: DeserializeOwned>(&self) -> Result<Option<Stored<D>>, StoreError> {
        self.get_json("last_good").await
    }

    /// Saves `stored` as the last good dataset (companions render with it from now on) and
    /// returns what it replaced, to put back with [`SourceState::restore_last_good`] if the
    /// publish that follows fails: the next run must not take its own data for unchanged.
    pub async fn replace_last_good<D: Serialize>(&self, stored: &Stored<D>) -> Result<Replaced, StoreError> {
        let previous = self.store.get(&self.key("last_good")).await?;
        self.put_json("last_good", stored).await?;
        Ok(Replaced(previous))
    }

    pub async fn restore_last_good(&self, replaced: Replaced) -> Result<(), StoreError> {
        match replaced.0 {
            Some(bytes) => self.store.put(&self.key("last_good"), &bytes, None).await,
            None => self.store.delete(&self.key("last_good")).await,
        }
    }

    pub async fn quarantined<D: DeserializeOwned>(&self) -> Result<Option<Stored<D>>, StoreError> {
        self.get_json("quarantined").await
    }

    pub async fn set_quarantined<D: Serialize>(&self, stored: &Stored<D>) -> Result<(), StoreError> {
        self.put_json("quarantined", stored).await
    }

    pub async fn clear_quarantined(&self) -> Result<(), StoreError> {
        self.store.delete(&self.key("quarantined")).await
    }

    /// Takes the run lease for `ttl`; `false` if another run holds it.
    pub async fn acquire_lease(&self, ttl: Duration) -> Result<bool, StoreError> {
        self.store.set_if_absent(&self.key("lease"), ttl).await
    }

    /// Extends a lease this run holds.
    pub async fn renew_lease(&self, ttl: Duration) -> Result<(), StoreError> {
        self.store.put(&self.key("lease"), b"1", Some(ttl)).await
    }

    pub async fn release_lease(&self) -> Result<(), StoreError> {
        self.store.delete(&self.key("lease")).await
    }
}

/// The last good datasets of `names` (those that have one), as a kind's companions.
pub async fn companions(store: &dyn Store, names: &[SourceName]) -> Result<Companions, StoreError> {
    let mut out = Companions::new();
    for name in names {
        if let Some(stored) = SourceState::new(store, name).last_good().await? {
            out.insert(name.clone(), stored);
        }
    }
    Ok(out)
}
