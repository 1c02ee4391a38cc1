//! The consent ledger counted per quarter hour, so that the report and the open data read
//! subscribers per day from counters instead of scanning the ledger.
//!
//! Each ledger record is counted, in the same atomic step that ledgers it, in the quarter hour
//! (UTC) its `at` falls in: subscriptions and opt-outs (a number change is neither) and the
//! net change of subscribers (a number change included). The store knows no time zone; every
//! zone's offsets since 1972 are whole quarter hours, so a quarter hour lies within one local
//! day of any zone and the reader sums quarters into its own days exactly as it would read
//! each record's `at`. Ledgers written before the counters existed are counted once from the
//! ledger itself ([`SubscriberStore::consent_counts`](crate::SubscriberStore::consent_counts)
//! does it on first read, and a marker says it is done).

use std::collections::BTreeMap;

use jiff::Timestamp;
use schemas::{ConsentOutcome, ConsentRecord, ConsentSignal};

/// Seconds in one counted quarter hour.
const QUARTER_SECS: i64 = 900;

/// The consent changes of one quarter hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsentQuarter {
    /// When the quarter hour starts.
    pub start: Timestamp,
    /// Subscriptions (a number change is not one).
    pub new: u64,
    /// Opt-outs (a number change is not one).
    pub left: u64,
    /// Subscribers gained minus lost, number changes included.
    pub net: i64,
}

/// The subscribers now and the counted quarters from some moment on, read together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsentCounts {
    pub subscribers: u64,
    /// Oldest first; quarters with no change are absent.
    pub quarters: Vec<ConsentQuarter>,
}

/// The quarter hour `at` falls in, as a number (quarters since the Unix epoch).
pub(crate) fn quarter_of(at: Timestamp) -> i64 {
    at.as_second().div_euclid(QUARTER_SECS)
}

/// When quarter `quarter` starts.
pub(crate) fn quarter_start(quarter: i64) -> Timestamp {
    Timestamp::from_second(quarter.saturating_mul(QUARTER_SECS)).unwrap_or(Timestamp::MAX)
}

/// What one ledger line adds to its quarter: (new, left, net).
pub(crate) fn step(signal: &ConsentSignal, outcome: ConsentOutcome) -> (u64, u64, i64) {
    let counted = u64::from(*signal != ConsentSignal::NumberChanged);
    match outcome {
        ConsentOutcome::Subscribed => (counted, 0, 1),
        ConsentOutcome::Unsubscribed => (0, counted, -1),
        ConsentOutcome::AlreadySubscribed | ConsentOutcome::NotSubscribed => (0, 0, 0),
    }
}

/// (new, left, net) by quarter.
pub(crate) type Tally = BTreeMap<i64, (u64, u64, i64)>;

/// Adds one ledger record to its quarter, for counting a ledger that predates the counters.
pub(crate) fn tally(sums: &mut Tally, record: &ConsentRecord) {
    let (new, left, net) = step(&record.signal, record.outcome);
    let sum = sums.entry(quarter_of(record.at)).or_default();
    *sum = (sum.0 + new, sum.1 + left, sum.2 + net);
}
