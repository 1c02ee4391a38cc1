//! Store errors, each knowing whether retrying can help.

use schemas::SnapshotVersion;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or timed out; retrying later can succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with an error that retrying will not fix.
    #[error("store error: {0}")]
    Backend(String),
    /// A stored record could not be decoded.
    #[error("corrupt record under {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// Another publisher moved the current pointer since the content was built.
    #[error("the current snapshot moved from {expected:?} to {found:?} while publishing")]
    Conflict { expected: Option<SnapshotVersion>, found: Option<SnapshotVersion> },
    /// Rollback to a version that is not kept.
    #[error("snapshot {0} is not kept")]
    NoSuchVersion(SnapshotVersion),
    /// Rollback with no older version kept.
    #[error("no older snapshot is kept to roll back to")]
    NothingToRollBack,
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
