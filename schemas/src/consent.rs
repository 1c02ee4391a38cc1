//! Conéctate: who subscribed, and the ledger of every consent change.
//!
//! The ledger is append-only and records what the citizen did (the keyword, the button, the
//! platform's own stop signal) and which version of the consent text they were shown, so the
//! government can show why each person received each message.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::channel_kind::ChannelKind;
use crate::municipio::MunicipioId;
use crate::user::{UserAddress, UserKey};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Subscribe,
    Unsubscribe,
}

/// What made the subscription change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ConsentSignal {
    /// A keyword the citizen typed, normalised (`alta`, `baja`, `no mas`).
    Keyword(String),
    /// A quick-reply or template button with this payload.
    Button(String),
    /// Meta's `user_preferences` webhook (`stop` or `resume`).
    PlatformPreference(String),
    /// A send failed with 131050: the user stopped marketing messages.
    SendFailure(u32),
    /// The user changed number (`system` message); the subscription moved.
    NumberChanged,
    /// An administrator acted (with the admin token).
    Admin,
}

/// A requested change, before it is applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentChange {
    pub user: UserKey,
    /// Where to send; needed for a subscription, kept for the ledger's reference otherwise.
    pub address: UserAddress,
    pub channel: ChannelKind,
    /// The business number (Meta `phone_number_id`, Twilio `To`) the citizen wrote to.
    pub business_number: String,
    pub action: ConsentAction,
    pub signal: ConsentSignal,
    pub at: Timestamp,
    /// The version of the consent text shown to the citizen.
    pub consent_text_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipio: Option<MunicipioId>,
}

/// What applying a change did; each is confirmed to the citizen once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    Subscribed,
    AlreadySubscribed,
    Unsubscribed,
    NotSubscribed,
}

/// A current subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub user: UserKey,
    pub address: UserAddress,
    pub channel: ChannelKind,
    pub business_number: String,
    pub since: Timestamp,
    pub consent_text_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipio: Option<MunicipioId>,
}

/// One line of the consent ledger. It holds the user's key, never the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Position in the ledger, assigned by the store (increasing).
    pub seq: u64,
    pub user: UserKey,
    pub channel: ChannelKind,
    pub action: ConsentAction,
    pub signal: ConsentSignal,
    pub at: Timestamp,
    pub consent_text_version: String,
    pub outcome: ConsentOutcome,
}
