//! `--trace PATH.json`: a timeline of the run, one slice per file with its two phases (compute,
//! write) where they can be told apart, one track per thread, in Chrome's trace-event format
//! (open it in Perfetto or chrome://tracing). MPI steps merge every rank into one file, one
//! process per rank.
//!
//! The slices are recorded by the run's [`crate::Output`] (see [`crate::driver::progress`]) rather than
//! through `tracing` + `tracing-chrome`: a file's slice spans the computing and the writing of
//! that file, which the lesson does with its own calls, so a span around both would have to be
//! opened in every step's `main.rs`.

use serde::{Deserialize, Serialize};

/// One finished file on one thread: microseconds since the run began.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Slice {
    pub file_id: usize,
    pub thread: String,
    pub start: f64,
    /// Where computing ended and writing began; `None` for a dataset of an HDF5 file, whose
    /// two phases the run does not see apart.
    #[serde(default)]
    pub compute_end: Option<f64>,
    pub end: f64,
}

/// One process of a timeline: its id, its name, and its slices.
pub type Process = (i32, String, Vec<Slice>);

/// The Chrome trace-event JSON for the slices of each process (`(pid, process name, slices)`):
/// a track per thread, a slice per file, and its compute and write phases nested inside.
pub fn chrome_json(processes: &[Process]) -> String {
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
            let phases = match s.compute_end {
                Some(split) => vec![("compute", s.start, split), ("write", split, s.end)],
                None => vec![("compute and write", s.start, s.end)],
            };
            for (name, from, to) in phases {
                events.push(serde_json::json!({"ph": "X", "name": name, "cat": "phase",
                    "pid": pid, "tid": tid, "ts": from, "dur": to - from, "args": args}));
            }
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
            compute_end: Some(2.0),
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
