//! The floor of the ingest benchmark: inflate the `.csv` entry of a ZIP with flate2's zlib-rs
//! backend, read it into a 1 MiB buffer and throw it away. Nothing can read the national file
//! from its ZIP faster than this on one core; `bench/ingest.sh` compares `contacto` with it.
//!
//! Run with `cargo run --release -p ingest --example inflate_floor -- FILE.zip`.

use std::io::{BufReader, Read, Seek, SeekFrom};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: inflate_floor FILE.zip")?;
    let mut file = std::fs::File::open(&path)?;
    let (start, len, size) = {
        let mut archive = zip::ZipArchive::new(&mut file)?;
        let entry = archive.by_index_raw(0)?;
        (entry.data_start().ok_or("no data")?, entry.compressed_size(), entry.size())
    };
    file.seek(SeekFrom::Start(start))?;
    let mut inflater = flate2::bufread::DeflateDecoder::new(BufReader::with_capacity(256 << 10, file.take(len)));
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = inflater.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    if total != size {
        return Err(format!("inflated {total} bytes, the ZIP says {size}").into());
    }
    println!("inflated {total} bytes");
    Ok(())
}
