//! Group commit for the embedded store.
//!
//! A redb commit that is durable costs an fsync. Under a press-conference peak every webhook
//! writes (dedupe marker, outbox entry), so one thread owns all writes: it takes the first
//! waiting operation, drains whatever else has queued meanwhile, runs them all in one write
//! transaction and commits once. Each caller still learns its own result only after the commit
//! that made it durable.
//!
//! When the disk fails under a commit (it is full), the writer hands the error to the
//! [`Handle`], which logs it once and opens the file again; every caller of that transaction
//! gets a retryable error naming the data directory, and nothing of it was written (a redb
//! transaction is atomic), so the caller's retry once there is space writes it whole.

use std::any::Any;
use std::sync::Arc;
use std::sync::mpsc;

use redb::WriteTransaction;
use tokio::sync::oneshot;

use super::handle::Handle;
use crate::StoreError;

/// The most operations folded into one commit.
const MAX_BATCH: usize = 1024;

type AnyResult = Result<Box<dyn Any + Send>, StoreError>;

/// An operation on the open transaction. It may run twice (see [`run_batch`]), so it must not
/// consume what it captured.
type Op = Box<dyn FnMut(&WriteTransaction) -> AnyResult + Send>;

struct Job {
    op: Op,
    reply: oneshot::Sender<AnyResult>,
}

/// State kept beside the database (the once-marks' index) that must follow its transactions:
/// what a transaction wrote counts once it commits and is forgotten if it is abandoned.
pub trait TxObserver: Send + Sync {
    fn committed(&self);
    fn abandoned(&self);
}

/// The handle through which every write reaches the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread for `db`, telling `observer` the fate of every transaction. It
    /// stops when the last handle is dropped.
    pub fn start(db: Arc<Handle>, observer: Arc<dyn TxObserver>) -> Writer {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&db, observer.as_ref(), batch);
                }
            })
            .expect("spawn the store writer thread");
        Writer { jobs }
    }

    /// Runs `op` inside a write transaction and returns its result once committed.
    pub async fn write<R, F>(&self, mut op: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let op: Op = Box::new(move |tx| op(tx).map(|r| Box::new(r) as Box<dyn Any + Send>));
        self.jobs
            .send(Job { op, reply })
            .map_err(|_| StoreError::unavailable("el escritor del almacén integrado se detuvo"))?;
        let result = rx.await.map_err(|_| StoreError::unavailable("el escritor del almacén integrado se detuvo"))?;
        result.map(|any| *any.downcast::<R>().expect("a write returns the type its caller asked for"))
    }
}

/// Runs a batch in one transaction. If any operation fails, the transaction is abandoned and
/// each operation runs again in a transaction of its own, so one failure fails only its caller;
/// unless the disk failed, which fails every one of them alike (alone they would fail again,
/// each reopening the file).
fn run_batch(db: &Handle, observer: &dyn TxObserver, mut batch: Vec<Job>) {
    if batch.len() > 1 {
        match try_together(db, &mut batch) {
            Ok(results) => {
                observer.committed();
                db.committed();
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
                return;
            }
            Err(error) => {
                observer.abandoned();
                if let Some(what) = db.disk_failed(&error) {
                    let mut cause = Some(error);
                    for job in batch {
                        let error = match cause.take() {
                            Some(cause) => StoreError::unavailable_from(what.clone(), cause),
                            None => StoreError::unavailable(what.clone()),
                        };
                        let _ = job.reply.send(Err(error));
                    }
                    return;
                }
                tracing::debug!(ops = batch.len(), "Batched write failed; running each alone.");
            }
        }
    }
    for mut job in batch {
        let result = run_one(db, &mut job.op);
        if result.is_ok() {
            observer.committed();
            db.committed();
        } else {
            observer.abandoned()
        }
        let _ = job.reply.send(result);
    }
}

/// The batch's results, or the first error (the transaction dropped, so abandoned).
fn try_together(db: &Handle, batch: &mut [Job]) -> Result<Vec<Box<dyn Any + Send>>, StoreError> {
    let tx = db.begin_write()?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        results.push((job.op)(&tx)?);
    }
    tx.commit()?;
    Ok(results)
}

fn run_one(db: &Handle, op: &mut Op) -> AnyResult {
    run_alone(db, op).map_err(|error| db.failed(error))
}

fn run_alone(db: &Handle, op: &mut Op) -> AnyResult {
    let tx = db.begin_write()?;
    let result = op(&tx)?;
    tx.commit()?;
    Ok(result)
}
