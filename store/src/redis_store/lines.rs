//! The lines of the Redis store's queues ([`Line`](crate::Line)), in the scripts that claim,
//! acknowledge, retry and re-claim entries.
//!
//! An entry of a line carries its line in its stream fields: `g` (the line), `l` (its lease in
//! ms) and, once it has come back from a retry or a parking, `t`, its token (the stream id it
//! was first added under; until then the token is its own id). Beside the stream, in the
//! queue's hash slot (the scripts name them from the stream's key): `line:LINE` holds the
//! token that has the turn, expiring with the lease, and `parked:LINE` lists the entries
//! waiting for it as `token|lease|payload`; `parked` counts them for the queue's depth. A
//! delayed entry of a line is kept as `16 hex digits;line|lease|token|payload` (a plain one as
//! `16 hex digits:payload`).
//!
//! The claim reads the stream inside its script (`XREADGROUP` without `BLOCK`), so the entry
//! added first takes a line's turn first whichever worker claims it: taking the turn in a
//! second step would let a later entry, claimed by a quicker worker, overtake it.

/// The functions every line script shares (`scripts/lines_common.lua`), put before each one's
/// body so each runs as one script.
const COMMON: &str = include_str!("scripts/lines_common.lua");

/// The line scripts, each with the shared functions.
pub(super) struct LineScripts {
    pub claim: redis::Script,
    pub ack: redis::Script,
    pub retry: redis::Script,
    pub admit: redis::Script,
}

impl LineScripts {
    pub(super) fn new() -> LineScripts {
        let with_common = |body: &str| redis::Script::new(&format!("{COMMON}{body}"));
        LineScripts {
            claim: with_common(include_str!("scripts/claim.lua")),
            ack: with_common(include_str!("scripts/ack.lua")),
            retry: with_common(include_str!("scripts/retry.lua")),
            admit: with_common(include_str!("scripts/admit.lua")),
        }
    }
}
