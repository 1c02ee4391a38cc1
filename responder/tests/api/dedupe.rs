//! Never twice: copies of one message delivered at the same moment, to one responder or to two
//! responders sharing a Redis, are answered once; a consent change delivered twice at once is
//! applied once.

use std::time::Duration;

use jiff::civil::date;
use responder::{Responder, ResponderConfig};
use schemas::{ConsentAction, ConsentOutcome};

use crate::helpers::*;

async fn copies_delivered_at_once_are_answered_once(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let bodies: Vec<Vec<u8>> = (0..5)
        .map(|i| meta_text(PNID, &format!("52147712{i:05}"), &format!("wamid.COPY{i}"), "casos en León"))
        .collect();
    // Eight copies of each of five messages, all in flight together.
    let posts = (0..8).flat_map(|_| bodies.iter()).map(|body| app.post_meta_until_accepted(body));
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| s.last() == Some(&200)), "{statuses:?}");
    app.drain_outbox().await;
    assert_eq!(
        app.replied_to(),
        (0..5).map(|i| format!("52147712{i:05}")).collect::<Vec<_>>(),
        "one reply per message"
    );
    assert_eq!(app.metrics().event_count(metrics::Event::Duplicate), 35);
}

async fn a_consent_change_delivered_twice_at_once_is_applied_once(kind: StoreKind) {
    let app = spawn_app(kind).await;
    let me = "5214771239101";
    let alta = meta_text(PNID, me, "wamid.ALTA-TWICE", "ALTA");
    let posts = (0..6).map(|_| app.post_meta_until_accepted(&alta));
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| s.last() == Some(&200)), "{statuses:?}");
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), 1, "confirmed once");
    assert_eq!(app.store.subscriber_count().await.unwrap(), 1);
    let records = app.store.consent_records(0, 100).await.unwrap();
    assert_eq!(records.len(), 1, "applied once: {records:?}");
    assert_eq!((records[0].action, records[0].outcome), (ConsentAction::Subscribe, ConsentOutcome::Subscribed));
    assert_eq!(app.metrics().event_count(metrics::Event::ConsentChange), 1);
}

/// Meta gives up on a webhook that is slow to answer and closes the connection, then retries
/// it. The webhook whose request went away is still handled to the end: answered once and
/// counted once, with its retry recognised as a copy.
async fn a_webhook_whose_connection_closes_is_answered_and_counted_once(kind: StoreKind) {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app(kind).await;
    let bodies: Vec<Vec<u8>> = (0..20)
        .map(|i| meta_text(PNID, &format!("52147712{i:05}"), &format!("wamid.GONE{i}"), "casos en León"))
        .collect();
    let abandon = |body: &[u8]| {
        let mut request = format!(
            "POST /webhooks/meta HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n{}: {}\r\ncontent-length: {}\r\n\r\n",
            app.addr,
            channels::meta::SIGNATURE_HEADER,
            channels::meta::signature(APP_SECRET, body),
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        async move {
            let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
            stream.write_all(&request).await.unwrap();
            // Gone before the answer: the server reads the request, then the end of the stream.
            stream.shutdown().await.unwrap();
        }
    };
    futures::future::join_all(bodies.iter().map(|body| abandon(body))).await;
    // Meta's retries, once the abandoned requests had time to finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for body in &bodies {
        app.post_meta_until_accepted(body).await;
    }
    app.drain_outbox().await;
    assert_eq!(app.graph.requests().len(), 20, "each message answered once");
    app.responder.flush_counters().await;
    let days = app.store.interactions(date(2020, 5, 27), date(2020, 5, 27)).await.unwrap();
    assert_eq!(
        days[0].by_topic.get(&schemas::Topic::from_static("confirmados")),
        Some(&20),
        "each message counted once"
    );
    assert_eq!(days[0].unique_users, 20);
}

testkit::on_both_stores!(
    copies_delivered_at_once_are_answered_once,
    a_consent_change_delivered_twice_at_once_is_applied_once,
    a_webhook_whose_connection_closes_is_answered_and_counted_once
);

/// Two responder processes on one Redis (as behind a load balancer) share the dedupe: each
/// message, delivered to both at once, is answered by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_responders_on_one_redis_answer_each_message_once() {
    let app = spawn_app(StoreKind::Redis).await;
    let mut settings = settings(&app.graph_url(), &TestOptions::default());
    let config = ResponderConfig::from_settings(&mut settings).unwrap();
    let other = Responder::build(config, app.store.clone()).await;
    let served = testkit::serve(other.app()).await;
    let post_to_other = |body: Vec<u8>| {
        let http = app.http.clone();
        let url = served.url("/webhooks/meta");
        async move {
            let signature = channels::meta::signature(APP_SECRET, &body);
            http.post(url)
                .header(channels::meta::SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    const N: usize = 40;
    let bodies: Vec<Vec<u8>> =
        (0..N).map(|i| meta_text(PNID, &format!("52147713{i:05}"), &format!("wamid.TWO{i}"), "síntomas")).collect();
    let here = futures::future::join_all(bodies.iter().map(|b| app.post_meta_until_accepted(b)));
    let there = futures::future::join_all(bodies.iter().cloned().map(post_to_other));
    let (here, there) = tokio::join!(here, there);
    assert!(here.iter().all(|s| s.last() == Some(&200)), "{here:?}");
    assert!(there.iter().all(|s| *s == 200 || *s == 503), "{there:?}");
    app.drain_outbox().await;
    let worker = other.outbox_worker();
    while worker.try_send_one().await.unwrap() != responder::Outcome::Empty {}
    assert_eq!(
        app.replied_to(),
        (0..N).map(|i| format!("52147713{i:05}")).collect::<Vec<_>>(),
        "one reply per message"
    );
}
