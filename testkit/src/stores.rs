//! The stores tests run on: a fresh embedded store, or the test Redis (or the test Redis
//! Cluster) under a key prefix of its own; [`StoreKind`] and
//! [`on_both_stores!`](crate::on_both_stores) to run a test on each.

use schemas::KeyLayout;

/// The URL of the throwaway `redis-server` that `scripts/test` started.
pub fn redis_url() -> String {
    std::env::var("CONTACTO_TEST_REDIS_URL").expect(
        "CONTACTO_TEST_REDIS_URL is not set: run scripts/test, which starts a throwaway redis-server for the tests",
    )
}

/// The seed nodes of the throwaway three-node Redis Cluster that `scripts/test` started, as a
/// `redis+cluster://` URL.
pub fn redis_cluster_url() -> String {
    std::env::var("CONTACTO_TEST_REDIS_CLUSTER_URL").expect(
        "CONTACTO_TEST_REDIS_CLUSTER_URL is not set: run scripts/test, which starts a throwaway Redis Cluster for the tests",
    )
}

/// A key prefix no other test uses, so tests share one Redis safely.
pub fn unique_keys() -> KeyLayout {
    KeyLayout::new(&format!("t{:016x}", rand::random::<u64>())).expect("a valid prefix")
}

/// A fresh store and what must outlive it (the embedded store's directory).
pub struct TestStore {
    pub store: store::SharedStore,
    pub dir: Option<std::path::PathBuf>,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh embedded store in a directory of its own.
pub async fn embedded_store() -> TestStore {
    let dir = std::env::temp_dir().join(format!("contacto-test-{:016x}", rand::random::<u64>()));
    let config = store::StoreConfig::Embedded { data_dir: dir.clone(), keys: unique_keys() };
    TestStore { store: store::open(&config).await.expect("open the embedded store"), dir: Some(dir) }
}

/// A fresh view of the test Redis under a key prefix of its own.
pub async fn redis_store() -> TestStore {
    let config = store::StoreConfig::Redis { url: redis_url(), keys: unique_keys() };
    TestStore { store: store::open(&config).await.expect("connect to the test Redis"), dir: None }
}

/// A fresh view of the test Redis Cluster under a key prefix of its own.
pub async fn redis_cluster_store() -> TestStore {
    let config = store::StoreConfig::Redis { url: redis_cluster_url(), keys: unique_keys() };
    TestStore { store: store::open(&config).await.expect("connect to the test Redis Cluster"), dir: None }
}

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Embedded,
    Redis,
    /// The Redis store on a three-node Redis Cluster.
    RedisCluster,
}

impl StoreKind {
    /// A fresh store of this kind.
    pub async fn open(self) -> TestStore {
        match self {
            StoreKind::Embedded => embedded_store().await,
            StoreKind::Redis => redis_store().await,
            StoreKind::RedisCluster => redis_cluster_store().await,
        }
    }
}

/// Declares each named `async fn(StoreKind)` test once per store, in modules `on_embedded`
/// and `on_redis` (on a two-thread runtime, like the services). With `watch_slots;` first, the
/// Redis cases also run once more one after the other under a [`SlotWatch`](crate::slots::SlotWatch):
/// every atomic step must keep its keys in one Redis Cluster slot. With `on_cluster;` first
/// (before `watch_slots;`), each case also runs in `on_redis_cluster`, on the test Redis
/// Cluster ([`StoreKind::RedisCluster`]).
#[macro_export]
macro_rules! on_both_stores {
    (on_cluster; watch_slots; $($name:ident),* $(,)?) => {
        $crate::on_both_stores!(watch_slots; $($name),*);
        $crate::on_both_stores!(@cluster $($name),*);
    };
    (on_cluster; $($name:ident),* $(,)?) => {
        $crate::on_both_stores!($($name),*);
        $crate::on_both_stores!(@cluster $($name),*);
    };
    (@cluster $($name:ident),*) => {
        mod on_redis_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::StoreKind::RedisCluster).await;
                }
            )*
        }
    };
    (watch_slots; $($name:ident),* $(,)?) => {
        $crate::on_both_stores!($($name),*);

        /// Every case again on Redis, one after the other, watched: each script, transaction
        /// and multi-key command keeps its keys in one Redis Cluster slot.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_atomic_step_stays_in_one_cluster_slot() {
            let watch = $crate::slots::SlotWatch::start().await;
            $(self::$name($crate::StoreKind::Redis).await;)*
            watch.check().await;
        }
    };
    ($($name:ident),* $(,)?) => {
        mod on_embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::StoreKind::Embedded).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::StoreKind::Redis).await;
                }
            )*
        }
    };
}

/// The `i`-th test citizen's WhatsApp number (`52147` and eight digits).
pub fn phone(i: usize) -> String {
    format!("52147{i:08}")
}

/// Subscribes the test citizens `citizens` ([`phone`]) on `channel` as their ALTA keyword would,
/// many at once: how tests and benchmarks fill a subscriber list.
pub async fn subscribe_citizens(
    store: &store::SharedStore,
    hasher: &schemas::UserHasher,
    citizens: std::ops::Range<usize>,
    channel: schemas::ChannelKind,
    business_number: &str,
) {
    use futures::StreamExt;
    futures::stream::iter(citizens)
        .map(|i| {
            let address = schemas::UserAddress::Phone(schemas::PhoneNumber::parse(&phone(i)).expect("a test number"));
            let change = schemas::ConsentChange {
                user: hasher.key(&address),
                address,
                channel,
                business_number: business_number.to_owned(),
                action: schemas::ConsentAction::Subscribe,
                signal: schemas::ConsentSignal::Keyword("alta".into()),
                at: jiff::Timestamp::now(),
                consent_text_version: "2021-01".into(),
                municipio: None,
            };
            async move { store.apply_consent(&change).await.expect("subscribe a test citizen") }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
}
