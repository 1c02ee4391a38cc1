//! Folds the store operations of concurrent requests into one round trip.
//!
//! Each webhook needs a few store operations (dedupe marker, flood counter, session, outbox
//! entry). Sent one by one, a press-conference peak would cost a round trip each; instead a
//! request hands its operations to a [`Batcher`] and awaits its own replies, while one task
//! sends everything that queued up meanwhile as one batch (one Redis pipeline, one embedded
//! transaction). Under light load a batch is one request and nothing waits; under heavy load
//! batches grow by themselves.

use std::future::Future;
use std::sync::Arc;

use store::StoreError;
use tokio::sync::{mpsc, oneshot};

/// At most this many operations go into one batch.
const MAX_BATCH: usize = 2048;

type Reply<O> = oneshot::Sender<Result<Vec<O>, Arc<StoreError>>>;

/// A queue of operations of type `I` answered with `O`.
pub struct Batcher<I, O> {
    jobs: mpsc::UnboundedSender<(Vec<I>, Reply<O>)>,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Batcher { jobs: self.jobs.clone() }
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the task that runs batches with `run`, which must answer each operation in its
    /// position. `in_flight` batches may run at once.
    pub fn start<F, Fut>(in_flight: usize, run: F) -> Batcher<I, O>
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<O>, StoreError>> + Send + 'static,
    {
        let (jobs, mut rx) = mpsc::unbounded_channel::<(Vec<I>, Reply<O>)>();
        let run = Arc::new(run);
        let slots = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                // Whatever queued while the previous batch ran goes into this one.
                let mut ops = first.0;
                let mut waiters = vec![(ops.len(), first.1)];
                while ops.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((more, reply)) => {
                            waiters.push((more.len(), reply));
                            ops.extend(more);
                        }
                        Err(_) => break,
                    }
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let result = run(ops).await;
                    drop(slot);
                    deliver(result, waiters);
                });
            }
        });
        Batcher { jobs }
    }

    /// Runs `ops` in the next batch and returns their replies in order.
    pub async fn run(&self, ops: Vec<I>) -> Result<Vec<O>, Arc<StoreError>> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        let stopped = || Arc::new(StoreError::unavailable("el agrupador de operaciones del almacén se detuvo"));
        self.jobs.send((ops, reply)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// Hands each waiter its slice of the replies (or the shared error).
fn deliver<O>(result: Result<Vec<O>, StoreError>, waiters: Vec<(usize, Reply<O>)>) {
    match result {
        Ok(replies) => {
            let mut replies = replies.into_iter();
            for (n, reply) in waiters {
                let mine: Vec<O> = replies.by_ref().take(n).collect();
                let _ = reply.send(if mine.len() == n {
                    Ok(mine)
                } else {
                    Err(Arc::new(StoreError::backend("un lote recibió menos respuestas que operaciones")))
                });
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for (_, reply) in waiters {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_batches_and_get_their_own_replies() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let batcher = Batcher::start(1, move |ops: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Ok(ops.into_iter().map(|x| x * 10).collect())
            }
        });
        let calls: Vec<_> = (0..50u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.run(vec![i, i + 1000]).await.unwrap() })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let i = i as u32;
            assert_eq!(call.await.unwrap(), vec![i * 10, (i + 1000) * 10]);
        }
        assert!(batches.load(Ordering::SeqCst) < 50, "some calls must have shared a batch");
        let failing = Batcher::<u32, u32>::start(1, |_| async { Err(StoreError::unavailable("caído")) });
        assert!(failing.run(vec![1]).await.is_err());
    }
}
