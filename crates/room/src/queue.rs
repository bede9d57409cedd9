//! The learner's results waiting to go: one file a result in `exercises/.room/queue/`, each
//! written whole or not at all, removed once the room has acknowledged it. A room out of
//! reach costs nothing but a queued file; the next verify sends it.

use std::io;
use std::path::{Path, PathBuf};

use crate::files;
use crate::report::Report;

/// The most results kept waiting: past it the oldest go (a learner offline all day).
pub const QUEUE_MAX: usize = 500;

/// A result on its way, and where it waits.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub path: PathBuf,
    pub report: Report,
}

#[derive(Debug, Clone)]
pub struct Queue {
    dir: PathBuf,
}

impl Queue {
    pub fn new(dir: impl Into<PathBuf>) -> Queue {
        Queue { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues `report`: named by when it finished and its id, so that names sort oldest first.
    pub fn push(&self, report: &Report) -> io::Result<()> {
        let name = format!("{:011}-{}.json", report.finished_at, report.id);
        let bytes = serde_json::to_vec(report).map_err(io::Error::other)?;
        files::write_whole(&self.dir.join(name), &bytes)?;
        self.trim()
    }

    /// Every result waiting, oldest first. A file that is not a report (changed by hand) is
    /// removed: it could never be sent.
    pub fn waiting(&self) -> io::Result<Vec<Waiting>> {
        let mut out = Vec::new();
        for path in self.files()? {
            match std::fs::read(&path) {
                Ok(bytes) => match serde_json::from_slice::<Report>(&bytes) {
                    Ok(report) if report.check().is_ok() => out.push(Waiting { path, report }),
                    _ => remove(&path)?,
                },
                // Sent and removed by another verify just now.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Removes results the room acknowledged (or refused for good).
    pub fn remove(&self, done: &[Waiting]) -> io::Result<()> {
        done.iter().try_for_each(|w| remove(&w.path))
    }

    /// The queue's files, oldest first; no folder is no queue.
    fn files(&self) -> io::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && !name.starts_with('.') {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    fn trim(&self) -> io::Result<()> {
        let files = self.files()?;
        let extra = files.len().saturating_sub(QUEUE_MAX);
        files[..extra].iter().try_for_each(|p| remove(p))
    }
}

fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Id, Kind, Name, Verdict};

    fn report(finished_at: u64) -> Report {
        Report {
            id: Id::random().unwrap(),
            learner: Id::random().unwrap(),
            name: Name::parse("ada").unwrap(),
            exercise: Kind::parse("write_vectorized", "exercise").unwrap(),
            verdict: Verdict::Passed,
            failed_check: None,
            cause: None,
            speed_ratio: Some(1.02),
            finished_at,
        }
    }

    #[test]
    fn waits_oldest_first_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::new(dir.path().join("queue"));
        assert!(queue.waiting().unwrap().is_empty());
        let (late, early) = (report(1_765_140_100), report(1_765_140_000));
        queue.push(&late).unwrap();
        queue.push(&early).unwrap();
        let waiting = queue.waiting().unwrap();
        let ids: Vec<_> = waiting.iter().map(|w| w.report.id.clone()).collect();
        assert_eq!(ids, [early.id, late.id]);
        queue.remove(&waiting[..1]).unwrap();
        queue.remove(&waiting[..1]).unwrap();
        assert_eq!(queue.waiting().unwrap().len(), 1);
    }

    #[test]
    fn a_file_that_is_no_report_is_dropped_and_the_queue_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::new(dir.path());
        std::fs::write(dir.path().join("00000000000-junk.json"), "{ half").unwrap();
        queue.push(&report(1_765_140_000)).unwrap();
        assert_eq!(queue.waiting().unwrap().len(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        for i in 0..QUEUE_MAX as u64 + 5 {
            queue.push(&report(1_765_150_000 + i)).unwrap();
        }
        let waiting = queue.waiting().unwrap();
        assert_eq!(waiting.len(), QUEUE_MAX);
        assert_eq!(waiting[0].report.finished_at, 1_765_150_005);
    }
}
