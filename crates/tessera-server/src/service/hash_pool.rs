//! The threads password hashes run on: as many as `[passwords] max_concurrent_hashes`,
//! each lowered to `[passwords] hash_nice` (Linux niceness, per thread) when it starts, so
//! that under a flood of logins the CPU still goes first to the cheap requests (JWKS,
//! verification, refresh) on the runtime's threads, while hashing uses whatever is left.

use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of hashing threads fed from one queue.
#[derive(Debug)]
pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    /// Starts `threads` threads at niceness `nice` (0: the process's own priority).
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start(threads: usize, nice: i32) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || {
                    lower_priority(nice);
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job must not take its thread with it (the
                            // caller sees its result channel dropped: an internal error).
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            // The pool was dropped.
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }

    /// Runs `work` on a hashing thread and waits for its result; `None` if the pool is gone
    /// or the work panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.lock().ok()?.send(job).ok()?;
        result.await.ok()
    }
}

/// Sets the calling thread's niceness (Linux applies `setpriority(PRIO_PROCESS, tid)` to
/// that thread only). Raising niceness needs no privilege; failure only logs.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(tid), nice) {
        tracing::warn!(%error, nice, "could not lower the hashing thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_lowered_hashing_thread() {
        let pool = HashPool::start(2, 5).unwrap();
        let (name, nice) = pool
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
                (name, nice.ok())
            })
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("tessera-hash-"));
        let own = rustix::process::getpriority_process(None).unwrap();
        assert_eq!(nice, Some(own + 5));
        assert_eq!(pool.run(|| 2 + 2).await, Some(4));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_lives_on() {
        let pool = HashPool::start(1, 0).unwrap();
        let failed: Option<()> = pool.run(|| panic!("boom")).await;
        assert!(failed.is_none());
        assert_eq!(pool.run(|| 7).await, Some(7), "the only thread still works");
    }
}
