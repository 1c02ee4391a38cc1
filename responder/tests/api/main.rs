//! The responder's integration tests: one binary, a `spawn_app()` harness (see [`helpers`]),
//! and every store-touching test run on both stores.

mod helpers;

mod asking;
mod channel_cases;
mod conversation;
mod dedupe;
mod failover;
mod order;
mod outbox;
mod privacy;
mod senders;
mod server;
mod signals;
mod sin_entender;
