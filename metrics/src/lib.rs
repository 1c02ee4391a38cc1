//! The Prometheus metrics of every Contacto Ciudadano process, in one registry per process,
//! served as OpenMetrics text on the internal port's `/metrics`.
//!
//! Every label value comes from a closed set known at compile time (`&'static str`: an
//! outcome, a result, an error class), from the channels registered (a [`ChannelKind`], the
//! name each channel declares, checked when it is made), from the configuration (a source's
//! name) or from the published topic catalogue (a [`Topic`] the bot answered: a subject of
//! the snapshot's catalogue or a system answer; a message not understood counts as `ayuda`). Nothing a citizen sends, and no user key, can become a label: the recording
//! methods take enums, channel names or `&'static str`, never a runtime string.
//!
//! Counters and histograms are updated where things happen (the responder, the outbox, the
//! Conéctate sender, ingest); gauges that describe the shared state (queue depths, the
//! current snapshot, how old each source's answers are) are read from the store when
//! `/metrics` is scraped, so every replica reports the same truth.
//!
//! # Layout
//! - [`Metrics`]: the registry and one recording method per event.
//! - [`ChannelSeries`]: the series of one channel that every webhook touches, resolved once
//!   per registered channel ([`Metrics::channel`]).
//! - [`scrape`]: the store-backed gauges and the `/metrics` route ([`scrape::routes`]).

pub mod scrape;

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use schemas::{ChannelKind, RunResult, SourceName, Topic};
use std::sync::atomic::AtomicU64;

/// What became of a webhook request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Signed, read and handled (answered, or enqueued).
    Handled,
    /// Bad or missing signature, or a refused handshake: nothing processed.
    Rejected,
    /// Signed but unreadable (400).
    Unreadable,
    /// Could not be handled now (the store failed): the platform retries, or Twilio hears
    /// that the service is busy.
    Failed,
}

impl WebhookOutcome {
    pub const ALL: [WebhookOutcome; 4] =
        [WebhookOutcome::Handled, WebhookOutcome::Rejected, WebhookOutcome::Unreadable, WebhookOutcome::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Handled => "handled",
            WebhookOutcome::Rejected => "rejected",
            WebhookOutcome::Unreadable => "unreadable",
            WebhookOutcome::Failed => "failed",
        }
    }
}

/// What the responder did with the parts of webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message from a citizen was read.
    Message,
    /// A message seen before (a platform retry): not answered again.
    Duplicate,
    /// A message over the per-user flood limit.
    Flooded,
    /// A message to a business number this service does not serve.
    Unserved,
    /// A part of a webhook that could not be used.
    Unusable,
    /// A reaction (nothing to answer).
    Reaction,
    /// A reply put in the outbox.
    Enqueued,
    /// A reply sent inline (Twilio's TwiML).
    Inline,
    /// A Conéctate consent change applied.
    ConsentChange,
    /// An error a platform reported outside messages.
    PlatformError,
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::Message,
        Event::Duplicate,
        Event::Flooded,
        Event::Unserved,
        Event::Unusable,
        Event::Reaction,
        Event::Enqueued,
        Event::Inline,
        Event::ConsentChange,
        Event::PlatformError,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Event::Message => "message",
            Event::Duplicate => "duplicate",
            Event::Flooded => "flooded",
            Event::Unserved => "unserved",
            Event::Unusable => "unusable",
            Event::Reaction => "reaction",
            Event::Enqueued => "enqueued",
            Event::Inline => "inline",
            Event::ConsentChange => "consent_change",
            Event::PlatformError => "platform_error",
        }
    }
}

/// Which sender sent: the outbox of replies, or the Conéctate broadcast sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendKind {
    Reply,
    Broadcast,
}

impl SendKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SendKind::Reply => "reply",
            SendKind::Broadcast => "broadcast",
        }
    }
}

/// How one send attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// The platform accepted the message.
    Sent,
    /// It failed for now and comes back later.
    Retry,
    /// It failed for good.
    Failed,
    /// A reply that could not leave within the 24-hour window.
    Expired,
}

impl SendResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            SendResult::Sent => "sent",
            SendResult::Retry => "retry",
            SendResult::Failed => "failed",
            SendResult::Expired => "expired",
        }
    }
}

/// What became of one Conéctate delivery the sender claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroadcastOutcome {
    /// Sent (the platform accepted it).
    Sent,
    /// Settled without a send: the citizen left, is unreachable, or has no template.
    Skipped,
    /// Refused for good.
    Failed,
    /// Put back for later (a throttle, the messaging limit, a retry).
    Later,
    /// Already settled before (a repeat): nothing sent.
    Repeat,
    /// Claimed by a sender that died mid-send: waiting for the platform's status.
    InDoubt,
}

impl BroadcastOutcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            BroadcastOutcome::Sent => "sent",
            BroadcastOutcome::Skipped => "skipped",
            BroadcastOutcome::Failed => "failed",
            BroadcastOutcome::Later => "later",
            BroadcastOutcome::Repeat => "repeat",
            BroadcastOutcome::InDoubt => "in_doubt",
        }
    }
}

/// A channel's name as a label value.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct ChannelName(ChannelKind);

impl EncodeLabelValue for ChannelName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.0.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: ChannelName,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    channel: ChannelName,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendLabels {
    channel: ChannelName,
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendErrorLabels {
    channel: ChannelName,
    kind: &'static str,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendDurationLabels {
    channel: ChannelName,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabel {
    topic: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    source: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct QueueLabels {
    pub(crate) queue: &'static str,
    pub(crate) state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AgeLabels {
    pub(crate) source: String,
    /// `data_date` (the day the data describes, from its start in the configured time
    /// zone) or `fetched_at` (when ingest read it).
    pub(crate) since: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// From half a millisecond to ten seconds: a webhook answered from memory takes about a
/// millisecond; a store that struggles shows up in the upper buckets.
const WEBHOOK_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// From five milliseconds to a day: a reply normally leaves within a second, a retried one
/// after minutes, and none after the 24-hour window.
const DELIVERY_BUCKETS: [f64; 16] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0, 86400.0];
/// One platform API call: tens to hundreds of milliseconds, up to the request timeout.
const SEND_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// An ingest run: a small file in milliseconds, the national file in tens of seconds.
const RUN_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

fn webhook_histogram() -> Histogram {
    Histogram::new(WEBHOOK_BUCKETS)
}
fn delivery_histogram() -> Histogram {
    Histogram::new(DELIVERY_BUCKETS)
}
fn send_histogram() -> Histogram {
    Histogram::new(SEND_BUCKETS)
}
fn run_histogram() -> Histogram {
    Histogram::new(RUN_BUCKETS)
}

/// The series every webhook touches, resolved once: recording one is an atomic add, with no
/// label hashing or lock on the hot path. Indexed by the enums' order.
struct Hot {
    events: [Counter; Event::ALL.len()],
}

/// The series of one channel that every webhook touches, resolved once when the responder
/// mounts the channel's routes: recording one is an atomic add, with no label hashing or lock
/// on the hot path. Only registered channels get series, so the label's values are bounded by
/// the registry.
#[derive(Clone, Debug)]
pub struct ChannelSeries {
    webhooks: [Counter; WebhookOutcome::ALL.len()],
    reply_latency: Histogram,
}

impl ChannelSeries {
    pub fn webhook(&self, outcome: WebhookOutcome) {
        self.webhooks[outcome as usize].inc();
    }

    /// A handled webhook that carried messages: from its arrival to its response.
    pub fn reply_latency(&self, took: Duration) {
        self.reply_latency.observe(took.as_secs_f64());
    }
}

/// The registry of one process and every metric in it. Share it (`Arc`) between the parts
/// a process runs (`contacto run` runs them all).
pub struct Metrics {
    registry: Registry,
    webhooks: Family<WebhookLabels, Counter>,
    events: Family<EventLabel, Counter>,
    reply_latency: Histograms<ChannelLabel>,
    reply_delivery: Histograms<ChannelLabel>,
    sends: Family<SendLabels, Counter>,
    send_errors: Family<SendErrorLabels, Counter>,
    send_duration: Histograms<SendDurationLabels>,
    broadcast_deliveries: Family<OutcomeLabel, Counter>,
    delivery_statuses: Family<StateLabel, Counter>,
    ingest_runs: Family<RunLabels, Counter>,
    answers: Family<TopicLabel, Counter>,
    ingest_duration: Histograms<SourceLabel>,
    pub(crate) queue_depth: Family<QueueLabels, Gauge>,
    pub(crate) answer_age: Family<AgeLabels, Gauge<f64, AtomicU64>>,
    pub(crate) current_version: Gauge,
    pub(crate) store_up: Gauge,
    answering_version: Gauge,
    webhooks_in_progress: Gauge,
    hot: Hot,
}

/// Counts one webhook in `contacto_webhooks_in_progress` while it lives.
pub struct InProgress(Gauge);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, registered under the `contacto_` prefix.
    pub fn new() -> Metrics {
        let webhooks: Family<WebhookLabels, Counter> = Family::default();
        let events: Family<EventLabel, Counter> = Family::default();
        let reply_latency: Histograms<ChannelLabel> = Family::new_with_constructor(webhook_histogram);
        let hot = Hot {
            events: std::array::from_fn(|e| events.get_or_create_owned(&EventLabel { event: Event::ALL[e].as_str() })),
        };
        let mut m = Metrics {
            registry: Registry::with_prefix("contacto"),
            webhooks,
            events,
            reply_latency,
            reply_delivery: Family::new_with_constructor(delivery_histogram),
            sends: Family::default(),
            send_errors: Family::default(),
            send_duration: Family::new_with_constructor(send_histogram),
            broadcast_deliveries: Family::default(),
            delivery_statuses: Family::default(),
            ingest_runs: Family::default(),
            answers: Family::default(),
            ingest_duration: Family::new_with_constructor(run_histogram),
            queue_depth: Family::default(),
            answer_age: Family::default(),
            current_version: Gauge::default(),
            store_up: Gauge::default(),
            answering_version: Gauge::default(),
            webhooks_in_progress: Gauge::default(),
            hot,
        };
        let r = &mut m.registry;
        r.register("webhooks", "Webhook requests by channel and outcome", m.webhooks.clone());
        r.register("responder_events", "What the responder did with the parts of webhooks", m.events.clone());
        r.register_with_unit(
            "reply_latency",
            "From a webhook with messages received to its replies enqueued (or answered inline)",
            Unit::Seconds,
            m.reply_latency.clone(),
        );
        r.register_with_unit(
            "reply_delivery",
            "From a webhook received to its reply accepted by the platform (the outbox)",
            Unit::Seconds,
            m.reply_delivery.clone(),
        );
        r.register("sends", "Send attempts to a platform by channel, sender and result", m.sends.clone());
        r.register("send_errors", "Failed send attempts by channel, sender and error class", m.send_errors.clone());
        r.register_with_unit(
            "send_duration",
            "One platform API call, by channel and sender",
            Unit::Seconds,
            m.send_duration.clone(),
        );
        r.register(
            "broadcast_deliveries",
            "Conéctate deliveries settled by the sender, by outcome",
            m.broadcast_deliveries.clone(),
        );
        r.register("delivery_statuses", "Delivery statuses received from the platforms", m.delivery_statuses.clone());
        r.register("answers", "Messages answered, by the topic of the answer", m.answers.clone());
        r.register("ingest_runs", "Ingest runs by source and result", m.ingest_runs.clone());
        r.register_with_unit("ingest_run_duration", "Ingest runs by source", Unit::Seconds, m.ingest_duration.clone());
        r.register("queue_depth", "Entries of the store's queues (outbox, broadcast) by state", m.queue_depth.clone());
        r.register_with_unit(
            "answer_age",
            "How old the current snapshot's answers of each source are",
            Unit::Seconds,
            m.answer_age.clone(),
        );
        r.register("current_snapshot_version", "The store's current snapshot version", m.current_version.clone());
        r.register("store_up", "Whether the store answered the last scrape (1) or not (0)", m.store_up.clone());
        r.register(
            "answering_snapshot_version",
            "The snapshot version this process answers from (responders)",
            m.answering_version.clone(),
        );
        r.register(
            "webhooks_in_progress",
            "Webhooks being handled now, including those whose requests went away (responders)",
            m.webhooks_in_progress.clone(),
        );
        m
    }

    /// The series of `channel` every webhook touches (its counts start at zero on
    /// `/metrics`); call it once per registered channel and keep it.
    pub fn channel(&self, channel: ChannelKind) -> ChannelSeries {
        let channel = ChannelName(channel);
        ChannelSeries {
            webhooks: std::array::from_fn(|o| {
                self.webhooks.get_or_create_owned(&WebhookLabels { channel, outcome: WebhookOutcome::ALL[o].as_str() })
            }),
            reply_latency: self.reply_latency.get_or_create_owned(&ChannelLabel { channel }),
        }
    }

    pub fn event(&self, event: Event) {
        self.events_by(event, 1);
    }

    pub fn events_by(&self, event: Event, n: u64) {
        self.hot.events[event as usize].inc_by(n);
    }

    /// A message answered with `topic`. Only a [`Topic`] can be a label: it exists for a
    /// subject of a published catalogue or a system answer, never for what a citizen wrote.
    pub fn answered(&self, topic: Topic) {
        self.answers.get_or_create(&TopicLabel { topic: topic.slug() }).inc();
    }

    /// A reply the platform accepted, `took` after its webhook arrived.
    pub fn reply_delivered(&self, channel: ChannelKind, took: Duration) {
        self.reply_delivery.get_or_create(&ChannelLabel { channel: ChannelName(channel) }).observe(took.as_secs_f64());
    }

    /// One send attempt: its result, how long the platform took, and the class of its error
    /// (`SendError::class`) when it failed.
    pub fn send(
        &self,
        channel: ChannelKind,
        kind: SendKind,
        result: SendResult,
        took: Option<Duration>,
        error_class: Option<&'static str>,
    ) {
        let (channel, kind) = (ChannelName(channel), kind.as_str());
        self.sends.get_or_create(&SendLabels { channel, kind, result: result.as_str() }).inc();
        if let Some(took) = took {
            self.send_duration.get_or_create(&SendDurationLabels { channel, kind }).observe(took.as_secs_f64());
        }
        if let Some(class) = error_class {
            self.send_errors.get_or_create(&SendErrorLabels { channel, kind, class }).inc();
        }
    }

    pub fn broadcast_delivery(&self, outcome: BroadcastOutcome) {
        self.broadcast_deliveries.get_or_create(&OutcomeLabel { outcome: outcome.as_str() }).inc();
    }

    /// A delivery status (`queued`, `sent`, `delivered`, `read`, `failed`).
    pub fn delivery_status(&self, state: &'static str) {
        self.delivery_statuses.get_or_create(&StateLabel { state }).inc();
    }

    pub fn ingest_run(&self, source: &SourceName, result: RunResult, took: Duration) {
        self.ingest_runs.get_or_create(&RunLabels { source: source.to_string(), result: result.as_str() }).inc();
        self.ingest_duration.get_or_create(&SourceLabel { source: source.to_string() }).observe(took.as_secs_f64());
    }

    /// The snapshot version this process now answers from.
    pub fn answering(&self, version: u64) {
        self.answering_version.set(version.try_into().unwrap_or(i64::MAX));
    }

    /// A webhook is being handled until the guard is dropped.
    pub fn webhook_in_progress(&self) -> InProgress {
        self.webhooks_in_progress.inc();
        InProgress(self.webhooks_in_progress.clone())
    }

    /// How many webhooks are being handled now.
    pub fn webhooks_in_progress(&self) -> i64 {
        self.webhooks_in_progress.get()
    }

    /// How many times `event` was counted (tests, `/health`).
    pub fn event_count(&self, event: Event) -> u64 {
        self.hot.events[event as usize].get()
    }

    /// How many send attempts ended with `result` (tests, `/health`).
    pub fn send_count(&self, channel: ChannelKind, kind: SendKind, result: SendResult) -> u64 {
        let labels = SendLabels { channel: ChannelName(channel), kind: kind.as_str(), result: result.as_str() };
        self.sends.get(&labels).map_or(0, |c| c.get())
    }

    /// How many handled, rejected, … webhooks of `channel` (tests).
    pub fn webhook_count(&self, channel: ChannelKind, outcome: WebhookOutcome) -> u64 {
        let labels = WebhookLabels { channel: ChannelName(channel), outcome: outcome.as_str() };
        self.webhooks.get(&labels).map_or(0, |c| c.get())
    }

    /// How many Conéctate deliveries ended with `outcome` (tests, `/health`).
    pub fn broadcast_count(&self, outcome: BroadcastOutcome) -> u64 {
        self.broadcast_deliveries.get(&OutcomeLabel { outcome: outcome.as_str() }).map_or(0, |c| c.get())
    }

    /// The OpenMetrics text of everything registered, as it is now.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hot_series_are_the_registered_ones_in_their_order() {
        assert!(Event::ALL.iter().enumerate().all(|(i, e)| *e as usize == i));
        assert!(WebhookOutcome::ALL.iter().enumerate().all(|(i, o)| *o as usize == i));
        let m = Metrics::new();
        let (meta, twilio) = (m.channel(ChannelKind::named("meta")), m.channel(ChannelKind::named("twilio")));
        twilio.webhook(WebhookOutcome::Unreadable);
        m.event(Event::Flooded);
        meta.reply_latency(Duration::from_millis(3));
        let text = m.encode();
        for line in [
            "contacto_webhooks_total{channel=\"twilio\",outcome=\"unreadable\"} 1",
            "contacto_webhooks_total{channel=\"meta\",outcome=\"handled\"} 0",
            "contacto_responder_events_total{event=\"flooded\"} 1",
            "contacto_reply_latency_seconds_bucket{le=\"0.005\",channel=\"meta\"} 1",
            "contacto_reply_latency_seconds_count{channel=\"twilio\"} 0",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert_eq!(m.event_count(Event::Flooded), 1);
        assert_eq!(m.webhook_count(ChannelKind::named("twilio"), WebhookOutcome::Unreadable), 1);
        let unregistered = ChannelKind::named("telegram");
        assert!(!text.contains("telegram"), "only registered channels have series:\n{text}");
        assert_eq!(m.webhook_count(unregistered, WebhookOutcome::Handled), 0);
    }
}
