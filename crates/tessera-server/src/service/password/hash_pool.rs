//! The threads password hashes run on: as many as `[passwords] max_concurrent_hashes`,
//! each lowered when it starts, so that under a flood of logins the CPU still goes first
//! to the cheap requests (JWKS, verification, refresh) on the runtime's threads, while
//! hashing uses whatever is left: to `[passwords] hash_nice` (Linux niceness, per thread),
//! or with `hash_sched_idle` to `SCHED_IDLE`, which any other thread that wakes up
//! preempts at once (shorter tails for the cheap requests; fewer logins while the CPU is
//! busy with them).

use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of hashing threads fed from one queue.
#[derive(Debug)]
pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    /// Starts `threads` threads at `priority`.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub fn start(threads: usize, priority: Priority) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || {
                    lower_priority(priority);
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

/// How far the hashing threads step back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Linux niceness (0: the process's own priority).
    Nice(i32),
    /// `SCHED_IDLE`: runs only when no other thread wants the CPU.
    Idle,
}

/// Lowers the calling thread's priority (Linux applies both to that thread only). Lowering
/// needs no privilege; failure only logs.
fn lower_priority(priority: Priority) {
    let result = match priority {
        Priority::Nice(0) => return,
        Priority::Nice(nice) => {
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice)
                .map_err(|e| e.to_string())
        }
        Priority::Idle => sched_idle(),
    };
    if let Err(error) = result {
        tracing::warn!(%error, ?priority, "could not lower the hashing thread's priority");
    }
}

/// Moves the calling thread to `SCHED_IDLE`.
fn sched_idle() -> Result<(), String> {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id, thread_schedule_policy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    let set = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        idle,
    );
    // The crate also resets the thread's niceness to 0 afterwards, which an unprivileged
    // process started at a higher niceness may not do; the policy is what counts.
    match thread_schedule_policy() {
        Ok(policy) if policy == idle => Ok(()),
        Ok(policy) => Err(format!("policy is {policy:?} ({set:?})")),
        Err(e) => Err(format!("{e:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_lowered_hashing_thread() {
        let pool = HashPool::start(2, Priority::Nice(5)).unwrap();
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
    async fn idle_hashing_threads_run_under_sched_idle() {
        use thread_priority::unix::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let pool = HashPool::start(1, Priority::Idle).unwrap();
        let policy = pool
            .run(|| thread_priority::unix::thread_schedule_policy().ok())
            .await
            .unwrap();
        assert_eq!(
            policy,
            Some(ThreadSchedulePolicy::Normal(
                NormalThreadSchedulePolicy::Idle
            ))
        );
        let own = thread_priority::unix::thread_schedule_policy().unwrap();
        assert_eq!(
            own,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
            "only the hashing threads"
        );
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_lives_on() {
        let pool = HashPool::start(1, Priority::Nice(0)).unwrap();
        let failed: Option<()> = pool.run(|| panic!("boom")).await;
        assert!(failed.is_none());
        assert_eq!(pool.run(|| 7).await, Some(7), "the only thread still works");
    }
}
