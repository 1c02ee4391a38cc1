//! Conéctate's integration tests: one binary, a `spawn_app()` harness (see [`helpers`]), the
//! Graph API and Twilio stood in for by local recording servers, every store-touching test run
//! on both stores (the multi-sender one on the real Redis).

mod helpers;

mod broadcast;
mod contents;
mod drafts;
mod errors;
mod export;
mod failover;
mod marketing;
mod senders;
mod statuses;
mod third_channel;
