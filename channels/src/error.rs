//! Why a send failed, and what to do about it: the one classification every sender uses.
//!
//! Each platform's error codes (docs/protocols.md §2.2 for Meta, §3.5 for Twilio) are mapped to a
//! variant here by the channel that received them; the variant carries the policy. The outbox
//! (replies) and the Conéctate sender (broadcasts) both branch on it and nothing else, so a code
//! is classified once, centrally (the lesson of courier's error taxonomy).

use std::fmt;
use std::time::Duration;

/// What a throttle applies to, which decides what must slow down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleScope {
    /// The business number's throughput (Meta 130429): pause every send from that number.
    BusinessNumber,
    /// One recipient (Meta 131056 pair rate limit): delay that one.
    Recipient,
    /// The app or the whole account (Meta 4, 80007): pause every send.
    Account,
}

impl fmt::Display for ThrottleScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThrottleScope::BusinessNumber => "business number",
            ThrottleScope::Recipient => "recipient",
            ThrottleScope::Account => "account",
        })
    }
}

/// A failed send. `reason` texts come from the platform with secrets and anything that looks
/// like a phone number removed (see [`scrub`]), so they may be logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Too fast: wait (`retry_after` when the platform said how long) and send again.
    #[error("throttled ({scope}{})", code_text(code))]
    Throttled { scope: ThrottleScope, retry_after: Option<Duration>, code: Option<u32> },
    /// The platform holds this recipient back to keep engagement healthy (Meta 131049): send
    /// them nothing business-initiated until `retry_after` (a day) has passed.
    #[error("the recipient is held back for engagement (code {code})")]
    EngagementLimited { code: u32, retry_after: Duration },
    /// The platform or the network failed this time (5xx, timeout, 131000, 131016): retry with
    /// back-off.
    #[error("transient failure{}: {reason}", code_text(code))]
    Transient { code: Option<u32>, reason: String },
    /// The platform refused this message and will refuse it again (bad parameter, unsupported
    /// type, a template problem 132xxx): record it, never retry.
    #[error("refused{}: {reason}", code_text(code))]
    Permanent { code: Option<u32>, reason: String },
    /// Outside the 24-hour customer service window (Meta 131047, Twilio 63016): only an
    /// approved template may be sent; never retry the same message.
    #[error("outside the 24-hour window (code {code}); a template is needed")]
    NeedsTemplate { code: u32 },
    /// The citizen stopped these messages (Meta 131050, Twilio 21610): a Conéctate opt-out.
    #[error("the recipient opted out (code {code})")]
    OptedOut { code: u32 },
    /// The recipient cannot receive WhatsApp messages (Meta 131026): mark them unreachable.
    #[error("the recipient is unreachable (code {code})")]
    Unreachable { code: u32 },
    /// The account is restricted (Meta 131048 spam limit, 131031 locked, 368 policy block):
    /// stop business-initiated sends and alert; retrying makes it worse.
    #[error("the sending account is restricted (code {code}): {reason}")]
    Frozen { code: u32, reason: String },
    /// Our side is wrong (expired or invalid token 0/190, number not allowed in development
    /// mode 131030, a channel that is not configured): alert ops; retrying cannot help.
    #[error("configuration problem{}: {reason}", code_text(code))]
    Config { code: Option<u32>, reason: String },
}

impl SendError {
    /// Whether sending the same message again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Throttled { .. } | SendError::EngagementLimited { .. } | SendError::Transient { .. })
    }

    /// How long the platform asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Throttled { retry_after, .. } => *retry_after,
            SendError::EngagementLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether a person must look (the account or our configuration is broken).
    pub fn needs_alert(&self) -> bool {
        matches!(self, SendError::Frozen { .. } | SendError::Config { .. })
    }

    /// The platform's error code, when it gave one.
    pub fn code(&self) -> Option<u32> {
        match self {
            SendError::Throttled { code, .. }
            | SendError::Transient { code, .. }
            | SendError::Permanent { code, .. }
            | SendError::Config { code, .. } => *code,
            SendError::NeedsTemplate { code }
            | SendError::EngagementLimited { code, .. }
            | SendError::OptedOut { code }
            | SendError::Unreachable { code }
            | SendError::Frozen { code, .. } => Some(*code),
        }
    }

    /// A short stable name of the class, for logs and metric labels.
    pub fn class(&self) -> &'static str {
        match self {
            SendError::Throttled { .. } => "throttled",
            SendError::EngagementLimited { .. } => "engagement_limited",
            SendError::Transient { .. } => "transient",
            SendError::Permanent { .. } => "permanent",
            SendError::NeedsTemplate { .. } => "needs_template",
            SendError::OptedOut { .. } => "opted_out",
            SendError::Unreachable { .. } => "unreachable",
            SendError::Frozen { .. } => "frozen",
            SendError::Config { .. } => "config",
        }
    }

    /// A request that never got an answer (connection refused, timeout, unreadable response).
    pub(crate) fn from_transport(error: &reqwest::Error, redact: &[String]) -> SendError {
        SendError::Transient { code: None, reason: scrub(&error.to_string(), redact) }
    }
}

/// ", code 131047" when there is a code.
fn code_text(code: &Option<u32>) -> String {
    code.map(|c| format!(", code {c}")).unwrap_or_default()
}

/// Removes secrets and anything that looks like a phone number (eight or more digits in a
/// row) from a platform's message before it is kept or logged.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "[oculto]");
    }
    let mut scrubbed = String::with_capacity(out.len());
    let mut digits = String::new();
    for c in out.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 8 {
            scrubbed.push('…');
        } else {
            scrubbed.push_str(&digits);
        }
        digits.clear();
        if c != '\0' {
            scrubbed.push(c);
        }
    }
    scrubbed.chars().take(300).collect()
}

/// The `Retry-After` header in seconds, when a platform sends one.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttles_and_transient_failures_are_retried() {
        let retryable = [
            SendError::Throttled { scope: ThrottleScope::BusinessNumber, retry_after: None, code: Some(130429) },
            SendError::Transient { code: None, reason: "timeout".into() },
            SendError::EngagementLimited { code: 131049, retry_after: Duration::from_secs(86_400) },
        ];
        assert!(retryable.iter().all(SendError::is_retryable));
        let final_ = [
            SendError::Permanent { code: Some(131051), reason: String::new() },
            SendError::NeedsTemplate { code: 131047 },
            SendError::OptedOut { code: 131050 },
            SendError::Unreachable { code: 131026 },
            SendError::Frozen { code: 368, reason: String::new() },
            SendError::Config { code: Some(190), reason: String::new() },
        ];
        assert!(final_.iter().all(|e| !e.is_retryable()), "{final_:?}");
        assert!(final_.iter().filter(|e| e.needs_alert()).count() == 2);
    }

    #[test]
    fn scrubbing_removes_secrets_and_phone_numbers() {
        let text = "(#131030) Recipient 5214771234567 not in list; token EAAG-secret-token; code 131030";
        let clean = scrub(text, &["EAAG-secret-token".into()]);
        assert_eq!(clean, "(#131030) Recipient … not in list; token [oculto]; code 131030");
    }
}
