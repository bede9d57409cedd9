//! The command line every step shares, as the Python scripts' argparse reads it: `-n`, `-s`,
//! `-o`, `--dir`, and `-w` in the steps with worker threads. A wrong argument is one line on
//! stderr and exit code 2: it is wrong on every machine.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser};
pub use gridgen_contract::summary::{WorkersFrom, SLURM_CPUS_PER_TASK};

/// The largest grid side: `size × size` values of 8 bytes must fit in some machine's memory
/// (2^23 is 512 TiB a grid).
const MAX_SIZE: usize = 1 << 23;
/// More worker threads than this only wait for each other, and thousands exhaust the system's
/// thread limit: a typo such as `-w 20000` is refused.
const MAX_WORKERS: usize = 1024;

/// The arguments of a step (`args.n_files`, `args.size`, …).
#[derive(Debug, Clone, Parser)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Number of files to write (file indices 0 … n-1)
    #[arg(short = 'n', long = "n-files", default_value_t = 15, value_parser = at_least_one)]
    pub n_files: usize,
    /// Grid size: each file holds a size × size array
    #[arg(short, long, default_value_t = 100, value_parser = grid_size)]
    pub size: usize,
    /// File-name prefix: files are named <prefix><index:05>.<ext>
    #[arg(short, long, default_value = "data", value_parser = file_prefix)]
    pub output: String,
    /// Output folder, created if missing
    #[arg(long, default_value = "output")]
    pub dir: PathBuf,
    /// Print the run summary as one JSON object instead of a sentence
    #[arg(long)]
    pub json: bool,
    /// Sample the run and draw a flamegraph into this SVG (PATH.folded: the samples alone)
    #[arg(long, value_name = "PATH.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Samples per second for --flamegraph (the kernel allows about 250 per busy thread)
    #[arg(long, default_value_t = 999, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    pub profile_hz: i32,
    /// Record a timeline of the run: a Chrome trace-event file (open it in Perfetto)
    #[arg(long, value_name = "PATH.json")]
    pub trace: Option<PathBuf>,
    /// Worker threads, in the steps that have them (`-w`); 1 elsewhere.
    #[arg(skip = 1usize)]
    pub workers: usize,
    /// Where `workers` came from, in the steps that have them.
    #[arg(skip)]
    pub workers_from: Option<WorkersFrom>,
}

impl Args {
    /// The process's arguments. A wrong one ends the program: one line, exit code 2.
    pub fn parse() -> Args {
        parse_or_exit(false)
    }

    /// The process's arguments with `-w`, the number of worker threads: given, else the Slurm
    /// job's `--cpus-per-task` (`SLURM_CPUS_PER_TASK`), else 1.
    pub fn parse_with_workers() -> Args {
        parse_or_exit(true)
    }

    /// The program's name: the file name it was started as (`write_vectorized`).
    pub fn program() -> String {
        let argv0 = std::env::args_os().next().unwrap_or_default();
        let path = PathBuf::from(argv0);
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        if name.is_empty() {
            "gridgen".to_owned()
        } else {
            name.into_owned()
        }
    }
}

fn parse_or_exit(with_workers: bool) -> Args {
    let argv: Vec<_> = std::env::args_os().collect();
    let from_slurm = std::env::var(SLURM_CPUS_PER_TASK).ok();
    match parse_from(&argv, with_workers, from_slurm) {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help or --version: printed to stdout, a successful exit.
            let _ = e.print();
            std::process::exit(0)
        }
        Err(e) => {
            // Under an MPI launcher every rank reads the same arguments: rank 0 alone says so,
            // and ends first, so that mpirun's stop of the others does not lose its line.
            match launcher_rank() {
                Some(rank) if rank > 0 => std::thread::sleep(std::time::Duration::from_secs(1)),
                _ => eprintln!("Error: {}", first_line(&e)),
            }
            std::process::exit(2)
        }
    }
}

/// This process's rank, if an MPI launcher (Open MPI's, MPICH's, Slurm's) started it as one
/// of several: each process of a job is told its rank in its environment.
pub fn launcher_rank() -> Option<usize> {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Parses `argv`; `from_slurm` is `SLURM_CPUS_PER_TASK`, if set.
fn parse_from(
    argv: &[std::ffi::OsString],
    with_workers: bool,
    from_slurm: Option<String>,
) -> Result<Args, clap::Error> {
    let program = Args::program();
    let about = steps::find(&program).map_or("A step of the HPC with Rust workshop.", |s| s.about);
    let mut command = Args::command()
        .name(program.clone())
        .bin_name(program)
        .about(about);
    if with_workers {
        command = command.arg(
            Arg::new("workers")
                .short('w')
                .long("workers")
                .value_parser(worker_count)
                .help("Worker threads [default: $SLURM_CPUS_PER_TASK inside a Slurm job, else 1]"),
        );
    }
    let matches: ArgMatches = command.clone().try_get_matches_from(argv)?;
    let mut args = Args::from_arg_matches(&matches)?;
    if with_workers {
        let given = matches.get_one::<usize>("workers").copied();
        let (workers, from) = match (given, from_slurm) {
            (Some(n), _) => (n, WorkersFrom::Flag),
            (None, Some(text)) => {
                let n = worker_count(text.trim()).map_err(|why| {
                    command.error(
                        clap::error::ErrorKind::ValueValidation,
                        format!("{SLURM_CPUS_PER_TASK}={text:?}: {why}; give -w instead"),
                    )
                })?;
                (n, WorkersFrom::Slurm)
            }
            (None, None) => (1, WorkersFrom::Default),
        };
        (args.workers, args.workers_from) = (workers, Some(from));
    }
    Ok(args)
}

/// clap's message without its advice and usage lines: the cause, on one line.
fn first_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let cause = rendered.split("\n\n").next().unwrap_or("invalid arguments");
    cause
        .trim_start_matches("error: ")
        .trim()
        .replace('\n', " ")
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<i128>() {
        Ok(v) if v >= 1 && v <= usize::MAX as i128 => Ok(v as usize),
        Ok(v) if v < 1 => Err(format!("must be at least 1, got {v}")),
        _ => Err(format!(
            "expected a whole number of at least 1, got '{text}'"
        )),
    }
}

fn grid_size(text: &str) -> Result<usize, String> {
    let n = at_least_one(text)?;
    if n > MAX_SIZE {
        return Err(format!(
            "a {n} × {n} grid is larger than any machine's memory (at most {MAX_SIZE})"
        ));
    }
    Ok(n)
}

fn worker_count(text: &str) -> Result<usize, String> {
    let n = at_least_one(text)?;
    if n > MAX_WORKERS {
        return Err(format!(
            "{n} workers is more than the {MAX_WORKERS} a step starts (a worker per core is what pays)"
        ));
    }
    Ok(n)
}

fn file_prefix(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("the prefix must not be empty".into())
    } else if text.starts_with('.') {
        Err(format!(
            "the prefix '{text}' starts with a dot: its files would be hidden, like the run's unfinished ones"
        ))
    } else if text.chars().any(char::is_control) {
        Err(format!("the prefix {text:?} has a control character"))
    } else if text.contains('~') || text.chars().any(std::path::is_separator) {
        Err(format!(
            "the prefix '{text}' has a '/' or '~': it names files, not folders (use --dir)"
        ))
    } else if text.len() > 200 {
        Err(format!(
            "the prefix is {} bytes long: file names stop at 255",
            text.len()
        ))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests;
