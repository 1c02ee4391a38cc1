//! Per-citizen flags a failed delivery leaves behind: a citizen the platform cannot reach, or
//! one it holds back for healthy engagement, is skipped by every sender until the flag ends.

use std::time::Duration;

use jiff::Timestamp;
use schemas::{Key, KeyLayout, UserKey};

/// A citizen the platform cannot deliver to (131026): skipped until the flag expires. Flags
/// hold their expiry (Unix seconds, see [`flag_until`]) so a sender knows how long to wait.
pub fn unreachable_flag(keys: &KeyLayout, user: &UserKey) -> Key {
    keys.flag(&format!("conectate:unreachable:{user}"))
}

/// A citizen Meta holds back for healthy engagement (131049): no Conéctate send until it
/// expires.
pub fn engagement_flag(keys: &KeyLayout, user: &UserKey) -> Key {
    keys.flag(&format!("conectate:engagement:{user}"))
}

/// The value of a flag that lasts `for_` from now.
pub fn flag_until(for_: Duration) -> Vec<u8> {
    (Timestamp::now() + for_).as_second().to_string().into_bytes()
}

/// When a flag set with [`flag_until`] ends.
pub fn flag_end(value: &[u8]) -> Option<Timestamp> {
    Timestamp::from_second(std::str::from_utf8(value).ok()?.parse().ok()?).ok()
}
