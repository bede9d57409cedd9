//! What a rank does around MPI's own start: a check that runs before `main` (MPI is started by
//! the step's own `mpi::initialize()`, and this must come first), and the rank's shared-memory
//! segment, found once MPI has made it.

use gridgen::guard::{remove_on_abnormal_end, Line};

/// The address space an MPI rank needs to start at all (Open MPI 4.1 maps about 270 MiB here:
/// its libraries, shared-memory segments and threads' stacks). Below it, `MPI_Init` fails with a
/// page of diagnostics, or worse.
const MPI_ADDRESS_SPACE: u64 = 320 << 20;

/// The variables a launcher (mpirun, mpiexec, srun) gives every rank, with its rank number.
const RANK_VARIABLES: [&std::ffi::CStr; 3] = [c"OMPI_COMM_WORLD_RANK", c"PMIX_RANK", c"PMI_RANK"];

/// Runs before `main`, from the binary's `.init_array`, because it must come before
/// `MPI_Init` and the step calls `mpi::initialize()` as the first line of its own `main` (that
/// call is its lesson). A rank whose address-space limit (`ulimit -v`) cannot hold MPI ends here,
/// with one line from rank 0 and exit 1, instead of inside `MPI_Init` with a page of
/// diagnostics. Rust's runtime is not set up yet, so only the C library is called: `getenv`,
/// `getrlimit`, `open`/`read` for the program's name, `write`, `nanosleep`, `_exit`; nothing
/// allocates.
extern "C" fn before_main() {
    let Some(rank_is_zero) = launched_rank_is_zero() else {
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
    if rank_is_zero {
        let mut line = Line::default();
        push_program_name(&mut line);
        line.push(b": the address-space limit (ulimit -v) is ");
        line.number(limit.rlim_cur >> 20);
        line.push(b" MiB, too little to start MPI (it needs about ");
        line.number(MPI_ADDRESS_SPACE >> 20);
        line.push(b" MiB): raise it\n");
        line.write_to(2);
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

/// Whether this process is rank 0, if a launcher started it (`None` if none did).
fn launched_rank_is_zero() -> Option<bool> {
    RANK_VARIABLES.iter().find_map(|name| {
        // SAFETY: a NUL-terminated name; getenv returns a pointer into the environment, read
        // before anything could change it.
        let value = unsafe { libc::getenv(name.as_ptr().cast()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: getenv's value is a NUL-terminated string.
        let value = unsafe { std::ffi::CStr::from_ptr(value) };
        Some(value.to_bytes() == b"0")
    })
}

/// The program's name, as it was started (the file name of `/proc/self/cmdline`'s first word:
/// `comm` would cut it at 15 bytes), without allocating.
fn push_program_name(line: &mut Line) {
    let mut buffer = [0u8; 256];
    // SAFETY: a NUL-terminated path; read fills at most the buffer's length; the descriptor is
    // closed again.
    let read = unsafe {
        let fd = libc::open(
            c"/proc/self/cmdline".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            0
        } else {
            let n = libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len());
            libc::close(fd);
            n.max(0) as usize
        }
    };
    let first = buffer[..read].split(|&b| b == 0).next().unwrap_or_default();
    let name = first.rsplit(|&b| b == b'/').next().unwrap_or_default();
    line.push(if name.is_empty() { b"mpi" } else { name });
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
        let _ = remove_on_abnormal_end(dir, name);
    }
}
