//! What happens to the events of one verified webhook: never twice, never lost.
//!
//! 1. Statuses go to [`DeliveryStatuses`]; platform errors and unusable parts are logged
//!    without numbers; messages to numbers we do not serve and reactions are skipped. Platform
//!    signals (statuses, errors, preference changes, number changes and other `system`
//!    notices) never make a message to the citizen: what changes consent is ledgered and the
//!    signal marked, unanswered.
//! 2. Only when the text is a bare menu number: the last menu shown (one batched round trip on
//!    Redis, shared with concurrent webhooks by a [`Batcher`]; in memory on the embedded store,
//!    which serves one process, see the `local` module).
//! 3. The answer is decided in memory from the mirrored snapshot.
//! 4. A citizen's messages in one post are handled in the order written (a bare number after
//!    a menu in the same post reads that menu), and every reply goes to the outbox in the
//!    citizen's line ([`Line`], keyed by the `UserKey`): the outbox hands out a citizen's next
//!    reply only once the previous one is settled, whichever worker or replica sends it.
//!    Replies go with [`QueueStore::enqueue_once`](store::QueueStore):
//!    the citizen's flood window is counted, and the reply and the mark that its message was
//!    answered are written, in one atomic step (one script per batch of webhooks on Redis, one
//!    transaction on the embedded store). So a message is answered once however often, or
//!    however concurrently, the platform delivers it, and the mark never exists without the
//!    reply. Only then does the platform get its 200; if the store fails it gets a 503 and its
//!    retry finds nothing marked. A message over the flood limit is marked and not answered;
//!    the first one gets the flood notice.
//! 5. Conéctate changes are applied by the store, which decides their outcome, so their
//!    message is leased first ([`OnceOp::Lease`]): a copy of it delivered meanwhile gets a 503
//!    and is answered (as a duplicate) once the lease is done or released.
//!
//! Twilio replies inline: its repeat of a message id (our response was lost) gets the same
//! reply again, kept as the dedupe value, and is counted once.

mod local;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use metrics::{Event, Metrics};
use schemas::{
    Answer, ConsentChange, ConsentSignal, KeyLayout, MenuId, UserAddress, UserHasher, UserKey, normalize::normalize,
};
use store::{KvOp, KvReply, Line, Mark, OnceOp, QueueName, SharedStore, StoreError, Window};

use self::local::Sessions;
use crate::batcher::Batcher;
use crate::conectate::{self, Subscriptions};
use crate::counting::Counting;
use crate::delivery::DeliveryStatuses;
use crate::mirror::{Mirror, Prepared};
use crate::replies::{Asked, OutboxEntry, Reply};
use crate::understanding::menu_number;
use channels::{Channel, Content, InboundEvent, InboundMessage, Preference, PreferenceEvent, rate_bucket};

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
    /// How long a message stays leased to the request applying its consent change.
    pub lease: Duration,
    /// How long a reply holds its citizen's turn in the outbox once claimed ([`Line`]): the
    /// citizen's next reply waits at most this long for a worker that died sending it.
    pub turn_lease: Duration,
}

/// Everything the handling of a webhook uses.
pub struct Pipeline {
    keys: KeyLayout,
    hasher: UserHasher,
    kv: Batcher<KvOp, KvReply>,
    /// Replies and their once-marks, into the outbox.
    once: Batcher<OnceOp, Mark>,
    /// The last menus shown, when this process is the store's only responder.
    local: Option<Sessions>,
    mirror: Arc<Mirror>,
    counting: Counting,
    subscriptions: Subscriptions,
    delivery: DeliveryStatuses,
    metrics: Arc<Metrics>,
    limits: Limits,
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

    /// When the citizen (or the platform) sent it, per the platform.
    fn sent_at(&self) -> Option<Timestamp> {
        match self {
            Work::Message { message, .. } => message.sent_at,
            Work::Preference { event, .. } => event.at,
        }
    }

    /// Whether the citizen wrote it, rather than the platform signalling something about them.
    fn written(&self) -> bool {
        matches!(self, Work::Message { message, .. } if !message.content.is_platform_notice())
    }

    /// The id that makes it one unit of work for the dedupe; preference changes have none, so
    /// the user, the time and the value make one.
    fn id(&self, channel: &dyn Channel) -> String {
        let kind = channel.kind();
        match self {
            Work::Message { message, .. } => format!("{kind}:{}", message.id),
            Work::Preference { event, user } => {
                let at = event.at.map_or(0, |t| t.as_second());
                format!("{kind}:pref:{user}:{at}:{:?}", event.preference)
            }
        }
    }
}

/// What the citizen's earlier messages left, for one work item.
#[derive(Default)]
struct Recalled {
    /// Inline channels: messages in the current flood window, this one included.
    flood: Option<u64>,
    last_menu: Option<MenuId>,
    /// Inline channels: the reply stored for this message id, if it was answered before.
    answered: Option<Vec<u8>>,
}

/// The consent changes of a webhook, once applied.
#[derive(Default)]
struct Changes {
    /// Positions whose lease this request holds.
    leased: Vec<usize>,
    /// Positions whose flood window was counted with their lease.
    counted: Vec<usize>,
}

/// What a store operation of [`Pipeline::recall`] is for.
#[derive(Clone, Copy)]
enum Slot {
    Flood,
    Session,
    Answered,
}

/// What a message asked for, decided in memory.
enum Decision {
    Reply {
        reply: Reply,
        session: Option<MenuId>,
    },
    Consent(ConsentChange),
    MoveSubscription(UserAddress),
    Nothing,
    /// Already taken care of (a duplicate), or in flight elsewhere.
    Skip,
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
        metrics: Arc<Metrics>,
        limits: Limits,
    ) -> Pipeline {
        let kv_store = store.clone();
        let kv = Batcher::start(2, move |ops: Vec<KvOp>| {
            let store = kv_store.clone();
            async move { store.batch(&ops).await }
        });
        let queue_store = store.clone();
        let once = Batcher::start(2, move |ops: Vec<OnceOp>| {
            let store = queue_store.clone();
            async move { store.enqueue_once(QueueName::Outbox, &ops).await }
        });
        // An embedded store serves one process; Redis is what several responders share.
        let local = (store.kind() == "embedded").then(Sessions::default);
        Pipeline {
            keys: store.keys().clone(),
            hasher,
            kv,
            once,
            local,
            mirror,
            counting,
            subscriptions,
            delivery,
            metrics,
            limits,
        }
    }

    /// Handles the events of one verified webhook from `channel`. Returns the answers to send
    /// inline (for inline channels; empty otherwise).
    pub async fn handle(&self, channel: &dyn Channel, events: Vec<InboundEvent>) -> Result<Vec<Answer>, HandleError> {
        let kind = channel.kind();
        let mut work = Vec::new();
        let mut statuses = Vec::new();
        let mut categories = Vec::new();
        for event in events {
            match event {
                InboundEvent::Message(message) => {
                    self.metrics.event(Event::Message);
                    if !channel.serves(&message.business_number) {
                        self.metrics.event(Event::Unserved);
                        tracing::info!(
                            channel = kind.as_str(),
                            "Skipped a message to a business number we do not serve."
                        );
                    } else if message.content == Content::Reaction {
                        self.metrics.event(Event::Reaction);
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
                        self.metrics.event(Event::Unserved);
                    }
                }
                InboundEvent::Status(status) => statuses.push(status),
                InboundEvent::TemplateCategory(update) => {
                    categories.extend(channels::template_category::template_category_changed(&self.keys, &update));
                }
                InboundEvent::PlatformError(error) => {
                    self.metrics.event(Event::PlatformError);
                    tracing::warn!(channel = kind.as_str(), code = error.code, title = %error.title, "The platform reported an error.");
                }
                InboundEvent::Unusable { reason } => {
                    self.metrics.event(Event::Unusable);
                    tracing::warn!(channel = kind.as_str(), %reason, "Skipped an unusable part of a webhook.");
                }
            }
        }
        if !statuses.is_empty() {
            self.delivery.record(&statuses).await?;
        }
        if !categories.is_empty() {
            self.kv.run(categories).await?;
        }
        if work.is_empty() {
            return Ok(Vec::new());
        }
        // A citizen's messages are handled, and answered, in the order written: by the
        // platform's timestamp, and in the order of the post where they tie (a stable sort).
        work.sort_by_key(Work::sent_at);
        self.handle_work(channel, work).await
    }

    async fn handle_work(&self, channel: &dyn Channel, work: Vec<Work>) -> Result<Vec<Answer>, HandleError> {
        let now = Timestamp::now();
        let recalled = self.recall(channel, &work, now).await?;
        let prepared = self.mirror.current();
        let limit = u64::from(self.limits.flood_per_minute);
        let mut decisions = Vec::with_capacity(work.len());
        // The menus this batch shows, so a bare number after a menu in the same post reads it.
        let mut shown: Vec<(UserKey, MenuId)> = Vec::new();
        for (item, recalled) in work.iter().zip(&recalled) {
            let last_menu = match item {
                Work::Message { message: InboundMessage { content: Content::Text { body }, .. }, user }
                    if menu_number(body).is_some() =>
                {
                    shown.iter().rev().find(|(u, _)| u == user).map(|(_, menu)| menu).or(recalled.last_menu.as_ref())
                }
                _ => recalled.last_menu.as_ref(),
            };
            let decision = match recalled.flood.filter(|n| *n > limit) {
                // Answered before: the inline reply is sent again as it was.
                _ if recalled.answered.is_some() => Decision::Skip,
                Some(count) => {
                    self.metrics.event(Event::Flooded);
                    if count == limit + 1 {
                        tracing::info!(user = %item.user(), "A citizen reached the flood limit; sending the notice once.");
                        Decision::Reply { reply: Reply::Flood, session: None }
                    } else {
                        Decision::Nothing
                    }
                }
                None => self.decide(item, prepared.as_deref(), last_menu, channel, now),
            };
            if let Decision::Reply { session: Some(menu), .. } = &decision {
                shown.push((item.user(), menu.clone()));
            }
            decisions.push(decision);
        }
        let answers = if channel.replies_inline() {
            self.answer_inline(channel, &work, &recalled, decisions, prepared.as_deref(), now).await?
        } else {
            self.enqueue_replies(channel, &work, decisions, now).await?;
            Vec::new()
        };
        if let Some(rate) = channel.rate() {
            for item in &work {
                if let Work::Message { message, .. } = item {
                    self.counting.inbound(rate_bucket(channel.kind(), &message.business_number), rate, 1);
                }
            }
        }
        Ok(answers)
    }

    /// The last menus (for bare numbers) and, for inline channels, the flood counts and the
    /// replies stored for messages answered before: from memory or in one store round trip.
    async fn recall(&self, channel: &dyn Channel, work: &[Work], now: Timestamp) -> Result<Vec<Recalled>, HandleError> {
        let minute = now.as_second().div_euclid(60);
        let inline = channel.replies_inline();
        let mut recalled: Vec<Recalled> = work.iter().map(|_| Recalled::default()).collect();
        // (item, what the reply is for) of each store operation.
        let mut ops = Vec::new();
        let mut slots = Vec::new();
        for (i, item) in work.iter().enumerate() {
            if inline {
                let seen = self.keys.seen_message(channel.kind().as_str(), &item.id(channel));
                ops.push(KvOp::Get { key: seen });
                slots.push((i, Slot::Answered));
            }
            let Work::Message { message, user } = item else { continue };
            if inline {
                ops.push(KvOp::Incr { key: self.keys.flood(user, minute), ttl: Duration::from_secs(61) });
                slots.push((i, Slot::Flood));
            }
            if matches!(&message.content, Content::Text { body } if menu_number(body).is_some()) {
                match &self.local {
                    Some(sessions) => recalled[i].last_menu = sessions.last_menu(user),
                    None => {
                        ops.push(KvOp::Get { key: self.keys.session(user) });
                        slots.push((i, Slot::Session));
                    }
                }
            }
        }
        for ((i, slot), reply) in slots.into_iter().zip(self.kv.run(ops).await?) {
            match (slot, reply) {
                (Slot::Flood, KvReply::Count(n)) => recalled[i].flood = Some(n),
                (Slot::Session, KvReply::Value(Some(v))) => {
                    recalled[i].last_menu = std::str::from_utf8(&v).ok().and_then(|m| m.parse().ok());
                }
                (Slot::Answered, KvReply::Value(stored)) => recalled[i].answered = stored,
                _ => {}
            }
        }
        Ok(recalled)
    }

    /// Outbox channels: every reply (or, for what needs none, the mark) in one batch, with
    /// consent changes applied under a lease first.
    async fn enqueue_replies(
        &self,
        channel: &dyn Channel,
        work: &[Work],
        mut decisions: Vec<Decision>,
        now: Timestamp,
    ) -> Result<(), HandleError> {
        let ids: Vec<String> = work.iter().map(|item| item.id(channel)).collect();
        let mut in_flight = false;
        let minute = now.as_second().div_euclid(60);
        let window = |i: usize| {
            // A citizen's messages count in their flood window; platform signals do not.
            work[i].written().then(|| Window {
                name: format!("{}:{minute}", work[i].user()),
                limit: u64::from(self.limits.flood_per_minute),
                ttl: Duration::from_secs(61),
            })
        };
        let Changes { leased, counted } =
            self.apply_changes(work, &ids, &mut decisions, &mut in_flight, &window, now).await?;
        let mut ops = Vec::with_capacity(work.len());
        let mut offered = Vec::with_capacity(work.len());
        for (i, decision) in decisions.iter().enumerate() {
            let payload = match decision {
                Decision::Reply { reply, .. } => Some(self.entry(channel, &work[i], reply.clone(), now)),
                // A number change without a new number: marked, nothing to send.
                Decision::Nothing => None,
                Decision::Skip | Decision::Consent(_) | Decision::MoveSubscription(_) => continue,
            };
            ops.push(OnceOp::Enqueue {
                line: payload.as_ref().map(|_| self.line_of(&work[i])),
                id: ids[i].clone(),
                payload,
                ttl: self.limits.dedupe_ttl,
                leased: leased.contains(&i),
                window: if counted.contains(&i) { None } else { window(i) },
            });
            offered.push(i);
        }
        let shown = work
            .iter()
            .zip(&decisions)
            .filter_map(|(item, decision)| match decision {
                Decision::Reply { session: Some(menu), .. } => Some((item.user(), menu.clone())),
                _ => None,
            })
            .collect();
        let (marks, remembered, windows) =
            tokio::join!(self.once.run(ops), self.remember_menus(shown), self.kv.run(self.windows_opened(work, now)));
        let marks = match marks {
            Ok(marks) => marks,
            Err(error) => {
                self.release(&ids, &leased).await;
                return Err(error.into());
            }
        };
        if let Err(error) = remembered {
            tracing::warn!(%error, "Keeping the menus shown failed; a bare number will read the main menu.");
        }
        if let Err(error) = windows {
            tracing::warn!(%error, "Recording 24-hour windows failed; Conéctate will use a template for these citizens.");
        }
        let mut notices = Vec::new();
        for (i, mark) in offered.into_iter().zip(marks) {
            match mark {
                Mark::Unmarked | Mark::Leased if mark == Mark::Unmarked || leased.contains(&i) => {
                    if let Decision::Reply { reply, .. } = &decisions[i] {
                        self.metrics.event(Event::Enqueued);
                        self.count(&work[i], reply, now);
                    }
                }
                Mark::Done => {
                    self.metrics.event(Event::Duplicate);
                    tracing::debug!(user = %work[i].user(), "A message seen before; not answered again.");
                }
                Mark::OverLimit(n) => {
                    self.metrics.event(Event::Flooded);
                    if n == u64::from(self.limits.flood_per_minute) + 1 {
                        tracing::info!(user = %work[i].user(), "A citizen reached the flood limit; sending the notice once.");
                        notices.push(i);
                    }
                }
                // Leased by a request applying its consent change: let that one finish.
                _ => in_flight = true,
            }
        }
        if !notices.is_empty() {
            self.notify_flood(channel, work, &ids, &notices, now).await?;
        }
        if in_flight { Err(HandleError::InFlight) } else { Ok(()) }
    }

    /// The flood notice, once per window, for the messages that reached the limit (their
    /// messages are already marked).
    async fn notify_flood(
        &self,
        channel: &dyn Channel,
        work: &[Work],
        ids: &[String],
        reached: &[usize],
        now: Timestamp,
    ) -> Result<(), HandleError> {
        let ops = reached
            .iter()
            .map(|&i| OnceOp::Enqueue {
                id: format!("{}:flood", ids[i]),
                payload: Some(self.entry(channel, &work[i], Reply::Flood, now)),
                ttl: self.limits.dedupe_ttl,
                leased: false,
                window: None,
                line: Some(self.line_of(&work[i])),
            })
            .collect();
        for mark in self.once.run(ops).await? {
            if mark == Mark::Unmarked {
                self.metrics.event(Event::Enqueued);
            }
        }
        Ok(())
    }

    /// The line of the replies to `item`'s citizen: they leave one at a time, in the order
    /// they were stored.
    fn line_of(&self, item: &Work) -> Line {
        Line { name: item.user().to_string(), lease: self.limits.turn_lease }
    }

    /// The outbox entry of a reply to `item`.
    fn entry(&self, channel: &dyn Channel, item: &Work, reply: Reply, now: Timestamp) -> Vec<u8> {
        let (to, business_number, in_reply_to) = match item {
            Work::Message { message, .. } => (&message.from, &message.business_number, message.id.as_str()),
            Work::Preference { event, .. } => (&event.user, &event.business_number, "preference"),
        };
        OutboxEntry {
            channel: channel.kind(),
            business_number: business_number.clone(),
            to: to.clone(),
            user: item.user(),
            reply,
            in_reply_to: in_reply_to.to_owned(),
            received_at: now,
            attempt: 0,
        }
        .encode()
    }

    /// Applies the consent changes and subscription moves among `decisions`, each under a
    /// lease on its message (which counts in the flood window), and turns them into their
    /// confirmations.
    async fn apply_changes(
        &self,
        work: &[Work],
        ids: &[String],
        decisions: &mut [Decision],
        in_flight: &mut bool,
        window: &(dyn Fn(usize) -> Option<Window> + Sync),
        now: Timestamp,
    ) -> Result<Changes, HandleError> {
        let counted: Vec<usize> = (0..decisions.len())
            .filter(|&i| matches!(decisions[i], Decision::Consent(_) | Decision::MoveSubscription(_)))
            .collect();
        if counted.is_empty() {
            return Ok(Changes::default());
        }
        let leases = counted
            .iter()
            .map(|&i| OnceOp::Lease { id: ids[i].clone(), ttl: self.limits.lease, window: window(i) })
            .collect();
        let marks = self.once.run(leases).await?;
        let mut leased = Vec::new();
        for (&i, mark) in counted.iter().zip(marks) {
            match mark {
                Mark::Unmarked => leased.push(i),
                Mark::Done => {
                    self.metrics.event(Event::Duplicate);
                    decisions[i] = Decision::Skip;
                }
                Mark::Leased => {
                    *in_flight = true;
                    decisions[i] = Decision::Skip;
                }
                // Over the flood limit: not applied; marked, with the notice the first time.
                Mark::OverLimit(n) => {
                    self.metrics.event(Event::Flooded);
                    decisions[i] = if n == u64::from(self.limits.flood_per_minute) + 1 {
                        Decision::Reply { reply: Reply::Flood, session: None }
                    } else {
                        Decision::Nothing
                    };
                }
            }
        }
        for &i in &leased {
            let applied = match std::mem::replace(&mut decisions[i], Decision::Nothing) {
                Decision::Consent(change) => self.subscriptions.apply(change).await.map(|outcome| {
                    self.metrics.event(Event::ConsentChange);
                    // A platform preference is no message: it is ledgered and marked, unanswered.
                    if work[i].written() {
                        decisions[i] = Decision::Reply { reply: conectate::confirmation(outcome), session: None };
                    }
                }),
                Decision::MoveSubscription(new) => {
                    self.subscriptions.move_subscription(&self.hasher, work[i].user(), &new, now).await.map(|moved| {
                        if moved {
                            self.metrics.event(Event::ConsentChange);
                        }
                    })
                }
                _ => unreachable!("only changes are leased"),
            };
            if let Err(error) = applied {
                self.release(ids, &leased).await;
                return Err(error.into());
            }
        }
        Ok(Changes { leased, counted })
    }

    /// Drops the leases this request holds, so the platform's retry is handled at once.
    async fn release(&self, ids: &[String], leased: &[usize]) {
        let ops: Vec<OnceOp> = leased.iter().map(|&i| OnceOp::Release { id: ids[i].clone() }).collect();
        if let Err(error) = self.once.run(ops).await {
            tracing::warn!(%error, "Releasing dedupe leases failed; they expire by themselves.");
        }
    }

    /// Keeps the menus shown, so a bare number that follows reads them.
    async fn remember_menus(&self, shown: Vec<(UserKey, MenuId)>) -> Result<(), Arc<StoreError>> {
        match &self.local {
            Some(sessions) => {
                shown.into_iter().for_each(|(user, menu)| sessions.remember(user, menu, self.limits.session_ttl));
                Ok(())
            }
            None => {
                let ops = shown
                    .into_iter()
                    .map(|(user, menu)| KvOp::Put {
                        key: self.keys.session(&user),
                        value: menu.as_str().as_bytes().to_vec(),
                        ttl: Some(self.limits.session_ttl),
                    })
                    .collect();
                self.kv.run(ops).await.map(drop)
            }
        }
    }

    /// Conéctate: each message opens (or starts again) its sender's 24-hour window, which every
    /// sender reads before a free-form send.
    fn windows_opened(&self, work: &[Work], now: Timestamp) -> Vec<KvOp> {
        work.iter()
            .filter_map(|item| match item {
                Work::Message { message, user } if item.written() => {
                    channels::window::window_opened(&self.keys, message, *user, now)
                }
                _ => None,
            })
            .collect()
    }

    /// Counts an answered message (in the store and in `/metrics`, by topic); a typed one answered with help was not understood, and
    /// its text goes to «Sin entender» (masked off the hot path, by [`Counting`]), seen when it
    /// arrived: a platform's clock or a late retry does not age it.
    fn count(&self, item: &Work, reply: &Reply, now: Timestamp) {
        if let Some(topic) = reply.counted_topic() {
            self.metrics.answered(topic);
            self.counting.interaction(item.sent_at().unwrap_or(now), topic, item.user());
        }
        if let (Reply::Help, Work::Message { message, user }) = (reply, item)
            && let Content::Text { body } = &message.content
        {
            self.counting.unmatched(now, body.clone(), *user);
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
                return Decision::Consent(ConsentChange {
                    user: *user,
                    address: event.user.clone(),
                    channel: channel.kind(),
                    business_number: event.business_number.clone(),
                    action,
                    signal: ConsentSignal::PlatformPreference(signal.into()),
                    at: event.at.unwrap_or(now),
                    consent_text_version: self.subscriptions.consent_text_version().to_owned(),
                    municipio: None,
                });
            }
            Work::Message { message, user } => (message, *user),
        };
        if let Content::NumberChanged { new } = &message.content {
            return new.clone().map_or(Decision::Nothing, Decision::MoveSubscription);
        }
        let Some(prepared) = prepared else { return Decision::Reply { reply: Reply::NotReady, session: None } };
        let router = &prepared.snapshot.content.router;
        let Some(intent) = prepared.understanding.understand_content(router, &message.content, last_menu) else {
            return Decision::Nothing;
        };
        match Asked::of(intent.for_answers(&prepared.snapshot), &prepared.snapshot.content.router.topics) {
            Asked::Reply { reply, shows } => Decision::Reply { reply, session: shows },
            Asked::Consent { action, municipio } => Decision::Consent(ConsentChange {
                user,
                address: message.from.clone(),
                channel: message.channel,
                business_number: message.business_number.clone(),
                action,
                signal: consent_signal(&message.content),
                at: message.sent_at.unwrap_or(now),
                consent_text_version: self.subscriptions.consent_text_version().to_owned(),
                municipio,
            }),
        }
    }

    /// Inline channels (Twilio): the answers go back in the response. A repeated message gets
    /// the reply stored for it again and is counted once; the stored reply is the dedupe mark.
    async fn answer_inline(
        &self,
        channel: &dyn Channel,
        work: &[Work],
        recalled: &[Recalled],
        decisions: Vec<Decision>,
        prepared: Option<&Prepared>,
        now: Timestamp,
    ) -> Result<Vec<Answer>, HandleError> {
        let mut answers = Vec::new();
        let mut replies = Vec::with_capacity(work.len());
        for ((item, recalled), decision) in work.iter().zip(recalled).zip(decisions) {
            if let Some(stored) = &recalled.answered {
                // Twilio repeats a message only when our response was lost: the same reply.
                self.metrics.event(Event::Duplicate);
                if let Ok(reply) = serde_json::from_slice::<Reply>(stored) {
                    answers.push(reply.resolve(prepared).into_owned());
                }
                continue;
            }
            let (reply, session) = match decision {
                Decision::Reply { reply, session } => (reply, session),
                Decision::Consent(change) => {
                    let outcome = self.subscriptions.apply(change).await?;
                    self.metrics.event(Event::ConsentChange);
                    if !item.written() {
                        continue;
                    }
                    (conectate::confirmation(outcome), None)
                }
                Decision::MoveSubscription(new) => {
                    if self.subscriptions.move_subscription(&self.hasher, item.user(), &new, now).await? {
                        self.metrics.event(Event::ConsentChange);
                    }
                    continue;
                }
                Decision::Nothing | Decision::Skip => continue,
            };
            replies.push((item, reply, session));
        }
        let mut ops = Vec::with_capacity(replies.len());
        for (item, reply, _) in &replies {
            let seen = self.keys.seen_message(channel.kind().as_str(), &item.id(channel));
            let value = serde_json::to_vec(reply).expect("a reply serialises");
            ops.push(KvOp::Put { key: seen, value, ttl: Some(self.limits.dedupe_ttl) });
        }
        ops.extend(self.windows_opened(work, now));
        let shown =
            replies.iter().filter_map(|(item, _, session)| session.clone().map(|menu| (item.user(), menu))).collect();
        let (stored, remembered) = tokio::join!(self.kv.run(ops), self.remember_menus(shown));
        stored?;
        remembered?;
        for (item, reply, _) in &replies {
            answers.push(reply.resolve(prepared).into_owned());
            self.count(item, reply, now);
        }
        self.metrics.events_by(Event::Inline, replies.len() as u64);
        Ok(answers)
    }
}

/// What a consent change records as its signal: the normalised keyword, or the payload of the
/// button tapped.
fn consent_signal(content: &Content) -> ConsentSignal {
    match content {
        Content::Text { body } => ConsentSignal::Keyword(normalize(body)),
        Content::Reply { id, .. } => ConsentSignal::Button(id.clone()),
        Content::Button { payload, .. } => ConsentSignal::Button(payload.clone()),
        _ => ConsentSignal::Keyword(String::new()),
    }
}
