//! The pool Logs Insights queries run on: a tokio runtime of its own with a
//! few worker threads at background priority (nice 10 on Linux, as the
//! store's flush and compaction threads). DataFusion's tasks and blocking
//! reads spawned by a query stay on this runtime, so a heavy query uses at
//! most these threads, and when the cores are busy the request threads
//! (ingestion) get about ten times their share.

use std::future::Future;

use tokio::runtime::{Builder, Runtime};
use tokio::task::AbortHandle;
use tracing::warn;

pub struct QueryPool {
    /// `None` once shut down (on drop).
    runtime: Option<Runtime>,
}

impl QueryPool {
    pub fn new(threads: usize) -> QueryPool {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .max_blocking_threads(threads.max(1) * 2)
            .thread_name("argus-insights")
            .on_thread_start(argus_storage::background::lower_current_thread_priority)
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => QueryPool { runtime: Some(runtime) },
            Err(error) => {
                warn!(%error, "could not start the Logs Insights query pool; queries run on the request runtime");
                QueryPool { runtime: None }
            }
        }
    }

    /// Runs `work` on the pool (or, failing that, on the caller's runtime).
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        match &self.runtime {
            Some(runtime) => runtime.spawn(work).abort_handle(),
            None => tokio::spawn(work).abort_handle(),
        }
    }
}

impl Drop for QueryPool {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another one's async context.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
