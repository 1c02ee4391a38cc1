//! Counting, off the hot path: interactions by day and topic, unique users by day, the
//! inbound messages that use up a business number's throughput, and the messages the bot did
//! not understand («Sin entender»).
//!
//! A request only pushes onto an in-process queue; a task writes everything gathered every
//! `counters_flush` in one [`CounterStore::record_interactions`](store::CounterStore) call,
//! one [`UnmatchedStore::record_unmatched`](store::UnmatchedStore) call and one rate charge
//! per business number. Only [`UserKey`]s are counted, never an address. A message not
//! understood is masked ([`schemas::masking`]) by this task, before it is kept anywhere but
//! the queue, and dropped if nothing but placeholders is left. If the store is down the counts
//! wait (up to a bound) and go with the next flush.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemas::masking::masked_phrase;
use schemas::{Topic, UserKey};
use store::{Interaction, Rate, SharedStore, UnmatchedMessage};
use tokio::sync::{mpsc, oneshot, watch};

/// Counts kept while the store is unreachable; beyond this the oldest are dropped (and said).
const MAX_PENDING: usize = 200_000;

enum Event {
    Interaction { at: Timestamp, topic: Topic, user: UserKey },
    Inbound { bucket: String, rate: Rate, messages: u32 },
    Unmatched { at: Timestamp, text: String, user: UserKey },
    Flush(oneshot::Sender<()>),
}

/// The handle requests count through.
#[derive(Clone)]
pub struct Counting {
    events: mpsc::UnboundedSender<Event>,
}

impl Counting {
    /// Starts the flushing task; it flushes a last time and ends when `stop` fires.
    /// Phrases not understood are kept `unmatched_keep` after they were last written.
    pub fn start(
        store: SharedStore,
        timezone: TimeZone,
        every: Duration,
        unmatched_keep: Duration,
        stop: watch::Receiver<bool>,
    ) -> Counting {
        let (events, rx) = mpsc::unbounded_channel();
        let target = Target { store, timezone, every, unmatched_keep };
        tokio::spawn(flush_loop(target, rx, stop));
        Counting { events }
    }

    /// One answered message, counted on the local day of `at`.
    pub fn interaction(&self, at: Timestamp, topic: Topic, user: UserKey) {
        let _ = self.events.send(Event::Interaction { at, topic, user });
    }

    /// Inbound messages that count against a business number's rate.
    pub fn inbound(&self, bucket: String, rate: Rate, messages: u32) {
        let _ = self.events.send(Event::Inbound { bucket, rate, messages });
    }

    /// A typed message that ended in the help answer: its text, masked by the flushing task.
    pub fn unmatched(&self, at: Timestamp, text: String, user: UserKey) {
        let _ = self.events.send(Event::Unmatched { at, text, user });
    }

    /// Writes everything counted so far, now.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.events.send(Event::Flush(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Where and how counts are written.
struct Target {
    store: SharedStore,
    timezone: TimeZone,
    every: Duration,
    unmatched_keep: Duration,
}

#[derive(Default)]
struct Pending {
    interactions: Vec<Interaction>,
    inbound: HashMap<String, (Rate, u32)>,
    unmatched: Vec<UnmatchedMessage>,
}

impl Pending {
    /// Keeps the masked phrase of a message not understood, if anything is left of it.
    fn unmatched(&mut self, at: Timestamp, text: &str, user: UserKey) {
        let Some(phrase) = masked_phrase(text) else { return };
        self.unmatched.push(UnmatchedMessage { phrase, user, at });
        if self.unmatched.len() > MAX_PENDING {
            let over = self.unmatched.len() - MAX_PENDING;
            self.unmatched.drain(..over);
        }
    }
}

async fn flush_loop(target: Target, mut rx: mpsc::UnboundedReceiver<Event>, mut stop: watch::Receiver<bool>) {
    let (timezone, every) = (target.timezone.clone(), target.every);
    let mut pending = Pending::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(Event::Interaction { at, topic, user }) => {
                    let day = timezone.to_datetime(at).date();
                    pending.interactions.push(Interaction { day, topic, user });
                    if pending.interactions.len() > MAX_PENDING {
                        let over = pending.interactions.len() - MAX_PENDING;
                        pending.interactions.drain(..over);
                        tracing::error!(dropped = over, "The store has been unreachable too long; dropping the oldest counts.");
                    }
                }
                Some(Event::Inbound { bucket, rate, messages }) => {
                    let entry = pending.inbound.entry(bucket).or_insert((rate, 0));
                    entry.1 = entry.1.saturating_add(messages);
                }
                Some(Event::Unmatched { at, text, user }) => pending.unmatched(at, &text, user),
                Some(Event::Flush(done)) => {
                    flush(&target, &mut pending).await;
                    let _ = done.send(());
                }
                None => {
                    flush(&target, &mut pending).await;
                    return;
                }
            },
            _ = tick.tick() => flush(&target, &mut pending).await,
            _ = stop.changed() => {
                while let Ok(event) = rx.try_recv() {
                    match event {
                        Event::Interaction { at, topic, user } => {
                            pending.interactions.push(Interaction { day: timezone.to_datetime(at).date(), topic, user });
                        }
                        Event::Unmatched { at, text, user } => pending.unmatched(at, &text, user),
                        Event::Inbound { .. } | Event::Flush(_) => {}
                    }
                }
                flush(&target, &mut pending).await;
                return;
            }
        }
    }
}

/// Writes what is pending; inbound messages are charged as spread over the last flush period.
async fn flush(target: &Target, pending: &mut Pending) {
    let store = &target.store;
    for (bucket, (rate, messages)) in pending.inbound.drain() {
        let key = store.keys().rate(&bucket);
        if let Err(error) = store.charge_permits(&key, rate, messages, target.every).await {
            // Only the pacing of replies is affected, for a moment.
            tracing::warn!(%error, "Charging inbound messages to the rate governor failed.");
        }
    }
    if !pending.unmatched.is_empty() {
        match store.record_unmatched(&pending.unmatched, Timestamp::now(), target.unmatched_keep).await {
            Ok(()) => pending.unmatched.clear(),
            Err(error) => {
                tracing::warn!(%error, pending = pending.unmatched.len(), "Writing the phrases not understood failed; keeping them for the next flush.")
            }
        }
    }
    if pending.interactions.is_empty() {
        return;
    }
    match store.record_interactions(&pending.interactions).await {
        Ok(()) => pending.interactions.clear(),
        Err(error) => {
            tracing::warn!(%error, pending = pending.interactions.len(), "Writing counters failed; keeping them for the next flush.")
        }
    }
}
