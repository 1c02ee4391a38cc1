//! `[open_data]`: the programme's figures as open data.

use serde::Deserialize;

/// The programme's figures as open data, on the responder's public port (`/datos/`), with no
/// token: interactions per day and topic, unique users per month, subscribers, contents sent.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenDataSettings {
    /// A day's count of one topic below this many interactions is published as «<N»
    /// (default 5), so that nobody can be picked out of a quiet day. Months with fewer unique
    /// users than this are published the same way.
    pub min_count: u64,
    /// Publish small counts as they are, below `min_count` too (default `false`): only when
    /// the programme decided its figures carry no risk for anyone.
    pub publish_small_counts: bool,
    /// How long browsers and proxies may keep a file before asking again (`Cache-Control:
    /// max-age`), in seconds; the figures are also computed at most once per range in that
    /// time (default 300).
    pub max_age_secs: u64,
}

impl Default for OpenDataSettings {
    fn default() -> Self {
        OpenDataSettings { min_count: 5, publish_small_counts: false, max_age_secs: 300 }
    }
}
