//! Each citizen's 24-hour customer service window per business number: the responder opens it
//! when a citizen writes ([`window_opened`]), and a Conéctate sender reads it back
//! ([`window_left`]) to send free-form contents inside it and only an approved template
//! outside it.

use std::time::Duration;

use jiff::Timestamp;
use schemas::{KeyLayout, UserKey};
use store::KvOp;

use crate::{InboundMessage, rate_bucket};

/// WhatsApp's customer service window: each message from a citizen opens it (or starts it
/// again) for this long, per business number.
pub const SERVICE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The write that opens or refreshes the window of `message`'s sender: the time the citizen
/// wrote, under a key that expires when the window closes. `None` when the message is already
/// older than the window (a platform retry days later).
pub fn window_opened(keys: &KeyLayout, message: &InboundMessage, user: UserKey, now: Timestamp) -> Option<KvOp> {
    let at = message.sent_at.unwrap_or(now).min(now);
    let age = now.duration_since(at).unsigned_abs();
    let left = SERVICE_WINDOW.checked_sub(age).filter(|d| !d.is_zero())?;
    Some(KvOp::Put {
        key: keys.service_window(&rate_bucket(message.channel, &message.business_number), &user),
        value: at.as_second().to_string().into_bytes(),
        ttl: Some(left),
    })
}

/// What is left of a window from its stored value (see [`window_opened`]); `None` when closed.
pub fn window_left(stored: Option<&[u8]>, now: Timestamp) -> Option<Duration> {
    let seconds: i64 = std::str::from_utf8(stored?).ok()?.parse().ok()?;
    let age = now.duration_since(Timestamp::from_second(seconds).ok()?);
    let age = if age.is_negative() { Duration::ZERO } else { age.unsigned_abs() };
    SERVICE_WINDOW.checked_sub(age).filter(|d| !d.is_zero())
}
