//! Fetching a source: `http(s)://` or `file://`, streamed, conditional, bounded, retried.
//!
//! - HTTP bodies stream into a spool file beside the store (never into memory), hashed with
//!   SHA-256 on the way; the request carries `If-None-Match` / `If-Modified-Since` from the
//!   last fetch, and a `304` ends the run as "unchanged".
//! - Local files are read in place; their size and modification time play the part of the
//!   validators, and their checksum is computed by the reader while parsing.
//! - Connect and total timeouts, a size cap, and retries with exponential back-off and jitter
//!   for errors that say retrying can help ([`FetchError::is_retryable`]).
//!
//! A `file://` URL without a leading `/` (`file://fixtures/covid19mexico.zip`) is relative to
//! `base_dir`, the configuration file's directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::FetchError;
use crate::events::{Events, SourceFetchFailed, SourceFetched};
use crate::progress::{Phase, Progress};
use schemas::SourceName;

/// The first retry waits about this long; each next one twice as long, up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// How to fetch one source.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub url: String,
    pub connect_timeout: Duration,
    /// Limit on a whole HTTP fetch, body included.
    pub timeout: Duration,
    /// Further attempts after a retryable failure.
    pub retries: u32,
    pub max_bytes: u64,
    /// What relative `file://` paths are relative to.
    pub base_dir: PathBuf,
    /// Where HTTP bodies are spooled.
    pub spool_dir: PathBuf,
}

/// What the last fetch saw, to ask the next one for changes only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// A local file's size and modification time (nanoseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<(u64, i128)>,
}

/// A fetched body, on disk.
#[derive(Debug)]
pub struct Body {
    path: PathBuf,
    /// Removes the spool file when the body is dropped.
    _spool: Option<tempfile::TempPath>,
    /// The file name, for messages (`covid19mexico.zip`).
    pub name: String,
    pub url: String,
    pub len: u64,
    /// SHA-256 when already known (HTTP bodies are hashed while spooling).
    pub checksum: Option<String>,
    pub validators: Validators,
}

impl Body {
    /// The whole body in memory (for the small sources: maintainer files, pages).
    pub fn bytes(&self) -> Result<Vec<u8>, crate::error::SourceError> {
        std::fs::read(self.path()).map_err(|cause| crate::error::SourceError::Io { file: self.name.clone(), cause })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A body from a local file, as `file://` fetches it (tests and tools use it directly).
    pub fn from_file(path: &Path) -> Result<Body, FetchError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::NotFound(path.display().to_string()),
            _ => io_error(path.display(), e),
        })?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Ok(Body {
            path: path.to_owned(),
            _spool: None,
            name: file_name(&path.display().to_string()),
            url: format!("file://{}", path.display()),
            len: meta.len(),
            checksum: None,
            validators: Validators { file: Some((meta.len(), modified)), ..Validators::default() },
        })
    }
}

/// The outcome of a fetch.
#[derive(Debug)]
pub enum Fetched {
    /// The source says nothing changed since `previous`.
    NotModified,
    Body(Box<Body>),
}

/// Fetches one source; cheap to keep (one HTTP client per source).
pub struct Fetcher {
    settings: FetchSettings,
    client: reqwest::Client,
}

fn io_error(what: impl std::fmt::Display, e: std::io::Error) -> FetchError {
    FetchError::Io { what: what.to_string(), reason: e.to_string() }
}

/// The last path segment of a URL or path, without the query.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path).to_owned()
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("contacto-ciudadano/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::InvalidUrl(format!("{}: {e}", settings.url)))?;
        Ok(Fetcher { settings, client })
    }

    /// Fetches, retrying retryable failures with exponential back-off and jitter.
    #[tracing::instrument(name = "fetch", skip_all)]
    pub async fn fetch(
        &self,
        source: &SourceName,
        previous: &Validators,
        events: &mut Events,
        progress: &Progress,
    ) -> Result<Fetched, FetchError> {
        progress.set_phase(Phase::Fetching);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch_once(previous, progress).await {
                Ok(fetched) => {
                    let (bytes, not_modified) = match &fetched {
                        Fetched::NotModified => (0, true),
                        Fetched::Body(b) => (b.len, false),
                    };
                    events.emit(SourceFetched { source, bytes, not_modified, elapsed: started.elapsed() });
                    return Ok(fetched);
                }
                Err(error) => {
                    let will_retry = error.is_retryable() && attempt <= self.settings.retries;
                    events.emit(SourceFetchFailed { source, attempt, will_retry, error: &error });
                    if !will_retry {
                        return Err(error);
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    async fn fetch_once(&self, previous: &Validators, progress: &Progress) -> Result<Fetched, FetchError> {
        let url = &self.settings.url;
        match url.split_once("://") {
            Some(("file", rest)) => self.fetch_file(rest, previous),
            Some(("http" | "https", _)) => self.fetch_http(previous, progress).await,
            _ => Err(FetchError::InvalidUrl(url.clone())),
        }
    }

    fn fetch_file(&self, rest: &str, previous: &Validators) -> Result<Fetched, FetchError> {
        let path = if rest.starts_with('/') { PathBuf::from(rest) } else { self.settings.base_dir.join(rest) };
        let mut body = Body::from_file(&path)?;
        body.url = self.settings.url.clone();
        if body.len > self.settings.max_bytes {
            return Err(FetchError::TooLarge { url: self.settings.url.clone(), max_bytes: self.settings.max_bytes });
        }
        if previous.file.is_some() && previous.file == body.validators.file {
            return Ok(Fetched::NotModified);
        }
        Ok(Fetched::Body(Box::new(body)))
    }

    async fn fetch_http(&self, previous: &Validators, progress: &Progress) -> Result<Fetched, FetchError> {
        let url = &self.settings.url;
        let mut request = self.client.get(url);
        if let Some(etag) = &previous.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &previous.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let response = request.send().await.map_err(|e| self.http_error(e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status { url: url.clone(), status: status.as_u16() });
        }
        let max_bytes = self.settings.max_bytes;
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(FetchError::TooLarge { url: url.clone(), max_bytes });
        }
        progress.set_total_bytes(response.content_length().unwrap_or(0));
        let header = |name| response.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok());
        let validators = Validators {
            etag: header(reqwest::header::ETAG).map(str::to_owned),
            last_modified: header(reqwest::header::LAST_MODIFIED).map(str::to_owned),
            file: None,
        };
        let spool_dir = &self.settings.spool_dir;
        std::fs::create_dir_all(spool_dir).map_err(|e| io_error(spool_dir.display(), e))?;
        let (file, path) =
            tempfile::NamedTempFile::new_in(spool_dir).map_err(|e| io_error(spool_dir.display(), e))?.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.http_error(e))?;
            len += chunk.len() as u64;
            if len > max_bytes {
                return Err(FetchError::TooLarge { url: url.clone(), max_bytes });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| io_error(path.display(), e))?;
            progress.add_bytes(chunk.len() as u64);
        }
        file.flush().await.map_err(|e| io_error(path.display(), e))?;
        Ok(Fetched::Body(Box::new(Body {
            path: path.to_path_buf(),
            _spool: Some(path),
            name: file_name(url),
            url: url.clone(),
            len,
            checksum: Some(hex::encode(hasher.finalize())),
            validators,
        })))
    }

    fn http_error(&self, e: reqwest::Error) -> FetchError {
        let url = self.settings.url.clone();
        if e.is_timeout() {
            FetchError::Timeout { url, secs: self.settings.timeout.as_secs() }
        } else if e.is_connect() {
            FetchError::Connect { url, reason: root_cause(&e) }
        } else {
            FetchError::Io { what: url, reason: root_cause(&e) }
        }
    }
}

/// The innermost cause: reqwest's own message ("error sending request") says little.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `BACKOFF_BASE × 2^(attempt-1)`, capped, times a random factor in 0.5–1.5 so that sources
/// failing together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(BACKOFF_MAX);
    exp.mul_f64(rand::rng().random_range(0.5..1.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..=3 {
            let d = backoff(attempt);
            let nominal = BACKOFF_BASE * (1 << (attempt - 1));
            assert!(d >= nominal / 2 && d <= nominal * 3 / 2, "{attempt}: {d:?}");
        }
        assert!(backoff(30) <= BACKOFF_MAX * 3 / 2);
    }

    #[test]
    fn file_names_come_from_the_url() {
        assert_eq!(file_name("http://x/a/datos_abiertos_covid19.zip?x=1"), "datos_abiertos_covid19.zip");
        assert_eq!(file_name("/srv/covid.csv"), "covid.csv");
    }
}
