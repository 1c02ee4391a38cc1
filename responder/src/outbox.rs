//! The outbox worker: replies leave through the platform's API here, never inside a webhook.
//!
//! Entries are claimed from the store's durable queue ([`QueueName::Outbox`]); a claim is
//! exclusive (a Redis Streams consumer group, or one embedded transaction), and entries a dead
//! worker claimed are re-claimed after `reclaim_idle`. Each send first takes a permit from the
//! rate governor of its business number (shared by every process on one Redis, inbound
//! messages included). A failure is classified once ([`SendError`]): throttles and transient
//! failures come back later with back-off (honouring `Retry-After`, pausing the whole number
//! on a throughput error); everything else is recorded (counted by day and reason in the store,
//! for the programme report) and dropped, as is a reply that could not leave within the 24-hour
//! window.
//!
//! A citizen's replies leave one at a time, in the order written: each is in its citizen's
//! line ([`store::Line`]), so the store hands out the next only once the previous is settled
//! (sent, or failed for good); a retry keeps its turn. Replies to different citizens go
//! concurrently, paced by the governor.
//!
//! A backlog at a low rate is worked with few store round trips a reply: the worker claims once
//! an eighth of its sends have room, the sends waiting for permits ask the governor once per
//! permit (never to be refused), and sends that ended within 20 ms of each other
//! (`SETTLE_WITHIN`) are acknowledged together (see BENCHMARKS.md, «What a backlog at a low
//! cap cost»; on Redis the governor is a script too, on the embedded store each claim and
//! acknowledgement is a commit).
//!
//! [`OutboxWorker::try_send_one`] is one step, so tests drain the outbox deterministically;
//! [`OutboxWorker::run`] is the loop a service runs, with many sends in flight.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use metrics::{Metrics, SendKind, SendResult};
use store::{EntryId, QueueEntry, QueueName, Rate, SharedStore, StoreError};
use tokio::sync::watch;
use tokio::task::{self, JoinSet};

use crate::config::OutboxConfig;
use crate::mirror::Mirror;
use crate::replies::OutboxEntry;
use channels::{Channels, Outbound, OutboundContent, SendError, ThrottleScope, rate_bucket};

/// How long a send that ended may wait to be settled with others (one store round trip for
/// several): its citizen's next reply waits at most this much longer for its turn. The loop
/// already let a send wait this long before (its pause when every send is in flight), so a
/// crash leaves no more sent replies unacknowledged than it did.
const SETTLE_WITHIN: Duration = Duration::from_millis(20);

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The platform accepted the reply.
    Sent,
    /// Nothing to send.
    Empty,
    /// The send failed for now; the reply is back in the outbox for `after`.
    Retry { after: Duration },
    /// The reply failed for good (or expired); it is recorded and dropped.
    Failed,
}

/// What to do with a claimed entry once its send is over.
struct Settled {
    id: EntryId,
    outcome: Outcome,
    /// The entry again, to come back at a later time.
    again: Option<(Vec<u8>, Timestamp)>,
    /// Why it failed for good, as counted in the store (`unreachable:131026`, `expired`).
    failure: Option<String>,
}

/// Permits taken from the shared governor, per bucket, and how many sends wait for one.
#[derive(Default)]
struct Pacer {
    buckets: Mutex<HashMap<String, Arc<BucketState>>>,
}

#[derive(Default)]
struct BucketState {
    waiting: AtomicU32,
    stock: tokio::sync::Mutex<Stock>,
}

/// Permits taken and not yet handed out, and when to ask the store again.
#[derive(Default)]
struct Stock {
    permits: u32,
    ask_at: Option<tokio::time::Instant>,
}

impl Pacer {
    /// Waits for one permit of `bucket`. Waiting sends of one bucket share store calls: the
    /// first in line asks for as many permits as there are waiters (at most a burst), and when
    /// fewer were free the next in line asks again only once the store said one more would be,
    /// so a backlog at a low rate costs one call per permit, not a refused one and a granted
    /// one.
    async fn acquire(&self, store: &SharedStore, bucket: &str, rate: Rate) -> Result<(), StoreError> {
        let state = self.buckets.lock().expect("pacer lock").entry(bucket.to_owned()).or_default().clone();
        state.waiting.fetch_add(1, Ordering::SeqCst);
        let mut stock = state.stock.lock().await;
        let key = store.keys().rate(bucket);
        let result = loop {
            if stock.permits > 0 {
                stock.permits -= 1;
                break Ok(());
            }
            if let Some(at) = stock.ask_at.take() {
                tokio::time::sleep_until(at).await;
            }
            let want = state.waiting.load(Ordering::SeqCst).clamp(1, rate.burst.max(1));
            match store.take_permits(&key, rate, want).await {
                Ok(p) => {
                    stock.permits += p.granted;
                    if p.granted < want {
                        // Not before the next one is free: asking sooner is only refused.
                        // Waiting for several to gather would save calls but lose permits:
                        // inbound messages charged meanwhile take what replies left unused.
                        stock.ask_at = Some(tokio::time::Instant::now() + p.next_in.max(Duration::from_millis(1)));
                    }
                }
                Err(e) => break Err(e),
            }
        };
        state.waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct OutboxWorker {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    channels: Channels,
    mirror: Arc<Mirror>,
    metrics: Arc<Metrics>,
    config: OutboxConfig,
    consumer: String,
    pacer: Pacer,
}

impl OutboxWorker {
    /// A worker named `consumer` (unique per process: a restarted process re-claims what its
    /// previous life left only after `reclaim_idle`).
    pub fn new(
        store: SharedStore,
        channels: Channels,
        mirror: Arc<Mirror>,
        metrics: Arc<Metrics>,
        config: OutboxConfig,
        consumer: String,
    ) -> OutboxWorker {
        OutboxWorker {
            inner: Arc::new(Inner { store, channels, mirror, metrics, config, consumer, pacer: Pacer::default() }),
        }
    }

    /// Claims one entry (a stale one of a dead worker first), sends it and settles it.
    pub async fn try_send_one(&self) -> Result<Outcome, StoreError> {
        let me = &self.inner;
        let mut claimed = me.store.reclaim(QueueName::Outbox, &me.consumer, me.config.reclaim_idle, 1).await?;
        if claimed.is_empty() {
            claimed = me.store.claim(QueueName::Outbox, &me.consumer, 1, Duration::ZERO).await?;
        }
        let Some(entry) = claimed.pop() else { return Ok(Outcome::Empty) };
        let settled = me.deliver(entry).await;
        let outcome = settled.outcome.clone();
        me.settle(&mut vec![settled]).await?;
        Ok(outcome)
    }

    /// Sends until `stop` fires, up to `concurrency` at once, then finishes the sends in
    /// flight and returns.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let me = self.inner.clone();
        let mut sends = Sends::default();
        let mut done: Vec<Settled> = Vec::new();
        let mut last_reclaim = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        // Claims wait until an eighth of the sends have room, not for each send that ends: at
        // a low rate a backlog waits for permits anyway, and a claim per reply would cost a
        // store round trip (embedded, a commit) per reply.
        let batch = (me.config.concurrency / 8).max(1);
        // When the oldest send not yet settled ended.
        let mut first_done: Option<tokio::time::Instant> = None;
        while !*stop.borrow() {
            let room = me.config.concurrency.saturating_sub(sends.tasks.len());
            let mut claimed_any = false;
            if room >= batch {
                let claimed = if last_reclaim.elapsed() >= me.config.reclaim_idle / 2 {
                    last_reclaim = tokio::time::Instant::now();
                    me.store.reclaim(QueueName::Outbox, &me.consumer, me.config.reclaim_idle, room).await
                } else {
                    // Idle: block on the queue for a while (or until stopped).
                    let wait = if sends.tasks.is_empty() { Duration::from_millis(500) } else { Duration::ZERO };
                    tokio::select! {
                        c = me.store.claim(QueueName::Outbox, &me.consumer, room, wait) => c,
                        _ = stop.changed() => break,
                    }
                };
                match claimed {
                    Ok(mut entries) => {
                        entries.retain(|e| !sends.held.contains(&e.id));
                        backoff = Duration::from_millis(100);
                        claimed_any = !entries.is_empty();
                        for entry in entries {
                            sends.start(me.clone(), entry);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "Claiming from the outbox failed; trying again.");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            // Collect what finished: at once if more work may be waiting, else give the sends
            // in flight a moment before looking at the queue again.
            if !sends.tasks.is_empty() {
                let room = me.config.concurrency.saturating_sub(sends.tasks.len());
                let mut wait = if claimed_any && room >= batch { Duration::ZERO } else { Duration::from_millis(20) };
                if let Some(since) = first_done {
                    wait = wait.min((since + SETTLE_WITHIN).saturating_duration_since(tokio::time::Instant::now()));
                }
                if let Ok(Some(joined)) = tokio::time::timeout(wait, sends.tasks.join_next_with_id()).await {
                    done.extend(sends.finished(joined));
                }
                while let Some(joined) = sends.tasks.try_join_next_with_id() {
                    done.extend(sends.finished(joined));
                }
            }
            // Sent replies stay in `done` until settled: were they left to be re-claimed, they
            // would be sent again. They are settled together once a batch has ended, or none is
            // left in flight, or the first has waited `SETTLE_WITHIN`.
            if done.is_empty() {
                continue;
            }
            let since = *first_done.get_or_insert_with(tokio::time::Instant::now);
            if done.len() >= batch || sends.tasks.is_empty() || since.elapsed() >= SETTLE_WITHIN {
                let ids: Vec<EntryId> = done.iter().map(|s| s.id.clone()).collect();
                match me.settle(&mut done).await {
                    Ok(()) => {
                        first_done = None;
                        ids.iter().for_each(|id| {
                            sends.held.remove(id);
                        })
                    }
                    Err(error) => {
                        tracing::warn!(%error, entries = done.len(), "Settling sent replies failed; trying again.");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        while let Some(joined) = sends.tasks.join_next_with_id().await {
            done.extend(sends.finished(joined));
        }
        if let Err(error) = me.settle(&mut done).await {
            tracing::warn!(%error, "Settling the last replies failed; they will be re-claimed and sent again.");
        }
    }
}

/// The worker's sends: those in flight, and the entries it holds until they are settled.
#[derive(Default)]
struct Sends {
    tasks: JoinSet<Settled>,
    /// The entry each task sends.
    entries: HashMap<task::Id, EntryId>,
    /// Entries being sent or waiting for their settling: a re-claim (their send or their
    /// settling outlasted `reclaim_idle`, say while a Redis primary hands over) must not send
    /// them again.
    held: HashSet<EntryId>,
}

impl Sends {
    fn start(&mut self, me: Arc<Inner>, entry: QueueEntry) {
        let id = entry.id.clone();
        self.held.insert(id.clone());
        let task = self.tasks.spawn(async move { me.deliver(entry).await });
        self.entries.insert(task.id(), id);
    }

    /// A finished send, to settle. A send that failed unexpectedly (a panic) lets its entry
    /// go, to be re-claimed after `reclaim_idle`.
    fn finished(&mut self, joined: Result<(task::Id, Settled), task::JoinError>) -> Option<Settled> {
        match joined {
            Ok((task, settled)) => {
                self.entries.remove(&task);
                Some(settled)
            }
            Err(failed) => {
                if let Some(entry) = self.entries.remove(&failed.id()) {
                    self.held.remove(&entry);
                }
                tracing::error!(error = %failed, "Sending a reply failed unexpectedly; it will be re-claimed.");
                None
            }
        }
    }
}

impl Inner {
    /// Sends one entry and decides what becomes of it. Never fails: a store error while
    /// pacing is a retry like any other.
    async fn deliver(&self, entry: QueueEntry) -> Settled {
        let id = entry.id;
        let fail =
            |reason: String| Settled { id: id.clone(), outcome: Outcome::Failed, again: None, failure: Some(reason) };
        let reply = match OutboxEntry::decode(&entry.payload) {
            Ok(r) => r,
            Err(error) => {
                tracing::error!(%error, "An outbox entry cannot be read; dropping it.");
                return fail("unreadable".into());
            }
        };
        let age = Timestamp::now().duration_since(reply.received_at).unsigned_abs();
        if age > self.config.max_age {
            self.metrics.send(reply.channel, SendKind::Reply, SendResult::Expired, None, None);
            tracing::warn!(user = %reply.user, age_secs = age.as_secs(), "A reply could not be sent within the 24-hour window; dropped.");
            return fail("expired".into());
        }
        let Some(channel) = self.channels.get(reply.channel) else {
            self.metrics.send(reply.channel, SendKind::Reply, SendResult::Failed, None, Some("config"));
            tracing::error!(channel = reply.channel.as_str(), "A reply for a channel that is not configured; dropped.");
            return fail("config".into());
        };
        let bucket = rate_bucket(reply.channel, &reply.business_number);
        if let Some(rate) = channel.rate()
            && let Err(error) = self.pacer.acquire(&self.store, &bucket, rate).await
        {
            tracing::warn!(%error, "The rate governor is unreachable; the reply waits.");
            self.metrics.send(reply.channel, SendKind::Reply, SendResult::Retry, None, None);
            return self.retry(id, reply, None);
        }
        let prepared = self.mirror.current();
        let answer = reply.reply.resolve(prepared.as_deref()).into_owned();
        let message = Outbound {
            business_number: reply.business_number.clone(),
            to: reply.to.clone(),
            content: OutboundContent::Answer(answer),
            tag: None,
        };
        let started = std::time::Instant::now();
        let result = channel.send(&message).await;
        let took = Some(started.elapsed());
        match result {
            Ok(sent) => {
                self.metrics.send(reply.channel, SendKind::Reply, SendResult::Sent, took, None);
                self.metrics
                    .reply_delivered(reply.channel, Timestamp::now().duration_since(reply.received_at).unsigned_abs());
                tracing::debug!(user = %reply.user, message_id = %sent.message_id, "Reply sent.");
                Settled { id, outcome: Outcome::Sent, again: None, failure: None }
            }
            Err(error) if error.is_retryable() => {
                if let (
                    SendError::Throttled { scope: ThrottleScope::BusinessNumber | ThrottleScope::Account, .. },
                    Some(rate),
                ) = (&error, channel.rate())
                {
                    let pause = error.retry_after().unwrap_or(self.backoff(reply.attempt));
                    let key = self.store.keys().rate(&bucket);
                    if let Err(e) = self.store.pause_permits(&key, rate, pause).await {
                        tracing::warn!(error = %e, "Pausing the business number failed.");
                    }
                }
                tracing::info!(user = %reply.user, %error, attempt = reply.attempt + 1, "A reply failed for now; it will be retried.");
                self.metrics.send(reply.channel, SendKind::Reply, SendResult::Retry, took, Some(error.class()));
                self.retry(id, reply, error.retry_after())
            }
            Err(error) => {
                self.metrics.send(reply.channel, SendKind::Reply, SendResult::Failed, took, Some(error.class()));
                let alert = error.needs_alert();
                tracing::warn!(user = %reply.user, %error, class = error.class(), alert, "A reply failed for good; recorded and dropped.");
                let reason = match error.code() {
                    Some(code) => format!("{}:{code}", error.class()),
                    None => error.class().to_owned(),
                };
                Settled { id, outcome: Outcome::Failed, again: None, failure: Some(reason) }
            }
        }
    }

    /// Back-off for the next attempt: doubling from `retry_base` up to `retry_max`, with jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.retry_base.saturating_mul(1u32 << attempt.min(20));
        let capped = base.min(self.config.retry_max);
        capped.mul_f64(rand::random_range(0.8..1.2)).min(self.config.retry_max)
    }

    fn retry(&self, id: EntryId, mut reply: OutboxEntry, retry_after: Option<Duration>) -> Settled {
        let after = retry_after.unwrap_or_else(|| self.backoff(reply.attempt));
        reply.attempt += 1;
        let at = Timestamp::now() + after;
        Settled { id, outcome: Outcome::Retry { after }, again: Some((reply.encode(), at)), failure: None }
    }

    /// Counts the failures (by day and reason, for the programme report), puts retries back
    /// for later (each in one step with its acknowledgement) and acknowledges the other settled
    /// entries, which hands each citizen's turn to their next reply: a crash in between sends
    /// an entry again rather than losing it. What is done is struck off `settled`, which is empty
    /// on success; after a failure, calling again goes on from there.
    async fn settle(&self, settled: &mut Vec<Settled>) -> Result<(), StoreError> {
        if settled.is_empty() {
            return Ok(());
        }
        let today = self.config.timezone.to_datetime(Timestamp::now()).date();
        let failures: Vec<(jiff::civil::Date, String)> =
            settled.iter().filter_map(|s| s.failure.clone().map(|reason| (today, reason))).collect();
        if !failures.is_empty() {
            self.store.record_failed_replies(&failures).await?;
            settled.iter_mut().for_each(|s| s.failure = None);
        }
        // A retry keeps its place in its citizen's line, so the next reply waits for it.
        while let Some(at) = settled.iter().position(|s| s.again.is_some()) {
            let (payload, due) = settled[at].again.as_ref().expect("a retry");
            self.store.retry(QueueName::Outbox, &settled[at].id, payload, *due).await?;
            settled.swap_remove(at);
        }
        let ids: Vec<EntryId> = settled.iter().map(|s| s.id.clone()).collect();
        self.store.ack(QueueName::Outbox, &ids).await?;
        settled.clear();
        Ok(())
    }
}
