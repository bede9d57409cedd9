//! What a run did that its files cannot show, seen while it runs: which names appeared in its
//! output folder and how (created under the name, or renamed into it), from the kernel's
//! inotify events; and which of its threads and processes wrote how much, sampled from /proc.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The names an output folder saw appear during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// How many times each name was created in place (opened new under that name).
    pub created: BTreeMap<String, usize>,
    /// How many times a file was renamed to each name.
    pub renamed_to: BTreeMap<String, usize>,
    /// The kernel dropped events (its queue overflowed): the counts are incomplete.
    pub overflowed: bool,
}

impl Events {
    /// How many times `name` got a file, created or renamed to it.
    pub fn arrivals(&self, name: &str) -> usize {
        self.created.get(name).copied().unwrap_or(0)
            + self.renamed_to.get(name).copied().unwrap_or(0)
    }
}

/// An inotify watch on one folder, read once the run is over (the kernel queues the events).
pub struct Watcher {
    fd: i32,
}

impl Watcher {
    /// Watches `dir` for files created in it or moved into it; `None` where inotify is not
    /// available.
    pub fn new(dir: &Path) -> Option<Watcher> {
        let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: inotify_init1 takes flags only; the returned descriptor is ours to close.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        let watcher = Watcher { fd };
        // SAFETY: the path is a valid C string that outlives the call.
        let wd = unsafe {
            libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_CREATE | libc::IN_MOVED_TO)
        };
        (wd >= 0).then_some(watcher)
    }

    /// Every event queued so far.
    pub fn events(&self) -> Events {
        let mut events = Events::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: read(2) into a buffer we own, of its length.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return events;
            }
            parse(&buf[..n as usize], &mut events);
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// Reads the `struct inotify_event`s in `bytes`.
fn parse(bytes: &[u8], events: &mut Events) {
    const HEAD: usize = std::mem::size_of::<libc::inotify_event>();
    let mut at = 0;
    while at + HEAD <= bytes.len() {
        let field =
            |k: usize| u32::from_ne_bytes(bytes[at + k..at + k + 4].try_into().unwrap_or([0; 4]));
        let (mask, len) = (field(4), field(12) as usize);
        let raw = bytes.get(at + HEAD..at + HEAD + len).unwrap_or_default();
        let name =
            String::from_utf8_lossy(raw.split(|&b| b == 0).next().unwrap_or_default()).into_owned();
        if mask & libc::IN_Q_OVERFLOW != 0 {
            events.overflowed = true;
        } else if mask & libc::IN_CREATE != 0 {
            *events.created.entry(name).or_default() += 1;
        } else if mask & libc::IN_MOVED_TO != 0 {
            *events.renamed_to.entry(name).or_default() += 1;
        }
        at += HEAD + len;
    }
}

/// What the threads and processes of a run wrote, as sampled while it ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writers {
    /// Bytes written, by thread (process id, thread id) of the program's own process(es).
    pub by_thread: BTreeMap<(i32, i32), u64>,
    /// Bytes written and write calls, by process.
    pub by_process: BTreeMap<i32, (u64, u64)>,
    /// The most threads one process had at once.
    pub most_threads: usize,
    /// MPI ranks seen, by process (from the launcher's environment variables).
    pub ranks: BTreeMap<i32, usize>,
    /// How many samples were taken.
    pub samples: usize,
}

impl Writers {
    /// Threads that wrote at least `bytes`.
    pub fn threads_writing(&self, bytes: u64) -> usize {
        self.by_thread.values().filter(|&&b| b >= bytes).count()
    }

    /// Ranks that wrote at least `bytes`, and the ranks seen.
    pub fn ranks_writing(&self, bytes: u64) -> (BTreeSet<usize>, BTreeSet<usize>) {
        let seen: BTreeSet<usize> = self.ranks.values().copied().collect();
        let writing = self
            .ranks
            .iter()
            .filter(|(pid, _)| self.by_process.get(pid).is_some_and(|(b, _)| *b >= bytes))
            .map(|(_, r)| *r)
            .collect();
        (writing, seen)
    }

    /// Bytes written by every process sampled (at least).
    pub fn write_bytes(&self) -> u64 {
        self.by_process.values().map(|(bytes, _)| bytes).sum()
    }

    /// Write calls of every process sampled (at least: the last ones may fall between samples).
    pub fn write_calls(&self) -> u64 {
        self.by_process.values().map(|(_, calls)| calls).sum()
    }

    /// Takes one sample of `pids` (the run's processes).
    pub fn sample(&mut self, pids: &[i32]) {
        self.samples += 1;
        for &pid in pids {
            if let Some((bytes, calls)) = io_of(&format!("/proc/{pid}/io")) {
                let entry = self.by_process.entry(pid).or_default();
                *entry = (entry.0.max(bytes), entry.1.max(calls));
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = self.ranks.entry(pid) {
                if let Some(rank) = rank_of(pid) {
                    slot.insert(rank);
                }
            }
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            let mut count = 0;
            for tid in tasks
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            {
                count += 1;
                if let Some((bytes, _)) = io_of(&format!("/proc/{pid}/task/{tid}/io")) {
                    let entry = self.by_thread.entry((pid, tid)).or_default();
                    *entry = (*entry).max(bytes);
                }
            }
            self.most_threads = self.most_threads.max(count);
        }
    }
}

/// `wchar` and `syscw` of an io file in /proc.
fn io_of(path: &str) -> Option<(u64, u64)> {
    let text = fs::read_to_string(path).ok()?;
    let field = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((field("wchar:")?, field("syscw:")?))
}

/// The MPI rank of process `pid`, from the environment its launcher gave it.
pub fn rank_of(pid: i32) -> Option<usize> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|var| {
        let text = std::str::from_utf8(var).ok()?;
        ["OMPI_COMM_WORLD_RANK=", "PMI_RANK=", "PMIX_RANK="]
            .iter()
            .find_map(|key| text.strip_prefix(key)?.parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_created_and_renamed_into_a_folder_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let watcher = Watcher::new(dir.path()).expect("inotify on Linux");
        fs::write(dir.path().join("data00000.npy"), "in place").unwrap();
        fs::write(dir.path().join(".hidden"), "whole").unwrap();
        fs::rename(dir.path().join(".hidden"), dir.path().join("data00001.npy")).unwrap();
        fs::write(dir.path().join(".again"), "whole").unwrap();
        fs::rename(dir.path().join(".again"), dir.path().join("data00001.npy")).unwrap();
        let events = watcher.events();
        assert_eq!(events.created.get("data00000.npy"), Some(&1));
        assert_eq!(events.arrivals("data00001.npy"), 2);
        assert_eq!(events.created.get("data00001.npy"), None);
        assert!(!events.overflowed);
    }

    #[test]
    fn a_threads_writes_are_seen_while_it_runs() {
        let mut writers = Writers::default();
        let me = std::process::id() as i32;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::thread::scope(|s| {
            let handle = s.spawn(|| {
                fs::write(&path, vec![0u8; 1 << 20]).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
            });
            std::thread::sleep(std::time::Duration::from_millis(150));
            writers.sample(&[me]);
            handle.join().unwrap();
        });
        assert!(writers.threads_writing(1 << 20) >= 1, "{writers:?}");
        assert!(writers.most_threads >= 2);
        assert!(writers.write_calls() >= 1);
    }
}
