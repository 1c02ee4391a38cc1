//! «Sin entender»: the phrases the bot did not understand, aggregated so no citizen shows.
//!
//! The responder hands over phrases already masked ([`schemas::masking`]). A phrase is kept
//! with when it was first and last seen and the *marks* of the citizens who wrote it: a mark
//! is 32 bits of a hash of the citizen's [`UserKey`] salted with the phrase
//! ([`citizen_mark`]), so it counts distinct citizens without being a user key, and the same
//! citizen has unrelated marks under two phrases. Both stores implement [`UnmatchedStore`]
//! (`embedded/unmatched.rs`, `redis_store/unmatched.rs`) and pass the conformance suite.
//!
//! Bounds: a phrase not seen for `keep` is forgotten; at most [`MAX_PHRASES`] are kept, and a
//! new phrase beyond them evicts the one unseen longest (recent phrases are what maintainers
//! act on); at most [`MAX_CITIZENS`] marks are kept per phrase, so its count stops there.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use schemas::UserKey;

use crate::Result;

/// At most this many phrases are kept; a new one evicts the phrase unseen longest.
pub const MAX_PHRASES: usize = 2_000;

/// A phrase's count of citizens stops here.
pub const MAX_CITIZENS: usize = 1_000;

/// One message the bot did not understand: its masked phrase, who wrote it, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedMessage {
    pub phrase: String,
    pub user: UserKey,
    pub at: Timestamp,
}

/// A kept phrase, as maintainers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedPhrase {
    pub phrase: String,
    /// Distinct citizens who wrote it (at most [`MAX_CITIZENS`]).
    pub citizens: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// The phrases not understood.
#[async_trait]
pub trait UnmatchedStore: Send + Sync {
    /// Counts a batch of messages (the responder batches them with its counters), forgets the
    /// phrases not seen since `now - keep`, and keeps at most [`MAX_PHRASES`].
    async fn record_unmatched(&self, batch: &[UnmatchedMessage], now: Timestamp, keep: Duration) -> Result<()>;

    /// The phrases seen since `now - keep` that at least `min_citizens` distinct citizens
    /// wrote, the most written first (then the most recent).
    async fn unmatched(&self, min_citizens: u64, now: Timestamp, keep: Duration) -> Result<Vec<UnmatchedPhrase>>;
}

/// The mark a citizen leaves on a phrase: the user key's hash mixed with the phrase's, so a
/// mark identifies nobody and two phrases' marks cannot be joined.
pub fn citizen_mark(user: &UserKey, phrase: &str) -> u32 {
    // FNV-1a over the phrase, then the splitmix64 finaliser over both.
    let mut salt: u64 = 0xcbf2_9ce4_8422_2325;
    for b in phrase.bytes() {
        salt = (salt ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = user.hash64() ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z >> 32) as u32 ^ (z as u32)
}

/// Sorts phrases as [`UnmatchedStore::unmatched`] answers them; shared by both stores.
pub(crate) fn sort_phrases(phrases: &mut [UnmatchedPhrase]) {
    phrases.sort_by(|a, b| {
        b.citizens.cmp(&a.citizens).then(b.last_seen.cmp(&a.last_seen)).then_with(|| a.phrase.cmp(&b.phrase))
    });
}

/// Milliseconds since the epoch (0 before it).
pub(crate) fn epoch_ms(at: Timestamp) -> u64 {
    u64::try_from(at.as_millisecond()).unwrap_or(0)
}

/// The instant of [`epoch_ms`].
pub(crate) fn from_epoch_ms(ms: u64) -> Timestamp {
    Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The oldest last-seen instant still kept (ms).
pub(crate) fn cutoff_ms(now: Timestamp, keep: Duration) -> u64 {
    epoch_ms(now).saturating_sub(u64::try_from(keep.as_millis()).unwrap_or(u64::MAX))
}
