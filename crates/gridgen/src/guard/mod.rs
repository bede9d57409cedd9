//! The guard: what keeps a run from leaving a wrong or half-written file behind, whatever ends
//! it, and what refuses a run that cannot fit before anything is created. The driver starts it
//! with one call, [`start`], once the arguments are read.
//!
//! - [`registry`]: every temporary file the run creates, in slots a signal handler can read.
//! - [`handler`]: SIGINT, SIGTERM, SIGHUP — and a failed allocation — remove every registered
//!   file, say one line (`stopped by SIGINT after 3 of 10 files`) and exit 128 + the signal (or 1).
//! - [`watch`]: installs the handlers; an MPI rank whose launcher is gone stops as if SIGTERM came.
//! - [`held`]: SIGXFSZ (`ulimit -f`) ends nothing — the write fails and is reported — except a
//!   rank held inside a library after it, which is ended once it has waited [`HELD`].
//! - [`memory`], [`space`]: the limits checked before a run (memory, `ulimit -v`/`-d`, the job's
//!   cgroup, free space, `ulimit -f`, the filesystem's name length); what they refuse is a
//!   [`Refused`].
//! - [`alloc`]: the global allocator's one-line failure, which each step's binary declares.
//!
//! The guard holds the one global state of the library, because a signal handler can reach
//! nothing else. It knows nothing of the driver that uses it.

pub mod alloc;
pub mod handler;
pub mod held;
pub mod memory;
pub mod refused;
pub mod registry;
pub mod space;
pub mod watch;

pub use alloc::OneLineOnFailure;
pub use handler::{count_files, mark_told, Line, Process};
pub use held::{HELD, PATIENCE};
pub use refused::Refused;
pub use registry::{
    guarded, leave_word, register, remove_on_abnormal_end, remove_own, target_of, temporary_name,
    Registered, MAX_WORKERS, PARTIAL_SUFFIX, TOLD_MARK,
};
pub use watch::start;
