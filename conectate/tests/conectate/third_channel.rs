//! A third messaging platform, registered by the test alone: `testkit::Loopback` implements
//! `channels::Channel` in its own file, and one line (`Channels::with`) registers it. A
//! citizen's signed webhook on it is answered through the real responder pipeline and outbox,
//! and a Conéctate broadcast reaches them on it through the real sender; nothing else in the
//! workspace names the channel.

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use channels::Channels;
use conectate::{ConectateConfig, Contents, Sender};
use responder::{Responder, ResponderConfig};
use schemas::AnswerKey;
use serde_json::{Value, json};
use testkit::loopback::{LOOPBACK, LOOPBACK_PATH, LOOPBACK_SIGNATURE, loopback_signature, loopback_text};
use testkit::{Loopback, LoopbackConfig, RecordingServer};

use crate::helpers::{Options, StoreKind, draft, fixture_snapshot, settings};

const SECRET: &str = "loopback-secret-for-tests";
const OUR_NUMBER: &str = "loopback-5550001";
const CITIZEN: &str = "5214771239123";

async fn a_third_channel_is_answered_and_reached_by_a_broadcast(kind: StoreKind) {
    let test_store = kind.open().await;
    let store = test_store.store.clone();
    let snapshot = fixture_snapshot();
    store.publish(&snapshot, None, 5).await.expect("publish the fixture snapshot");
    let (platform, platform_server) =
        RecordingServer::start(|_| axum::Json(json!({"id": format!("lb-{}", rand::random::<u32>())})).into_response())
            .await;
    let mut settings = settings("http://127.0.0.1:9", "http://127.0.0.1:9", &Options::default());
    let responder_config = ResponderConfig::from_settings(&mut settings).expect("a responder configuration");
    let loopback = LoopbackConfig {
        secret: SECRET.into(),
        business_number: OUR_NUMBER.into(),
        api_url: platform_server.url("/messages"),
    };
    // The registration: the one line a channel needs besides its own file and settings.
    let channels = Channels::from_config(&responder_config.channels, &reqwest::Client::new())
        .with(Arc::new(Loopback::new(loopback)));
    let metrics = Arc::new(metrics::Metrics::new());
    let responder =
        Responder::build_with_channels(responder_config, store.clone(), metrics.clone(), channels.clone()).await;
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{LOOPBACK_PATH}", public.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(responder.clone().serve(public, internal, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let post = |id: &str, text: &str, signature: String| {
        let body = loopback_text(OUR_NUMBER, CITIZEN, id, text);
        http.post(&url).header(LOOPBACK_SIGNATURE, signature).body(body).send()
    };
    let sign = |id: &str, text: &str| loopback_signature(SECRET, &loopback_text(OUR_NUMBER, CITIZEN, id, text));
    let sent = || -> Vec<Value> {
        platform.requests().iter().map(|r| serde_json::from_slice(&r.body).expect("JSON")).collect()
    };
    let drain_outbox = || async {
        let worker = responder.outbox_worker();
        while worker.try_send_one().await.expect("the store answers") != responder::Outcome::Empty {}
    };

    // A forged webhook is turned away and nothing is answered.
    let forged = post("lb-in-0", "ALTA", loopback_signature("not-the-secret", b"{}")).await.unwrap();
    assert_eq!(forged.status(), 403);
    drain_outbox().await;
    assert!(sent().is_empty(), "{:?}", sent());

    // The citizen subscribes on the loopback platform: answered through the outbox.
    assert_eq!(post("lb-in-1", "ALTA", sign("lb-in-1", "ALTA")).await.unwrap().status(), 200);
    drain_outbox().await;
    let confirmation = snapshot.answers[&"conectate_alta/estado".parse::<AnswerKey>().unwrap()].answer.body();
    let replies = sent();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!((replies[0]["to"].as_str(), replies[0]["from"].as_str()), (Some(CITIZEN), Some(OUR_NUMBER)));
    assert_eq!(replies[0]["text"], confirmation);
    assert_eq!(metrics.webhook_count(LOOPBACK, metrics::WebhookOutcome::Handled), 1);
    assert_eq!(metrics.webhook_count(LOOPBACK, metrics::WebhookOutcome::Rejected), 1);
    assert!(metrics.encode().contains("contacto_webhooks_total{channel=\"loopback\",outcome=\"handled\"} 1"));
    // A retry of the same message is not answered twice.
    assert_eq!(post("lb-in-1", "ALTA", sign("lb-in-1", "ALTA")).await.unwrap().status(), 200);
    drain_outbox().await;
    assert_eq!(sent().len(), 1);

    // A broadcast reaches them on the same platform, through the real sender.
    let config = Arc::new(ConectateConfig::from_settings(&mut settings).expect("a Conéctate configuration"));
    let contents = Contents::new(store.clone(), config.clone());
    let content = contents.create(draft("Mañana hay vacunación en León.")).await.expect("create");
    contents.schedule(content.id, None).await.expect("schedule");
    let sender = Sender::new(store.clone(), channels, config, "sender-loopback".into());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        sender.tick().await.expect("tick");
        while !matches!(sender.try_send_one().await.expect("the store answers"), conectate::Outcome::Empty) {}
        sender.tick().await.expect("tick");
        let report = contents.report(content.id).await.unwrap();
        if report.state == conectate::State::Done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the broadcast did not finish: {report:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = sent();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1]["to"], CITIZEN);
    assert_eq!(all[1]["from"], OUR_NUMBER);
    assert_eq!(all[1]["text"], "Mañana hay vacunación en León.");
    assert!(all[1]["tag"].as_str().is_some_and(|t| !t.is_empty()), "the delivery's tag goes with it: {all:?}");
    let _ = stop.send(());
}

testkit::on_both_stores!(a_third_channel_is_answered_and_reached_by_a_broadcast);
