//! The responder: WhatsApp webhooks (Meta Cloud API and Twilio) answered from the published
//! snapshot, signed, deduplicated, routed and never lost.
//!
//! A webhook is verified over its raw bytes, parsed into normalised events, deduplicated and
//! routed with the router table of the current snapshot, which lives in memory; the reply is
//! stored in the durable outbox before the platform gets its 200, and an outbox worker sends
//! it through the platform's API at the pace the business number allows. Twilio, which expects
//! its reply inline, gets TwiML instead.
//!
//! # Layout
//! - The platforms are the `channels` crate's: the [`Channel`](channels::Channel) trait, Meta
//!   and Twilio, [`SendError`](channels::SendError), and the delivery types the Conéctate
//!   sender shares with the status hook; the server mounts the routes of every channel of
//!   its registry ([`Channels`](channels::Channels)).
//! - [`understanding`]: from a citizen's words to a topic and a scope (menus, keywords on
//!   their stems with small words inside phrases, the most specific first, municipios and the
//!   short forms in place names, negated opt-ins and complaints, typos).
//! - [`asking`]: «¿Te refieres a…?», the question for a message that reads two or three ways,
//!   and how a number or a tap answers it.
//! - [`mirror`]: the in-process copy of the current snapshot, swapped on announcements.
//! - [`replies`]: replies by reference ([`Reply`](replies::Reply)) and outbox entries.
//! - [`pipeline`]: what happens to a verified webhook: dedupe, flood limit, session, routing,
//!   replies, in batched store round trips ([`batcher`]).
//! - [`conectate`]: subscription changes (ALTA/BAJA, buttons, platform preferences).
//! - [`delivery`]: delivery statuses, and the delivery reports of Conéctate contents they feed.
//! - [`trial`]: «Probar el bot», the console's trial of a message: the webhook's decision,
//!   with nothing written.
//! - [`outbox`]: the worker that sends replies, paced by the shared rate governor, each
//!   citizen's one at a time in the order written.
//! - [`counting`]: interactions and unique users per day, batched off the hot path.
//! - Metrics are recorded into the process's [`metrics::Metrics`] and served on the internal
//!   port's `/metrics` with the store's gauges ([`metrics::scrape`]).
//! - [`server`]: the service over two listeners and a shutdown future, with the routes other
//!   crates add to either port (the open data on the public one, the admin API and the
//!   console on the internal one); [`config`]: what it takes from the settings.

pub mod asking;
pub mod batcher;
pub mod conectate;
pub mod config;
pub mod counting;
pub mod delivery;
pub mod mirror;
pub mod outbox;
pub mod pipeline;
pub mod replies;
pub mod server;
pub mod trial;
pub mod understanding;

pub use config::ResponderConfig;
pub use outbox::{OutboxWorker, Outcome};
pub use server::Responder;

/// Builds the responder and serves it with its outbox worker until `shutdown` completes.
pub async fn run(
    config: ResponderConfig,
    store: store::SharedStore,
    public: tokio::net::TcpListener,
    internal: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    Responder::build(config, store).await.run(public, internal, shutdown).await
}
