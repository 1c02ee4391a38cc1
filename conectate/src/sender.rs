//! The sender: takes deliveries from the broadcast queue and sends them, never twice, never
//! to someone who left, never faster than the business number may.
//!
//! Several senders share one queue through its consumer group; a delivery a dead sender had
//! claimed is taken over after `reclaim_idle`. Deliveries are handled in batches, so the store
//! sees a few round trips per batch, not per message:
//!
//! 1. the content, and the recipient as of now: a subscriber who left since the fan-out is
//!    skipped (an opt-out mid-broadcast stops what was not sent yet); a citizen found
//!    unreachable is skipped, one Meta holds back waits;
//! 2. the form: inside the citizen's 24-hour window (as the responder recorded it) the free
//!    text or image, outside it the approved template, which also needs a place within the
//!    messaging limit (unique users per 24 hours, shared by every sender) or waits for one;
//! 3. permits from the rate governor of the business number (the same buckets as the
//!    responder's replies, inbound messages included);
//! 4. the delivery's idempotency key, claimed with a lease (`set_if_absent`): a delivery
//!    already settled is a no-op, one claimed by a sender that died mid-send is *in doubt* and
//!    waits for the platform's status (which settles the key) or for the lease to run out;
//! 5. the send, tagged with the delivery so its statuses find it, and what its result asks
//!    for ([`SendError`] says): settled (sent, opted out, unreachable, refused), the template
//!    instead (131047, 63016), later (throttles pause the number; an engagement limit waits a day;
//!    transient failures back off), or every sender frozen (131048, 131031, 368, a broken
//!    configuration) until a person clears it.
//!
//! [`Sender::try_send_one`] is one step, for tests; [`Sender::run`] the loop a service runs,
//! which also starts due contents and fans them out ([`crate::broadcast`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use channels::consent::opt_out_after_failure;
use channels::delivery::{Delivery, OUTCOME_RANK, Outcome as Settled, Recipient, SETTLED, message_step};
use channels::flags::{engagement_flag, flag_end, flag_until, unreachable_flag};
use channels::template_category::stored_category;
use channels::window::{SERVICE_WINDOW, window_left};
use channels::{Channel, Channels, Outbound, OutboundContent, SendError, Template, ThrottleScope, rate_bucket};
use futures::future::join_all;
use jiff::Timestamp;
use metrics::{BroadcastOutcome, Metrics, SendKind, SendResult};
use schemas::{ChannelKind, TemplateCategory};
use store::{EntryId, KvOp, KvReply, QueueEntry, QueueName, Rate, ReportUpdate, SharedStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::broadcast::Broadcasts;
use crate::config::ConectateConfig;
use crate::content::Content;
use crate::contents::Contents;
use crate::error::ConectateError;
use crate::freeze::{self, Frozen};

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the message.
    Sent,
    /// Settled without a send: the citizen left or cannot be reached, there is no template for
    /// them, or the delivery was already settled (a repeat).
    Settled,
    /// Put back for later: a throttle, the messaging limit, a retry, a delivery in doubt.
    Later { after: Duration },
    /// Refused for good; recorded in the report.
    Failed,
    /// Nothing to send now.
    Empty,
    /// Sending is frozen until a person clears it; nothing was claimed.
    Frozen,
}

/// How long a content read from the store is trusted (only a cancellation can change what
/// the sender needs of it).
const CONTENT_TTL: Duration = Duration::from_secs(5);
/// How often the shared frozen state is read.
const FROZEN_TTL: Duration = Duration::from_secs(1);

/// Sends what the broadcast queue holds.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    channels: Channels,
    config: Arc<ConectateConfig>,
    contents: Contents,
    broadcasts: Broadcasts,
    consumer: String,
    cache: Mutex<HashMap<u64, (Instant, Arc<Content>)>>,
    frozen: Mutex<Option<(Instant, bool)>>,
    /// Set the moment this process freezes sending, so its sends in flight stop at once.
    frozen_now: AtomicBool,
    /// The messaging limit is reached: no claims until then.
    paused_until: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

/// A delivery ready to be sent.
struct Job {
    entry: EntryId,
    delivery: Delivery,
    content: Arc<Content>,
    recipient: Recipient,
    channel: Arc<dyn Channel>,
    /// The template goes (outside the window), else the free-form content.
    template: Option<Template>,
}

/// What becomes of one claimed entry.
struct Settle {
    entry: EntryId,
    outcome: Outcome,
    updates: Vec<ReportUpdate>,
    kv: Vec<KvOp>,
    /// The delivery again, at a later time.
    again: Option<(Vec<u8>, Timestamp)>,
}

impl Settle {
    fn dropped(entry: EntryId) -> Settle {
        Settle { entry, outcome: Outcome::Failed, updates: Vec::new(), kv: Vec::new(), again: None }
    }
}

impl Sender {
    /// A sender named `consumer` (unique per process).
    pub fn new(store: SharedStore, channels: Channels, config: Arc<ConectateConfig>, consumer: String) -> Sender {
        let contents = Contents::new(store.clone(), config.clone());
        let broadcasts =
            Broadcasts::new(store.clone(), contents.clone(), config.delivery.keep, config.sender.reclaim_idle);
        Sender {
            inner: Arc::new(Inner {
                store,
                channels,
                config,
                contents,
                broadcasts,
                consumer,
                cache: Mutex::default(),
                frozen: Mutex::default(),
                frozen_now: AtomicBool::new(false),
                paused_until: Mutex::default(),
                metrics: Arc::new(Metrics::new()),
            }),
        }
    }

    /// Records into `metrics` (shared with the other parts of the process) instead of
    /// metrics of its own. Call it before the sender is cloned or run.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Sender {
        Arc::get_mut(&mut self.inner).expect("with_metrics is called before the sender is shared").metrics = metrics;
        self
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    /// Starts contents whose time has come, fans them out, and marks finished ones done.
    pub async fn tick(&self) -> Result<(), ConectateError> {
        self.inner.broadcasts.tick().await
    }

    /// Claims one delivery (a stale one of a dead sender first), handles it and settles it.
    pub async fn try_send_one(&self) -> Result<Outcome, StoreError> {
        let me = &self.inner;
        if me.is_frozen().await? {
            return Ok(Outcome::Frozen);
        }
        let mut claimed =
            me.store.reclaim(QueueName::Broadcast, &me.consumer, me.config.sender.reclaim_idle, 1).await?;
        if claimed.is_empty() {
            claimed = me.store.claim(QueueName::Broadcast, &me.consumer, 1, Duration::ZERO).await?;
        }
        if claimed.is_empty() {
            return Ok(Outcome::Empty);
        }
        let outcomes = me.clone().process(claimed).await?;
        Ok(outcomes.into_iter().next().unwrap_or(Outcome::Empty))
    }

    /// Sends until `stop` fires: starts due contents every `schedule_poll`, and claims batches
    /// of deliveries (stale ones of dead senders too) in up to four lanes (`LANES`), each
    /// handling its batch to its end. The lanes' batches add up to `sender.concurrency`, so that
    /// setting still bounds the sends in flight.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let me = self.inner.clone();
        tracing::info!(consumer = %me.consumer, "The Conéctate sender is running.");
        let concurrency = me.config.sender.concurrency.max(1);
        let lanes_n = LANES.min(concurrency);
        let mut lanes = tokio::task::JoinSet::new();
        for lane in 0..lanes_n {
            let batch = concurrency / lanes_n + usize::from(lane < concurrency % lanes_n);
            lanes.spawn(me.clone().lane(batch, stop.clone()));
        }
        me.clone().ticker(stop).await;
        lanes.join_all().await;
        tracing::info!(consumer = %me.consumer, "The Conéctate sender stopped.");
    }
}

/// Claim-and-send loops per sender. One lane waits on the store's writes of its batch (each a
/// durable commit on the embedded store, a round trip on Redis) while another sends, and the
/// embedded store's group commit folds the lanes' writes together.
const LANES: usize = 4;

impl Inner {
    /// Starts due contents, fans them out and marks finished ones done, every `schedule_poll`.
    async fn ticker(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let poll = self.config.sender.schedule_poll;
        while !*stop.borrow() {
            if let Err(error) = self.broadcasts.tick().await {
                tracing::warn!(%error, "Starting or fanning out Conéctate contents failed; trying again.");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// One lane: claims up to `batch` deliveries at a time and handles them, until `stop`.
    async fn lane(self: Arc<Self>, batch: usize, mut stop: watch::Receiver<bool>) {
        let mut last_reclaim = Instant::now();
        let mut backoff = Duration::from_millis(100);
        while !*stop.borrow() {
            let wait_until = match self.idle_until().await {
                Ok(until) => until,
                Err(error) => {
                    tracing::warn!(%error, "Reading the frozen state failed.");
                    Some(Instant::now() + backoff)
                }
            };
            if let Some(until) = wait_until {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
            let reclaim_idle = self.config.sender.reclaim_idle;
            let claimed = if last_reclaim.elapsed() >= reclaim_idle / 2 {
                last_reclaim = Instant::now();
                self.store.reclaim(QueueName::Broadcast, &self.consumer, reclaim_idle, batch).await
            } else {
                tokio::select! {
                    c = self.store.claim(QueueName::Broadcast, &self.consumer, batch, Duration::from_millis(500)) => c,
                    _ = stop.changed() => break,
                }
            };
            let result = match claimed {
                Ok(entries) if entries.is_empty() => Ok(Vec::new()),
                Ok(entries) => self.clone().process(entries).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    // What was claimed and not settled is taken over after `reclaim_idle`.
                    tracing::warn!(%error, "The store failed while sending; trying again.");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Whether sending is frozen (read from the store at most once a second).
    async fn is_frozen(&self) -> Result<bool, StoreError> {
        if self.frozen_now.load(Ordering::Relaxed) {
            // Until the store says it was cleared.
            let cleared = freeze::frozen(&self.store).await?.is_none();
            if cleared {
                self.frozen_now.store(false, Ordering::Relaxed);
            }
            return Ok(!cleared);
        }
        if let Some((at, frozen)) = *self.frozen.lock().expect("frozen lock")
            && at.elapsed() < FROZEN_TTL
        {
            return Ok(frozen);
        }
        let frozen = freeze::frozen(&self.store).await?.is_some();
        *self.frozen.lock().expect("frozen lock") = Some((Instant::now(), frozen));
        Ok(frozen)
    }

    /// Until when nothing should be claimed: frozen (look again in a second) or the messaging
    /// limit reached.
    async fn idle_until(&self) -> Result<Option<Instant>, StoreError> {
        if self.is_frozen().await? {
            return Ok(Some(Instant::now() + FROZEN_TTL));
        }
        let mut paused = self.paused_until.lock().expect("pause lock");
        Ok(match *paused {
            Some(until) if until > Instant::now() => Some(until),
            _ => {
                *paused = None;
                None
            }
        })
    }

    /// The content of a delivery, from the cache when recent.
    async fn content(&self, id: u64) -> Result<Arc<Content>, ConectateError> {
        if let Some((at, content)) = self.cache.lock().expect("cache lock").get(&id)
            && at.elapsed() < CONTENT_TTL
        {
            return Ok(content.clone());
        }
        let content = Arc::new(self.contents.get(id).await?);
        self.cache.lock().expect("cache lock").insert(id, (Instant::now(), content.clone()));
        Ok(content)
    }

    /// A final outcome for a delivery: counted once in the report, its key settled.
    fn settled(&self, entry: EntryId, delivery: &Delivery, outcome: Settled, extra: Vec<ReportUpdate>) -> Settle {
        let id = delivery.id;
        let mut updates = extra;
        updates.push(ReportUpdate {
            content: id.content,
            item: id.recipient_item(),
            rank: OUTCOME_RANK,
            label: id.label(&outcome.label()),
        });
        let kind = match outcome {
            Settled::Sent { .. } => Outcome::Sent,
            Settled::Skipped(_) => Outcome::Settled,
            Settled::Failed(_) => Outcome::Failed,
        };
        let kv = vec![KvOp::Put {
            key: id.idempotency_key(self.store.keys()),
            value: SETTLED.to_vec(),
            ttl: Some(self.config.delivery.keep),
        }];
        Settle { entry, outcome: kind, updates, kv, again: None }
    }

    /// The delivery again after `after`; `release` gives its lease back (the platform surely
    /// does not have the message), else the lease runs out by itself (it may have it).
    fn later(&self, entry: EntryId, delivery: Delivery, after: Duration, release: bool) -> Settle {
        let kv = if release {
            vec![KvOp::Delete { key: delivery.id.idempotency_key(self.store.keys()) }]
        } else {
            Vec::new()
        };
        let at = Timestamp::now() + after;
        Settle {
            entry,
            outcome: Outcome::Later { after },
            updates: Vec::new(),
            kv,
            again: Some((delivery.encode(), at)),
        }
    }

    /// Handles claimed entries to their end and settles them.
    async fn process(self: Arc<Self>, entries: Vec<QueueEntry>) -> Result<Vec<Outcome>, StoreError> {
        let order: Vec<EntryId> = entries.iter().map(|e| e.id.clone()).collect();
        let mut settles = Vec::with_capacity(entries.len());
        let jobs = self.prepare(entries, &mut settles).await?;
        let mut groups: HashMap<String, (Rate, Vec<Job>)> = HashMap::new();
        for job in jobs {
            let bucket = rate_bucket(job.recipient.channel, &job.recipient.business_number);
            let rate = job.channel.broadcast_rate();
            groups.entry(bucket).or_insert_with(|| (rate, Vec::new())).1.push(job);
        }
        let sends = groups.into_iter().map(|(bucket, (rate, jobs))| self.clone().send_group(bucket, rate, jobs));
        for group in join_all(sends).await {
            settles.extend(group?);
        }
        self.settle(&settles).await?;
        let by_entry: HashMap<EntryId, Outcome> = settles.into_iter().map(|s| (s.entry, s.outcome)).collect();
        Ok(order.into_iter().map(|id| by_entry.get(&id).cloned().unwrap_or(Outcome::Empty)).collect())
    }

    /// Steps 1 and 2: reads what the deliveries need and decides each one's form; those that
    /// end here go to `settles`.
    async fn prepare(&self, entries: Vec<QueueEntry>, settles: &mut Vec<Settle>) -> Result<Vec<Job>, StoreError> {
        let keys = self.store.keys();
        let now = Timestamp::now();
        let mut found = Vec::with_capacity(entries.len());
        for entry in entries {
            let delivery = match Delivery::decode(&entry.payload) {
                Ok(d) => d,
                Err(error) => {
                    tracing::error!(%error, "A broadcast queue entry cannot be read; dropping it.");
                    settles.push(Settle::dropped(entry.id));
                    continue;
                }
            };
            match self.content(delivery.id.content).await {
                Ok(content) => found.push((entry.id, delivery, content)),
                Err(ConectateError::Store(e)) => return Err(e),
                Err(error) => {
                    tracing::error!(%error, content = delivery.id.content, "A delivery of an unreadable content; dropping it.");
                    settles.push(Settle::dropped(entry.id));
                }
            }
        }
        // The recipient as of now: a subscriber who left since the fan-out gets nothing.
        let subscribers = join_all(found.iter().map(|(_, d, _)| async move {
            match &d.to {
                Some(_) => Ok(None),
                None => self.store.subscriber(&d.id.user).await,
            }
        }))
        .await;
        let mut candidates = Vec::with_capacity(found.len());
        for ((entry, delivery, content), subscriber) in found.into_iter().zip(subscribers) {
            let recipient = match (&delivery.to, subscriber?) {
                (Some(to), _) => to.clone(),
                (None, Some(s)) => {
                    Recipient { address: s.address, channel: s.channel, business_number: s.business_number }
                }
                (None, None) => {
                    settles.push(self.settled(entry, &delivery, Settled::Skipped("unsubscribed"), Vec::new()));
                    continue;
                }
            };
            if content.state == crate::state::State::Cancelled {
                settles.push(self.settled(entry, &delivery, Settled::Skipped("cancelled"), Vec::new()));
                continue;
            }
            let channel = match self.channels.get(recipient.channel) {
                Some(c) if c.serves(&recipient.business_number) => c.clone(),
                _ => {
                    settles.push(self.settled(entry, &delivery, Settled::Skipped("not_served"), Vec::new()));
                    continue;
                }
            };
            candidates.push((entry, delivery, content, recipient, channel));
        }
        // Flags and windows, in one read.
        let mut reads = Vec::with_capacity(candidates.len() * 3);
        for (_, delivery, _, recipient, _) in &candidates {
            let user = delivery.id.user;
            reads.push(KvOp::Get { key: unreachable_flag(keys, &user) });
            reads.push(KvOp::Get { key: engagement_flag(keys, &user) });
            let bucket = rate_bucket(recipient.channel, &recipient.business_number);
            reads.push(KvOp::Get { key: keys.service_window(&bucket, &user) });
        }
        let replies = self.store.batch(&reads).await?;
        let value = |i: usize| match &replies[i] {
            KvReply::Value(v) => v.clone(),
            _ => None,
        };
        let mut jobs = Vec::with_capacity(candidates.len());
        for (i, (entry, delivery, content, recipient, channel)) in candidates.into_iter().enumerate() {
            if value(3 * i).is_some() {
                settles.push(self.settled(entry, &delivery, Settled::Skipped("unreachable"), Vec::new()));
                continue;
            }
            if let Some(until) = value(3 * i + 1).as_deref().and_then(flag_end).filter(|t| *t > now) {
                let after = until.duration_since(now).unsigned_abs();
                settles.push(self.later(entry, delivery, after, false));
                continue;
            }
            let left = window_left(value(3 * i + 2).as_deref(), now).unwrap_or_default();
            let inside = !delivery.template_only && !delivery.id.resend && left > self.config.sender.window_margin;
            let template = if inside { None } else { self.template(&content, recipient.channel) };
            if !inside && template.is_none() {
                settles.push(self.settled(entry, &delivery, Settled::Skipped("no_template"), Vec::new()));
                continue;
            }
            jobs.push(Job { entry, delivery, content, recipient, channel, template });
        }
        self.categorise(&mut jobs).await?;
        self.within_messaging_limit(jobs, settles).await
    }

    /// The latest category of each Meta template about to go, which picks its endpoint: as
    /// Meta last reported it (`template_category_update`, kept by the responder), else as
    /// configured. One read for the batch.
    async fn categorise(&self, jobs: &mut [Job]) -> Result<(), StoreError> {
        let on_meta = |j: &&mut Job| j.recipient.channel == channels::meta::KIND;
        let mut wanted: Vec<(String, String)> = jobs
            .iter_mut()
            .filter(on_meta)
            .filter_map(|j| j.template.as_ref().map(|t| (t.name.clone(), t.language.clone())))
            .collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        let keys = self.store.keys();
        let reads: Vec<KvOp> = wanted.iter().map(|(n, l)| KvOp::Get { key: keys.template_category(n, l) }).collect();
        let replies = self.store.batch(&reads).await?;
        let latest: HashMap<(String, String), TemplateCategory> = wanted
            .into_iter()
            .zip(replies)
            .filter_map(|(template, reply)| match reply {
                KvReply::Value(v) => stored_category(v.as_deref()).map(|c| (template, c)),
                _ => None,
            })
            .collect();
        for job in jobs.iter_mut().filter(on_meta) {
            if let Some(t) = job.template.as_mut()
                && let Some(category) = latest.get(&(t.name.clone(), t.language.clone()))
            {
                t.category = *category;
            }
        }
        Ok(())
    }

    /// Templates go to citizens outside the window: business-initiated, they count for the
    /// messaging limit. Those without a place wait until the oldest one frees.
    async fn within_messaging_limit(&self, jobs: Vec<Job>, settles: &mut Vec<Settle>) -> Result<Vec<Job>, StoreError> {
        let users: Vec<_> = jobs.iter().filter(|j| j.template.is_some()).map(|j| j.delivery.id.user).collect();
        if users.is_empty() {
            return Ok(jobs);
        }
        let reach = self.store.reach(&users, SERVICE_WINDOW, self.config.sender.messaging_limit).await?;
        let mut admitted = reach.admitted.into_iter();
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            if job.template.is_none() || admitted.next().unwrap_or(false) {
                out.push(job);
                continue;
            }
            let after = reach.next_free_in.unwrap_or(Duration::from_secs(60));
            *self.paused_until.lock().expect("pause lock") = Some(Instant::now() + after);
            settles.push(self.later(job.entry, job.delivery, after, false));
        }
        if let Some(after) = reach.next_free_in {
            tracing::warn!(
                in_window = reach.in_window,
                wait_secs = after.as_secs(),
                "The messaging limit is reached; templates wait for a place."
            );
        }
        Ok(out)
    }

    /// The template for a content on a channel: its own, else the channel's default filled
    /// with the content's text; its category as Meta last reported it is set afterwards
    /// (`categorise`), else as configured.
    fn template(&self, content: &Content, channel: ChannelKind) -> Option<Template> {
        let c = &self.config;
        let own = content.draft.own_template(channel);
        let mut template = own.or_else(|| {
            let mut default = c.channels.get(&channel)?.default_template.clone()?;
            // Meta refuses line breaks and long runs of spaces in a parameter.
            let flat = content.draft.message_text().split_whitespace().collect::<Vec<_>>().join(" ");
            default.parameters = vec![flat.chars().take(crate::content::CAPTION_MAX).collect()];
            Some(default)
        })?;
        template.category = c.template_categories.get(&template.name).copied().unwrap_or(TemplateCategory::Marketing);
        Some(template)
    }

    /// Steps 3 to 5 for the jobs of one business number: claim the idempotency keys, then
    /// send each as its permit comes, so that no store write stands between a permit and its
    /// send (the platform sees the governed pace, whatever the lanes do). A lane's batch waits
    /// for its permits well within the lease (`in_doubt`).
    async fn send_group(
        self: Arc<Self>,
        bucket: String,
        rate: Rate,
        jobs: Vec<Job>,
    ) -> Result<Vec<Settle>, StoreError> {
        let mut settles = Vec::new();
        let mut sends: JoinSet<Settle> = JoinSet::new();
        let mut rest = std::collections::VecDeque::from(self.lease(jobs, &mut settles).await?);
        let key = self.store.keys().rate(&bucket);
        while !rest.is_empty() {
            let granted = if self.config.sender.unpaced {
                rest.len()
            } else {
                let want = u32::try_from(rest.len()).unwrap_or(u32::MAX);
                let permits = self.store.take_permits(&key, rate, want).await?;
                if permits.granted == 0 {
                    tokio::time::sleep(permits.next_in.max(Duration::from_millis(1))).await;
                    continue;
                }
                permits.granted as usize
            };
            for job in rest.drain(..granted.min(rest.len())) {
                sends.spawn(self.clone().send(job, bucket.clone(), rate));
            }
        }
        while let Some(done) = sends.join_next().await {
            match done {
                Ok(settle) => settles.push(settle),
                Err(error) => tracing::error!(%error, "A send task failed; its delivery will be taken over."),
            }
        }
        Ok(settles)
    }

    /// Claims each job's idempotency key with a lease; a delivery already settled ends here,
    /// one in doubt (its lease held) looks again later.
    async fn lease(&self, jobs: Vec<Job>, settles: &mut Vec<Settle>) -> Result<Vec<Job>, StoreError> {
        let keys = self.store.keys();
        let lease = self.config.sender.in_doubt;
        let ops: Vec<KvOp> =
            jobs.iter().map(|j| KvOp::SetIfAbsent { key: j.delivery.id.idempotency_key(keys), ttl: lease }).collect();
        let taken = self.store.batch(&ops).await?;
        let (mut ready, mut held) = (Vec::new(), Vec::new());
        for (job, reply) in jobs.into_iter().zip(taken) {
            if reply == KvReply::Set(true) { ready.push(job) } else { held.push(job) }
        }
        if held.is_empty() {
            return Ok(ready);
        }
        let marks = self
            .store
            .batch(&held.iter().map(|j| KvOp::Get { key: j.delivery.id.idempotency_key(keys) }).collect::<Vec<_>>())
            .await?;
        for (job, mark) in held.into_iter().zip(marks) {
            if mark == KvReply::Value(Some(SETTLED.to_vec())) {
                // A repeat (a retried entry, a page fanned out twice): nothing to do.
                self.metrics.broadcast_delivery(BroadcastOutcome::Repeat);
                settles.push(Settle {
                    entry: job.entry,
                    outcome: Outcome::Settled,
                    updates: Vec::new(),
                    kv: Vec::new(),
                    again: None,
                });
            } else {
                self.metrics.broadcast_delivery(BroadcastOutcome::InDoubt);
                let after = (lease / 4).max(Duration::from_secs(1));
                tracing::info!(user = %job.delivery.id.user, content = job.delivery.id.content, "A delivery is in doubt; waiting for the platform's status.");
                settles.push(self.later(job.entry, job.delivery, after, false));
            }
        }
        Ok(ready)
    }

    /// Sends one job and decides what its result asks for.
    async fn send(self: Arc<Self>, job: Job, bucket: String, rate: Rate) -> Settle {
        let Job { entry, delivery, content, recipient, channel, template } = job;
        if self.frozen_now.load(Ordering::Relaxed) {
            return self.later(entry, delivery, Duration::ZERO, true);
        }
        let is_template = template.is_some();
        let body = match template {
            Some(t) => OutboundContent::Template(t),
            None => match &content.draft.image_url {
                Some(link) => OutboundContent::Image { link: link.clone(), caption: content.draft.message_text() },
                None => OutboundContent::Text {
                    body: content.draft.message_text(),
                    preview_url: content.draft.link.is_some(),
                },
            },
        };
        let message = Outbound {
            business_number: recipient.business_number.clone(),
            to: recipient.address.clone(),
            content: body,
            tag: Some(delivery.id.tag(is_template).to_string()),
        };
        let user = delivery.id.user;
        let started = std::time::Instant::now();
        let result = channel.send(&message).await;
        let took = Some(started.elapsed());
        let error = match result {
            Ok(sent) => {
                self.metrics.send(channel.kind(), SendKind::Broadcast, SendResult::Sent, took, None);
                let (rank, label) = message_step(channels::DeliveryState::Queued, &[]);
                let queued = ReportUpdate {
                    content: delivery.id.content,
                    item: format!("m:{}", sent.message_id),
                    rank,
                    label: delivery.id.label(&label),
                };
                tracing::debug!(user = %user, content = delivery.id.content, message_id = %sent.message_id, "Conéctate message sent.");
                return self.settled(entry, &delivery, Settled::Sent { template: is_template }, vec![queued]);
            }
            Err(error) => error,
        };
        let result = if error.is_retryable() { SendResult::Retry } else { SendResult::Failed };
        self.metrics.send(channel.kind(), SendKind::Broadcast, result, took, Some(error.class()));
        let code = error.code();
        tracing::info!(user = %user, content = delivery.id.content, %error, class = error.class(), "A Conéctate send failed.");
        let failed = |reason: String| self.settled(entry.clone(), &delivery, Settled::Failed(reason), Vec::new());
        let reason = || code.map_or_else(|| error.class().to_owned(), |c| c.to_string());
        match &error {
            SendError::NeedsTemplate { .. } if !is_template => {
                let again = Delivery { template_only: true, ..delivery.clone() };
                self.later(entry, again, Duration::ZERO, true)
            }
            SendError::OptedOut { code } => {
                if delivery.to.is_none()
                    && let Err(e) = opt_out_after_failure(&self.store, user, *code, Timestamp::now()).await
                {
                    tracing::warn!(error = %e, "Ending the subscription after an opt-out failed; the next send tries again.");
                    return self.later(entry, delivery, self.backoff(0), true);
                }
                failed(reason())
            }
            SendError::Unreachable { .. } => {
                let keep = self.config.delivery.unreachable_for;
                let flag = KvOp::Put {
                    key: unreachable_flag(self.store.keys(), &user),
                    value: flag_until(keep),
                    ttl: Some(keep),
                };
                let mut settle = failed(reason());
                settle.kv.push(flag);
                settle
            }
            SendError::EngagementLimited { .. } => {
                let pause = self.config.delivery.engagement_pause;
                let mut settle = self.later(entry, delivery, pause, true);
                settle.kv.push(KvOp::Put {
                    key: engagement_flag(self.store.keys(), &user),
                    value: flag_until(pause),
                    ttl: Some(pause),
                });
                settle
            }
            SendError::Throttled { scope, retry_after, .. } => {
                let pause = retry_after.unwrap_or_else(|| self.backoff(delivery.attempt));
                if matches!(scope, ThrottleScope::BusinessNumber | ThrottleScope::Account) {
                    // The whole number (or account) slows down, every sender with it.
                    if let Err(e) = self.store.pause_permits(&self.store.keys().rate(&bucket), rate, pause).await {
                        tracing::warn!(error = %e, "Pausing the business number failed.");
                    }
                    if *scope == ThrottleScope::Account {
                        *self.paused_until.lock().expect("pause lock") = Some(Instant::now() + pause);
                    }
                }
                self.later(entry, delivery, pause, true)
            }
            SendError::Frozen { reason, .. } | SendError::Config { reason, .. } => {
                self.frozen_now.store(true, Ordering::Relaxed);
                let state = Frozen { code, reason: reason.clone(), at: Timestamp::now(), content: delivery.id.content };
                if let Err(e) = freeze::freeze(&self.store, &state).await {
                    tracing::error!(error = %e, "Recording the frozen state failed; this sender stops anyway.");
                }
                self.later(entry, delivery, Duration::ZERO, true)
            }
            SendError::Transient { code: None, .. } => {
                // No answer: the platform may have the message. The lease stays; the status
                // settles it, or the retry after the lease finds it free.
                if delivery.attempt + 1 >= self.config.sender.max_attempts {
                    return failed(reason());
                }
                let again = Delivery { attempt: delivery.attempt + 1, ..delivery };
                self.later(entry, again, self.config.sender.in_doubt + Duration::from_secs(1), false)
            }
            SendError::Transient { .. } => {
                if delivery.attempt + 1 >= self.config.sender.max_attempts {
                    return failed(reason());
                }
                let after = self.backoff(delivery.attempt);
                let again = Delivery { attempt: delivery.attempt + 1, ..delivery };
                self.later(entry, again, after, true)
            }
            SendError::NeedsTemplate { .. } | SendError::Permanent { .. } => failed(reason()),
        }
    }

    /// Back-off for the next attempt: doubling from `retry_base` up to `retry_max`, with jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let s = &self.config.sender;
        let base = s.retry_base.saturating_mul(1u32 << attempt.min(20)).min(s.retry_max);
        base.mul_f64(rand::random_range(0.8..1.2)).min(s.retry_max)
    }

    /// Step 6: the report and the keys first, then what comes back later, then the
    /// acknowledgements (a crash in between leaves repeats, which settled keys make no-ops).
    async fn settle(&self, settles: &[Settle]) -> Result<(), StoreError> {
        for s in settles {
            self.metrics.broadcast_delivery(match s.outcome {
                Outcome::Sent => BroadcastOutcome::Sent,
                Outcome::Settled => BroadcastOutcome::Skipped,
                Outcome::Failed => BroadcastOutcome::Failed,
                Outcome::Later { .. } => BroadcastOutcome::Later,
                Outcome::Empty | Outcome::Frozen => continue,
            });
        }
        let updates: Vec<ReportUpdate> = settles.iter().flat_map(|s| s.updates.iter().cloned()).collect();
        if !updates.is_empty() {
            self.store.advance_report(&updates, self.config.delivery.keep).await?;
        }
        let kv: Vec<KvOp> = settles.iter().flat_map(|s| s.kv.iter().cloned()).collect();
        if !kv.is_empty() {
            self.store.batch(&kv).await?;
        }
        let now = Timestamp::now();
        let mut now_again = Vec::new();
        for (payload, at) in settles.iter().filter_map(|s| s.again.as_ref()) {
            if *at <= now {
                now_again.push(payload.clone());
            } else {
                self.store.enqueue_at(QueueName::Broadcast, payload, *at).await?;
            }
        }
        if !now_again.is_empty() {
            self.store.enqueue(QueueName::Broadcast, &now_again).await?;
        }
        let ids: Vec<EntryId> = settles.iter().map(|s| s.entry.clone()).collect();
        self.store.ack(QueueName::Broadcast, &ids).await
    }
}
