//! What the thread steps share. The threads, channels and pools themselves are the lessons and
//! live in the steps' `main.rs`; here are the rules around them.

use std::any::Any;
use std::io;

use crate::Error;

pub use steps::{worker_name, WORKER_PREFIX};

/// A worker thread could not be started (the system's thread limit, or memory for its stack).
pub fn cannot_start(worker: usize, e: io::Error) -> Error {
    Error::Threads(format!("cannot start worker {worker}: {e}"))
}

/// A worker went away without answering: it panicked (its message was printed), so the run
/// cannot go on.
pub fn gone() -> Error {
    Error::Threads("a worker stopped without answering".into())
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}
