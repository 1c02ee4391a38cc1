//! A Redis Cluster of a test's own, with a replica for every primary, to fail over while the
//! system runs. The shared test Cluster (`scripts/test`) has no replicas and must not change
//! under the other tests, so a test that moves primaries starts its own.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nodes of a private Cluster, stopped and removed when dropped.
pub struct PrivateCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

struct Node {
    port: u16,
    child: Child,
}

impl PrivateCluster {
    /// Starts `primaries` primaries and one replica of each, joins them, and returns once every
    /// node sees the Cluster as ready and every replica has its primary's data.
    pub fn start(primaries: usize) -> PrivateCluster {
        let dir = std::env::temp_dir().join(format!("contacto-cluster-{:016x}", rand::random::<u64>()));
        let mut cluster = PrivateCluster { nodes: Vec::new(), dir };
        for _ in 0..primaries * 2 {
            let port = cluster_port();
            let dir = cluster.dir.join(port.to_string());
            std::fs::create_dir_all(&dir).expect("a directory for the node");
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args([
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server is installed (scripts/test installs it)");
            cluster.nodes.push(Node { port, child });
        }
        for node in &cluster.nodes {
            wait_until(Duration::from_secs(5), || redis_cli(node.port, &["ping"]).is_some_and(|r| r == "PONG"));
        }
        let addresses: Vec<String> = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli is installed with redis-server");
        assert!(created.status.success(), "creating the Cluster failed: {}", String::from_utf8_lossy(&created.stdout));
        cluster.wait_until_settled();
        cluster
    }

    /// The Cluster as the store takes it: every node as a seed.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}/", seeds.join(","))
    }

    /// The ports of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<u16> {
        self.with_role("slave")
    }

    /// Promotes the replica on `port` the way planned maintenance does (`CLUSTER FAILOVER`: its
    /// primary stops taking writes until the replica has them all, then they swap) and returns
    /// once every node agrees on the new roles.
    pub fn fail_over(&self, port: u16) {
        assert_eq!(redis_cli(port, &["cluster", "failover"]).as_deref(), Some("OK"), "node {port} is not a replica");
        wait_until(Duration::from_secs(15), || role(port).as_deref() == Some("master"));
        self.wait_until_settled();
    }

    /// Each primary in turn hands over to its replica ([`PrivateCluster::fail_over`]).
    pub fn fail_over_every_primary(&self) {
        let replicas = self.replicas();
        assert_eq!(replicas.len(), self.nodes.len() / 2, "one replica per primary");
        replicas.into_iter().for_each(|replica| self.fail_over(replica));
    }

    /// The ports of the primaries now, in port order.
    pub fn primaries(&self) -> Vec<u16> {
        self.with_role("master")
    }

    fn with_role(&self, wanted: &str) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).filter(|&port| role(port).as_deref() == Some(wanted)).collect()
    }

    /// The slot of `key` (hash tags included), as the Cluster computes it.
    pub fn slot_of(&self, key: &str) -> u16 {
        let slot = redis_cli(self.nodes[0].port, &["cluster", "keyslot", key]).expect("CLUSTER KEYSLOT");
        slot.parse().expect("a slot number")
    }

    /// The port of the primary that serves `slot`, from `CLUSTER NODES`.
    pub fn owner(&self, slot: u16) -> u16 {
        let nodes = redis_cli(self.nodes[0].port, &["cluster", "nodes"]).expect("CLUSTER NODES");
        nodes
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|fields| fields.len() > 8 && fields[2].contains("master"))
            .find(|fields| {
                fields[8..].iter().filter(|range| !range.starts_with('[')).any(|range| {
                    let (from, to) = range.split_once('-').unwrap_or((range, range));
                    (from.parse().unwrap_or(u16::MAX)..=to.parse().unwrap_or(0)).contains(&slot)
                })
            })
            .and_then(|fields| fields[1].split(['@', ',']).next()?.rsplit(':').next()?.parse().ok())
            .expect("a primary serves every slot")
    }

    /// Moves `slot` to the primary on `to` the way `redis-cli --cluster reshard` does
    /// (`SETSLOT IMPORTING`/`MIGRATING`, `MIGRATE … KEYS` ten keys at a time as its default
    /// `--cluster-pipeline`, `SETSLOT NODE` on every node), slowly enough that clients meet the
    /// slot half moved (`ASK`, `TRYAGAIN`). One `MIGRATE` per ten keys keeps the half-moved
    /// window (in which a multi-key script is told `TRYAGAIN`) short on a loaded machine too,
    /// where each `redis-cli` started costs tens of milliseconds.
    pub fn move_slot(&self, slot: u16, to: u16) {
        let from = self.owner(slot);
        assert_ne!(from, to, "slot {slot} is on {to} already");
        let id = |port: u16| redis_cli(port, &["cluster", "myid"]).expect("CLUSTER MYID");
        let (from_id, to_id, slot) = (id(from), id(to), slot.to_string());
        let ok = |port: u16, args: &[&str]| {
            let answer = redis_cli(port, args);
            assert_eq!(answer.as_deref(), Some("OK"), "{args:?} on {port}");
        };
        ok(to, &["cluster", "setslot", &slot, "importing", &from_id]);
        ok(from, &["cluster", "setslot", &slot, "migrating", &to_id]);
        loop {
            let keys = redis_cli(from, &["cluster", "getkeysinslot", &slot, "10"]).unwrap_or_default();
            if keys.is_empty() {
                break;
            }
            let to_port = to.to_string();
            let mut migrate = vec!["migrate", "127.0.0.1", &to_port, "", "0", "5000", "keys"];
            migrate.extend(keys.lines());
            let moved = redis_cli(from, &migrate);
            assert!(matches!(moved.as_deref(), Some("OK" | "NOKEY")), "MIGRATE {keys}: {moved:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        // The new owner first, then the old one, then the rest (the order the Cluster
        // specification gives).
        let others = self.primaries().into_iter().filter(|&p| p != to && p != from);
        for node in [to, from].into_iter().chain(others) {
            ok(node, &["cluster", "setslot", &slot, "node", &to_id]);
        }
        self.wait_until_settled();
    }

    /// Every node sees the Cluster as ready, and every replica is in sync with its primary.
    fn wait_until_settled(&self) {
        wait_until(Duration::from_secs(20), || {
            self.nodes.iter().all(|n| {
                let ok = redis_cli(n.port, &["cluster", "info"]).is_some_and(|i| i.contains("cluster_state:ok"));
                let synced = match role(n.port).as_deref() {
                    Some("slave") => redis_cli(n.port, &["role"]).is_some_and(|r| r.contains("connected")),
                    Some("master") => true,
                    _ => false,
                };
                ok && synced
            })
        });
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose Cluster bus port (ten thousand above) is free too.
fn cluster_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("its address").port();
        if port < 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// `master` or `slave`, from `ROLE`.
fn role(port: u16) -> Option<String> {
    redis_cli(port, &["role"]).and_then(|r| r.lines().next().map(str::to_owned))
}

fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn wait_until(within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "the private Redis Cluster did not settle within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
