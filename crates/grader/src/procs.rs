//! Leaving no process behind. A program under test may start others — `mpirun` starts ranks,
//! which MPI may place in process groups of their own — and a stopped run must end them all.
//! The grader makes itself their *subreaper* ([`adopt_orphans`], once, in `main`): a process
//! whose parent dies becomes the grader's child rather than init's, so that after every run
//! [`end_everything_below`] can find, end and reap whatever is left.

use std::collections::BTreeSet;

/// Makes this process the one that orphans below it are re-parented to (Linux's
/// `PR_SET_CHILD_SUBREAPER`). Returns false where the system refuses.
pub fn adopt_orphans() -> bool {
    // SAFETY: prctl with an integer option and argument touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// The parent of every process, from /proc: `(pid, ppid)`.
fn parents() -> Vec<(i32, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command may hold spaces and parentheses: the fields start after the last ')'.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some((pid, fields.get(1)?.parse().ok()?))
        })
        .collect()
}

/// Every process below `root`: its children, theirs, and so on.
pub fn below(root: i32) -> BTreeSet<i32> {
    let all = parents();
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &all {
            if ppid == parent && found.insert(pid) {
                frontier.push(pid);
            }
        }
    }
    found
}

fn kill(pid: i32) {
    // SAFETY: kill(2) sends a signal; no memory is touched.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Ends `pid`'s process group and every process below `pid`.
pub fn end_tree(pid: i32) {
    let below = below(pid);
    kill(-pid);
    kill(pid);
    for p in below {
        kill(p);
    }
}

/// Ends and reaps every process below this one: what a finished or stopped run left (re-parented
/// here by [`adopt_orphans`]). Call it only when no child of the grader should still run.
pub fn end_everything_below() {
    let me = std::process::id() as i32;
    for _ in 0..50 {
        let left = below(me);
        for &pid in &left {
            kill(pid);
        }
        // Reap what has ended (zombies included), without waiting for the rest.
        loop {
            // SAFETY: waitpid on any child with WNOHANG; the status is written to our variable.
            let reaped = unsafe {
                let mut status = 0;
                libc::waitpid(-1, &mut status, libc::WNOHANG)
            };
            if reaped <= 0 {
                break;
            }
        }
        if left.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Tests that start processes take turns: ending everything below the test process would end
/// another test's children too.
#[cfg(test)]
pub(crate) static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_tree_leaves_nothing_behind() {
        let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        adopt_orphans();
        // A shell that starts a sleeper in a process group of its own, then waits.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 30 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let pid = child.id() as i32;
        assert!(!below(pid).is_empty(), "the sleeper is below the shell");
        end_tree(pid);
        let _ = child.wait();
        end_everything_below();
        assert!(below(std::process::id() as i32).is_empty());
    }
}
