//! The frozen state: when the platform restricts the account (Meta 131048 spam limit, 131031
//! locked, 368 policy block) or our configuration is broken (an expired token), every sender
//! stops business-initiated sends until a person has looked and cleared it. Retrying would
//! make a restriction worse. The state is durable (a key without expiry) so a restart does not
//! forget it, and shared by every sender on one Redis.

use jiff::Timestamp;
use schemas::Key;
use serde::{Deserialize, Serialize};
use store::{SharedStore, StoreError};

/// Why sending stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frozen {
    /// The platform's error code, when it gave one.
    pub code: Option<u32>,
    /// The platform's message (scrubbed of secrets and numbers) or ours.
    pub reason: String,
    pub at: Timestamp,
    /// The content whose send hit it.
    pub content: u64,
}

impl Frozen {
    /// What it means for the team, in Spanish.
    pub fn explain(&self) -> String {
        let what = match self.code {
            Some(131048) => "WhatsApp limitó los envíos por reportes o bloqueos de usuarios (131048)",
            Some(131031) => "WhatsApp bloqueó la cuenta (131031)",
            Some(368) => "WhatsApp restringió la cuenta por sus políticas (368)",
            Some(0 | 190) => "El token de la Graph API no es válido o venció",
            Some(131030) => "El número destinatario no está en la lista permitida (modo de desarrollo, 131030)",
            _ => "La plataforma rechazó la configuración",
        };
        format!("{what}; revisa WhatsApp Manager y, ya resuelto, reanuda los envíos.")
    }
}

fn key(store: &SharedStore) -> Key {
    store.keys().flag("conectate:frozen")
}

/// The frozen state, if sending is stopped.
pub async fn frozen(store: &SharedStore) -> Result<Option<Frozen>, StoreError> {
    match store.get(&key(store)).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { key: key(store).to_string(), reason: e.to_string() }),
        None => Ok(None),
    }
}

/// Stops every sender.
pub async fn freeze(store: &SharedStore, state: &Frozen) -> Result<(), StoreError> {
    let value = serde_json::to_vec(state).expect("the frozen state serialises");
    store.put(&key(store), &value, None).await?;
    tracing::error!(code = ?state.code, reason = %state.reason, content = state.content, "Conéctate sending is frozen until a person clears it.");
    Ok(())
}

/// Lets senders go on; returns what was cleared.
pub async fn unfreeze(store: &SharedStore) -> Result<Option<Frozen>, StoreError> {
    let was = frozen(store).await?;
    store.delete(&key(store)).await?;
    if was.is_some() {
        tracing::warn!("Conéctate sending was unfrozen by an operator.");
    }
    Ok(was)
}
