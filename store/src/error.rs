//! Store errors, each knowing whether retrying can help.

use schemas::SnapshotVersion;

/// The messages are in Spanish: they reach ops in run records, the console and the commands.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or timed out; retrying later can succeed.
    #[error("el almacén no responde: {0}")]
    Unavailable(String),
    /// The backend answered with an error that retrying will not fix.
    #[error("el almacén respondió con un error: {0}")]
    Backend(String),
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
        matches!(self, StoreError::Unavailable(_) | StoreError::Conflict { .. })
    }

    pub(crate) fn corrupt(key: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        StoreError::Corrupt { key: key.into(), reason: reason.to_string() }
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Backend(e.to_string())
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Backend(format!("embedded store: {e}"))
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
