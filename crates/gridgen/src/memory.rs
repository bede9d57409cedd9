//! Refusing a grid that cannot fit, before allocating it.

use crate::{Error, Result};

/// Bytes of one `size × size` grid of f64, or `None` if that overflows u64.
pub fn grid_bytes(size: usize) -> Option<u64> {
    (size as u64).checked_mul(size as u64)?.checked_mul(8)
}

/// Checks that `grids` grids of `size × size` f64, and `extra` bytes beside them (lists that
/// grow with the number of files), fit in the memory this process may use.
pub fn check_fits(size: usize, grids: u64, extra: u64) -> Result<()> {
    let needed = grid_bytes(size)
        .and_then(|b| b.checked_mul(grids))
        .and_then(|b| b.checked_add(extra));
    let available = available_bytes();
    match (needed, available) {
        (Some(needed), Some(available)) if needed <= available => Ok(()),
        (Some(_), None) => Ok(()), // no way to tell on this system: let the allocator decide
        (needed, available) => Err(Error::TooLarge {
            size,
            grids,
            needed: needed.unwrap_or(u64::MAX),
            available: available.unwrap_or(u64::MAX),
        }),
    }
}

/// Memory this process may still use: the kernel's `MemAvailable`, lowered by the limit of its
/// cgroup (a Slurm job's `--mem`, a container's limit) where one is set.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let system = kib * 1024;
    Some(match cgroup_headroom() {
        Some(limit) => system.min(limit),
        None => system,
    })
}

/// cgroup v2: `memory.max - memory.current` of this process's own cgroup, if it has a limit.
fn cgroup_headroom() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" means no limit
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_grids_fit_and_huge_ones_are_refused() {
        assert!(check_fits(100, 3, 0).is_ok());
        let err = check_fits(10_000_000, 3, 0).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let message = err.to_string();
        assert!(message.contains("size 10000000 needs about"), "{message}");
        assert!(message.contains("is available"), "{message}");
    }

    #[test]
    fn overflowing_sizes_are_refused_not_wrapped() {
        assert_eq!(grid_bytes(usize::MAX), None);
        assert!(check_fits(usize::MAX, 3, 0).is_err());
        assert!(check_fits(1, 3, u64::MAX / 2).is_err());
    }
}
