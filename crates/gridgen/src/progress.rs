//! How far a run is: files finished (for the summary, the progress bar and an interrupted run's
//! last line), and each file's compute and write phases for `--trace`.
//!
//! The lessons call nothing here. gridgen sees each file's phases go by on the thread doing it:
//! computing starts and ends in [`crate::generate_data`], writing starts when the file's
//! temporary file is created and ends at its commit. A dataset written into an HDF5 file has no
//! file of its own: it is finished when the same thread starts computing the next one, or when
//! the HDF5 file is closed.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::trace;

static FILES_DONE: AtomicU64 = AtomicU64::new(0);
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// The file a thread is working on: its index, and (when tracing) when it began and when its
/// computing ended.
#[derive(Clone, Copy)]
struct Current {
    file_id: usize,
    start: f64,
    compute_end: Option<f64>,
}

thread_local! {
    static CURRENT: Cell<Option<Current>> = const { Cell::new(None) };
    static LAST_END: Cell<f64> = const { Cell::new(0.0) };
}

fn stamp() -> f64 {
    if trace::enabled() {
        trace::now()
    } else {
        0.0
    }
}

/// This thread starts computing `file_id`'s array.
pub(crate) fn computing(file_id: usize) {
    finish_thread();
    let start = stamp();
    CURRENT.with(|c| {
        c.set(Some(Current {
            file_id,
            start,
            compute_end: None,
        }))
    });
}

/// This thread has computed `file_id`'s array.
pub(crate) fn computed(file_id: usize) {
    let now = stamp();
    CURRENT.with(|c| {
        if let Some(mut cur) = c.get().filter(|cur| cur.file_id == file_id) {
            cur.compute_end = Some(now);
            c.set(Some(cur));
        }
    });
}

/// This thread starts writing `file_id`'s file. (Step 1 computes values one by one, without
/// gridgen: its file began where the thread's previous one ended.)
pub(crate) fn write_started(file_id: usize) {
    let now = stamp();
    CURRENT.with(|c| match c.get().filter(|cur| cur.file_id == file_id) {
        Some(mut cur) => {
            cur.compute_end.get_or_insert(now);
            c.set(Some(cur));
        }
        None => c.set(Some(Current {
            file_id,
            start: LAST_END.with(Cell::get),
            compute_end: Some(now),
        })),
    });
}

/// This thread finished `file_id`'s file (committed it).
pub(crate) fn file_done(file_id: usize) {
    debug_assert!(CURRENT.with(|c| c.get().is_none_or(|cur| cur.file_id == file_id)));
    finish_thread();
}

/// Finishes the file this thread is on, if any: counts it and records its slice.
pub(crate) fn finish_thread() {
    let Some(cur) = CURRENT.with(Cell::take) else {
        return;
    };
    FILES_DONE.fetch_add(1, Ordering::Relaxed);
    if let Some(bar) = BAR.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        bar.inc(1);
    }
    if trace::enabled() {
        let end = trace::now();
        trace::record(cur.file_id, cur.start, cur.compute_end.unwrap_or(end), end);
        LAST_END.with(|l| l.set(end));
    }
}

/// Files (or datasets) this process has finished so far.
pub fn files_done() -> u64 {
    FILES_DONE.load(Ordering::Relaxed)
}

/// Shows a bar of `n_files` on stderr — only on a terminal: piped, redirected or under test,
/// nothing is drawn. (Not under MPI, where every rank shares one terminal.)
pub(crate) fn show_bar(n_files: usize) {
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
    *BAR.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
}

/// Removes the bar, if one is drawn, before the summary or an error is printed.
pub(crate) fn clear_bar() {
    if let Some(bar) = BAR.lock().unwrap_or_else(|p| p.into_inner()).take() {
        bar.finish_and_clear();
    }
}
