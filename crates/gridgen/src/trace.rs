//! `--trace PATH.json`: a timeline of the run, one slice per file with its two phases (compute,
//! write), one track per thread, in Chrome's trace-event format (open it in Perfetto or
//! chrome://tracing). MPI steps merge every rank into one file, one process per rank.
//!
//! The events are recorded here rather than through `tracing` + `tracing-chrome`: a file's slice
//! spans the computing and the writing of that file, which the lesson does with its own calls,
//! so a span around both would have to be opened in every step's `main.rs`. gridgen's
//! [`progress`](crate::progress) sees both phases begin and end (the field, the temporary file,
//! its commit) and hands each finished file here. When tracing is off, nothing is recorded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ORIGIN: OnceLock<Instant> = OnceLock::new();
static EVENTS: Mutex<Vec<Slice>> = Mutex::new(Vec::new());

/// One finished file on one thread: microseconds since the run began.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Slice {
    pub file_id: usize,
    pub thread: String,
    pub start: f64,
    pub compute_end: f64,
    pub end: f64,
}

/// Starts recording (the run's clock starts now).
pub fn enable() {
    ORIGIN.get_or_init(Instant::now);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether `--trace` is recording.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Microseconds since recording began.
pub fn now() -> f64 {
    ORIGIN
        .get()
        .map_or(0.0, |o| o.elapsed().as_secs_f64() * 1e6)
}

/// Records one finished file of the calling thread.
pub(crate) fn record(file_id: usize, start: f64, compute_end: f64, end: f64) {
    let thread = std::thread::current().name().unwrap_or("main").to_owned();
    let slice = Slice {
        file_id,
        thread,
        start,
        compute_end,
        end,
    };
    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).push(slice);
}

/// Takes every slice recorded so far.
pub fn take() -> Vec<Slice> {
    std::mem::take(&mut *EVENTS.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The Chrome trace-event JSON for the slices of each process (`(pid, process name, slices)`):
/// a track per thread, a slice per file, and its compute and write phases nested inside.
pub fn chrome_json(processes: &[(i32, String, Vec<Slice>)]) -> String {
    let mut events = Vec::new();
    for (pid, process, slices) in processes {
        events.push(serde_json::json!({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": process}}));
        let mut threads: Vec<&str> = slices.iter().map(|s| s.thread.as_str()).collect();
        threads.sort();
        threads.dedup();
        for (tid, thread) in threads.iter().enumerate() {
            events.push(serde_json::json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": thread}}));
        }
        for s in slices {
            let tid = threads.iter().position(|t| *t == s.thread).unwrap_or(0);
            let args = serde_json::json!({"file_id": s.file_id});
            events.push(
                serde_json::json!({"ph": "X", "name": format!("file {}", s.file_id), "cat": "file",
                "pid": pid, "tid": tid, "ts": s.start, "dur": s.end - s.start, "args": args}),
            );
            events.push(serde_json::json!({"ph": "X", "name": "compute", "cat": "phase",
                "pid": pid, "tid": tid, "ts": s.start, "dur": s.compute_end - s.start, "args": args}));
            events.push(serde_json::json!({"ph": "X", "name": "write", "cat": "phase",
                "pid": pid, "tid": tid, "ts": s.compute_end, "dur": s.end - s.compute_end, "args": args}));
        }
    }
    serde_json::json!({"traceEvents": events, "displayTimeUnit": "ms"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_json_has_a_track_per_thread_and_three_slices_per_file() {
        let slice = |file_id, thread: &str| Slice {
            file_id,
            thread: thread.into(),
            start: 1.0,
            compute_end: 2.0,
            end: 4.0,
        };
        let json = chrome_json(&[(
            0,
            "write rank 0".into(),
            vec![slice(0, "worker-0"), slice(1, "worker-1")],
        )]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let events = v["traceEvents"].as_array().unwrap();
        assert_eq!(
            events.iter().filter(|e| e["name"] == "thread_name").count(),
            2
        );
        assert_eq!(events.iter().filter(|e| e["cat"] == "file").count(), 2);
        let write = events.iter().find(|e| e["name"] == "write").unwrap();
        assert_eq!(
            (write["ts"].as_f64(), write["dur"].as_f64()),
            (Some(2.0), Some(2.0))
        );
    }
}
