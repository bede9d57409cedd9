//! How far a run is: files finished (for the summary, the progress bar and an interrupted run's
//! last line) and, with `--trace`, each file's slice of time on the thread that wrote it.
//!
//! All of it belongs to the run's [`crate::Output`]. A file of its own is seen as it goes by:
//! its computing ends when its temporary file is created and it is finished at its commit (it
//! began where the same thread's previous file ended). A dataset inside an HDF5 file has no file
//! of its own: the step's loop goes through [`crate::Output::progress`], which finishes each
//! index as the loop moves on to the next.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Instant;

use crate::driver::trace::Slice;

/// The progress of one run.
#[derive(Debug)]
pub(crate) struct Progress {
    done: Arc<AtomicU64>,
    bar: Mutex<Option<indicatif::ProgressBar>>,
    trace: Option<Recorder>,
}

/// What `--trace` keeps: the slices, and where each thread's last file ended.
#[derive(Debug)]
struct Recorder {
    origin: Instant,
    slices: Mutex<Vec<Slice>>,
    last_end: Mutex<HashMap<ThreadId, f64>>,
}

/// A file begun: when, and when its computing ended (`None` where it cannot be told apart).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Begun {
    start: f64,
    compute_end: Option<f64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Progress {
    pub(crate) fn new(tracing: bool) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        crate::guard::count_files(&done);
        Progress {
            done,
            bar: Mutex::new(None),
            trace: tracing.then(|| Recorder {
                origin: Instant::now(),
                slices: Mutex::new(Vec::new()),
                last_end: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn now(&self) -> Option<f64> {
        self.trace
            .as_ref()
            .map(|t| t.origin.elapsed().as_secs_f64() * 1e6)
    }

    /// This thread has computed a file and starts writing it.
    pub(crate) fn writing(&self) -> Option<Begun> {
        let t = self.trace.as_ref()?;
        let now = self.now()?;
        let start = lock(&t.last_end)
            .get(&std::thread::current().id())
            .copied()
            .unwrap_or(0.0);
        Some(Begun {
            start,
            compute_end: Some(now),
        })
    }

    /// This thread starts on a dataset (computing and writing it, not told apart).
    pub(crate) fn beginning(&self) -> Option<Begun> {
        let now = self.now()?;
        Some(Begun {
            start: now,
            compute_end: None,
        })
    }

    /// This thread finished file `file_id`, begun as `begun`.
    pub(crate) fn finished(&self, file_id: usize, begun: Option<Begun>) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = lock(&self.bar).as_ref() {
            bar.inc(1);
        }
        let (Some(t), Some(begun), Some(end)) = (&self.trace, begun, self.now()) else {
            return;
        };
        let thread = std::thread::current();
        lock(&t.last_end).insert(thread.id(), end);
        lock(&t.slices).push(Slice {
            file_id,
            thread: thread.name().unwrap_or("main").to_owned(),
            start: begun.start,
            compute_end: begun.compute_end,
            end,
        });
    }

    /// Files (or datasets) finished so far.
    pub(crate) fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Every slice recorded (with `--trace`).
    pub(crate) fn take_slices(&self) -> Option<Vec<Slice>> {
        self.trace
            .as_ref()
            .map(|t| std::mem::take(&mut *lock(&t.slices)))
    }

    /// Shows a bar of `n_files` on stderr — only on a terminal: piped, redirected or under
    /// test, nothing is drawn. (Not under MPI, where every rank shares one terminal.)
    pub(crate) fn show_bar(&self, n_files: usize) {
        let target = indicatif::ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(n_files as u64), target);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files, {eta} left")
        {
            bar.set_style(style);
        }
        *lock(&self.bar) = Some(bar);
    }

    /// Removes the bar, if one is drawn, before the summary or an error is printed.
    pub(crate) fn clear_bar(&self) {
        if let Some(bar) = lock(&self.bar).take() {
            bar.finish_and_clear();
        }
    }
}

/// The file indices of a loop, each finished as the loop moves on: see
/// [`crate::Output::progress`].
pub struct Progressing<'a, I> {
    progress: &'a Progress,
    files: I,
    current: Option<(usize, Option<Begun>)>,
}

impl<'a, I> Progressing<'a, I> {
    pub(crate) fn new(progress: &'a Progress, files: I) -> Self {
        Progressing {
            progress,
            files,
            current: None,
        }
    }
}

impl<I: Iterator<Item = usize>> Iterator for Progressing<'_, I> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        // The loop asks for the next index: the one before it is done.
        if let Some((file_id, begun)) = self.current.take() {
            self.progress.finished(file_id, begun);
        }
        let file_id = self.files.next()?;
        self.current = Some((file_id, self.progress.beginning()));
        Some(file_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_counts_the_files_it_finished_and_not_the_one_it_left() {
        let progress = Progress::new(true);
        for file_id in Progressing::new(&progress, 0..3) {
            if file_id == 2 {
                break; // an error: file 2 is not finished
            }
        }
        assert_eq!(progress.done(), 2);
        let slices = progress.take_slices().unwrap();
        assert_eq!(slices.iter().map(|s| s.file_id).collect::<Vec<_>>(), [0, 1]);
        assert!(slices.iter().all(|s| s.compute_end.is_none()));
        assert_eq!(Progressing::new(&progress, 0..4).count(), 4);
        assert_eq!(progress.done(), 6);
    }

    #[test]
    fn a_file_begins_where_the_threads_previous_one_ended() {
        let progress = Progress::new(true);
        let first = progress.writing();
        progress.finished(0, first);
        let second = progress.writing().unwrap();
        progress.finished(1, Some(second));
        let slices = progress.take_slices().unwrap();
        assert_eq!(slices[1].start, slices[0].end);
        assert!(slices[1].compute_end.unwrap() >= slices[1].start);
        let untraced = Progress::new(false);
        assert!(untraced.writing().is_none());
        untraced.finished(0, None);
        assert_eq!(untraced.done(), 1);
        assert!(untraced.take_slices().is_none());
    }
}
