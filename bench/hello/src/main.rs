//! Benchmark helpers, built with the same axum and Tokio as the product (see `bench/responder.sh`):
//!
//! - `bench-hello hello ADDR`: the baseline, `GET /hello` answering a 200-byte body;
//! - `bench-hello graph ADDR`: a fake Graph API that accepts every `POST …/messages` with
//!   Meta's success body and counts them (`GET /count`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::{get, post};

const HELLO: &str = "Hola. Este es el punto de comparación de la prueba de rendimiento: un servidor axum que responde \
                     siempre el mismo texto de doscientos bytes, sin leer nada ni escribir nada en ningún lado....";

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(what), Some(addr)) = (args.next(), args.next()) else {
        eprintln!("uso: bench-hello hello|graph DIRECCIÓN");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("start Tokio");
    runtime.block_on(async move {
        let app = match what.as_str() {
            "hello" => Router::new().route("/hello", get(|| async { HELLO })),
            "graph" => {
                let count = Arc::new(AtomicU64::new(0));
                let seen = count.clone();
                Router::new()
                    .route(
                        "/{version}/{number}/messages",
                        post(move || {
                            let n = count.fetch_add(1, Ordering::Relaxed);
                            async move {
                                format!(r#"{{"messaging_product":"whatsapp","messages":[{{"id":"wamid.bench{n}"}}]}}"#)
                            }
                        }),
                    )
                    .route("/count", get(move || async move { seen.load(Ordering::Relaxed).to_string() }))
            }
            other => {
                eprintln!("«{other}» no es hello ni graph");
                std::process::exit(2);
            }
        };
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}
