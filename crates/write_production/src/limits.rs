//! What a run needs, checked before anything is created, and refused with the numbers.
//!
//! A run that does not fit fails late and badly: after an hour in the queue and ten minutes of
//! writing, a full disk or a memory limit ends it with a half-written file, or the kernel kills
//! it without a word (the job's memory limit, `ulimit -f`). Everything that can be known before
//! the run is checked first, each against the limit that applies, and a run that cannot fit is
//! refused with one line that names the limit and both numbers, and exit code 1 (this machine
//! cannot; another might). Exit code 2 is for a command that no machine could run.
//!
//! - Before MPI starts: the address space MPI itself needs (`ulimit -v`), the threads it starts
//!   (`ulimit -u`, the user's processes and threads), and a file count MPI can count (its counts
//!   are C ints).
//! - The file: its bytes against the free space of the output folder's filesystem, and against
//!   the file-size limit (`ulimit -f`); its hidden name against the filesystem's longest name.
//! - Memory: what each rank holds at once (its grids, its batch of planes, the lists of file
//!   indices) against its own limits (`ulimit -v`, `ulimit -d`), and what the ranks of one node
//!   hold **together** against what the node has: its available memory, and the memory limit
//!   of the job (Slurm's `--mem`, enforced by the job's control group, its *cgroup*).

use std::path::{Path, PathBuf};

use gridgen::{launcher_rank, Args};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use rustix::process::{getrlimit, Resource};

/// Bytes of the file beyond its data, at most: HDF5's superblock, the dataset's header and the
/// four attributes (a run of 20 files of 10×10 takes 2 048 bytes more than its data).
pub const METADATA_BYTES: u64 = 64 << 10;

/// The address space an MPI rank needs to start at all (Open MPI 4.1 maps about 270 MiB here:
/// its libraries, shared-memory files and threads' stacks). Below it, `MPI_Init` fails with a
/// page of diagnostics.
const MPI_ADDRESS_SPACE: u64 = 320 << 20;

/// The threads of a rank (measured with Open MPI 4.1: the main one, two of MPI's own, and two
/// of this step's: the plain steps' signal thread and the watch of `signals`).
const THREADS: u64 = 5;
/// A rank started without a launcher (a "singleton") starts one too, `orted`, with its threads.
const LAUNCHER_THREADS: u64 = 4;

/// What the checks refuse, each with the numbers that decided it.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// More files than an MPI count can describe: wrong on every machine.
    #[error("{n_files} files are more than an MPI count can describe (at most {max})")]
    TooManyForMpi { n_files: usize, max: i32 },
    #[error("the address-space limit (ulimit -v) is {}, too little to start MPI (it needs about {})", human(*.limit), human(MPI_ADDRESS_SPACE))]
    MpiAddressSpace { limit: u64 },
    #[error("the process limit (ulimit -u) allows {limit} processes and threads for this user, {running} are running, and the run starts {needed} more")]
    Processes {
        limit: u64,
        running: u64,
        needed: u64,
    },
    #[error("size {size} needs about {} of memory ({grids} grids of {size}×{size} f64 and the file lists) but {limit}", human(*.needed))]
    Memory {
        size: usize,
        grids: u64,
        needed: u64,
        /// What limits it, with its number: "only 1.2 GiB is available".
        limit: String,
    },
    #[error("the run writes about {} but {} has only {} free", human(*.needed), .path.display(), human(*.available))]
    NoSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("the file takes about {} but the file-size limit (ulimit -f) is {}", human(*.needed), human(*.limit))]
    FileSize { needed: u64, limit: u64 },
    #[error("the hidden name {name:?} is {} bytes, more than the {limit} that the filesystem of {} allows (use a shorter -o)", .name.len(), .dir.display())]
    NameTooLong {
        name: String,
        limit: usize,
        dir: PathBuf,
    },
}

// ANCHOR: before_mpi
/// Before MPI starts: a command no machine could run ends here with exit code 2, a rank that
/// MPI could not start in with 1 — rank 0 saying why, in one line, instead of MPI's page of
/// diagnostics.
pub fn before_mpi(args: &Args) {
    let (refused, code) = if args.n_files > i32::MAX as usize {
        let max = i32::MAX;
        (
            Some(Refused::TooManyForMpi {
                n_files: args.n_files,
                max,
            }),
            2,
        )
    } else {
        (mpi_start().err(), 1)
    };
    let Some(refused) = refused else { return };
    // Every rank finds the same. Rank 0 says it; the others wait for it a moment, as the
    // launcher ends the whole job when the first rank exits.
    if launcher_rank().unwrap_or(0) == 0 {
        eprintln!("Error: {refused}");
    } else {
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
    std::process::exit(code)
}
// ANCHOR_END: before_mpi

/// What MPI needs to start: address space and threads.
fn mpi_start() -> Result<(), Refused> {
    if let Some(limit) = getrlimit(Resource::As).current {
        if limit < MPI_ADDRESS_SPACE {
            return Err(Refused::MpiAddressSpace { limit });
        }
    }
    check_processes()
}

/// The user's processes and threads and those the run will start, against `ulimit -u` (which
/// root is not held to): past it, MPI cannot start its threads.
fn check_processes() -> Result<(), Refused> {
    let Some(limit) = getrlimit(Resource::Nproc).current else {
        return Ok(());
    };
    if rustix::process::getuid().is_root() {
        return Ok(());
    }
    let running = tasks_of(rustix::process::getuid().as_raw());
    // This process's own first thread is running already.
    let mut needed = THREADS - 1;
    if launcher_rank().is_none() {
        needed += LAUNCHER_THREADS;
    }
    if running.saturating_add(needed) > limit {
        return Err(Refused::Processes {
            limit,
            running,
            needed,
        });
    }
    Ok(())
}

/// The processes and threads whose real user is `uid` (what `ulimit -u` counts).
fn tasks_of(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let field = |status: &str, key: &str| -> Option<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        line.split_whitespace().next()?.parse().ok()
    };
    entries
        .flatten()
        // Processes only: /proc also lists `self` and `thread-self`, which are this one again.
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| field(status, "Uid:") == Some(u64::from(uid)))
        .filter_map(|status| field(&status, "Threads:"))
        .sum()
}

// ANCHOR: check
/// The run's needs against every limit, before anything is created: `grids` grids of
/// `size × size` held by each rank. Collective: the ranks of each node add up what they hold.
pub fn check(args: &Args, world: &SimpleCommunicator, grids: u64) -> Result<(), Refused> {
    let file_bytes = (args.n_files as u64)
        .saturating_mul(grid_bytes(args.size))
        .saturating_add(METADATA_BYTES);
    let on = nearest_existing(&args.dir);
    // The indices of every file on rank 0 while it hands them out, and each rank's own share.
    let lists = (args.n_files as u64).saturating_mul(16);
    let memory = grid_bytes(args.size)
        .saturating_mul(grids)
        .saturating_add(lists);
    let mine = check_name(args, &on)
        .and_then(|()| check_file_size(file_bytes))
        .and_then(|()| check_space(&on, file_bytes))
        .and_then(|()| check_memory(args.size, grids, memory, process_limit()));
    // Every rank takes part in the node's sum, whatever its own checks found.
    let node = check_node(world, args.size, grids, memory);
    mine.and(node)
}
// ANCHOR_END: check

/// Bytes of one `size × size` grid of f64.
fn grid_bytes(size: usize) -> u64 {
    (size as u64).saturating_mul(size as u64).saturating_mul(8)
}

/// The hidden name `.data.h5~<pid>~<host>~<random>` must fit the filesystem's longest name.
fn check_name(args: &Args, on: &Path) -> Result<(), Refused> {
    let host = rustix::system::uname().nodename().to_bytes().len();
    let name = format!(
        ".{}.h5~{}~{}~XXXXXX",
        args.output,
        u32::MAX,
        "h".repeat(host)
    );
    let limit = rustix::fs::statvfs(on).map_or(255, |s| s.f_namemax as usize);
    if name.len() > limit {
        let dir = on.to_owned();
        return Err(Refused::NameTooLong { name, limit, dir });
    }
    Ok(())
}

/// The file against `ulimit -f`: a write that crosses it fails half-way, on one rank.
fn check_file_size(needed: u64) -> Result<(), Refused> {
    match getrlimit(Resource::Fsize).current {
        Some(limit) if needed > limit => Err(Refused::FileSize { needed, limit }),
        _ => Ok(()),
    }
}

/// The file against the free space of the filesystem it will be on (blocks free to users who
/// are not root). A filesystem that reports no blocks at all (some network ones) is not judged.
fn check_space(on: &Path, needed: u64) -> Result<(), Refused> {
    let Ok(stat) = rustix::fs::statvfs(on) else {
        return Ok(());
    };
    let available = stat.f_bavail.saturating_mul(stat.f_frsize);
    if available > 0 && needed > available {
        let path = on.to_owned();
        return Err(Refused::NoSpace {
            path,
            needed,
            available,
        });
    }
    Ok(())
}

/// `dir` itself if it exists, else its nearest ancestor that does: the filesystem a folder
/// about to be created will be on.
fn nearest_existing(dir: &Path) -> PathBuf {
    let mut at = dir.to_path_buf();
    while !at.exists() {
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    at
}

/// A limit on memory, and how to name it in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Limit {
    /// Bytes still free under it.
    left: u64,
    /// "only 1.2 GiB is available".
    says: String,
}

fn check_memory(size: usize, grids: u64, needed: u64, limit: Option<Limit>) -> Result<(), Refused> {
    match limit {
        Some(limit) if needed > limit.left => Err(Refused::Memory {
            size,
            grids,
            needed,
            limit: limit.says,
        }),
        _ => Ok(()),
    }
}

/// What the ranks of this node hold together, against what the node has; checked by the
/// node's first rank. Collective over the world.
fn check_node(
    world: &SimpleCommunicator,
    size: usize,
    grids: u64,
    mine: u64,
) -> Result<(), Refused> {
    let node = world.split_shared(world.rank());
    let mut total = 0u64;
    node.all_reduce_into(&mine, &mut total, SystemOperation::sum());
    if node.rank() != 0 {
        return Ok(());
    }
    let ranks = node.size() as u64;
    let limit = shared_limit().map(|l| match ranks {
        1 => l,
        _ => Limit {
            says: format!("{} (for {ranks} ranks on this node together)", l.says),
            ..l
        },
    });
    check_memory(size, grids.saturating_mul(ranks), total, limit)
}

/// This process's own limits: what the tighter of `ulimit -v` and `ulimit -d` leaves of what
/// it has mapped already.
fn process_limit() -> Option<Limit> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let used = |key: &str| kib(&status, key).unwrap_or(0);
    [
        (
            Resource::As,
            used("VmSize:"),
            "the address-space limit (ulimit -v)",
        ),
        (
            Resource::Data,
            used("VmData:"),
            "the data-size limit (ulimit -d)",
        ),
    ]
    .into_iter()
    .filter_map(|(resource, used, name)| {
        let left = getrlimit(resource).current?.saturating_sub(used);
        let says = format!("{name} leaves {}", human(left));
        Some(Limit { left, says })
    })
    .min_by_key(|l| l.left)
}

/// What the processes of this node share: the kernel's available memory, and what the memory
/// limit of this job's control group (and of the groups above it) leaves, whichever is tighter.
fn shared_limit() -> Option<Limit> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let available = kib(&meminfo, "MemAvailable:").map(|left| Limit {
        left,
        says: format!("only {} is available", human(left)),
    });
    let group = cgroup_headroom().map(|left| Limit {
        left,
        says: format!(
            "the memory limit of this job or container (its cgroup) leaves {}",
            human(left)
        ),
    });
    available.into_iter().chain(group).min_by_key(|l| l.left)
}

/// `Key:   1234 kB` in a /proc file, in bytes.
fn kib(text: &str, key: &str) -> Option<u64> {
    let value = text.lines().find_map(|l| l.strip_prefix(key))?;
    let kib: u64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// What the memory limits of this process's control group and its parents leave: cgroup v2
/// (`memory.max − memory.current`) or v1 (`memory.limit_in_bytes − memory.usage_in_bytes`).
fn cgroup_headroom() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let (root, max, current) = if controllers.is_empty() {
                ("/sys/fs/cgroup", "memory.max", "memory.current")
            } else if controllers.split(',').any(|c| c == "memory") {
                let v1 = ("memory.limit_in_bytes", "memory.usage_in_bytes");
                ("/sys/fs/cgroup/memory", v1.0, v1.1)
            } else {
                return None;
            };
            let dir = Path::new(root).join(path.trim_start_matches('/'));
            headroom_up_from(&dir, Path::new(root), max, current)
        })
        .min()
}

/// The tightest `max − current` from `dir` up to `root`. v1 writes "no limit" as a number near
/// 2^63, v2 as `max`.
fn headroom_up_from(dir: &Path, root: &Path, max: &str, current: &str) -> Option<u64> {
    let read = |d: &Path, name: &str| -> Option<u64> {
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

/// Bytes in a unit one reads at a glance.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 40 {
        format!("{:.1} TiB", b / (1u64 << 40) as f64)
    } else if bytes >= 1 << 30 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_names_itself_with_the_numbers() {
        let limit = Limit {
            left: 10,
            says: "only 10 bytes are left".into(),
        };
        let err = check_memory(2, 3, 96, Some(limit)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "size 2 needs about 0.1 KiB of memory (3 grids of 2×2 f64 and the file lists) but only 10 bytes are left"
        );
        assert!(check_memory(2, 3, 96, None).is_ok());
        assert_eq!(human(3 << 20), "3.0 MiB");
        assert_eq!(human(5 << 30), "5.0 GiB");
        assert_eq!(human(3 << 40), "3.0 TiB");
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

    #[test]
    fn a_folder_not_made_yet_is_judged_by_its_nearest_ancestor() {
        let here = std::env::temp_dir();
        assert_eq!(nearest_existing(&here.join("no/such/folder")), here);
        assert!(check_space(&here, 1).is_ok());
        let err = check_space(&here, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("free"), "{err}");
    }
}
