//! `--trace PATH.json`: when each file was taken up, when its computing ended and when it was
//! done, on which thread (and rank), in Chrome's trace-event format (open it in Perfetto). What
//! lies between one file's end and the next one's start on a thread is waiting, and is drawn so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One file on one thread, in microseconds of the wall clock (ranks on one machine share it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Slice {
    pub file_id: usize,
    pub thread: String,
    /// When the thread took the file up (the loop handed it the index).
    pub start: f64,
    /// When its computing ended and its writing began, where the run sees it (a file of its
    /// own: when it was created); `None` for a dataset of an HDF5 file.
    pub compute_end: Option<f64>,
    pub end: f64,
}

/// What a traced run records.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    open: Mutex<HashMap<ThreadId, Slice>>,
    done: Mutex<Vec<Slice>>,
    /// Threads in the order they first took a file: unnamed ones are called `thread N`.
    threads: Mutex<Vec<ThreadId>>,
}

pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    /// This thread takes up `file_id`.
    pub(crate) fn start(&self, file_id: usize) {
        let thread = std::thread::current();
        let name = match thread.name() {
            Some(name) => name.to_owned(),
            None => {
                let mut threads = lock(&self.threads);
                if !threads.contains(&thread.id()) {
                    threads.push(thread.id());
                }
                let n = threads.iter().position(|t| *t == thread.id()).unwrap_or(0);
                format!("thread {n}")
            }
        };
        let slice = Slice {
            file_id,
            thread: name,
            start: now(),
            compute_end: None,
            end: 0.0,
        };
        lock(&self.open).insert(thread.id(), slice);
    }

    /// This thread has computed its file and starts writing it.
    pub(crate) fn writing(&self) {
        if let Some(slice) = lock(&self.open).get_mut(&std::thread::current().id()) {
            slice.compute_end.get_or_insert(now());
        }
    }

    /// This thread is done with its file.
    pub(crate) fn end(&self) {
        if let Some(mut slice) = lock(&self.open).remove(&std::thread::current().id()) {
            slice.end = now();
            lock(&self.done).push(slice);
        }
    }

    pub(crate) fn take(&self) -> Vec<Slice> {
        std::mem::take(&mut *lock(&self.done))
    }
}

/// The Chrome trace-event JSON of `processes` (`(pid, name, slices)`): a track per thread, a
/// slice per file, with its compute and write phases inside it.
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
            let slice = |cat, name: &str, from: f64, to: f64| {
                serde_json::json!({"ph": "X", "name": name, "cat": cat, "pid": pid, "tid": tid,
                    "ts": from, "dur": to - from, "args": args})
            };
            events.push(slice(
                "file",
                &format!("file {}", s.file_id),
                s.start,
                s.end,
            ));
            match s.compute_end {
                Some(split) => {
                    events.push(slice("phase", "compute", s.start, split));
                    events.push(slice("phase", "write", split, s.end));
                }
                None => events.push(slice("phase", "compute and write", s.start, s.end)),
            }
        }
    }
    serde_json::json!({"traceEvents": events, "displayTimeUnit": "ms"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_runs_from_taking_a_file_up_to_its_end_with_its_write_inside() {
        let recorder = Recorder::default();
        recorder.start(7);
        recorder.writing();
        recorder.end();
        recorder.end(); // nothing open: nothing recorded
        let slices = recorder.take();
        assert_eq!(slices.len(), 1);
        let s = &slices[0];
        assert_eq!(s.file_id, 7);
        assert!(s.start <= s.compute_end.unwrap() && s.compute_end.unwrap() <= s.end);
        let json = chrome_json(&[(0, "write".into(), slices)]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let events = v["traceEvents"].as_array().unwrap();
        assert_eq!(events.iter().filter(|e| e["cat"] == "phase").count(), 2);
    }
}
