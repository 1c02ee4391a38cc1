//! The Conéctate sender benchmark (run by `bench/conectate.sh`; results in BENCHMARKS.md).
//!
//! ```text
//! sender_bench baseline GRAPH_URL N CONCURRENCY
//! sender_bench send GRAPH_URL N CONCURRENCY (embedded DIR | redis URL)
//! ```
//!
//! `baseline` posts N Graph API sends of the same shape to the stand-in with a plain HTTP
//! client, CONCURRENCY at a time: what the stand-in and the client can do with nothing else.
//! `send` seeds N subscribers (not timed), schedules a content and times the sender (the same
//! `conectate::Sender` that `contacto sender` runs, rate governor lifted) from the first
//! delivery to the content's report being complete. Each prints one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use channels::Channels;
use conectate::{ConectateConfig, Contents, Draft, Sender, State};
use futures::StreamExt;
use responder::ResponderConfig;
use schemas::KeyLayout;
use settings::{MessagingLimit, Secret, Settings};
use store::StoreConfig;

const PNID: &str = "106540352242922";

/// This process's user + system CPU time.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    Duration::from_micros(ticks * 10_000) // USER_HZ is 100 on Linux
}

fn settings(graph_url: &str, concurrency: usize) -> Settings {
    let mut s = Settings::default();
    s.privacy.user_hash_key = Some(Secret::new("bench-user-hash-key-0123456789"));
    s.channels.meta.app_secret = Some(Secret::new("bench-app-secret"));
    s.channels.meta.verify_token = Some(Secret::new("bench-verify"));
    s.channels.meta.access_token = Some(Secret::new("bench-token"));
    s.channels.meta.phone_number_ids = vec![PNID.into()];
    s.channels.meta.graph_base_url = graph_url.into();
    let c = &mut s.conectate;
    c.unpaced = true;
    c.messaging_limit = MessagingLimit::Unlimited;
    c.require_canary = false;
    c.default_template = Some("aviso_conectate".into());
    c.sender_concurrency = concurrency;
    c.schedule_poll_secs = 1;
    s.validate().expect("valid benchmark settings");
    s
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "uso: sender_bench baseline GRAPH_URL N CONCURRENCIA | send GRAPH_URL N CONCURRENCIA (embedded DIR | redis URL)";
    let (mode, graph, n, concurrency) = match &args[..] {
        [mode, graph, n, c, ..] => {
            (mode.as_str(), graph.as_str(), n.parse::<usize>().expect(usage), c.parse::<usize>().expect(usage))
        }
        _ => panic!("{usage}"),
    };
    match mode {
        "baseline" => baseline(graph, n, concurrency).await,
        "send" => {
            let store = match (args.get(4).map(String::as_str), args.get(5)) {
                (Some("embedded"), Some(dir)) => {
                    StoreConfig::Embedded { data_dir: dir.into(), keys: KeyLayout::default() }
                }
                (Some("redis"), Some(url)) => StoreConfig::Redis {
                    url: url.clone(),
                    keys: KeyLayout::new(&format!("bench{:08x}", rand::random::<u32>())).unwrap(),
                },
                _ => panic!("{usage}"),
            };
            send(graph, n, concurrency, store).await
        }
        _ => panic!("{usage}"),
    }
}

/// N sends of a template's shape, straight to the stand-in.
async fn baseline(graph: &str, n: usize, concurrency: usize) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let url = format!("{graph}/v23.0/{PNID}/messages");
    let body = |i: usize| {
        serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": format!("52147{i:08}"),
            "type": "template", "template": {"name": "aviso_conectate", "language": {"code": "es_MX"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Conéctate: aviso de prueba."}]}]},
            "biz_opaque_callback_data": format!("cc1:1:b:t:{i:032x}")})
    };
    let (start, cpu0) = (Instant::now(), cpu());
    futures::stream::iter(0..n)
        .map(|i| {
            let request = http.post(&url).bearer_auth("bench-token").json(&body(i));
            async move { request.send().await.expect("the stand-in answers").bytes().await.unwrap() }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    report("plain HTTP client (baseline)", n, start.elapsed(), cpu() - cpu0);
}

async fn send(graph: &str, n: usize, concurrency: usize, store_config: StoreConfig) {
    let kind = match &store_config {
        StoreConfig::Embedded { .. } => "conectate sender (embedded)",
        StoreConfig::Redis { .. } => "conectate sender (Redis)",
    };
    let store = store::open(&store_config).await.expect("open the store");
    let mut settings = settings(graph, concurrency);
    let config = Arc::new(ConectateConfig::from_settings(&mut settings).unwrap());
    let channels = Channels::from_config(
        &ResponderConfig::from_settings(&mut settings).unwrap().channels,
        &reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap(),
    );
    testkit::subscribe_citizens(&store, &config.hasher, 0..n, channels::meta::KIND, PNID).await;
    let contents = Contents::new(store.clone(), config.clone());
    let content = contents
        .create(Draft { title: "Bench".into(), text: "Conéctate: aviso de prueba.".into(), ..Draft::default() })
        .await
        .unwrap();
    contents.schedule(content.id, None).await.unwrap();
    let sender = Sender::new(store.clone(), channels, config, "bench".into());
    // The fan-out (paging the subscribers into the queue) is part of the time.
    let (start, cpu0) = (Instant::now(), cpu());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sender.run(stopped));
    loop {
        let report = contents.report(content.id).await.unwrap();
        if report.state == State::Done {
            assert_eq!(report.recipients.sent_template, n as u64, "every subscriber once");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (elapsed, used) = (start.elapsed(), cpu() - cpu0);
    stop.send(true).unwrap();
    task.await.unwrap();
    report(kind, n, elapsed, used);
}

fn report(target: &str, n: usize, elapsed: Duration, cpu: Duration) {
    println!(
        "{}",
        serde_json::json!({
            "target": target,
            "sends": n,
            "seconds": elapsed.as_secs_f64(),
            "per_second": n as f64 / elapsed.as_secs_f64(),
            "cpu_us_per_send": cpu.as_micros() as f64 / n as f64,
        })
    );
}
