//! What a rank does around MPI's own start: a guard that runs before `main` (MPI is started by
//! the step's own `mpi::initialize()`), and the rank's shared-memory segment, found once MPI has
//! made it.

use std::os::unix::ffi::OsStrExt;

/// The address space an MPI rank needs to start at all (Open MPI 4.1 maps about 270 MiB here:
/// its libraries, shared-memory segments and threads' stacks). Below it, `MPI_Init` fails with a
/// page of diagnostics, or worse.
const MPI_ADDRESS_SPACE: u64 = 320 << 20;

/// The variables a launcher (mpirun, mpiexec, srun) gives every rank, with its rank number.
const RANK_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"];

/// Runs before `main` (it is in the binary's `.init_array`): a rank whose address-space limit
/// (`ulimit -v`) cannot hold MPI ends at once, with one line from rank 0 and exit 1, instead of
/// inside `MPI_Init`. Only the C library is used: Rust's runtime is not set up yet.
extern "C" fn before_main() {
    let rank = RANK_VARIABLES.iter().find_map(std::env::var_os);
    let Some(rank) = rank else {
        return; // not started by a launcher: one plain process
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
        || limit.rlim_cur >= MPI_ADDRESS_SPACE
    {
        return;
    }
    if rank.as_bytes() == b"0" {
        let line = format!(
            "{}: the address-space limit (ulimit -v) is {} MiB, too little to start MPI (it needs about {} MiB): raise it\n",
            program_name(),
            limit.rlim_cur >> 20,
            MPI_ADDRESS_SPACE >> 20
        );
        // SAFETY: write to stderr from a valid buffer.
        unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    } else {
        // The other ranks wait for rank 0 to say why: the launcher ends the job at the first
        // rank that exits, and a rank 0 started a moment later would be killed before its line.
        // Rank 0's exit ends them sooner; the wait is only the upper bound.
        let wait = libc::timespec {
            tv_sec: 5,
            tv_nsec: 0,
        };
        // SAFETY: nanosleep reads the struct it is given; no remainder is asked for.
        unsafe { libc::nanosleep(&wait, std::ptr::null_mut()) };
    }
    // SAFETY: ends the process; nothing has started yet.
    unsafe { libc::_exit(1) }
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "mpi".into())
}

#[used]
#[link_section = ".init_array"]
static BEFORE_MAIN: extern "C" fn() = before_main;

/// The shared-memory segment this rank created (Open MPI's `vader_segment.<node>.<job>.<local
/// rank>` in /dev/shm), which `MPI_Finalize` removes; a rank that ends without finalizing (a
/// signal, a file left unclosed) must remove it itself. Found among the files this process has
/// mapped, so never another job's.
pub(crate) fn remember_own_segment() {
    let Some(local) = std::env::var_os("OMPI_COMM_WORLD_LOCAL_RANK") else {
        return;
    };
    let suffix = format!(".{}", local.to_string_lossy());
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let own = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter_map(|path| path.strip_prefix("/dev/shm/"))
        .find(|name| name.starts_with("vader_segment.") && name.ends_with(&suffix));
    if let (Some(name), Ok(dir)) = (own, std::fs::File::open("/dev/shm")) {
        let _ = gridgen::frame::remove_on_abnormal_end(dir, name);
    }
}
