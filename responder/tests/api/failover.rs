//! Never lost, never twice while a Redis Cluster fails over: citizens keep writing while each
//! primary in turn hands over to its replica (planned maintenance, `CLUSTER FAILOVER`), and
//! every message is answered once and counted once. The platform's retries are played as Meta
//! plays them: a 503 is posted again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::civil::date;
use responder::{Responder, ResponderConfig};
use schemas::Topic;
use testkit::PrivateCluster;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_answered_and_counted_once_while_each_primary_fails_over() {
    let cluster = Arc::new(tokio::task::spawn_blocking(|| PrivateCluster::start(3)).await.unwrap());
    let app = spawn_app(StoreKind::Embedded).await; // for its Graph stand-in
    let config = store::StoreConfig::Redis { url: cluster.url(), keys: testkit::unique_keys() };
    let store = store::open(&config).await.expect("connect to the private Cluster");
    store.publish(&fixture_snapshot(), None, 5).await.unwrap();
    // A reply whose send was not acknowledged is taken over after 2 s, so a lost
    // acknowledgement would show up within the test as a second reply.
    let options = TestOptions { reclaim_idle_secs: 2, ..TestOptions::default() };
    let mut settings = settings(&app.graph_url(), &options);
    let responder = Responder::build(ResponderConfig::from_settings(&mut settings).unwrap(), store.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/meta", public.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(responder.clone().run(public, internal, async {
        let _ = stopped.await;
    }));

    // Four citizens write one message after another until every primary has failed over.
    let failing_over = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, url, failing_over) = (app.http.clone(), url.clone(), failing_over.clone());
            tokio::spawn(async move {
                let mut senders = Vec::new();
                while failing_over.load(Ordering::SeqCst) || senders.len() < 10 {
                    let (n, from) = (senders.len(), format!("521477{w}{:06}", senders.len()));
                    let body = meta_text(PNID, &from, &format!("wamid.FAILOVER-{w}-{n}"), "casos en León");
                    post_until_accepted(&http, &url, &body).await;
                    senders.push(from);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                senders
            })
        })
        .collect();
    let replicas = cluster.replicas();
    assert_eq!(replicas.len(), 3, "one replica per primary");
    for replica in replicas {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.fail_over(replica)).await.unwrap();
    }
    failing_over.store(false, Ordering::SeqCst);
    let mut senders = Vec::new();
    for writer in writers {
        senders.extend(writer.await.unwrap());
    }
    senders.sort();

    let deadline = Instant::now() + Duration::from_secs(30);
    while app.graph.requests().len() < senders.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // time for a second copy to show up
    let mut answered: Vec<String> =
        app.graph_bodies().iter().map(|b| b["to"].as_str().unwrap_or_default().to_owned()).collect();
    answered.sort();
    assert_eq!(answered, senders, "each of {} messages answered once", senders.len());

    responder.flush_counters().await;
    let days = store.interactions(date(2020, 5, 27), date(2020, 5, 27)).await.unwrap();
    let counted = days.first().and_then(|d| d.by_topic.get(&Topic::Confirmados).copied());
    assert_eq!(counted, Some(senders.len() as u64), "each message counted once");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
