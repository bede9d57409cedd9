//! Refusing a grid that cannot fit, before allocating it.
//!
//! Two kinds of limit apply. A process's own: the address-space and data limits (`ulimit -v`,
//! `ulimit -d`), which count what this process maps. And the limits that the processes of one
//! node share: the memory the kernel has available, and the memory limit of the control group
//! (a Slurm job's `--mem`, a container's limit; cgroup v1 or v2, the tightest of the group and
//! its parents). The MPI steps add up what their ranks on one node need before comparing it
//! with a shared limit.

use std::path::{Path, PathBuf};

use super::refused::human;
use super::refused::Refused;

/// Bytes of one `size × size` grid of f64, or `None` if that overflows u64.
pub fn grid_bytes(size: usize) -> Option<u64> {
    (size as u64).checked_mul(size as u64)?.checked_mul(8)
}

/// What a run holds at once: `grids` grids of `size × size` f64 and `extra` bytes beside them
/// (lists that grow with the number of files). `None` when no machine has that much.
pub fn needed(size: usize, grids: u64, extra: u64) -> Option<u64> {
    grid_bytes(size)
        .and_then(|b| b.checked_mul(grids))
        .and_then(|b| b.checked_add(extra))
}

/// A limit, and how to name it in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Bytes still free under it.
    pub left: u64,
    /// "only 1.2 GiB is available", "the address-space limit (ulimit -v) leaves 200 MiB".
    pub says: String,
}

/// A run that needs more than any machine has: wrong on every machine.
pub fn impossible(size: usize, grids: u64) -> Refused {
    Refused::Impossible { size, grids }
}

/// Checks that one process alone, needing `need` bytes, fits under every limit.
pub fn check_fits(size: usize, grids: u64, extra: u64) -> Result<(), Refused> {
    let need = needed(size, grids, extra).ok_or_else(|| impossible(size, grids))?;
    check_against(size, grids, need, process_limit())?;
    check_against(size, grids, need, shared_limit())
}

/// Checks `need` (one process's, or what the ranks of a node need together) against `limit`.
pub fn check_against(
    size: usize,
    grids: u64,
    need: u64,
    limit: Option<Limit>,
) -> Result<(), Refused> {
    match limit {
        Some(limit) if need > limit.left => Err(Refused::TooLarge {
            size,
            grids,
            needed: need,
            limit: limit.says,
        }),
        _ => Ok(()),
    }
}

/// This process's own limits: what the tightest of `ulimit -v` and `ulimit -d` leaves.
pub fn process_limit() -> Option<Limit> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
            * 1024
    };
    let mut tightest: Option<Limit> = None;
    for (resource, used, name) in [
        (
            libc::RLIMIT_AS,
            kib("VmSize:"),
            "the address-space limit (ulimit -v)",
        ),
        (
            libc::RLIMIT_DATA,
            kib("VmData:"),
            "the data-size limit (ulimit -d)",
        ),
    ] {
        let Some(limit) = rlimit(resource) else {
            continue;
        };
        let left = limit.saturating_sub(used);
        if tightest.as_ref().is_none_or(|t| left < t.left) {
            tightest = Some(Limit {
                left,
                says: format!("{name} leaves {}", human(left)),
            });
        }
    }
    tightest
}

fn rlimit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return None;
    }
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The limits the processes of this node share: the kernel's `MemAvailable`, and what the
/// control group's limit leaves, whichever is tighter.
pub fn shared_limit() -> Option<Limit> {
    let available = available_memory();
    let group = cgroup_headroom();
    match (available, group) {
        (Some(a), Some(g)) if g < a => Some(Limit {
            left: g,
            says: cgroup_says(g),
        }),
        (Some(a), _) => Some(Limit {
            left: a,
            says: format!("only {} is available", human(a)),
        }),
        (None, Some(g)) => Some(Limit {
            left: g,
            says: cgroup_says(g),
        }),
        (None, None) => None,
    }
}

fn cgroup_says(left: u64) -> String {
    format!(
        "the memory limit of this job or container (its cgroup) leaves {}",
        human(left)
    )
}

fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// What the memory limits of this process's control group and its parents leave: cgroup v2
/// (`memory.max − memory.current`) or v1 (`memory.limit_in_bytes − memory.usage_in_bytes`).
fn cgroup_headroom() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut tightest: Option<u64> = None;
    for line in cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let (root, max, current) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let dir = Path::new(root).join(path.trim_start_matches('/'));
        if let Some(left) = headroom_up_from(&dir, Path::new(root), max, current) {
            tightest = Some(tightest.map_or(left, |t| t.min(left)));
        }
    }
    tightest
}

/// The tightest `max − current` from `dir` up to `root`. v1 writes "no limit" as a number near
/// 2^63, v2 as `max`.
fn headroom_up_from(dir: &Path, root: &Path, max: &str, current: &str) -> Option<u64> {
    let read = |d: &PathBuf, name: &str| -> Option<u64> {
        std::fs::read_to_string(d.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let mut tightest: Option<u64> = None;
    let mut at = dir.to_path_buf();
    loop {
        if let (Some(limit), Some(used)) = (read(&at, max), read(&at, current)) {
            if limit < 1 << 60 {
                let left = limit.saturating_sub(used);
                tightest = Some(tightest.map_or(left, |t| t.min(left)));
            }
        }
        if at == root || !at.pop() || !at.starts_with(root) {
            return tightest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_grids_fit_and_huge_ones_are_refused() {
        assert!(check_fits(100, 3, 0).is_ok());
        let err = check_fits(10_000_000, 3, 0).unwrap_err();
        let message = err.to_string();
        assert_eq!(
            crate::Error::from(err).exit_code(),
            1,
            "this machine refuses it"
        );
        assert!(message.contains("size 10000000 needs about"), "{message}");
    }

    #[test]
    fn overflowing_sizes_are_usage_errors() {
        assert_eq!(grid_bytes(usize::MAX), None);
        let impossible = check_fits(usize::MAX, 3, 0).unwrap_err();
        assert_eq!(crate::Error::from(impossible).exit_code(), 2);
        assert!(check_fits(1, 3, u64::MAX / 2).is_err());
    }

    #[test]
    fn a_limit_names_itself() {
        let limit = Limit {
            left: 10,
            says: "only 10 bytes".into(),
        };
        let err = check_against(2, 3, 96, Some(limit)).unwrap_err();
        assert!(err.to_string().ends_with("but only 10 bytes"), "{err}");
        assert!(check_against(2, 3, 96, None).is_ok());
    }

    #[test]
    fn cgroup_limits_are_read_up_the_tree() {
        let root = tempfile::tempdir().unwrap();
        let job = root.path().join("job_1");
        let task = job.join("step_0/task_0");
        std::fs::create_dir_all(&task).unwrap();
        std::fs::write(job.join("memory.max"), "1000\n").unwrap();
        std::fs::write(job.join("memory.current"), "400\n").unwrap();
        std::fs::write(task.join("memory.max"), "max\n").unwrap();
        std::fs::write(task.join("memory.current"), "10\n").unwrap();
        let left = headroom_up_from(&task, root.path(), "memory.max", "memory.current");
        assert_eq!(left, Some(600));
        std::fs::write(job.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(job.join("memory.usage_in_bytes"), "5\n").unwrap();
        let v1 = headroom_up_from(
            &task,
            root.path(),
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
        );
        assert_eq!(v1, None, "v1's 'no limit' is a huge number");
    }
}
