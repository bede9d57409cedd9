//! A run that did not end, diagnosed by what was running when it was stopped: every thread of
//! every process of the program — computing or waiting, in which system call, in which of the
//! learner's functions (from a debugger's backtrace where `gdb` is installed) and, for MPI, in
//! which MPI call — read from /proc before anything is killed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use steps::Launch;

use crate::cause::{Cause, Named, Topic, Tutor};
use crate::said;

/// One thread, as the kernel (and the debugger) saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Task {
    pub tid: i32,
    /// The thread's name (`worker-0`, `main`, the program's).
    pub name: String,
    /// It used CPU time while it was watched, or was runnable: computing, not waiting.
    pub busy: bool,
    /// The system call it waits in, by name (`futex`, `read`), when it waits in one.
    pub syscall: Option<String>,
    /// Its backtrace's functions, innermost first, `function at file:line` where known.
    pub frames: Vec<String>,
}

/// One process of the program (a rank, for MPI).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proc {
    pub pid: i32,
    pub rank: Option<usize>,
    pub tasks: Vec<Task>,
}

/// What was running when a run was stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub procs: Vec<Proc>,
    /// The visible (final) names in its output folder at that moment.
    pub final_files: usize,
    /// Bytes its output folder grew by in the seconds before: still writing, slow rather
    /// than hung.
    pub growing: Option<u64>,
}

/// `(user + system ticks, state)` of a thread.
fn ticks(pid: i32, tid: i32) -> Option<(u64, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let n = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some((n(11) + n(12), state))
}

fn tids(pid: i32) -> Vec<i32> {
    let mut tids: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort();
    tids
}

/// The name of x86-64 system call `nr`, for those a waiting program sits in.
fn syscall_name(nr: i64) -> String {
    let name = match nr {
        0 => "read",
        1 => "write",
        7 => "poll",
        23 => "select",
        24 => "sched_yield",
        35 => "nanosleep",
        45 => "recvfrom",
        47 => "recvmsg",
        61 => "wait4",
        202 => "futex",
        219 => "restart_syscall",
        230 => "clock_nanosleep",
        232 => "epoll_wait",
        247 => "waitid",
        270 => "pselect6",
        271 => "ppoll",
        281 => "epoll_pwait",
        _ => return format!("system call {nr}"),
    };
    name.to_string()
}

/// The system call a thread waits in, from /proc (`None` when it runs in its own code).
fn syscall_of(pid: i32, tid: i32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let nr: i64 = text.split_whitespace().next()?.parse().ok()?;
    (nr >= 0 && cfg!(target_arch = "x86_64")).then(|| syscall_name(nr))
}

/// Takes the snapshot of `pids` (the program's processes), watching them for `watch` to tell
/// computing from waiting, with a debugger's backtraces if `debugger`. `dir` is the run's
/// output folder.
pub fn take(pids: &[i32], dir: &Path, watch: Duration, debugger: bool) -> Snapshot {
    let before: Vec<(i32, Vec<(i32, u64)>)> = pids
        .iter()
        .map(|&pid| {
            let t = tids(pid)
                .into_iter()
                .filter_map(|tid| Some((tid, ticks(pid, tid)?.0)))
                .collect();
            (pid, t)
        })
        .collect();
    std::thread::sleep(watch);
    let procs = before
        .into_iter()
        .map(|(pid, tasks)| {
            // What the kernel says first: a debugger's attaching restarts the waits it stops.
            let mut tasks: Vec<Task> = tasks
                .into_iter()
                .map(|(tid, was)| {
                    let (now, state) = ticks(pid, tid).unwrap_or((was, 'S'));
                    let name = fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    Task {
                        tid,
                        name,
                        busy: now > was || state == 'R',
                        syscall: syscall_of(pid, tid),
                        frames: Vec::new(),
                    }
                })
                .collect();
            if debugger {
                for (tid, frames) in backtraces(pid) {
                    if let Some(task) = tasks.iter_mut().find(|t| t.tid == tid) {
                        task.frames = frames;
                    }
                }
            }
            Proc {
                pid,
                rank: crate::watch::rank_of(pid),
                tasks,
            }
        })
        .collect();
    let final_files = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    Snapshot {
        procs,
        final_files,
        growing: None,
    }
}

/// Every thread's backtrace, from `gdb` if it is installed and may attach: `(tid, frames)`.
fn backtraces(pid: i32) -> Vec<(i32, Vec<String>)> {
    let child = Command::new("gdb")
        .args(["-batch", "-nx", "-p", &pid.to_string()])
        .args(["-ex", "set pagination off", "-ex", "thread apply all bt 30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Vec::new();
    };
    let start = Instant::now();
    // A debugger that takes too long is left out: the diagnosis does without it.
    while child.try_wait().ok().flatten().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Vec::new();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut text);
    }
    parse_gdb(&text)
}

/// `Thread 2 (Thread 0x7f… (LWP 123) "worker-0"):` then `#0  0x… in f (…) at src/main.rs:9`.
pub fn parse_gdb(text: &str) -> Vec<(i32, Vec<String>)> {
    let mut out: Vec<(i32, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Thread ") {
            let tid = line
                .split("LWP ")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            out.push((tid, Vec::new()));
        } else if let (Some(rest), Some((_, frames))) = (line.strip_prefix('#'), out.last_mut()) {
            let after = rest.split_once(" in ").map_or(rest, |(_, f)| f);
            let after = after.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            let function = after.split(" (").next().unwrap_or(after).trim();
            let place = after.rsplit_once(" at ").map(|(_, p)| p.trim());
            frames.push(match place {
                Some(p) => format!("{function} at {p}"),
                None => function.to_string(),
            });
        }
    }
    out
}

/// The innermost frame in the learner's own code (functions of crate `binary`).
fn own_frame<'a>(task: &'a Task, binary: &str) -> Option<&'a str> {
    let prefix = format!("{binary}::");
    task.frames
        .iter()
        .find(|f| f.starts_with(&prefix))
        .map(String::as_str)
}

/// The MPI (or HDF5) call a thread waits in: `MPI_Recv`, `MPI_Allreduce`, `H5Fclose`.
fn library_call(task: &Task) -> Option<String> {
    task.frames.iter().rev().find_map(|f| {
        let name = f.split(" at ").next().unwrap_or(f);
        if let Some(mpi) = name.strip_prefix("PMPI_") {
            Some(format!("MPI_{mpi}"))
        } else if name.starts_with("MPI_") || name.starts_with("H5") && name.len() < 24 {
            Some(name.to_string())
        } else {
            None
        }
    })
}

/// What a thread was doing, in words: "computing in write_data at src/main.rs:40",
/// "waiting in futex, in worker at src/main.rs:98".
fn doing(task: &Task, binary: &str) -> String {
    let place = own_frame(task, binary)
        .map(|f| format!(", in {}", f.trim_start_matches(&format!("{binary}::"))))
        .unwrap_or_default();
    if task.busy {
        format!("computing{place}")
    } else {
        let what = task.syscall.as_deref().unwrap_or("the kernel");
        format!("waiting in {what}{place}")
    }
}

/// What a wait in `syscall` usually means.
fn meaning(syscall: &str) -> &'static str {
    match syscall {
        "futex" => "a lock, a channel or a thread's join that is never released or answered",
        "read" | "recvfrom" | "recvmsg" => "reading input that never comes",
        "nanosleep" | "clock_nanosleep" | "restart_syscall" => "a sleep that does not end",
        "wait4" | "waitid" => "waiting for a child process to end",
        _ => "an event that never comes",
    }
}

/// The failed check's lines and cause for a run that did not end, from `snapshot`.
pub fn diagnose(
    snapshot: &Snapshot,
    lines: &[said::Line],
    tutor: &Tutor,
    (n_files, ranks): (usize, usize),
    binary: &str,
) -> (Vec<String>, Named) {
    let mut details = Vec::new();
    for (rank, last) in said::last_lines(lines, 3) {
        let who = rank.map_or("it".to_string(), |r| format!("rank {r}"));
        details.push(format!("{who} said last: {}", last.join(" | ")));
    }
    if lines.is_empty() {
        details.push("it said nothing on stderr before it was stopped".into());
    }
    let named = match tutor.launch() {
        Launch::Mpi => mpi(snapshot, ranks, binary, tutor, &mut details),
        Launch::Threads => threads(snapshot, n_files, binary, tutor, &mut details),
        Launch::Serial | Launch::Python => serial(snapshot, binary, &mut details),
    };
    (details, named)
}

fn serial(snapshot: &Snapshot, binary: &str, details: &mut Vec<String>) -> Named {
    let Some(main) = snapshot.procs.first().and_then(|p| p.tasks.first()) else {
        return Named::new(Cause::HangBlocked, "it was stopped before it could be looked at: run it yourself with the same arguments and see where it stops");
    };
    details.push(format!("when stopped, it was {}", doing(main, binary)));
    let place = own_frame(main, binary)
        .map(|f| format!(" (in {})", f.trim_start_matches(&format!("{binary}::"))))
        .unwrap_or_default();
    if main.busy {
        Named::new(
            Cause::HangSpinning,
            format!("it was computing when it was stopped{place}, not waiting: a loop that never ends — a while whose condition never changes, or an index that never reaches its bound"),
        )
    } else {
        let syscall = main.syscall.as_deref().unwrap_or("the kernel");
        Named::new(
            Cause::HangBlocked,
            format!("it was waiting, using no CPU, in {syscall}{place}: {} — something it waits for never comes", meaning(syscall)),
        )
    }
}

fn threads(
    snapshot: &Snapshot,
    n_files: usize,
    binary: &str,
    tutor: &Tutor,
    details: &mut Vec<String>,
) -> Named {
    let tasks: Vec<&Task> = snapshot.procs.iter().flat_map(|p| &p.tasks).collect();
    for task in &tasks {
        details.push(format!(
            "thread {:?} was {}",
            task.name,
            doing(task, binary)
        ));
    }
    let see = tutor.see(Topic::Workers);
    if let Some(busy) = tasks.iter().find(|t| t.busy) {
        let place = own_frame(busy, binary)
            .map(|f| format!(" in {f}"))
            .unwrap_or_default();
        return Named::new(
            Cause::HangSpinning,
            format!(
                "thread {:?} was computing when stopped{place}: a loop that never ends {see}",
                busy.name
            ),
        );
    }
    let sleeps = ["nanosleep", "clock_nanosleep", "restart_syscall"];
    if let Some(sleeper) = tasks
        .iter()
        .find(|t| t.syscall.as_deref().is_some_and(|s| sleeps.contains(&s)))
    {
        let place = own_frame(sleeper, binary)
            .map(|f| format!(" in {f}"))
            .unwrap_or_default();
        return Named::new(
            Cause::HangBlocked,
            format!("thread {:?} was asleep when stopped{place}, and the others waited for it: a sleep that does not end (or is far too long) holds the run {see}", sleeper.name),
        );
    }
    if snapshot.final_files >= n_files {
        let sender = if tutor.capstone() {
            "drop the channel's Sender"
        } else {
            "drop the sending side (drop(queue), or let it go out of scope)"
        };
        return Named::new(
            Cause::HangChannelNotClosed,
            format!("all {} files were written, yet it did not end: its threads were all waiting, none computing — the workers wait for more file indices, because their channel was never closed. A worker's `for file_id in tasks` ends only once every Sender is dropped: {sender} after the last send, before waiting for the workers {see}", n_files),
        );
    }
    Named::new(
        Cause::HangThreadsDeadlocked,
        format!("only {} of {} files were written, and every thread was waiting for another: a bounded channel full with nobody receiving, a join before the last send, or a worker that stopped while the others still wait on it {see}", snapshot.final_files, n_files),
    )
}

fn mpi(
    snapshot: &Snapshot,
    ranks_run: usize,
    binary: &str,
    tutor: &Tutor,
    details: &mut Vec<String>,
) -> Named {
    let mut ranks: Vec<&Proc> = snapshot.procs.iter().filter(|p| p.rank.is_some()).collect();
    ranks.sort_by_key(|p| p.rank);
    let alive: Vec<usize> = ranks.iter().filter_map(|p| p.rank).collect();
    let exited: Vec<usize> = (0..ranks_run).filter(|r| !alive.contains(r)).collect();
    let mut calls: Vec<(usize, String)> = Vec::new();
    for proc in &ranks {
        let rank = proc.rank.unwrap_or(0);
        let main = proc.tasks.first();
        let call = main.and_then(library_call);
        let place = main
            .and_then(|t| own_frame(t, binary))
            .map(|f| {
                format!(
                    ", called from {}",
                    f.trim_start_matches(&format!("{binary}::"))
                )
            })
            .unwrap_or_default();
        let what = call
            .clone()
            .unwrap_or_else(|| main.map_or("?".into(), |t| doing(t, binary)));
        details.push(format!("rank {rank} was waiting in {what}{place}"));
        calls.push((rank, call.unwrap_or_default()));
    }
    if !exited.is_empty() {
        details.push(format!("{} had already ended", list("rank", &exited)));
    }
    let waiting: Vec<usize> = calls.iter().map(|(r, _)| *r).collect();
    let see = tutor.see(Topic::Agree);
    let sentence = if !exited.is_empty() && !waiting.is_empty() {
        format!("{} waited for {} that had already ended: a receive with no send left to answer it, or a collective that the ended ranks never called — every receive needs a send on the other rank, every collective every rank {see}",
            list("rank", &waiting), list("rank", &exited))
    } else {
        let kinds: std::collections::BTreeSet<&str> =
            calls.iter().map(|(_, c)| c.as_str()).collect();
        if kinds.len() > 1 {
            format!("the ranks waited in different calls ({}): a send or a receive that no matching call on the other rank answers, or a collective that not every rank calls — every send needs its receive, and every rank makes the same collective calls in the same order {see}",
                calls.iter().map(|(r, c)| format!("rank {r}: {}", if c.is_empty() { "?" } else { c })).collect::<Vec<_>>().join(", "))
        } else {
            format!("every rank waited in {}: a receive that no send answers, or a collective some rank reaches with other arguments — each receive needs its send, each collective every rank {see}",
                kinds.iter().next().filter(|k| !k.is_empty()).copied().unwrap_or("MPI"))
        }
    };
    Named::new(Cause::HangMpiWaiting, sentence)
}

/// "rank 2", "ranks 0, 1 and 3".
fn list(word: &str, items: &[usize]) -> String {
    match items {
        [one] => format!("{word} {one}"),
        _ => {
            let texts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            match texts.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{word}s {} and {last}", rest.join(", "))
                }
                _ => format!("{word}s {}", texts.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debuggers_backtrace_gives_each_threads_frames() {
        let text = "[New LWP 12]\nThread 2 (Thread 0x7f (LWP 12) \"worker-0\"):\n#0  0x00007f in syscall () from /lib/libc.so.6\n#1  0x000055 in my_write_rayon::worker (tasks=...) at write_rayon/src/main.rs:98\n\nThread 1 (Thread 0x7e (LWP 11) \"my_write_rayon\"):\n#0  PMPI_Recv (buf=0x1) at precv.c:80\n";
        let parsed = parse_gdb(text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, 12);
        assert_eq!(
            parsed[0].1[1],
            "my_write_rayon::worker at write_rayon/src/main.rs:98"
        );
        let task = Task {
            frames: parsed[1].1.clone(),
            ..Task::default()
        };
        assert_eq!(library_call(&task).as_deref(), Some("MPI_Recv"));
        assert_eq!(list("rank", &[0, 1, 3]), "ranks 0, 1 and 3");
    }

    fn task(name: &str, busy: bool, syscall: &str, frames: &[&str]) -> Task {
        Task {
            tid: 1,
            name: name.into(),
            busy,
            syscall: Some(syscall.into()),
            frames: frames.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn one(tasks: Vec<Task>, rank: Option<usize>, final_files: usize) -> Snapshot {
        Snapshot {
            procs: vec![Proc {
                pid: 1,
                rank,
                tasks,
            }],
            final_files,
            growing: None,
        }
    }

    #[test]
    fn threads_waiting_after_every_file_never_had_their_channel_closed() {
        let threads = crate::exercise::Exercise::find("write_multiprocessing_queue").unwrap();
        let tasks = vec![
            task("main", false, "futex", &[]),
            task(
                "worker-0",
                false,
                "futex",
                &["my_q::worker at src/main.rs:9"],
            ),
        ];
        let (details, named) = diagnose(
            &one(tasks.clone(), None, 3),
            &[],
            &Tutor::new(threads),
            (3, 2),
            "my_q",
        );
        assert_eq!(named.kind, Cause::HangChannelNotClosed);
        assert!(
            details
                .iter()
                .any(|d| d.contains("in worker at src/main.rs:9")),
            "{details:?}"
        );
        assert!(!named.sentence.contains("rank"), "{}", named.sentence);
        let named = diagnose(
            &one(tasks, None, 1),
            &[],
            &Tutor::new(threads),
            (3, 2),
            "my_q",
        )
        .1;
        assert_eq!(named.kind, Cause::HangThreadsDeadlocked);
    }

    #[test]
    fn a_serial_loop_is_named_where_it_spins_and_mpi_only_for_mpi() {
        let serial = crate::exercise::Exercise::find("write_vectorized").unwrap();
        let tasks = vec![task(
            "main",
            true,
            "",
            &["my_v::write_data at src/main.rs:40"],
        )];
        let named = diagnose(
            &one(tasks, None, 0),
            &[],
            &Tutor::new(serial),
            (3, 1),
            "my_v",
        )
        .1;
        assert_eq!(named.kind, Cause::HangSpinning);
        assert!(
            named.sentence.contains("write_data at src/main.rs:40")
                && !named.sentence.contains("MPI")
        );
        let mpi = crate::exercise::Exercise::find("write_mpi").unwrap();
        let tasks = vec![task(
            "main",
            true,
            "",
            &["PMPI_Recv at precv.c:1", "my_m::my_files at src/main.rs:70"],
        )];
        let (details, named) = diagnose(
            &one(tasks, Some(1), 2),
            &[],
            &Tutor::new(mpi),
            (3, 2),
            "my_m",
        );
        assert_eq!(named.kind, Cause::HangMpiWaiting);
        assert!(
            named
                .sentence
                .starts_with("rank 1 waited for rank 0 that had already ended"),
            "{}",
            named.sentence
        );
        let said = "rank 1 was waiting in MPI_Recv, called from my_files at src/main.rs:70";
        assert!(details.iter().any(|d| d == said), "{details:?}");
    }

    #[test]
    fn a_spinning_thread_is_seen_computing_and_a_sleeping_one_waiting() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let me = std::process::id() as i32;
        let spinner = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("spinner".into())
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
                .unwrap()
        };
        let sleeper = std::thread::Builder::new()
            .name("sleeper".into())
            .spawn(|| std::thread::sleep(Duration::from_secs(3)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let dir = tempfile::tempdir().unwrap();
        let snapshot = take(&[me], dir.path(), Duration::from_millis(400), false);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        let tasks = &snapshot.procs[0].tasks;
        let spin = tasks.iter().find(|t| t.name == "spinner").unwrap();
        let sleep = tasks.iter().find(|t| t.name == "sleeper").unwrap();
        assert!(spin.busy, "{spin:?}");
        assert!(!sleep.busy, "{sleep:?}");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                sleep.syscall.as_deref(),
                Some("clock_nanosleep"),
                "{sleep:?}"
            );
        }
        drop(sleeper);
    }
}
