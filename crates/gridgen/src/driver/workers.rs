//! What the thread steps share. The threads, channels and pools themselves are the lessons and
//! live in the steps' `main.rs`; here are the rules around them.

use std::any::Any;
use std::io;

use crate::error::{Error, Workers};

pub use steps::{worker_name, WORKER_PREFIX};

/// A worker thread could not be started (the system's thread limit, or memory for its stack).
pub fn cannot_start(worker: usize, source: io::Error) -> Error {
    Workers::Start { worker, source }.into()
}

/// A thread pool could not start its threads (rayon's `ThreadPoolBuilder::build`).
pub fn pool_refused(source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Workers::Pool {
        source: Box::new(source),
    }
    .into()
}

/// A worker went away without answering: it panicked (its message was printed), so the run
/// cannot go on.
pub fn gone() -> Error {
    Workers::Gone.into()
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}
