//! Where a content is in its life ([`State`]), apart from the content itself so that the
//! errors that name a state ([`crate::ConectateError::WrongState`]) need not know the content.

use serde::{Deserialize, Serialize};

/// Where a content is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    /// Its canary went to the staff list; it can be scheduled.
    Canary,
    Scheduled,
    /// Its time came: it is being fanned out and sent.
    Sending,
    /// Every subscriber's delivery is settled.
    Done,
    Cancelled,
}

impl State {
    /// The state as the communications team reads it.
    pub fn spanish(self) -> &'static str {
        match self {
            State::Draft => "borrador",
            State::Canary => "prueba enviada",
            State::Scheduled => "programado",
            State::Sending => "enviándose",
            State::Done => "terminado",
            State::Cancelled => "cancelado",
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, State::Done | State::Cancelled)
    }
}
