//! Store errors, each knowing whether retrying can help.
//!
//! Each message says once what failed and what to do; the error underneath (Redis's, redb's,
//! the file system's) is kept as the [`source`](std::error::Error::source), so a report that
//! follows the chain shows it without the message repeating it.

use schemas::SnapshotVersion;

/// The error under a store error: Redis's, redb's, an I/O error.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The messages are in Spanish: they reach ops in run records, the console and the commands.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached, timed out or stopped; retrying later can succeed.
    #[error(
        "el almacén no respondió ({what}); se puede reintentar: si sigue así, revise que esté en marcha, alcanzable y con espacio en disco"
    )]
    Unavailable {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The backend answered with an error that retrying will not fix.
    #[error(
        "el almacén respondió con un error ({what}); reintentar no lo arregla: revise su configuración y su registro"
    )]
    Backend {
        what: String,
        #[source]
        cause: Option<Cause>,
    },
    /// A stored record could not be decoded.
    #[error("el registro guardado en {key} no se puede leer: {reason}")]
    Corrupt { key: String, reason: String },
    /// Another publisher moved the current pointer since the content was built.
    #[error(
        "otra publicación movió la versión actual (de {} a {}) mientras se publicaba",
        version_name(expected),
        version_name(found)
    )]
    Conflict { expected: Option<SnapshotVersion>, found: Option<SnapshotVersion> },
    /// Rollback to a version that is not kept.
    #[error("la versión {0} no está guardada")]
    NoSuchVersion(SnapshotVersion),
    /// Rollback with no older version kept.
    #[error("no hay una versión anterior guardada a la cual volver")]
    NothingToRollBack,
}

/// `v3`, or `ninguna`.
fn version_name(version: &Option<SnapshotVersion>) -> String {
    version.map_or_else(|| "ninguna".into(), |v| v.to_string())
}

impl StoreError {
    /// Whether the same call may succeed later without anything else changing.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::Conflict { .. })
    }

    /// The store did not answer (`what` says which part, in Spanish), with nothing underneath.
    pub fn unavailable(what: impl Into<String>) -> Self {
        StoreError::Unavailable { what: what.into(), cause: None }
    }

    /// The store answered something retrying will not fix (`what` says what, in Spanish).
    pub fn backend(what: impl Into<String>) -> Self {
        StoreError::Backend { what: what.into(), cause: None }
    }

    /// [`StoreError::Unavailable`] with the error that caused it.
    pub(crate) fn unavailable_from(what: impl Into<String>, cause: impl Into<Cause>) -> Self {
        StoreError::Unavailable { what: what.into(), cause: Some(cause.into()) }
    }

    /// [`StoreError::Backend`] with the error that caused it.
    pub(crate) fn backend_from(what: impl Into<String>, cause: impl Into<Cause>) -> Self {
        StoreError::Backend { what: what.into(), cause: Some(cause.into()) }
    }

    pub(crate) fn corrupt(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        StoreError::Corrupt { key: key.into(), reason: reason.to_string() }
    }
}

/// A Redis error is retryable when the connection failed (I/O, a timeout, a dropped or refused
/// connection); any other is the server refusing the command, which a retry will not change.
impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        // What failed, in a word ops can act on; Redis's own words stay in the source.
        let unavailable = if e.is_connection_refusal() {
            Some("Redis rechazó la conexión")
        } else if e.is_timeout() {
            Some("Redis no contestó a tiempo")
        } else if e.is_connection_dropped() {
            Some("se cortó la conexión con Redis")
        } else if e.is_io_error() {
            Some("falló la red hacia Redis")
        } else {
            None
        };
        match unavailable {
            Some(what) => StoreError::unavailable_from(what, e),
            None => {
                let what = match e.code() {
                    Some(code) => format!("Redis rechazó la orden ({code})"),
                    None => "Redis rechazó la orden".to_owned(),
                };
                StoreError::backend_from(what, e)
            }
        }
    }
}

/// What failed under a redb error when it was the disk: the I/O error itself, or an earlier
/// one that latched the database (redb then refuses everything until it is opened again).
pub(crate) enum DiskFailure<'a> {
    Io(&'a std::io::Error),
    Latched,
}

/// The disk failure under `error` (a redb error, or a store error whose cause is one), if any.
pub(crate) fn disk_failure<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<DiskFailure<'a>> {
    if let Some(store) = error.downcast_ref::<StoreError>() {
        return disk_failure(std::error::Error::source(store)?);
    }
    let storage = if let Some(e) = error.downcast_ref::<redb::StorageError>() {
        e
    } else if let Some(redb::CommitError::Storage(e)) = error.downcast_ref() {
        e
    } else if let Some(redb::TransactionError::Storage(e)) = error.downcast_ref() {
        e
    } else if let Some(redb::TableError::Storage(e)) = error.downcast_ref() {
        e
    } else if let Some(redb::DatabaseError::Storage(e)) = error.downcast_ref() {
        e
    } else {
        return None;
    };
    match storage {
        redb::StorageError::Io(io) => Some(DiskFailure::Io(io)),
        redb::StorageError::PreviousIo | redb::StorageError::DatabaseClosed => Some(DiskFailure::Latched),
        _ => None,
    }
}

/// A failing disk is retryable: the embedded store opens its file again (see its `handle`), and
/// the same call goes through once the disk has space or answers again.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                if disk_failure(&e).is_some() {
                    StoreError::unavailable_from("el almacén integrado no pudo leer o escribir su archivo", e)
                } else {
                    StoreError::backend_from("el almacén integrado (redb)", e)
                }
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn a_refused_redis_connection_is_retryable_and_keeps_its_cause() {
        let refused = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let error = StoreError::from(refused);
        assert!(error.is_retryable(), "{error}");
        let cause = error.source().expect("the Redis error is kept");
        assert!(cause.downcast_ref::<redis::RedisError>().is_some_and(|e| e.is_connection_refusal()), "{cause}");
        let message = error.to_string();
        assert!(message.contains("Redis rechazó la conexión") && message.contains("se puede reintentar"), "{message}");
    }

    #[test]
    fn a_command_redis_refuses_is_not_retryable_and_keeps_its_cause() {
        let refused = redis::RedisError::from((redis::ErrorKind::Client, "WRONGTYPE", "not a hash".to_owned()));
        let error = StoreError::from(refused);
        assert!(!error.is_retryable(), "{error}");
        assert!(error.source().is_some_and(|c| c.to_string().contains("not a hash")));
        assert!(!error.to_string().contains("not a hash"), "the message says it once, in its source: {error}");
    }

    #[test]
    fn a_redb_error_keeps_its_cause() {
        let error = StoreError::from(redb::StorageError::Corrupted("página rota".into()));
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("almacén integrado"), "{error}");
        assert!(error.source().is_some_and(|c| c.to_string().contains("página rota")));
    }

    /// The embedded store opens its file again after the disk failed, so retrying can help.
    #[test]
    fn a_failing_disk_under_redb_is_retryable_and_keeps_its_cause() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let error = StoreError::from(redb::CommitError::Storage(redb::StorageError::Io(full)));
        assert!(error.is_retryable(), "{error}");
        assert!(
            matches!(disk_failure(&error), Some(DiskFailure::Io(io)) if io.kind() == std::io::ErrorKind::StorageFull)
        );
        let latched = StoreError::from(redb::TransactionError::Storage(redb::StorageError::PreviousIo));
        assert!(latched.is_retryable(), "{latched}");
        assert!(matches!(disk_failure(&latched), Some(DiskFailure::Latched)));
    }
}
