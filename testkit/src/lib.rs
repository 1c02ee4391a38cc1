//! Test support shared by every crate of the workspace (a dev-dependency only).
//!
//! Tests use real parts: a real `redis-server` and a real three-node Redis Cluster (started by
//! `scripts/test`), and real HTTP servers on 127.0.0.1 for sources and for the outside
//! platforms, which are the only things stood in for.
//!
//! # Layout
//! - [`servers`]: [`serve`] runs any axum `Router` on 127.0.0.1 on a free port, stopped when
//!   dropped; [`RecordingServer`] is an outside platform's stand-in that records every request
//!   and answers through a closure the test can swap (to fail, to slow down).
//! - [`loopback`]: [`Loopback`], a third messaging platform of the tests' own behind the
//!   `channels::Channel` trait (JSON posts signed with HMAC-SHA256), registered by a test to
//!   prove a channel needs nothing outside its file.
//! - [`platforms`]: the Graph API's answers ([`graph_ok`], [`graph_error`]); Meta's webhooks as
//!   Meta writes them ([`meta_text`], [`meta_statuses`], [`wire_form`]); [`StatusReporter`],
//!   what Meta does after accepting a message; the test secrets ([`PNID`], [`APP_SECRET`], …)
//!   and [`channel_settings`] pointing both channels at stand-ins.
//! - [`sources`]: [`source_settings`], a source as a test configures it; [`fixture_snapshot`],
//!   answers and a router table to publish without running ingest.
//! - [`stores`]: the test Redis ([`redis_url`]) and Redis Cluster ([`redis_cluster_url`]), a
//!   key prefix per test ([`unique_keys`]), a fresh store of each kind ([`embedded_store`],
//!   [`redis_store`], [`redis_cluster_store`], [`StoreKind`]), and [`on_both_stores!`] to
//!   declare a test once per store (and, for the suites that opt in, on the cluster too).
//! - [`slots`]: Redis Cluster readiness, checked on the commands a suite sends (`MONITOR`).
//! - [`cluster`]: [`PrivateCluster`], a Redis Cluster of a test's own, with replicas, to fail
//!   over while the system runs.
//! - [`dengue`]: a topic added with files only (figures, template, the menu file with it).
//! - [`repository`]: the repository's root and a copy of its templates for a test to add to.

pub mod cluster;
pub mod dengue;
pub mod loopback;
pub mod platforms;
pub mod repository;
pub mod servers;
pub mod slots;
pub mod sources;
pub mod stores;

pub use cluster::PrivateCluster;
pub use loopback::{Loopback, LoopbackConfig};
pub use platforms::*;
pub use servers::*;
pub use sources::*;
pub use stores::*;
