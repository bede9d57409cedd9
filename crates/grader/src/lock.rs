//! One build of an exercise at a time. Every exercises folder builds into the project's target
//! folder, where an exercise's binary has one name: two verifies of one exercise (a learner's
//! two terminals, or the learner's and the tests') take turns building it, and each grades a
//! copy of its own, which the other's next build cannot replace.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};

/// An exclusive lock on a file, released when dropped (or when the process ends).
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock at `path`, saying so when it must wait for another holder.
    pub fn take(path: &Path, what: &str) -> Result<Lock> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open the lock {}", path.display()))?;
        let fd = file.as_raw_fd();
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!("exercise: waiting: another verify of {what} is building it; this one goes on when it is done");
            // SAFETY: as above, now waiting for it.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = Lock::take(&path, "x").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let _second = Lock::take(&path, "x").unwrap();
                tx.send(()).unwrap();
            })
        };
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err());
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        waiter.join().unwrap();
    }
}
