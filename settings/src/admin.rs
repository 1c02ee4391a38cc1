//! `[admin]`: the admin API's and the console's token.

use serde::Deserialize;

use crate::Secret;

/// The admin API and console.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Secret: the bearer token of the admin API and the console.
    pub token: Option<Secret>,
}
