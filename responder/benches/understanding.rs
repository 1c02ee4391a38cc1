//! The cost of understanding one message: every message of the evaluation set
//! (`tests/evaluacion/mensajes.tsv`) through [`Understanding::understand`] with the router table
//! of the bundled menu file; the figure to read is the time per message (the time of one pass
//! divided by the number of messages), against the budget of the webhook path.
//!
//! `cargo bench -p responder --bench understanding`

#[path = "../tests/evaluacion/conjunto.rs"]
#[allow(dead_code)] // the labels serve the evaluation test, not the benchmark
mod conjunto;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use responder::understanding::Understanding;

fn understanding(c: &mut Criterion) {
    let router = conjunto::bundled_router();
    let cases = conjunto::cases();
    let messages: Vec<&str> = cases.iter().map(|c| c.message.as_str()).collect();
    let mut group = c.benchmark_group("understanding");
    group.bench_function("compile", |b| b.iter(|| Understanding::compile(std::hint::black_box(&router))));
    let understanding = Understanding::compile(&router);
    // Per message: criterion reports messages per second over the whole set.
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("evaluation_set", |b| {
        b.iter(|| {
            for message in &messages {
                std::hint::black_box(understanding.understand(&router, std::hint::black_box(message), None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, understanding);
criterion_main!(benches);
