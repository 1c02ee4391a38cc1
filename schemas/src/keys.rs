//! The cache key layout.
//!
//! Every key starts with one prefix (`contacto` by default), so several deployments or test runs
//! can share a Redis. Keys that must change together in one transaction or script carry the
//! same Redis Cluster hash tag (the part in braces), so the system runs unchanged on a Cluster:
//!
//! | tag | keys | why together |
//! |---|---|---|
//! | `{P:snap}` | `seq`, `current`, `v:N`, `versions`, `history` | publish and rollback flip the pointer atomically |
//! | `{P:stats}` | `interactions:DAY`, `users:DAY` | a report counts unique users over many days in one PFCOUNT |
//! | `{P:q:NAME}` | `stream`, `delayed`, `once:ID`, `window:NAME`, `line:USER`, `parked:USER`, `parked` | due delayed entries move into the stream atomically; an entry, the mark that it was added once and its sender's flood window are written together; a claim hands out an entry and takes its citizen's turn (line) in one step |
//! | `{P:subs}` | `sub:USER`, `active`, `ledger`, `ledger-seq`, `counts`, `counts-from`, `counts-backfilled` | a consent change updates the list, the ledger and its counts atomically |
//! | `{P:contents}` | `items`, `seq` | a content's record changes by compare-and-set |
//! | `{P:report:ID}` | `items`, `counts` | a status moves its message's state and the content's counts atomically |
//! | `{P:runs}` | `log`, `seq` | a run's id and its record are written together |
//! | `{P:unmatched}` | `phrases`, `first`, `citizens` | a phrase not understood, when it was first seen and its citizens' marks are kept, expired and evicted together |
//!
//! Single-key data (sessions, message dedupe, flood windows, rate buckets, flags, source state)
//! has no tag so a Cluster spreads it. User-related keys hold only a [`UserKey`], never an address: the only
//! way to build one is from a `UserKey`.

use std::fmt;

use jiff::civil::Date;

use crate::snapshot::SnapshotVersion;
use crate::source_name::SourceName;
use crate::user::UserKey;

/// A full cache key. Only [`KeyLayout`] builds them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A durable queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// Replies waiting to go out through a channel API.
    Outbox,
    /// Conéctate deliveries, one per (content, subscriber).
    Broadcast,
}

impl QueueName {
    pub const ALL: [QueueName; 2] = [QueueName::Outbox, QueueName::Broadcast];

    pub const fn as_str(self) -> &'static str {
        match self {
            QueueName::Outbox => "outbox",
            QueueName::Broadcast => "broadcast",
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds every key under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("el prefijo de claves «{0}» debe tener de 1 a 40 letras minúsculas, dígitos, _, - o .")]
pub struct InvalidPrefix(pub String);

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout { prefix: "contacto".into() }
    }
}

impl KeyLayout {
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 40
            && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
        if ok { Ok(KeyLayout { prefix: prefix.to_owned() }) } else { Err(InvalidPrefix(prefix.to_owned())) }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn tagged(&self, tag: &str, rest: fmt::Arguments<'_>) -> Key {
        Key(format!("{p}:{{{p}:{tag}}}:{rest}", p = self.prefix))
    }

    fn plain(&self, rest: fmt::Arguments<'_>) -> Key {
        Key(format!("{}:{rest}", self.prefix))
    }

    /// The INEGI code of the state whose data the store holds (one store, one state).
    pub fn deployment_state(&self) -> Key {
        self.plain(format_args!("deployment:state"))
    }

    // Snapshots.
    pub fn snapshot_seq(&self) -> Key {
        self.tagged("snap", format_args!("seq"))
    }
    pub fn snapshot_current(&self) -> Key {
        self.tagged("snap", format_args!("current"))
    }
    pub fn snapshot(&self, version: SnapshotVersion) -> Key {
        self.tagged("snap", format_args!("v:{}", version.0))
    }
    /// Sorted set of kept versions, scored by version.
    pub fn snapshot_versions(&self) -> Key {
        self.tagged("snap", format_args!("versions"))
    }
    /// Stream of pointer changes (publish, rollback): the answer audit trail.
    pub fn snapshot_history(&self) -> Key {
        self.tagged("snap", format_args!("history"))
    }
    /// The pub/sub channel that announces a new current version.
    pub fn snapshot_channel(&self) -> String {
        format!("{}:announce:snapshot", self.prefix)
    }

    // Counters.
    /// Hash of interactions on one day, one field per topic.
    pub fn interactions(&self, day: Date) -> Key {
        self.tagged("stats", format_args!("interactions:{day}"))
    }
    /// HyperLogLog of the users who wrote on one day.
    pub fn users(&self, day: Date) -> Key {
        self.tagged("stats", format_args!("users:{day}"))
    }
    /// Hash of the replies that failed for good on one day, one field per reason.
    pub fn failed_replies(&self, day: Date) -> Key {
        self.tagged("stats", format_args!("failed_replies:{day}"))
    }

    // Phrases not understood («Sin entender»): masked text only, never a user key.
    /// Sorted set of masked phrases, scored by when each was last seen (ms).
    pub fn unmatched_phrases(&self) -> Key {
        self.tagged("unmatched", format_args!("phrases"))
    }
    /// Hash: masked phrase → when it was first seen (ms).
    pub fn unmatched_first(&self) -> Key {
        self.tagged("unmatched", format_args!("first"))
    }
    /// Hash: masked phrase → the marks of the citizens who wrote it (salted by the phrase).
    pub fn unmatched_citizens(&self) -> Key {
        self.tagged("unmatched", format_args!("citizens"))
    }

    // Per-user state with a TTL.
    pub fn session(&self, user: &UserKey) -> Key {
        self.plain(format_args!("session:{user}"))
    }
    pub fn flood(&self, user: &UserKey, window: i64) -> Key {
        self.plain(format_args!("flood:{user}:{window}"))
    }
    /// An inbound message already seen, per channel (`meta`, `twilio`). Message ids are the
    /// platform's (`wamid.…`, `SM…`) and carry no personal data.
    pub fn seen_message(&self, channel: &str, message_id: &str) -> Key {
        self.plain(format_args!("seen:{channel}:{message_id}"))
    }
    /// A named flag with a TTL (a paused sender, an alert).
    pub fn flag(&self, name: &str) -> Key {
        self.plain(format_args!("flag:{name}"))
    }
    /// A rate governor's bucket (`meta:106540352242922`): the theoretical arrival time of its
    /// next permit. Business numbers are not personal data.
    pub fn rate(&self, bucket: &str) -> Key {
        self.plain(format_args!("rate:{bucket}"))
    }
    /// An idempotency marker: `scope` names the operation, `id` the unit of work.
    pub fn idempotency(&self, scope: &str, id: &str) -> Key {
        self.plain(format_args!("once:{scope}:{id}"))
    }

    // Queues.
    pub fn queue_stream(&self, queue: QueueName) -> Key {
        self.tagged(&format!("q:{queue}"), format_args!("stream"))
    }
    pub fn queue_delayed(&self, queue: QueueName) -> Key {
        self.tagged(&format!("q:{queue}"), format_args!("delayed"))
    }
    /// The mark that the unit of work `id` (a platform's message id, not personal) was added
    /// to the queue once, or is in flight.
    pub fn queue_once(&self, queue: QueueName, id: &str) -> Key {
        self.tagged(&format!("q:{queue}"), format_args!("once:{id}"))
    }
    /// A window counting a sender's new work for `queue` (`USER:MINUTE`: a [`UserKey`], never an
    /// address).
    pub fn queue_window(&self, queue: QueueName, name: &str) -> Key {
        self.tagged(&format!("q:{queue}"), format_args!("window:{name}"))
    }
    /// How many entries of `queue` wait for their line's turn. The turns and the parked
    /// entries themselves (`line:LINE`, `parked:LINE`, LINE a [`UserKey`]) sit beside the
    /// stream in the same hash slot; the store's scripts name them from the stream's key.
    pub fn queue_parked(&self, queue: QueueName) -> Key {
        self.tagged(&format!("q:{queue}"), format_args!("parked"))
    }
    /// The consumer group every worker of a queue joins.
    pub fn queue_group(&self, queue: QueueName) -> String {
        format!("{}-workers", queue.as_str())
    }

    // Conéctate.
    pub fn subscriber(&self, user: &UserKey) -> Key {
        self.tagged("subs", format_args!("sub:{user}"))
    }
    pub fn subscribers_active(&self) -> Key {
        self.tagged("subs", format_args!("active"))
    }
    pub fn consent_ledger(&self) -> Key {
        self.tagged("subs", format_args!("ledger"))
    }
    pub fn consent_seq(&self) -> Key {
        self.tagged("subs", format_args!("ledger-seq"))
    }
    /// The consent ledger counted per quarter hour: fields `QUARTER:n` (new), `QUARTER:l`
    /// (left) and `QUARTER:d` (net change).
    pub fn consent_counts(&self) -> Key {
        self.tagged("subs", format_args!("counts"))
    }
    /// The first ledger seq the counts include as it is written.
    pub fn consent_counts_from(&self) -> Key {
        self.tagged("subs", format_args!("counts-from"))
    }
    /// Set once the ledger records older than the counts have been counted.
    pub fn consent_counts_backfilled(&self) -> Key {
        self.tagged("subs", format_args!("counts-backfilled"))
    }
    /// The 24-hour customer service window of `user` on a business number (`bucket` as in
    /// [`KeyLayout::rate`]): written on each inbound message, it expires when the window closes.
    pub fn service_window(&self, bucket: &str, user: &UserKey) -> Key {
        self.plain(format_args!("window:{bucket}:{user}"))
    }
    /// The latest category of a Meta template (`name`, `language`), as the
    /// `template_category_update` webhook last reported it; read before each template send.
    pub fn template_category(&self, name: &str, language: &str) -> Key {
        self.plain(format_args!("template-category:{name}:{language}"))
    }
    /// Conéctate contents, one field per content id.
    pub fn contents(&self) -> Key {
        self.tagged("contents", format_args!("items"))
    }
    pub fn content_seq(&self) -> Key {
        self.tagged("contents", format_args!("seq"))
    }
    /// How far a content's fan-out into the broadcast queue has come.
    pub fn fanout(&self, content: u64) -> Key {
        self.plain(format_args!("fanout:{content}"))
    }
    /// The delivery report of a content: the state of each item (message, recipient) and the
    /// counts per state, changed together.
    pub fn report_items(&self, content: u64) -> Key {
        self.tagged(&format!("report:{content}"), format_args!("items"))
    }
    pub fn report_counts(&self, content: u64) -> Key {
        self.tagged(&format!("report:{content}"), format_args!("counts"))
    }
    /// The users reached by business-initiated messages in the messaging-limit window.
    pub fn reached(&self) -> Key {
        self.plain(format_args!("reached"))
    }

    // Ingest.
    pub fn run_log(&self) -> Key {
        self.tagged("runs", format_args!("log"))
    }
    pub fn run_seq(&self) -> Key {
        self.tagged("runs", format_args!("seq"))
    }
    /// A source's own state between runs (last good dataset, quarantined dataset, validators).
    pub fn source_state(&self, source: &SourceName, part: &str) -> Key {
        self.plain(format_args!("source:{source}:{part}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot-defining part of a key, per the Redis Cluster rule.
    fn hash_tag(key: &Key) -> &str {
        let s = key.as_str();
        match (s.find('{'), s.find('}')) {
            (Some(a), Some(b)) if b > a + 1 => &s[a + 1..b],
            _ => s,
        }
    }

    #[test]
    fn keys_that_change_together_share_a_slot() {
        let k = KeyLayout::new("gto").unwrap();
        let v = SnapshotVersion(3);
        let snap = [k.snapshot_seq(), k.snapshot_current(), k.snapshot(v), k.snapshot_versions(), k.snapshot_history()];
        assert!(snap.iter().all(|key| hash_tag(key) == "gto:snap"), "{snap:?}");
        let day = jiff::civil::date(2020, 5, 27);
        assert_eq!(hash_tag(&k.users(day)), hash_tag(&k.users(day.tomorrow().unwrap())));
        assert_eq!(hash_tag(&k.queue_stream(QueueName::Outbox)), hash_tag(&k.queue_delayed(QueueName::Outbox)));
        assert_eq!(
            hash_tag(&k.queue_stream(QueueName::Outbox)),
            hash_tag(&k.queue_once(QueueName::Outbox, "meta:wamid.A"))
        );
        assert_eq!(hash_tag(&k.queue_stream(QueueName::Outbox)), hash_tag(&k.queue_window(QueueName::Outbox, "u:1")));
        assert_ne!(hash_tag(&k.queue_stream(QueueName::Outbox)), hash_tag(&k.queue_stream(QueueName::Broadcast)));
        let user: UserKey = "00112233445566778899aabbccddeeff".parse().unwrap();
        assert_eq!(hash_tag(&k.subscriber(&user)), hash_tag(&k.consent_ledger()));
        assert_eq!(hash_tag(&k.report_items(7)), hash_tag(&k.report_counts(7)));
        assert_ne!(hash_tag(&k.report_items(7)), hash_tag(&k.report_items(8)));
        assert_eq!(hash_tag(&k.contents()), hash_tag(&k.content_seq()));
        assert_eq!(k.snapshot(v).as_str(), "gto:{gto:snap}:v:3");
        assert_eq!(k.session(&user).as_str(), "gto:session:00112233445566778899aabbccddeeff");
    }

    #[test]
    fn prefixes_cannot_smuggle_hash_tags() {
        assert!(KeyLayout::new("contacto").is_ok());
        for bad in ["", "a{b}", "a b", "A", &"x".repeat(41)] {
            assert!(KeyLayout::new(bad).is_err(), "{bad:?}");
        }
    }
}
