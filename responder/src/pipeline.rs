//! What happens to the events of one verified webhook: never twice, never lost.
//!
//! 1. Statuses go to [`DeliveryStatuses`]; platform errors and unusable parts are logged
//!    without numbers; messages to numbers we do not serve and reactions are skipped.
//! 2. One batched store round trip per phase, shared with concurrent webhooks ([`Batcher`]):
//!    - phase A: a dedupe lease per message (`SET NX`, short TTL; for the rare message already
//!      marked, one more read tells done from in flight), the flood counter, and the session
//!      only when the text is a bare menu number;
//!    - the answer is decided in memory from the mirrored snapshot (Conéctate changes are the
//!      one exception: they go to the store, which decides their outcome);
//!    - phase B: the replies into the outbox and then, never without them, the dedupe marker
//!      made final (`d`, 8 days) and the sessions of menus shown (one transaction on the
//!      embedded store).
//! 3. Only then does the platform get its 200. If phase B fails, the leases are released and
//!    the platform gets a 503, so its retry finds nothing marked and nothing is lost. A message
//!    still leased by another request (in flight, or its request died) also gets a 503, so it
//!    is answered once its lease has expired, never twice.
//!
//! Twilio replies inline: its repeat of a message id (our response was lost) gets the same
//! reply again, kept as the dedupe value, and is counted once.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use schemas::{
    Answer, ConsentSignal, KeyLayout, MenuId, Scope, Target, Topic, UserAddress, UserHasher, UserKey,
    normalize::normalize,
};
use store::{KvOp, KvReply, SharedStore, StoreError};

use crate::batcher::Batcher;
use crate::channels::{Channel, Content, InboundEvent, InboundMessage, Preference, PreferenceEvent, rate_bucket};
use crate::conectate::{self, Subscriptions};
use crate::counting::Counting;
use crate::delivery::DeliveryStatuses;
use crate::mirror::{Mirror, Prepared};
use crate::replies::{OutboxEntry, Reply};
use crate::stats::Stats;
use crate::understanding::{Intent, menu_number};

/// The dedupe value of a message whose reply is safely stored.
const DONE: &[u8] = b"d";

/// Why a webhook could not be handled now; the platform should retry it.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("the store failed: {0}")]
    Store(#[from] Arc<StoreError>),
    #[error("a message of this webhook is being handled by another request")]
    InFlight,
}

impl From<StoreError> for HandleError {
    fn from(e: StoreError) -> Self {
        HandleError::Store(Arc::new(e))
    }
}

/// The knobs of the pipeline.
#[derive(Clone, Debug)]
pub struct Limits {
    pub flood_per_minute: u32,
    pub session_ttl: Duration,
    pub dedupe_ttl: Duration,
    /// How long a message stays leased to the request handling it.
    pub lease: Duration,
}

/// Everything the handling of a webhook uses.
pub struct Pipeline {
    keys: KeyLayout,
    hasher: UserHasher,
    kv: Batcher<KvOp, KvReply>,
    /// Phase B: replies and, behind them, the marks that say their messages are done.
    outbox: Batcher<PhaseB, ()>,
    mirror: Arc<Mirror>,
    counting: Counting,
    subscriptions: Subscriptions,
    delivery: DeliveryStatuses,
    stats: Arc<Stats>,
    limits: Limits,
}

/// One part of phase B: a reply for the outbox, or a KV operation to run after every reply of
/// the batch is stored.
pub enum PhaseB {
    Reply(Vec<u8>),
    Then(KvOp),
}

/// A message or preference change that passed the first filters.
enum Work {
    Message { message: InboundMessage, user: UserKey },
    Preference { event: PreferenceEvent, user: UserKey },
}

impl Work {
    fn user(&self) -> UserKey {
        match self {
            Work::Message { user, .. } | Work::Preference { user, .. } => *user,
        }
    }
}

/// Where each message's phase-A replies are in the batch.
struct Slots {
    seen: usize,
    flood: Option<usize>,
    session: Option<usize>,
}

/// What a message asked for, decided in memory.
enum Decision {
    Reply { reply: Reply, session: Option<MenuId> },
    Consent(conectate::Request),
    MoveSubscription(UserAddress),
    Nothing,
}

impl Pipeline {
    #[allow(clippy::too_many_arguments, reason = "built once, in one place")]
    pub fn new(
        store: SharedStore,
        hasher: UserHasher,
        mirror: Arc<Mirror>,
        counting: Counting,
        subscriptions: Subscriptions,
        delivery: DeliveryStatuses,
        stats: Arc<Stats>,
        limits: Limits,
    ) -> Pipeline {
        let kv_store = store.clone();
        let kv = Batcher::start(2, move |ops: Vec<KvOp>| {
            let store = kv_store.clone();
            async move { store.batch(&ops).await }
        });
        let queue_store = store.clone();
        let outbox = Batcher::start(2, move |parts: Vec<PhaseB>| {
            let store = queue_store.clone();
            async move {
                let n = parts.len();
                let (mut payloads, mut ops) = (Vec::new(), Vec::new());
                for part in parts {
                    match part {
                        PhaseB::Reply(p) => payloads.push(p),
                        PhaseB::Then(op) => ops.push(op),
                    }
                }
                store.enqueue_then(store::QueueName::Outbox, &payloads, &ops).await?;
                Ok(vec![(); n])
            }
        });
        Pipeline {
            keys: store.keys().clone(),
            hasher,
            kv,
            outbox,
            mirror,
            counting,
            subscriptions,
            delivery,
            stats,
            limits,
        }
    }

    /// Handles the events of one verified webhook from `channel`. Returns the answers to send
    /// inline (for inline channels; empty otherwise).
    pub async fn handle(&self, channel: &dyn Channel, events: Vec<InboundEvent>) -> Result<Vec<Answer>, HandleError> {
        let kind = channel.kind();
        let mut work = Vec::new();
        let mut statuses = Vec::new();
        for event in events {
            match event {
                InboundEvent::Message(message) => {
                    Stats::bump(&self.stats.messages);
                    if !channel.serves(&message.business_number) {
                        Stats::bump(&self.stats.unserved);
                        tracing::info!(
                            channel = kind.as_str(),
                            "Skipped a message to a business number we do not serve."
                        );
                    } else if message.content == Content::Reaction {
                        Stats::bump(&self.stats.reactions);
                    } else {
                        let user = self.hasher.key(&message.from);
                        work.push(Work::Message { message, user });
                    }
                }
                InboundEvent::Preference(event) => {
                    if channel.serves(&event.business_number) {
                        let user = self.hasher.key(&event.user);
                        work.push(Work::Preference { event, user });
                    } else {
                        Stats::bump(&self.stats.unserved);
                    }
                }
                InboundEvent::Status(status) => statuses.push(status),
                InboundEvent::PlatformError(error) => {
                    Stats::bump(&self.stats.platform_errors);
                    tracing::warn!(channel = kind.as_str(), code = error.code, title = %error.title, "The platform reported an error.");
                }
                InboundEvent::Unusable { reason } => {
                    Stats::bump(&self.stats.unusable);
                    tracing::warn!(channel = kind.as_str(), %reason, "Skipped an unusable part of a webhook.");
                }
            }
        }
        if !statuses.is_empty() {
            self.delivery.record(&statuses).await?;
        }
        if work.is_empty() {
            return Ok(Vec::new());
        }
        self.handle_work(channel, work).await
    }

    fn seen_key(&self, channel: &dyn Channel, work: &Work) -> schemas::Key {
        let kind = channel.kind().as_str();
        match work {
            Work::Message { message, .. } => self.keys.seen_message(kind, &message.id),
            // Preference changes have no id: the user, the time and the value make one.
            Work::Preference { event, user } => {
                let at = event.at.map_or(0, |t| t.as_second());
                self.keys.seen_message(kind, &format!("pref:{user}:{at}:{:?}", event.preference))
            }
        }
    }

    async fn handle_work(&self, channel: &dyn Channel, work: Vec<Work>) -> Result<Vec<Answer>, HandleError> {
        let inline = channel.replies_inline();
        let now = Timestamp::now();
        let minute = now.as_second().div_euclid(60);
        // Phase A.
        let mut ops = Vec::with_capacity(work.len() * 4);
        let mut slots = Vec::with_capacity(work.len());
        let mut seen_keys = Vec::with_capacity(work.len());
        for item in &work {
            let seen = self.seen_key(channel, item);
            ops.push(if inline {
                KvOp::Get { key: seen.clone() }
            } else {
                KvOp::SetIfAbsent { key: seen.clone(), ttl: self.limits.lease }
            });
            let seen_slot = ops.len() - 1;
            seen_keys.push(seen);
            let (mut flood, mut session) = (None, None);
            if let Work::Message { message, user } = item {
                ops.push(KvOp::Incr { key: self.keys.flood(user, minute), ttl: Duration::from_secs(61) });
                flood = Some(ops.len() - 1);
                if let Content::Text { body } = &message.content
                    && menu_number(body).is_some()
                {
                    ops.push(KvOp::Get { key: self.keys.session(user) });
                    session = Some(ops.len() - 1);
                }
            }
            slots.push(Slots { seen: seen_slot, flood, session });
        }
        let replies = self.kv.run(ops).await?;
        // A message already marked (a retry, a duplicate): done, or still leased by another
        // request? Rare, so read only those.
        let marked: Vec<usize> = if inline {
            Vec::new()
        } else {
            slots.iter().enumerate().filter(|(_, s)| replies[s.seen] == KvReply::Set(false)).map(|(i, _)| i).collect()
        };
        let marks = self.kv.run(marked.iter().map(|&i| KvOp::Get { key: seen_keys[i].clone() }).collect()).await?;
        let done = |i: usize| {
            marked
                .iter()
                .position(|&m| m == i)
                .is_some_and(|p| matches!(&marks[p], KvReply::Value(Some(v)) if v.as_slice() == DONE))
        };

        let prepared = self.mirror.current();
        let mut answers = Vec::new();
        let mut leased = Vec::new(); // seen keys this request holds
        let mut in_flight = false;
        let mut outgoing: Vec<(usize, Reply, Option<MenuId>)> = Vec::new();
        let mut consents = Vec::new();
        let mut moves = Vec::new();
        for (i, (item, slot)) in work.iter().zip(&slots).enumerate() {
            if inline {
                if let KvReply::Value(Some(stored)) = &replies[slot.seen] {
                    // Twilio repeats a message only when our response was lost: the same reply.
                    Stats::bump(&self.stats.duplicates);
                    if let Ok(reply) = serde_json::from_slice::<Reply>(stored) {
                        answers.push(reply.resolve(prepared.as_deref()).into_owned());
                    }
                    continue;
                }
            } else {
                if replies[slot.seen] == KvReply::Set(true) {
                    leased.push(seen_keys[i].clone());
                } else if done(i) {
                    Stats::bump(&self.stats.duplicates);
                    tracing::debug!(user = %item.user(), "A message seen before; not answered again.");
                    continue;
                } else {
                    // Leased by another request: let that one finish, or its lease expire.
                    in_flight = true;
                    continue;
                }
            }
            let flood = slot.flood.and_then(|s| match replies[s] {
                KvReply::Count(n) => Some(n),
                _ => None,
            });
            let limit = u64::from(self.limits.flood_per_minute);
            if let Some(count) = flood.filter(|n| *n > limit) {
                Stats::bump(&self.stats.flooded);
                if count == limit + 1 {
                    tracing::info!(user = %item.user(), "A citizen reached the flood limit; sending the notice once.");
                    outgoing.push((i, Reply::Flood, None));
                }
                continue;
            }
            let last_menu = slot.session.and_then(|s| match &replies[s] {
                KvReply::Value(Some(v)) => std::str::from_utf8(v).ok().and_then(|m| m.parse::<MenuId>().ok()),
                _ => None,
            });
            match self.decide(item, prepared.as_deref(), last_menu.as_ref(), channel, now) {
                Decision::Reply { reply, session } => outgoing.push((i, reply, session)),
                Decision::Consent(request) => consents.push((i, request)),
                Decision::MoveSubscription(new) => moves.push((i, new)),
                Decision::Nothing => {}
            }
        }

        let result =
            self.finish(channel, &work, &seen_keys, &leased, prepared.as_deref(), outgoing, consents, moves, now).await;
        match result {
            Ok(inline_answers) => {
                answers.extend(inline_answers);
                if in_flight { Err(HandleError::InFlight) } else { Ok(answers) }
            }
            Err(error) => {
                // Nothing of this request is marked done: release the leases so the platform's
                // retry is handled at once.
                let release: Vec<KvOp> = leased.into_iter().map(|key| KvOp::Delete { key }).collect();
                if let Err(e) = self.kv.run(release).await {
                    tracing::warn!(error = %e, "Releasing dedupe leases failed; they expire by themselves.");
                }
                Err(error)
            }
        }
    }

    /// What one message or preference asks for, from memory.
    fn decide(
        &self,
        item: &Work,
        prepared: Option<&Prepared>,
        last_menu: Option<&MenuId>,
        channel: &dyn Channel,
        now: Timestamp,
    ) -> Decision {
        let (message, user) = match item {
            Work::Preference { event, user } => {
                let (action, signal) = match event.preference {
                    Preference::Stop => (schemas::ConsentAction::Unsubscribe, "stop"),
                    Preference::Resume => (schemas::ConsentAction::Subscribe, "resume"),
                };
                return Decision::Consent(conectate::Request {
                    user: *user,
                    address: event.user.clone(),
                    channel: channel.kind(),
                    business_number: event.business_number.clone(),
                    action,
                    signal: ConsentSignal::PlatformPreference(signal.into()),
                    at: event.at.unwrap_or(now),
                    scope: Scope::Estado,
                });
            }
            Work::Message { message, user } => (message, *user),
        };
        let Some(prepared) = prepared else {
            return match message.content {
                Content::NumberChanged { .. } => Decision::Nothing,
                _ => Decision::Reply { reply: Reply::NotReady, session: None },
            };
        };
        let router = &prepared.snapshot.content.router;
        let understanding = &prepared.understanding;
        let (intent, signal) = match &message.content {
            Content::Text { body } => {
                (understanding.understand(router, body, last_menu), ConsentSignal::Keyword(normalize(body)))
            }
            Content::Reply { id, .. } => (understanding.understand_payload(id), ConsentSignal::Button(id.clone())),
            Content::Button { payload, text } => {
                let intent = match understanding.understand_payload(payload) {
                    Intent::Help => understanding.understand(router, text, None),
                    found => found,
                };
                (intent, ConsentSignal::Button(payload.clone()))
            }
            Content::NumberChanged { new: Some(new) } => return Decision::MoveSubscription(new.clone()),
            Content::NumberChanged { new: None } | Content::Reaction => return Decision::Nothing,
            Content::Location
            | Content::Media { .. }
            | Content::Contacts
            | Content::Order
            | Content::Unsupported { .. } => (Intent::Help, ConsentSignal::Keyword(String::new())),
        };
        match intent {
            Intent::Help => Decision::Reply { reply: Reply::Help, session: None },
            Intent::Show { target: Target::Menu(menu), .. } => {
                Decision::Reply { reply: Reply::Menu { menu: menu.clone() }, session: Some(menu) }
            }
            Intent::Show { target: Target::Topic(Topic::Menu), .. } => {
                Decision::Reply { reply: Reply::Menu { menu: MenuId::principal() }, session: Some(MenuId::principal()) }
            }
            Intent::Show { target: Target::Topic(topic), scope } => match conectate::action_of(topic) {
                Some(action) => Decision::Consent(conectate::Request {
                    user,
                    address: message.from.clone(),
                    channel: message.channel,
                    business_number: message.business_number.clone(),
                    action,
                    signal,
                    at: message.sent_at.unwrap_or(now),
                    scope,
                }),
                None => Decision::Reply { reply: Reply::topic(topic, scope), session: None },
            },
        }
    }

    /// Applies consent changes, then phase B.
    #[allow(clippy::too_many_arguments, reason = "the parts of one webhook, kept together")]
    async fn finish(
        &self,
        channel: &dyn Channel,
        work: &[Work],
        seen_keys: &[schemas::Key],
        leased: &[schemas::Key],
        prepared: Option<&Prepared>,
        mut outgoing: Vec<(usize, Reply, Option<MenuId>)>,
        consents: Vec<(usize, conectate::Request)>,
        moves: Vec<(usize, UserAddress)>,
        now: Timestamp,
    ) -> Result<Vec<Answer>, HandleError> {
        for (i, request) in consents {
            let outcome = self.subscriptions.apply(request).await?;
            Stats::bump(&self.stats.consent_changes);
            outgoing.push((i, conectate::confirmation(outcome), None));
        }
        for (i, new) in moves {
            if self.subscriptions.move_subscription(&self.hasher, work[i].user(), &new, now).await? {
                Stats::bump(&self.stats.consent_changes);
            }
        }
        let inline = channel.replies_inline();
        let mut kv = Vec::with_capacity(work.len() * 2);
        let mut entries = Vec::new();
        let mut answers = Vec::new();
        let mut counted = Vec::new();
        for (i, reply, session) in &outgoing {
            let item = &work[*i];
            let user = item.user();
            if let Some(menu) = session {
                kv.push(KvOp::Put {
                    key: self.keys.session(&user),
                    value: menu.as_str().as_bytes().to_vec(),
                    ttl: Some(self.limits.session_ttl),
                });
            }
            let (to, business_number, id, sent_at) = match item {
                Work::Message { message, .. } => {
                    (&message.from, &message.business_number, message.id.as_str(), message.sent_at)
                }
                Work::Preference { event, .. } => (&event.user, &event.business_number, "preference", event.at),
            };
            if inline {
                answers.push(reply.resolve(prepared).into_owned());
                kv.push(KvOp::Put {
                    key: seen_keys[*i].clone(),
                    value: serde_json::to_vec(reply).expect("a reply serialises"),
                    ttl: Some(self.limits.dedupe_ttl),
                });
            } else {
                entries.push(
                    OutboxEntry {
                        channel: channel.kind(),
                        business_number: business_number.clone(),
                        to: to.clone(),
                        user,
                        reply: reply.clone(),
                        in_reply_to: id.to_owned(),
                        received_at: now,
                        attempt: 0,
                    }
                    .encode(),
                );
            }
            if let Some(topic) = reply.counted_topic() {
                counted.push((sent_at.unwrap_or(now), topic, user));
            }
        }
        // Conéctate: each message opens (or starts again) its sender's 24-hour window.
        kv.extend(work.iter().filter_map(|item| match item {
            Work::Message { message, user } => conectate::window_opened(&self.keys, message, *user, now),
            Work::Preference { .. } => None,
        }));
        // Every message this request leased is done, answered or not (flooded, moved).
        for key in leased {
            kv.push(KvOp::Put { key: key.clone(), value: DONE.to_vec(), ttl: Some(self.limits.dedupe_ttl) });
        }
        // Replies first: once they are stored the messages may be marked done.
        let enqueued = entries.len();
        let parts = entries.into_iter().map(PhaseB::Reply).chain(kv.into_iter().map(PhaseB::Then)).collect();
        self.outbox.run(parts).await?;
        if inline {
            self.stats.inline.fetch_add(answers.len() as u64, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.stats.enqueued.fetch_add(enqueued as u64, std::sync::atomic::Ordering::Relaxed);
        }
        for (at, topic, user) in counted {
            self.counting.interaction(at, topic, user);
        }
        if let Some(rate) = channel.rate() {
            for item in work {
                if let Work::Message { message, .. } = item {
                    self.counting.inbound(rate_bucket(channel.kind(), &message.business_number), rate, 1);
                }
            }
        }
        Ok(answers)
    }
}
