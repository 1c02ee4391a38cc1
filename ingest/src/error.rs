//! Errors of ingest, each carrying its policy: whether retrying can help, and which run result
//! it leads to. Messages are Spanish: maintainers and ops read them in `contacto runs`.

use std::fmt;

use schemas::{AnswerKey, RunResult};

/// A fetch that did not bring a body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("la URL «{0}» no es válida")]
    InvalidUrl(String),
    #[error("no se pudo conectar con {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} tardó más de {secs} s en responder por completo")]
    Timeout { url: String, secs: u64 },
    #[error("{url} respondió HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} pesa más que el límite de {} bytes (max_bytes)", schemas::es_mx::integer(*max_bytes as i64))]
    TooLarge { url: String, max_bytes: u64 },
    #[error("no existe el archivo {0}")]
    NotFound(String),
    #[error("error de lectura o escritura con {what}: {reason}")]
    Io { what: String, reason: String },
}

impl FetchError {
    /// Whether the same fetch may succeed a little later: network trouble and server-side
    /// errors, yes; a wrong URL, a missing file, a 404 or the size cap, no.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Connect { .. } | FetchError::Timeout { .. } | FetchError::Io { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            FetchError::InvalidUrl(_) | FetchError::TooLarge { .. } | FetchError::NotFound(_) => false,
        }
    }
}

/// One bad value, located so that a maintainer can open the file at the spot:
/// `file:line:column: FIELD: reason («value»)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub file: String,
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// 1-based position of the column in the header.
    pub column: usize,
    /// The column's name in the header.
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.field, self.reason)?;
        // A missing value has nothing to quote.
        if self.value.is_empty() { Ok(()) } else { write!(f, " («{}»)", self.value) }
    }
}

/// A body that could not become a dataset.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file's structure is not one this source kind knows (a renamed or missing column, an
    /// unknown layout, a changed page): the source drifted and a developer must look.
    #[error("{0}")]
    Drift(String),
    /// Too many bad values: more than the error budget.
    #[error("{summary}")]
    Rejected { summary: String, errors: Vec<ValidationError> },
    /// The bytes are damaged (a truncated ZIP, a bad checksum): fetching again may help. The
    /// message says what is damaged; `cause`, when there is one, what the reader found.
    #[error("{message}")]
    Corrupt {
        message: String,
        #[source]
        cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The fetched body could not be read back from disk.
    #[error(
        "{file}: no se pudo leer el archivo recibido; revisa el espacio libre y los permisos del directorio de datos y vuelve a correr la fuente"
    )]
    Io {
        file: String,
        #[source]
        cause: std::io::Error,
    },
}

impl SourceError {
    pub fn result(&self) -> RunResult {
        match self {
            SourceError::Drift(_) | SourceError::Rejected { .. } => RunResult::Rejected,
            SourceError::Corrupt { .. } | SourceError::Io { .. } => RunResult::Failed,
        }
    }

    /// A damaged body, with what the reader found.
    pub fn corrupt(message: String, cause: impl std::error::Error + Send + Sync + 'static) -> SourceError {
        SourceError::Corrupt { message, cause: Some(Box::new(cause)) }
    }
}

/// An error and its causes in one line, for the run log and `contacto validate`: the message
/// says what failed and what to do, the causes (kept as `source()`, never repeated in the
/// message) what the system below said.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() { error.to_string() } else { format!("{error} (causa: {})", causes.join(": ")) }
}

/// A template that failed, or rendered an answer that cannot be sent.
#[derive(Debug, thiserror::Error)]
#[error("plantilla {template}, respuesta {key}: {message}")]
pub struct RenderError {
    pub template: String,
    pub key: AnswerKey,
    pub message: String,
}

/// Templates that could not be loaded at all.
#[derive(Debug, thiserror::Error)]
#[error("no se pudieron cargar las plantillas de {dir}: {message}")]
pub struct TemplatesError {
    pub dir: String,
    pub message: String,
}

/// A source's configuration that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
#[error("configuración inválida en `sources.{name}.{field}`: {message}")]
pub struct ConfigError {
    pub name: String,
    pub field: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_error_keeps_its_cause_and_the_run_log_says_it_once() {
        let error = SourceError::Io { file: "covid.zip".into(), cause: std::io::Error::other("disco lleno") };
        assert_eq!(std::error::Error::source(&error).map(ToString::to_string).as_deref(), Some("disco lleno"));
        assert!(!error.to_string().contains("disco lleno"), "the message leaves the cause to source(): {error}");
        let line = with_causes(&error);
        assert!(line.starts_with("covid.zip: no se pudo leer el archivo recibido; revisa"), "{line}");
        assert!(line.ends_with(" (causa: disco lleno)"), "{line}");
        assert_eq!(error.result(), RunResult::Failed);
    }
}
