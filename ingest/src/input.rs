//! A fetched body as a stream of decoded bytes: a plain file, or the one `.csv` entry of a ZIP
//! (whatever its name), inflated on a thread of its own while the caller parses on another.
//!
//! The reader thread reads the file once, front to back, inflates the entry with zlib-rs and
//! hands fixed-size chunks through a short bounded channel, each with the raw bytes read to
//! make it. Inflating is the slowest step, so everything else happens on the caller's side,
//! which has time to spare: the SHA-256 of the raw bytes (when the fetch did not compute it)
//! and the entry's CRC-32 and size. Chunks are recycled, so memory stays at a few chunks
//! whatever the file's size.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::error::SourceError;
use crate::fetch::Body;
use crate::progress::Progress;

/// Size of one chunk handed to the parser.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between the reader and the parser.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Read buffer of the compressed side.
const READ_BUFFER: usize = 256 << 10;

/// What the reader thread sends.
enum Msg {
    /// Decoded bytes, and the raw bytes of the file read to make them (to hash; empty when
    /// not hashing, or when the chunk is the raw bytes).
    Data {
        chunk: Vec<u8>,
        raw: Vec<u8>,
    },
    /// The end: raw bytes left after the data, and what the decoded bytes must add up to
    /// (length and CRC-32 of a ZIP entry).
    Done {
        raw: Vec<u8>,
        expect: Option<(u64, u32)>,
    },
    Failed(SourceError),
}

/// The decoded bytes of a body, chunk by chunk.
pub struct ChunkReader {
    /// `covid.zip:datos.csv`, or the plain file's name: what messages call the file.
    pub name: String,
    rx: Receiver<Msg>,
    recycle: SyncSender<Vec<u8>>,
    checksum: Option<String>,
    /// Hashes the body when its checksum is not known yet.
    hasher: Option<Sha256>,
    /// A plain file: its chunks are its raw bytes.
    plain: bool,
    crc: crc32fast::Hasher,
    decoded: u64,
    thread: Option<JoinHandle<()>>,
}

/// Where the decoded bytes are inside the file.
struct Entry {
    /// Bytes before the entry's data (hashed, not decoded).
    start: u64,
    compressed_len: u64,
    deflated: bool,
    /// For checking the result.
    len: u64,
    crc32: u32,
}

impl ChunkReader {
    /// Opens a body: a ZIP (by its signature) or a plain file.
    pub fn open(body: &Body, progress: std::sync::Arc<Progress>) -> Result<ChunkReader, SourceError> {
        let io = |cause: std::io::Error| SourceError::Io { file: body.name.clone(), cause };
        let mut file = File::open(body.path()).map_err(io)?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut file, &mut magic).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let (name, entry) = if n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
            let (entry_name, entry) = zip_entry(&body.name, &mut file)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            (format!("{}:{entry_name}", body.name), Some(entry))
        } else {
            (body.name.clone(), None)
        };
        progress.set_total_bytes(body.len);
        let hash = body.checksum.is_none();
        let plain = entry.is_none();
        let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
        let (recycle, recycled) = sync_channel(CHUNKS_IN_FLIGHT + 2);
        let file_name = name.clone();
        let thread = std::thread::Builder::new()
            .name("ingest-reader".into())
            .spawn(move || {
                let raw = (hash && !plain).then(|| Rc::new(RefCell::new(Vec::new())));
                let tee = Tee { inner: file, raw, progress };
                if let Err(e) = produce(tee, entry, &tx, &recycled, &file_name) {
                    let _ = tx.send(Msg::Failed(e));
                }
            })
            .map_err(|cause| SourceError::Io { file: body.name.clone(), cause })?;
        Ok(ChunkReader {
            name,
            rx,
            recycle,
            checksum: body.checksum.clone(),
            hasher: hash.then(Sha256::new),
            plain,
            crc: crc32fast::Hasher::new(),
            decoded: 0,
            thread: Some(thread),
        })
    }

    /// The next chunk, or `None` at the end of the data (then [`checksum`](Self::checksum) is known).
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, SourceError> {
        match self.rx.recv() {
            Ok(Msg::Data { chunk, raw }) => {
                if let Some(h) = &mut self.hasher {
                    h.update(if self.plain { &chunk } else { &raw });
                }
                if !self.plain {
                    self.crc.update(&chunk);
                }
                self.decoded += chunk.len() as u64;
                Ok(Some(chunk))
            }
            Ok(Msg::Done { raw, expect }) => {
                if let Some(mut h) = self.hasher.take() {
                    h.update(&raw);
                    self.checksum = Some(hex::encode(h.finalize()));
                }
                let crc = std::mem::take(&mut self.crc).finalize();
                match expect {
                    Some((len, expected_crc)) if len != self.decoded || crc != expected_crc => {
                        Err(SourceError::Corrupt {
                            message: format!(
                                "{}: el contenido no coincide con el ZIP ({} bytes leídos de {}, o CRC-32 distinto); el archivo está dañado y se volverá a descargar en la próxima corrida",
                                self.name,
                                schemas::es_mx::integer(self.decoded as i64),
                                schemas::es_mx::integer(len as i64)
                            ),
                            cause: None,
                        })
                    }
                    _ => Ok(None),
                }
            }
            Ok(Msg::Failed(e)) => Err(e),
            Err(_) => Err(SourceError::Io {
                file: self.name.clone(),
                cause: std::io::Error::other("el hilo lector terminó sin avisar"),
            }),
        }
    }

    /// Gives a chunk back for reuse (its contents are overwritten, so it is not cleared:
    /// zeroing a megabyte per chunk would cost more than it is worth).
    pub fn recycle(&self, chunk: Vec<u8>) {
        let _ = self.recycle.try_send(chunk);
    }

    /// SHA-256 of the whole body, lower-case hex; known once [`next_chunk`](Self::next_chunk) returned `None`.
    pub fn checksum(&self) -> Option<&str> {
        self.checksum.as_deref()
    }
}

impl Drop for ChunkReader {
    fn drop(&mut self) {
        // Unblock the reader if the parser stopped early, then wait for it.
        let rx = std::mem::replace(&mut self.rx, sync_channel(0).1);
        drop(rx);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_up_to(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Finds the one `.csv` entry of the ZIP.
fn zip_entry(zip_name: &str, file: &mut File) -> Result<(String, Entry), SourceError> {
    let corrupt = |cause: zip::result::ZipError| {
        SourceError::corrupt(
            format!("{zip_name}: el ZIP está incompleto o dañado; se volverá a descargar en la próxima corrida"),
            cause,
        )
    };
    let mut archive = zip::ZipArchive::new(&mut *file).map_err(corrupt)?;
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|n| n.into_owned())).collect();
    let csvs: Vec<usize> = (0..archive.len())
        .filter(|&i| {
            archive.name_for_index(i).is_some_and(|n| n.is_ok_and(|n| n.to_ascii_lowercase().ends_with(".csv")))
        })
        .collect();
    let [index] = csvs[..] else {
        return Err(SourceError::Drift(format!(
            "{zip_name}: se esperaba exactamente un archivo .csv dentro del ZIP y hay {}: {}; revisa que la URL de la fuente apunte al ZIP de datos abiertos",
            csvs.len(),
            if names.is_empty() { "ninguna entrada".to_owned() } else { names.join(", ") }
        )));
    };
    let entry = archive.by_index_raw(index).map_err(corrupt)?;
    let entry_name = entry.name().map_err(corrupt)?.into_owned();
    let deflated = match entry.compression() {
        zip::CompressionMethod::Deflated => true,
        zip::CompressionMethod::Stored => false,
        other => {
            return Err(SourceError::Drift(format!(
                "{zip_name}: {entry_name} está comprimido con {other:?}; solo se leen Deflate y sin compresión"
            )));
        }
    };
    let start = entry.data_start().ok_or_else(|| SourceError::Corrupt {
        message: format!("{zip_name}: {entry_name} no tiene datos; se volverá a descargar en la próxima corrida"),
        cause: None,
    })?;
    Ok((
        entry_name,
        Entry { start, compressed_len: entry.compressed_size(), deflated, len: entry.size(), crc32: entry.crc32() },
    ))
}

/// A reader that counts what passes through and, when hashing, keeps a copy of the raw bytes
/// for the caller's side to hash.
struct Tee {
    inner: File,
    raw: Option<Rc<RefCell<Vec<u8>>>>,
    progress: std::sync::Arc<Progress>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(raw) = &self.raw {
            raw.borrow_mut().extend_from_slice(&buf[..n]);
        }
        self.progress.add_bytes(n as u64);
        Ok(n)
    }
}

impl Tee {
    /// The raw bytes read since the last call.
    fn take_raw(&self) -> Vec<u8> {
        self.raw.as_ref().map(|r| std::mem::take(&mut *r.borrow_mut())).unwrap_or_default()
    }

    /// Goes past `n` bytes (the parts of a ZIP before its entry), reading them if hashing.
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        if self.raw.is_none() {
            self.inner.seek(SeekFrom::Current(n as i64))?;
            return Ok(());
        }
        let copied = std::io::copy(&mut (&mut *self).take(n), &mut std::io::sink())?;
        if copied != n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Reads the rest of the file if hashing (the ZIP's central directory).
    fn finish(mut self) -> std::io::Result<Vec<u8>> {
        if self.raw.is_some() {
            std::io::copy(&mut self, &mut std::io::sink())?;
        }
        Ok(self.take_raw())
    }
}

/// The reader thread's work: decode everything into chunks, then say it is done.
fn produce(
    mut tee: Tee,
    entry: Option<Entry>,
    tx: &SyncSender<Msg>,
    recycled: &Receiver<Vec<u8>>,
    name: &str,
) -> Result<(), SourceError> {
    let io = |cause: std::io::Error| {
        let what = match cause.kind() {
            std::io::ErrorKind::UnexpectedEof => "el archivo termina antes de tiempo",
            _ => "el archivo no se pudo descomprimir",
        };
        SourceError::corrupt(format!("{name}: {what}; se volverá a descargar en la próxima corrida"), cause)
    };
    let raw = tee.raw.clone();
    let take_raw = || raw.as_ref().map(|r| std::mem::take(&mut *r.borrow_mut())).unwrap_or_default();
    // Fills and sends chunks until `source` ends; `false` if the parser stopped listening.
    let send = |source: &mut dyn Read| -> Result<bool, SourceError> {
        loop {
            let mut chunk = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES));
            chunk.resize(CHUNK_BYTES, 0);
            let n = read_up_to(source, &mut chunk).map_err(io)?;
            chunk.truncate(n);
            if n == 0 {
                return Ok(true);
            }
            if tx.send(Msg::Data { chunk, raw: take_raw() }).is_err() {
                return Ok(false);
            }
        }
    };
    let expect = match entry {
        None => {
            if !send(&mut tee)? {
                return Ok(());
            }
            None
        }
        Some(entry) => {
            tee.skip(entry.start).map_err(io)?;
            let compressed = BufReader::with_capacity(READ_BUFFER, (&mut tee).take(entry.compressed_len));
            let finished = if entry.deflated {
                send(&mut flate2::bufread::DeflateDecoder::new(compressed))?
            } else {
                send(&mut { compressed })?
            };
            if !finished {
                return Ok(());
            }
            Some((entry.len, entry.crc32))
        }
    };
    let raw = tee.finish().map_err(io)?;
    let _ = tx.send(Msg::Done { raw, expect });
    Ok(())
}
