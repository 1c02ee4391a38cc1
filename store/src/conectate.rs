//! What Conéctate keeps beyond subscribers: contents, delivery reports and the messaging-limit
//! window. Three small traits, each implemented by both stores in a file of its own
//! (`embedded/conectate.rs`, `redis_store/conectate.rs`) and checked by the conformance suite.
//!
//! The store does not know what a content or a delivery state is: contents are opaque records
//! with a revision, and a report is a set of items that only move forward through ranked
//! states, counted per label. The `conectate` crate gives them their meaning.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use schemas::UserKey;

use crate::Result;

/// A stored record and its revision (1 for the first write, one more for each later write).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revised {
    pub revision: u64,
    pub record: Vec<u8>,
}

/// Conéctate contents as opaque records under increasing ids, changed by compare-and-set so
/// two processes (a sender starting a broadcast, an operator cancelling it) never both win.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// A new content id (the first is 1).
    async fn next_content_id(&self) -> Result<u64>;

    async fn content_record(&self, id: u64) -> Result<Option<Revised>>;

    /// Writes `record` if the stored revision is still `expected` (0: no record yet) and
    /// returns the new revision; `None` if another writer got there first.
    async fn put_content_record(&self, id: u64, expected: u64, record: &[u8]) -> Result<Option<u64>>;

    /// Records with ids above `after`, in id order.
    async fn content_records(&self, after: u64, limit: usize) -> Result<Vec<(u64, Revised)>>;
}

/// One step of a delivery report: `item` of `content` reaches a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportUpdate {
    pub content: u64,
    /// What moves (`m:` + a platform message id, `r:` + a recipient); opaque to the store.
    pub item: String,
    /// Only a higher rank replaces the item's state, so late or repeated steps change nothing.
    pub rank: u8,
    /// The counter the item counts under while in this state.
    pub label: String,
}

/// Delivery reports: per content, each item's most advanced state and how many items are in
/// each state. An update and its counts change atomically (one Lua script on keys that share
/// a hash tag, one embedded transaction).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Applies `updates` in order; for each, whether it moved its item. Items are remembered
    /// for `keep` after their content's last update (counts forever).
    async fn advance_report(&self, updates: &[ReportUpdate], keep: Duration) -> Result<Vec<bool>>;

    /// How many items of `content` are in each state, by label (labels at zero left out).
    async fn report_counts(&self, content: u64) -> Result<BTreeMap<String, u64>>;
}

/// What [`ReachStore::reach`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    /// Per user asked for, in order: whether it may be messaged now.
    pub admitted: Vec<bool>,
    /// When some were refused: how long until the oldest user in the window leaves it.
    pub next_free_in: Option<Duration>,
    /// Users in the window after this call.
    pub in_window: u64,
}

/// The messaging limit: the unique users a business reached with business-initiated messages
/// over a rolling window (WhatsApp's 24 hours), shared by every sender on one store.
#[async_trait]
pub trait ReachStore: Send + Sync {
    /// Admits `users`: one already in the window stays (its time refreshed); a new one enters
    /// while fewer than `limit` are in it. Atomic on Redis, so senders never overshoot together.
    async fn reach(&self, users: &[UserKey], window: Duration, limit: u64) -> Result<Reach>;

    /// Users in the window now.
    async fn reached(&self, window: Duration) -> Result<u64>;
}
