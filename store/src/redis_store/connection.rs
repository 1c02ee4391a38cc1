//! The one connection the Redis store talks through, to a single server or to a Redis Cluster.
//!
//! A single server is reached through the `redis` crate's [`ConnectionManager`] (multiplexed,
//! reconnects by itself); a cluster through its cluster client, which routes each command,
//! script (`EVALSHA` by its first key; `SCRIPT LOAD` goes to every node after a `NOSCRIPT`)
//! and single-slot pipeline to the node owning the slot, and follows `MOVED`/`ASK`. Both sit
//! behind [`Connection`], so the store has one code path; the only difference it sees is
//! [`Connection::slot_of`], which tells a pipeline whose keys are unrelated (a KV batch
//! across users) how to split itself per slot on a cluster.
//!
//! Which one is chosen is said by the URL ([`RedisTarget::parse`]): `redis://host:port/db` is
//! one server; `redis+cluster://[user:password@]host:port,host:port,…` lists seed nodes of a
//! cluster (any reachable one is enough; the rest of the topology is discovered). A cluster
//! has only database 0.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::{Result, StoreError};

const CLUSTER_SCHEME: &str = "redis+cluster://";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const RETRIES: u32 = 3;

/// Where the store's Redis is: one server, or the seed nodes of a cluster.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// `redis://…`, passed to the `redis` crate as it is.
    Node(String),
    /// One `redis://[user:password@]host:port/` per seed node.
    Cluster(Vec<String>),
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs may carry a password: only their count and kind are shown.
        match self {
            RedisTarget::Node(_) => f.write_str("RedisTarget::Node(..)"),
            RedisTarget::Cluster(nodes) => write!(f, "RedisTarget::Cluster({} nodes)", nodes.len()),
        }
    }
}

impl RedisTarget {
    /// Reads a store URL. The error is Spanish (it is shown to whoever configures the store) and
    /// never repeats the URL, which may carry a password.
    pub fn parse(url: &str) -> std::result::Result<RedisTarget, String> {
        let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) else {
            return match url.split_once("://") {
                Some(("redis" | "redis+unix" | "unix", after)) if !after.is_empty() => {
                    Ok(RedisTarget::Node(url.into()))
                }
                _ => Err("debe empezar por redis:// (un servidor) o redis+cluster:// (un Redis Cluster)".into()),
            };
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !matches!(path, "" | "0") {
            return Err("un Redis Cluster solo tiene la base de datos 0: quita la ruta tras los nodos".into());
        }
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => (Some(credentials), hosts),
            None => (None, authority),
        };
        let nodes: Vec<String> = hosts
            .split(',')
            .map(|host| {
                let (name, port) = host.rsplit_once(':').unwrap_or((host, ""));
                if name.is_empty() || port.parse::<u16>().is_err() {
                    return Err(format!(
                        "cada nodo de redis+cluster:// se escribe host:puerto, separados por comas («{host}» no lo es)"
                    ));
                }
                Ok(match credentials {
                    Some(c) => format!("redis://{c}@{host}/"),
                    None => format!("redis://{host}/"),
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok(RedisTarget::Cluster(nodes))
    }

    /// The URLs a subscriber may connect to, one after the other until one answers.
    fn nodes(&self) -> &[String] {
        match self {
            RedisTarget::Node(url) => std::slice::from_ref(url),
            RedisTarget::Cluster(nodes) => nodes,
        }
    }
}

/// A multiplexed connection to a server or a cluster; cheap to clone, shared by every task.
#[derive(Clone)]
pub(super) enum Connection {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to `target` (to every primary of a cluster).
    pub(super) async fn open(target: &RedisTarget) -> Result<Connection> {
        let invalid = |e: redis::RedisError| StoreError::backend_from("la URL de Redis no es válida", e);
        Ok(match target {
            RedisTarget::Node(url) => {
                let client = redis::Client::open(url.as_str()).map_err(invalid)?;
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(RETRIES as usize);
                Connection::Node(client.get_connection_manager_with_config(config).await?)
            }
            RedisTarget::Cluster(nodes) => {
                let client = redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(RETRIES)
                    .build()
                    .map_err(invalid)?;
                Connection::Cluster(client.get_async_connection().await?)
            }
        })
    }

    /// The slot a pipeline must keep `key` with, on a cluster; `None` on one server, where
    /// any keys go together.
    pub(super) fn slot_of(&self, key: &str) -> Option<Slot> {
        match self {
            Connection::Node(_) => None,
            Connection::Cluster(_) => Some(Slot::for_key(key)),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Node(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Node(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Pub/sub for snapshot announcements. On a cluster a `PUBLISH` reaches every node, so a
/// plain subscription to any one node hears them all; when it drops, the next node is tried.
pub(super) struct Announcements {
    clients: Vec<redis::Client>,
    next: usize,
}

impl Announcements {
    pub(super) fn new(target: &RedisTarget) -> Result<Announcements> {
        let clients = target
            .nodes()
            .iter()
            .map(|url| redis::Client::open(url.as_str()))
            .collect::<redis::RedisResult<_>>()
            .map_err(|e| StoreError::backend_from("la URL de Redis no es válida", e))?;
        Ok(Announcements { clients, next: 0 })
    }

    /// A subscription to `channel` on the next node in turn, or `None` if it did not answer.
    pub(super) async fn subscribe(&mut self, channel: &str) -> Option<redis::aio::PubSub> {
        let client = &self.clients[self.next % self.clients.len()];
        self.next = self.next.wrapping_add(1);
        let mut pubsub = client.get_async_pubsub().await.ok()?;
        pubsub.subscribe(channel).await.ok()?;
        Some(pubsub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_url_lists_its_seed_nodes_with_their_credentials() {
        assert_eq!(
            RedisTarget::parse("redis+cluster://10.0.0.1:7000,10.0.0.2:7001/").unwrap(),
            RedisTarget::Cluster(vec!["redis://10.0.0.1:7000/".into(), "redis://10.0.0.2:7001/".into()])
        );
        assert_eq!(
            RedisTarget::parse("redis+cluster://app:s3cret@a:1,b:2").unwrap(),
            RedisTarget::Cluster(vec!["redis://app:s3cret@a:1/".into(), "redis://app:s3cret@b:2/".into()])
        );
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6379/2").unwrap(),
            RedisTarget::Node("redis://127.0.0.1:6379/2".into())
        );
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_its_password() {
        for url in ["redis+cluster://:pw@a:1,b/", "redis+cluster://:pw@a:1/3", "http://:pw@a:1", "redis+cluster://"] {
            let error = RedisTarget::parse(url).unwrap_err();
            assert!(!error.contains("pw"), "{url}: {error}");
        }
        assert!(RedisTarget::parse("redis+cluster://a:1/3").unwrap_err().contains("base de datos 0"));
        assert!(RedisTarget::parse("redis+cluster://a:1,b/").unwrap_err().contains("host:puerto"));
    }
}
