//! `[responder]`: the webhook service.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::ConfigError;
use crate::error::field;

/// The webhook service.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponderSettings {
    /// Address of the internet-facing port: `/webhooks/meta` (GET and POST), `/webhooks/twilio`,
    /// `/webhooks/twilio/status`.
    pub listen: SocketAddr,
    /// Address of the internal port: health, metrics, the admin API and the console. Keep it
    /// off the internet.
    pub internal_listen: SocketAddr,
    /// A request that takes longer is answered 503 so the platform retries it; its webhook is
    /// still handled to the end.
    pub request_timeout_secs: u64,
    /// Requests handled at once, and webhooks being handled at once (those whose requests
    /// went away included); beyond it requests wait (load shedding happens upstream).
    pub max_concurrent_requests: usize,
    /// Messages one user may send per minute before the bot stops answering them for the rest
    /// of the minute.
    pub flood_per_minute: u32,
    /// How long the bot remembers the last menu shown to a user.
    pub session_ttl_secs: u64,
    /// How long a platform message id is remembered to answer it only once. Meta retries a
    /// webhook for up to 7 days, so the default is 8 days.
    pub dedupe_ttl_hours: u64,
    /// The largest webhook body accepted; larger ones are answered 413 without being read.
    /// Meta documents payloads of up to 3 MB, so the default is 3 MiB.
    pub max_body_bytes: usize,
    /// How often the current snapshot is polled, in case an announcement was missed.
    pub snapshot_poll_secs: u64,
    /// How often counters (interactions, unique users) are written to the store in one batch.
    pub counters_flush_ms: u64,
    /// Replies the outbox sends at once per process (each still waits for the rate governor).
    pub outbox_concurrency: usize,
    /// The first retry of a failed reply waits this long; each later one twice as long.
    pub outbox_retry_base_ms: u64,
    /// No retry waits longer than this.
    pub outbox_retry_max_secs: u64,
    /// A reply claimed by a worker that has not finished it after this long is taken over by
    /// another worker (the first one died or hangs).
    pub outbox_reclaim_idle_secs: u64,
    /// A reply still unsent this long after the citizen wrote is dropped and recorded: outside
    /// WhatsApp's 24-hour customer service window only templates may be sent.
    pub reply_max_age_hours: u64,
    /// «Sin entender»: a phrase the bot did not understand (kept masked, never with who wrote
    /// it) is forgotten this many days after it was last written.
    pub unmatched_days: u64,
    /// «Sin entender»: a phrase is shown to maintainers only once at least this many distinct
    /// citizens wrote it, so no single citizen's words are ever shown.
    pub unmatched_min_citizens: u64,
}

impl ResponderSettings {
    /// How long a phrase not understood is kept after it was last written.
    pub fn unmatched_keep(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.unmatched_days.saturating_mul(86_400))
    }
}

impl Default for ResponderSettings {
    fn default() -> Self {
        ResponderSettings {
            listen: "0.0.0.0:8080".parse().expect("literal address"),
            internal_listen: "127.0.0.1:9090".parse().expect("literal address"),
            request_timeout_secs: 10,
            max_concurrent_requests: 1024,
            flood_per_minute: 20,
            session_ttl_secs: 30 * 60,
            dedupe_ttl_hours: 8 * 24,
            max_body_bytes: 3 << 20,
            snapshot_poll_secs: 5,
            counters_flush_ms: 250,
            outbox_concurrency: 64,
            outbox_retry_base_ms: 1_000,
            outbox_retry_max_secs: 300,
            outbox_reclaim_idle_secs: 60,
            reply_max_age_hours: 24,
            unmatched_days: 30,
            unmatched_min_citizens: 5,
        }
    }
}

impl ResponderSettings {
    /// Checks what types alone cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.listen == self.internal_listen && self.listen.port() != 0 {
            return Err(field("responder.internal_listen", "debe ser distinta de responder.listen"));
        }
        if self.request_timeout_secs == 0 {
            return Err(field("responder.request_timeout_secs", "debe ser mayor que 0"));
        }
        if self.max_concurrent_requests == 0 {
            return Err(field("responder.max_concurrent_requests", "debe ser mayor que 0"));
        }
        if self.max_body_bytes < 64 << 10 {
            return Err(field("responder.max_body_bytes", "debe ser de al menos 65,536 bytes"));
        }
        for (name, value) in [
            ("responder.snapshot_poll_secs", self.snapshot_poll_secs),
            ("responder.counters_flush_ms", self.counters_flush_ms),
            ("responder.outbox_retry_base_ms", self.outbox_retry_base_ms),
            ("responder.outbox_retry_max_secs", self.outbox_retry_max_secs),
            ("responder.outbox_reclaim_idle_secs", self.outbox_reclaim_idle_secs),
            ("responder.session_ttl_secs", self.session_ttl_secs),
            ("responder.dedupe_ttl_hours", self.dedupe_ttl_hours),
            ("responder.unmatched_days", self.unmatched_days),
        ] {
            if value == 0 {
                return Err(field(name, "debe ser mayor que 0"));
            }
        }
        if self.unmatched_min_citizens < 2 {
            return Err(field(
                "responder.unmatched_min_citizens",
                "debe ser de al menos 2: una frase de un solo ciudadano no se muestra",
            ));
        }
        if self.outbox_concurrency == 0 {
            return Err(field("responder.outbox_concurrency", "debe ser mayor que 0"));
        }
        if !(1..=24).contains(&self.reply_max_age_hours) {
            return Err(field(
                "responder.reply_max_age_hours",
                "debe estar entre 1 y 24: fuera de la ventana de 24 horas solo se envían plantillas",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_each_names_its_field;

    #[test]
    fn invalid_values_name_their_field() {
        let cases = [
            ("[responder]\nlisten = \"nowhere\"\n", "responder.listen"),
            ("[responder]\nmax_body_bytes = 10\n", "responder.max_body_bytes"),
            ("[responder]\nreply_max_age_hours = 48\n", "responder.reply_max_age_hours"),
            ("[responder]\noutbox_concurrency = 0\n", "responder.outbox_concurrency"),
            ("[responder]\nlistne = \"0.0.0.0:1\"\n", "listne"),
        ];
        assert_each_names_its_field(&cases);
    }
}
