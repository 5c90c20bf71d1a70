//! A small pool of low-priority threads for background CPU work (building
//! segment files; compaction). Request handling must not wait behind it: on
//! Linux the threads run at nice 10, so when both cores are busy the
//! scheduler gives request threads about ten times their share, and the
//! background work soaks up whatever is idle. Memtable limits apply
//! back-pressure if background work falls behind for long.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use parking_lot::Mutex;
use thread_priority::{ThreadPriority, ThreadPriorityValue};
use tracing::warn;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Niceness of background threads (0 is normal, 19 the lowest).
pub const BACKGROUND_NICE: i32 = 10;

#[derive(Debug, thiserror::Error)]
#[error("the background pool has shut down")]
pub struct PoolClosed;

#[derive(Clone)]
pub struct BackgroundPool {
    jobs: Sender<Job>,
}

impl std::fmt::Debug for BackgroundPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackgroundPool")
    }
}

/// The crate's 0–99 scale maps linearly onto nice 19 … -20; 22 is nice 10.
fn low_priority() -> ThreadPriority {
    ThreadPriorityValue::try_from(22u8).map_or(ThreadPriority::Min, ThreadPriority::Crossplatform)
}

/// Lowers the calling thread to the background priority (nice 10 on
/// Linux); for other pools of low-priority work (Logs Insights queries).
pub fn lower_current_thread_priority() {
    if let Err(error) = thread_priority::set_current_thread_priority(low_priority()) {
        warn!(?error, "could not lower the priority of a background thread; it runs at normal priority");
    }
}

impl BackgroundPool {
    pub fn new(name: &str, threads: usize) -> BackgroundPool {
        let (jobs, receiver) = channel::<Job>();
        let receiver: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new().name(format!("{name}-{index}")).spawn(move || {
                if let Err(error) = thread_priority::set_current_thread_priority(low_priority()) {
                    warn!(?error, "could not lower the priority of a background thread; it runs at normal priority");
                }
                loop {
                    let job = receiver.lock().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(error) = spawned {
                warn!(%error, "could not start a background thread");
            }
        }
        BackgroundPool { jobs }
    }

    /// Runs `work` on a background thread and waits for its result.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolClosed> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| PoolClosed)?;
        result.await.map_err(|_| PoolClosed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of the calling thread, from /proc (Linux).
    fn current_nice() -> Option<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // Fields after the parenthesised command name; nice is field 19.
        let after_name = stat.rsplit_once(')')?.1;
        after_name.split_whitespace().nth(16)?.parse().ok()
    }

    #[tokio::test]
    async fn jobs_run_at_background_priority_and_return_results() {
        let pool = BackgroundPool::new("test-bg", 1);
        let (answer, nice) = pool.run(|| (6 * 7, current_nice())).await.expect("runs");
        assert_eq!(answer, 42);
        if cfg!(target_os = "linux") {
            assert_eq!(nice, Some(BACKGROUND_NICE));
            assert_eq!(current_nice(), Some(0), "the caller keeps its priority");
        }
    }
}
