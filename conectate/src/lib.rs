//! Conéctate: the government's opt-in broadcasts to citizens on WhatsApp.
//!
//! The communications team writes a content, sends a canary to a staff list, schedules it (a
//! time, or now) and can cancel it until it starts; when its time comes, a sender fans it out
//! into one delivery per subscriber and sends them at the pace the business number and the
//! messaging limit allow, free-form inside a citizen's 24-hour window and as the approved
//! template outside it. Nothing is sent twice or to someone who left, a sender killed halfway
//! resumes where it stopped, and a per-content report says who got it, from the platform's own
//! statuses. The subscription itself (ALTA, BAJA, buttons, platform signals) and the statuses
//! are handled by the responder; what a delivery is, and the channels it goes through, are the
//! `channels` crate's, shared with the responder (`channels::delivery`).
//!
//! # Layout
//! - [`content`]: a content, what the team writes ([`Draft`]), the rules of its lifecycle
//!   and, for a draft the system prepared, its [`content::Origin`]; [`state`]: where it is in
//!   that life ([`State`]).
//! - [`contents`]: [`Contents`], what the team does (create, list, edit, canary, schedule,
//!   cancel, report), the same from the CLI and the admin API; [`contents::read_after`] reads the
//!   contents without the rest of the configuration (the programme report).
//! - [`system_drafts`]: [`SystemDrafts`], the contents ingest prepares from the data
//!   (`ingest::drafts`), marked with their [`content::Origin`].
//! - [`broadcast`]: due contents started, fanned out into the broadcast queue, finished.
//! - [`sender`]: [`Sender`], the worker that sends deliveries: [`Sender::try_send_one`] and
//!   [`Sender::run`].
//! - [`freeze`]: the durable frozen state a restricted account puts every sender in.
//! - [`report`]: the delivery report, as data and as Spanish text.
//! - [`ledger`]: the consent ledger as CSV.
//! - [`config`]: what Conéctate takes from the settings, among it each channel's way to reach
//!   citizens outside the window ([`config::OutsideWindow`]); [`error`]: [`ConectateError`].

pub mod broadcast;
pub mod config;
pub mod content;
pub mod contents;
pub mod error;
pub mod freeze;
pub mod ledger;
pub mod report;
pub mod sender;
pub mod state;
pub mod system_drafts;

pub use config::ConectateConfig;
pub use content::{Content, Draft};
pub use contents::Contents;
pub use error::ConectateError;
pub use report::Report;
pub use sender::{Outcome, Sender};
pub use state::State;
pub use system_drafts::SystemDrafts;
