//! Counting, off the hot path: interactions by day and topic, unique users by day, and the
//! inbound messages that use up a business number's throughput.
//!
//! A request only pushes onto an in-process queue; a task writes everything gathered every
//! `counters_flush` in one [`CounterStore::record_interactions`](store::CounterStore) call and
//! one rate charge per business number. Only [`UserKey`]s are counted, never an address. If
//! the store is down the counts wait (up to a bound) and go with the next flush.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemas::{Topic, UserKey};
use store::{Interaction, Rate, SharedStore};
use tokio::sync::{mpsc, oneshot, watch};

/// Counts kept while the store is unreachable; beyond this the oldest are dropped (and said).
const MAX_PENDING: usize = 200_000;

enum Event {
    Interaction { at: Timestamp, topic: Topic, user: UserKey },
    Inbound { bucket: String, rate: Rate, messages: u32 },
    Flush(oneshot::Sender<()>),
}

/// The handle requests count through.
#[derive(Clone)]
pub struct Counting {
    events: mpsc::UnboundedSender<Event>,
}

impl Counting {
    /// Starts the flushing task; it flushes a last time and ends when `stop` fires.
    pub fn start(store: SharedStore, timezone: TimeZone, every: Duration, stop: watch::Receiver<bool>) -> Counting {
        let (events, rx) = mpsc::unbounded_channel();
        tokio::spawn(flush_loop(store, timezone, every, rx, stop));
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

    /// Writes everything counted so far, now.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.events.send(Event::Flush(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

#[derive(Default)]
struct Pending {
    interactions: Vec<Interaction>,
    inbound: HashMap<String, (Rate, u32)>,
}

async fn flush_loop(
    store: SharedStore,
    timezone: TimeZone,
    every: Duration,
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut stop: watch::Receiver<bool>,
) {
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
                Some(Event::Flush(done)) => {
                    flush(&store, &mut pending, every).await;
                    let _ = done.send(());
                }
                None => {
                    flush(&store, &mut pending, every).await;
                    return;
                }
            },
            _ = tick.tick() => flush(&store, &mut pending, every).await,
            _ = stop.changed() => {
                while let Ok(event) = rx.try_recv() {
                    if let Event::Interaction { at, topic, user } = event {
                        pending.interactions.push(Interaction { day: timezone.to_datetime(at).date(), topic, user });
                    }
                }
                flush(&store, &mut pending, every).await;
                return;
            }
        }
    }
}

/// Writes what is pending; inbound messages are charged as spread over the last `window`.
async fn flush(store: &SharedStore, pending: &mut Pending, window: Duration) {
    for (bucket, (rate, messages)) in pending.inbound.drain() {
        let key = store.keys().rate(&bucket);
        if let Err(error) = store.charge_permits(&key, rate, messages, window).await {
            // Only the pacing of replies is affected, for a moment.
            tracing::warn!(%error, "Charging inbound messages to the rate governor failed.");
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
