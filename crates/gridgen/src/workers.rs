//! Worker threads for the single-node parallel steps.
//!
//! Two shapes, matching the workshop's two Python versions:
//! - [`with_pool`]: a pool that takes one task at a time, and [`Pool::apply`] blocks until that
//!   task's reply arrives — the shape of Python's `multiprocessing.Pool.apply`;
//! - [`run`]: long-lived workers that each run their own loop (pulling work from a channel).
//!
//! Threads are named `worker-0`, `worker-1`, … so that profiles and traces show them by name. A
//! failure in any worker — an error or a panic — is reported once, and tells the others to stop.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::{Builder, Scope};

use crossbeam_channel::{Receiver, Sender};

use crate::{Error, Result};

/// The name of worker `id`'s thread.
pub fn thread_name(id: usize) -> String {
    format!("worker-{id}")
}

/// What a worker of [`run`] knows about the run it is part of.
pub struct Worker<'a> {
    /// 0 … workers-1.
    pub id: usize,
    stop: &'a AtomicBool,
}

impl Worker<'_> {
    /// False once another worker has failed: stop taking new work.
    pub fn keep_going(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// Runs `work` on `workers` named threads and waits for all of them. The first failure (an error
/// or a panic) is returned, and makes [`Worker::keep_going`] false for the others.
pub fn run<F>(workers: usize, work: F) -> Result<()>
where
    F: Fn(&Worker) -> Result<()> + Sync,
{
    let stop = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    let fail = |e: Error| {
        stop.store(true, Ordering::Relaxed);
        first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
    };
    std::thread::scope(|scope| {
        for id in 0..workers {
            let (work, stop, fail) = (&work, &stop, &fail);
            let spawned = spawn(scope, id, move || {
                let worker = Worker { id, stop };
                if let Err(e) = catching_panics(id, || work(&worker)) {
                    fail(e);
                }
            });
            if let Err(e) = spawned {
                fail(e);
                break;
            }
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

type Task<'env> = Box<dyn FnOnce() -> Result<()> + Send + 'env>;

/// A pool of worker threads that run one task at a time each; see [`with_pool`].
pub struct Pool<'env> {
    tasks: Sender<(Task<'env>, Sender<Result<()>>)>,
}

impl<'env> Pool<'env> {
    /// Like Python's `Pool.apply`: hands `task` to a free worker and waits for its reply, so
    /// the caller — and every other worker — sits idle until this one task is done.
    pub fn apply(&self, task: impl FnOnce() -> Result<()> + Send + 'env) -> Result<()> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let lost = || Error::Threads("the pool's workers are gone".into());
        self.tasks
            .send((Box::new(task), reply))
            .map_err(|_| lost())?;
        answer.recv().map_err(|_| lost())?
    }
}

/// Starts `workers` named threads, runs `body` with the [`Pool`] they serve, then closes the
/// pool and joins them. A task's panic comes back from [`Pool::apply`] as an error.
pub fn with_pool<'env, T>(
    workers: usize,
    body: impl FnOnce(&Pool<'env>) -> Result<T>,
) -> Result<T> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        for id in 0..workers {
            let receiver: Receiver<(Task<'env>, Sender<Result<()>>)> = receiver.clone();
            spawn(scope, id, move || {
                for (task, reply) in receiver.iter() {
                    // The caller may have gone; nothing to tell it then.
                    let _ = reply.send(catching_panics(id, task));
                }
            })?;
        }
        let pool = Pool { tasks: sender };
        body(&pool)
        // `pool` is dropped here: the channel closes, the workers leave their loops, and the
        // scope joins them.
    })
}

fn spawn<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    id: usize,
    f: impl FnOnce() + Send + 'scope,
) -> Result<()> {
    Builder::new()
        .name(thread_name(id))
        .spawn_scoped(scope, f)
        .map(drop)
        .map_err(|e| Error::Threads(format!("could not start worker {id}: {e}")))
}

fn catching_panics(id: usize, f: impl FnOnce() -> Result<()>) -> Result<()> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::WorkerPanicked {
            worker: id,
            message: panic_message(payload.as_ref()),
        })
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn workers_run_on_named_threads() {
        let names = Mutex::new(Vec::new());
        run(3, |w| {
            let name = std::thread::current().name().unwrap().to_owned();
            assert_eq!(name, thread_name(w.id));
            names.lock().unwrap().push(name);
            Ok(())
        })
        .unwrap();
        let mut names = names.into_inner().unwrap();
        names.sort();
        assert_eq!(names, ["worker-0", "worker-1", "worker-2"]);
    }

    #[test]
    fn the_first_failure_is_returned_and_stops_the_others() {
        let done = AtomicUsize::new(0);
        let err = run(4, |w| {
            if w.id == 2 {
                return Err(Error::Usage("worker 2 failed".into()));
            }
            while w.keep_going() {
                std::thread::yield_now();
            }
            done.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "worker 2 failed");
        assert_eq!(done.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_panic_becomes_an_error_naming_the_worker() {
        let err = run(2, |w| {
            if w.id == 1 {
                panic!("out of cheese")
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "worker 1 panicked: out of cheese");
    }

    #[test]
    fn apply_blocks_until_the_task_is_done() {
        let finished = AtomicUsize::new(0);
        with_pool(3, |pool| {
            for i in 0..20 {
                let finished = &finished;
                pool.apply(move || {
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })?;
                // Pool.apply returned: this task, and every earlier one, is complete.
                assert_eq!(finished.load(Ordering::SeqCst), i + 1);
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn apply_returns_the_task_error_and_panics() {
        let err = with_pool(2, |pool| pool.apply(|| Err(Error::Usage("nope".into())))).unwrap_err();
        assert_eq!(err.to_string(), "nope");
        let err = with_pool(2, |pool| pool.apply(|| panic!("boom"))).unwrap_err();
        assert!(err.to_string().ends_with("panicked: boom"), "{err}");
    }
}
