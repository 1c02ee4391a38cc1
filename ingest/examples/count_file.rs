//! Counts Guanajuato's figures in a national file (plain CSV or ZIP) and prints them with the
//! time taken: the parsing side of the ingest benchmark without the store. With `--no-hash`
//! the SHA-256 of the file is skipped, to see what hashing costs.
//!
//! Run with `cargo run --release -p ingest --example count_file -- FILE [--no-hash]`.

use std::time::Instant;

use ingest::Progress;
use ingest::fetch::Body;
use ingest::sources::covid::count_body;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: count_file FILE [--no-hash]")?;
    let mut body = Body::from_file(std::path::Path::new(&path))?;
    if std::env::args().any(|a| a == "--no-hash") {
        body.checksum = Some("(not computed)".into());
    }
    let started = Instant::now();
    let parsed = count_body(&body, 11, None, 0.01, &Progress::shared())?;
    let d = &parsed.dataset;
    println!(
        "{} rows in {:.3} s; by care unit {:?}; by residence {:?}; checksum {}",
        parsed.rows,
        started.elapsed().as_secs_f64(),
        d.unidad_medica,
        d.residencia,
        parsed.checksum
    );
    Ok(())
}
