//! `[privacy]`.

use serde::Deserialize;

use crate::Secret;

/// Privacy.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Secret: the key of the HMAC-SHA256 that replaces every phone number and user id in
    /// logs, keys and counters; at least 16 bytes. Changing it starts new counters of users.
    pub user_hash_key: Option<Secret>,
}
