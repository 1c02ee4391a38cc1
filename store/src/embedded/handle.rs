//! The embedded store's open database, and opening it again after the disk failed.
//!
//! redb latches the first I/O error under a database (a full disk: ENOSPC) and then refuses
//! every later operation with `StorageError::PreviousIo` until the handle is closed and the
//! file opened again. Left alone, one full disk would make the store refuse everything until
//! the process restarts, even once the space is back. So the writer hands every failed write
//! to [`Handle::failed`]: when the disk is what failed, it says so once in the log (naming the
//! data directory and a full disk), closes the handle (redb allows one per file and process)
//! and opens the file again, so the next write goes through as soon as there is space. A
//! transaction is atomic: a failed commit leaves nothing of itself in the file, so reopening
//! finds exactly what was committed before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Builder, ConcurrencyMode, Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::error::{DiskFailure, disk_failure};
use crate::{Result, StoreError};

/// How the database file is opened: redb's file backend, or (in tests) a backend that fails.
pub(super) type Create = Box<dyn Fn(&Builder, &Path) -> Result<Database, DatabaseError> + Send + Sync>;

/// The least time between two readers' attempts to open the file again while opening it
/// fails, so a burst of webhooks does not try it for each one.
const REOPEN_EVERY: Duration = Duration::from_millis(500);

/// How long commits must go through with no failure before the disk counts as writable again
/// (and a new failure is logged again).
const RESUMED_AFTER: Duration = Duration::from_secs(10);

pub(super) struct Handle {
    data_dir: PathBuf,
    path: PathBuf,
    create: Create,
    /// `None` while the file could not be opened again after a failure.
    db: RwLock<Option<Database>>,
    /// A failure was logged (fast path for [`Self::committed`]).
    failing: AtomicBool,
    /// When the disk last failed, while it is failing: the failures after the first are not
    /// logged again. A disk nearly full lets small commits through between failures, so the
    /// failing ends only after [`RESUMED_AFTER`] with commits and no failure.
    last_failure: Mutex<Option<Instant>>,
    /// The last failure was a full disk (what the errors tell while the file stays closed).
    full: AtomicBool,
    /// When opening the file again last failed (while it fails, not at every call).
    open_failed_at: Mutex<Option<Instant>>,
}

impl Handle {
    /// redb's own file backend.
    pub(super) fn on_disk() -> Create {
        Box::new(|builder, path| builder.create(path))
    }

    /// Opens (or creates) `contacto.redb` in `data_dir`.
    pub(super) fn open(data_dir: &Path, create: Create) -> Result<Handle> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::backend_from(format!("no se pudo crear el directorio de datos {}", data_dir.display()), e)
        })?;
        let path = data_dir.join("contacto.redb");
        let db = open_file(&create, &path).map_err(|e| {
            StoreError::backend_from(format!("no se pudo abrir el almacén integrado {}", path.display()), e)
        })?;
        Ok(Handle {
            data_dir: data_dir.to_owned(),
            path,
            create,
            db: RwLock::new(Some(db)),
            failing: AtomicBool::new(false),
            last_failure: Mutex::new(None),
            full: AtomicBool::new(false),
            open_failed_at: Mutex::new(None),
        })
    }

    pub(super) fn begin_read(&self) -> Result<ReadTransaction> {
        let tx = self.with_db(true, |db| db.begin_read().map_err(StoreError::from));
        tx.map_err(|e| self.failed(e))
    }

    /// Only the writer thread writes (and the opening, before it starts). While the file is
    /// not open again, each write tries to open it: the writer's batches come one at a time,
    /// and the first write after the space came back should go through.
    pub(super) fn begin_write(&self) -> Result<WriteTransaction> {
        self.with_db(false, |db| db.begin_write().map_err(StoreError::from))
    }

    /// Runs `f` on the open database, first trying to open it if it is not (`throttled`: at
    /// most once per [`REOPEN_EVERY`] while opening fails, for the many readers).
    fn with_db<T>(&self, throttled: bool, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        if self.db.read().expect("database handle lock").is_none() {
            self.reopen(false, throttled);
        }
        match self.db.read().expect("database handle lock").as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::unavailable(self.what(self.full.load(Ordering::Acquire)))),
        }
    }

    /// Looks at a failed operation: when the disk failed under it, logs that once, opens the
    /// file again and answers a retryable error naming the data directory; any other error is
    /// returned as it is. The failed transaction must have been dropped already.
    pub(super) fn failed(&self, error: StoreError) -> StoreError {
        match self.disk_failed(&error) {
            Some(what) => StoreError::unavailable_from(what, error),
            None => error,
        }
    }

    /// [`Self::failed`] for an error several callers share: `None` if the disk did not fail
    /// under it, or what to tell each of them.
    pub(super) fn disk_failed(&self, error: &StoreError) -> Option<String> {
        let (full, shown) = match disk_failure(error)? {
            DiskFailure::Io(io) => {
                self.full.store(is_full(io), Ordering::Release);
                (is_full(io), io.to_string())
            }
            // An earlier failure latched the file: it said what that one was.
            DiskFailure::Latched => (self.full.load(Ordering::Acquire), error.to_string()),
        };
        let first = self.last_failure.lock().expect("failure lock").replace(Instant::now()).is_none();
        self.failing.store(true, Ordering::Release);
        if first {
            if full {
                tracing::error!(
                    data_dir = %self.data_dir.display(),
                    cause = %shown,
                    "No se pudo escribir en el directorio de datos {}: el disco está lleno. Libere espacio en ese \
                     disco; el almacén integrado vuelve a abrir la base de datos y las escrituras se reanudan solas, \
                     sin reiniciar.",
                    self.data_dir.display()
                );
            } else {
                tracing::error!(
                    data_dir = %self.data_dir.display(),
                    cause = %shown,
                    "Falló la lectura o escritura en el directorio de datos {}: revise ese disco; el almacén \
                     integrado vuelve a abrir la base de datos y las escrituras se reanudan solas cuando el disco \
                     responda.",
                    self.data_dir.display()
                );
            }
        }
        self.reopen(true, false);
        Some(self.what(full))
    }

    /// A commit went through: if writing had failed, and has not failed for [`RESUMED_AFTER`],
    /// say that it resumed.
    pub(super) fn committed(&self) {
        if !self.failing.load(Ordering::Acquire) {
            return;
        }
        let mut last = self.last_failure.lock().expect("failure lock");
        if last.is_some_and(|at| at.elapsed() >= RESUMED_AFTER) {
            *last = None;
            self.failing.store(false, Ordering::Release);
            tracing::warn!(
                data_dir = %self.data_dir.display(),
                "Las escrituras en el directorio de datos {} se reanudaron.",
                self.data_dir.display()
            );
        }
    }

    /// Closes the handle (if `close`) and opens the file again if none is open; if
    /// `throttled`, not within [`REOPEN_EVERY`] of an open that failed.
    fn reopen(&self, close: bool, throttled: bool) {
        let mut db = self.db.write().expect("database handle lock");
        if let Some(old) = db.take_if(|_| close) {
            // A latched database cannot record its clean shutdown; the next open recovers
            // from the last commit, which is what was committed.
            if let Err(error) = old.close() {
                tracing::debug!(%error, "Closing the failed embedded database.");
            }
        }
        if db.is_some() {
            return;
        }
        let mut failed_at = self.open_failed_at.lock().expect("reopen lock");
        if throttled && failed_at.is_some_and(|at| at.elapsed() < REOPEN_EVERY) {
            return;
        }
        match open_file(&self.create, &self.path) {
            Ok(opened) => {
                *db = Some(opened);
                *failed_at = None;
            }
            Err(error) => {
                tracing::debug!(%error, "The embedded database did not open again yet.");
                *failed_at = Some(Instant::now());
            }
        }
    }

    /// What failed and what to do, for the errors the callers get.
    fn what(&self, full: bool) -> String {
        let dir = self.data_dir.display();
        if full {
            format!("no se pudo escribir en el directorio de datos {dir}: el disco está lleno; libere espacio en él")
        } else {
            format!("no se pudo leer o escribir en el directorio de datos {dir}: revise el espacio libre y el disco")
        }
    }
}

fn open_file(create: &Create, path: &Path) -> Result<Database, DatabaseError> {
    create(Database::builder().set_concurrency_mode(ConcurrencyMode::MultiWriter), path)
}

/// ENOSPC, or a quota reached.
fn is_full(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io;
    use std::ops::Bound;
    use std::sync::Arc;

    use redb::backends::FileBackend;
    use redb::{BackendError, ReadableTableMetadata, StorageBackend};
    use schemas::KeyLayout;

    use super::*;
    use crate::embedded::EmbeddedStore;
    use crate::embedded::kv::KV;
    use crate::{KvStore, Mark, OnceOp, QueueName, QueueStore};

    /// redb's file backend on a disk that can fill up: while `full` is set, every write and
    /// every growth of the file fails with ENOSPC, as on a full disk.
    #[derive(Debug)]
    struct FillableDisk {
        file: FileBackend,
        full: Arc<AtomicBool>,
    }

    impl FillableDisk {
        fn check(&self) -> io::Result<()> {
            match self.full.load(Ordering::Acquire) {
                true => Err(io::Error::from_raw_os_error(28)),
                false => Ok(()),
            }
        }
    }

    impl StorageBackend for FillableDisk {
        fn len(&self) -> io::Result<u64> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            if len > self.file.len()? {
                self.check()?;
            }
            self.file.set_len(len)
        }
        fn sync_data(&self) -> io::Result<()> {
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
            self.check()?;
            self.file.write(offset, data)
        }
        fn close(&self) -> io::Result<()> {
            self.file.close()
        }
        fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
            self.file.try_lock_range(start, end)
        }
        fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
            self.file.try_lock_shared_range(start, end)
        }
        fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_range(start, end)
        }
        fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_shared_range(start, end)
        }
        fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
            self.file.unlock_range(start, end)
        }
        fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
            self.file.query_lock_range(start, end)
        }
    }

    fn on_fillable_disk(full: Arc<AtomicBool>) -> Create {
        Box::new(move |builder, path| {
            let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
            builder.create_with_backend(FillableDisk { file: FileBackend::new(file)?, full: full.clone() })
        })
    }

    fn offer(id: &str) -> OnceOp {
        OnceOp::Enqueue {
            id: id.into(),
            payload: Some(id.as_bytes().to_vec()),
            ttl: Duration::from_secs(3600),
            leased: false,
            window: None,
            line: None,
        }
    }

    /// The disk of the data directory fills up under a running store: writes fail with a
    /// retryable error naming the directory and the full disk, nothing committed before is
    /// lost, nothing of the failed writes is kept, and once there is space again writes go
    /// through by themselves, on a file redb finds whole.
    #[tokio::test]
    async fn writes_resume_by_themselves_once_a_full_disk_has_space_again() {
        let dir = tempfile::tempdir().unwrap();
        let full = Arc::new(AtomicBool::new(false));
        let store = EmbeddedStore::open_with(dir.path(), KeyLayout::default(), on_fillable_disk(full.clone())).unwrap();
        let keys = KeyLayout::default();
        let key = |name: &str| keys.flag(name);
        store.put(&key("antes"), b"1", None).await.unwrap();
        store.enqueue(QueueName::Outbox, &[b"respuesta 1".to_vec()]).await.unwrap();
        assert_eq!(store.enqueue_once(QueueName::Outbox, &[offer("wamid.1")]).await.unwrap(), [Mark::Unmarked]);

        full.store(true, Ordering::Release);
        // One write alone, then several at once (one group commit), all refused alike.
        let alone = store.put(&key("lleno"), b"2", None).await.unwrap_err();
        let (lleno_a, respuesta_2, wamid_2) = (key("lleno-a"), [b"respuesta 2".to_vec()], [offer("wamid.2")]);
        let (a, b, c) = tokio::join!(
            store.put(&lleno_a, b"3", None),
            store.enqueue(QueueName::Outbox, &respuesta_2),
            store.enqueue_once(QueueName::Outbox, &wamid_2),
        );
        let data_dir = dir.path().display().to_string();
        for error in [alone, a.unwrap_err(), b.unwrap_err(), c.unwrap_err()] {
            assert!(error.is_retryable(), "{error}");
            let message = error.to_string();
            assert!(message.contains(&data_dir) && message.contains("libere espacio"), "{message}");
        }
        // redb writes when it opens a file, so on the full disk it stays closed: reads are
        // refused alike, never answered wrong.
        let read = store.get(&key("antes")).await.unwrap_err();
        assert!(read.is_retryable() && read.to_string().contains(&data_dir), "{read}");

        full.store(false, Ordering::Release);
        store.put(&key("después"), b"4", None).await.unwrap();
        assert_eq!(store.get(&key("antes")).await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.get(&key("lleno")).await.unwrap(), None, "a failed write leaves nothing");
        assert_eq!(
            store.enqueue_once(QueueName::Outbox, &[offer("wamid.1"), offer("wamid.2")]).await.unwrap(),
            [Mark::Done, Mark::Unmarked],
            "the mark committed before is kept; the one refused on the full disk never counted"
        );
        let claimed = store.claim(QueueName::Outbox, "w", 10, Duration::ZERO).await.unwrap();
        let payloads: Vec<&[u8]> = claimed.iter().map(|e| e.payload.as_slice()).collect();
        assert_eq!(payloads, [&b"respuesta 1"[..], b"wamid.1", b"wamid.2"], "no entry lost, none half-written");
        assert_eq!(store.get(&key("después")).await.unwrap().as_deref(), Some(&b"4"[..]));
        drop(store);

        // The file is whole: redb's own check passes, and it opens again with everything (in
        // the multi-writer mode, beside the first handle, which the store's sweeper task keeps
        // open until the test's runtime ends).
        let mut db = open_file(&Handle::on_disk(), &dir.path().join("contacto.redb")).unwrap();
        assert!(db.check_integrity().unwrap(), "redb finds the file whole");
        assert_eq!(db.begin_read().unwrap().open_table(KV).unwrap().len().unwrap(), 2);
        drop(db);
        let store = EmbeddedStore::open(dir.path(), KeyLayout::default()).unwrap();
        assert_eq!(store.get(&key("antes")).await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.get(&key("después")).await.unwrap().as_deref(), Some(&b"4"[..]));
    }
}
