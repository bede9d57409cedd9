//! The command line every step shares. The short flags of the Python original (-n, -s, -o) carry
//! over so the slides' commands work unchanged.

use std::path::PathBuf;

use clap::{ArgMatches, Parser};

use steps::Step;

use crate::error::Usage;
use crate::guard::MAX_WORKERS;
pub use gridgen_contract::summary::{WorkersFrom, SLURM_CPUS_PER_TASK};

/// Arguments shared by every step.
#[derive(Debug, Clone, Parser)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Number of files to write (file indices 0 … n-1)
    #[arg(short = 'n', long = "n-files", default_value_t = 15, value_parser = at_least_one)]
    pub n_files: usize,
    /// Grid size: each file holds a size × size array
    #[arg(short, long, default_value_t = 100, value_parser = at_least_one)]
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
    /// Sample the run and draw a flamegraph into this SVG (the folded stacks go beside it); a
    /// PATH.folded keeps the samples alone, to merge several runs (make flamegraph)
    #[arg(long, value_name = "PATH.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Samples per second for --flamegraph (the kernel allows about 250 per busy thread)
    #[arg(long, default_value_t = 999, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    pub profile_hz: i32,
    /// Record a timeline of the run: a Chrome trace-event file (open it in Perfetto)
    #[arg(long, value_name = "PATH.json")]
    pub trace: Option<PathBuf>,
}

/// What the runner needs from a step's arguments: the shared ones, and how many grids the step
/// holds at once (for the memory check).
pub trait StepArgs: Parser {
    fn common(&self) -> &Args;
    /// Grids of `size × size` f64 held at once: the meshgrid pair and one result by default.
    fn grids_in_memory(&self) -> u64 {
        3
    }
    /// Checks and completes the arguments after parsing (for defaults taken from the environment).
    fn resolve(&mut self) -> Result<(), Usage> {
        Ok(())
    }
    /// Adds what these arguments decided (workers, ranks) to the run's summary.
    fn annotate(&self, _summary: &mut crate::Summary) {}
}

impl StepArgs for Args {
    fn common(&self) -> &Args {
        self
    }
}

/// Parses the process's arguments for `step`. A usage error is [`crate::Error::Usage`] with clap's
/// message cut to its first line (the cause); `--help` and `--version` come back as `Ok(None)`
/// after printing (only if `print_help`: under MPI only rank 0 prints).
pub fn parse<A: StepArgs>(step: &'static Step, print_help: bool) -> crate::Result<Option<A>> {
    let command = A::command()
        .name(step.name)
        .bin_name(step.name)
        .about(step.about);
    let parsed = command
        .try_get_matches()
        .and_then(|matches: ArgMatches| A::from_arg_matches(&matches));
    match parsed {
        Ok(mut args) => {
            args.resolve()?;
            Ok(Some(args))
        }
        Err(e) if !e.use_stderr() => {
            // --help or --version: print to stdout, a successful exit.
            if print_help {
                let _ = e.print();
            }
            Ok(None)
        }
        Err(e) => {
            // clap's message is the cause, a blank line, then advice: keep the cause, on one
            // line even when it quotes a value with a newline in it.
            let rendered = e.render().to_string();
            let cause = rendered.split("\n\n").next().unwrap_or("invalid arguments");
            let cause = cause
                .trim_start_matches("error: ")
                .trim()
                .replace('\n', "\\n");
            Err(Usage::Command { cause }.into())
        }
    }
}

/// Arguments of the thread steps: the shared ones and the number of workers.
#[derive(Debug, Clone, Parser)]
#[command(allow_negative_numbers = true)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub common: Args,
    /// Worker threads [default: $SLURM_CPUS_PER_TASK inside a Slurm job, else 1]
    #[arg(short, long, value_parser = worker_count)]
    pub workers: Option<usize>,
    /// Where the worker count came from, for the summary.
    #[arg(skip)]
    workers_from: Option<WorkersFrom>,
}

impl WorkerArgs {
    /// The number of worker threads, resolved at parse time.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or(1)
    }

    /// `-w` if given, else `SLURM_CPUS_PER_TASK` (so a job's `--cpus-per-task` is used without
    /// repeating it), else 1. `from_slurm` is the variable's value, if set.
    fn resolve_workers(&mut self, from_slurm: Option<String>) -> Result<(), Usage> {
        if self.workers.is_some() {
            self.workers_from = Some(WorkersFrom::Flag);
            return Ok(());
        }
        match from_slurm {
            Some(text) => {
                let n = worker_count(text.trim()).map_err(|why| Usage::FromEnvironment {
                    variable: SLURM_CPUS_PER_TASK,
                    why,
                    instead: "-w",
                })?;
                self.workers = Some(n);
                self.workers_from = Some(WorkersFrom::Slurm);
            }
            None => {
                self.workers = Some(1);
                self.workers_from = Some(WorkersFrom::Default);
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for WorkerArgs {
    type Target = Args;
    /// `args.size`, `args.n_files`, … read the same in every step.
    fn deref(&self) -> &Args {
        &self.common
    }
}

impl StepArgs for WorkerArgs {
    fn common(&self) -> &Args {
        &self.common
    }
    /// Each worker holds its own meshgrid pair and result, and the main thread one more set.
    fn grids_in_memory(&self) -> u64 {
        3 * (self.workers() as u64 + 1)
    }
    fn resolve(&mut self) -> Result<(), Usage> {
        self.resolve_workers(std::env::var(SLURM_CPUS_PER_TASK).ok())
    }
    fn annotate(&self, summary: &mut crate::Summary) {
        summary.workers = Some(self.workers());
        summary.workers_from = self.workers_from;
    }
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

/// At most [`MAX_WORKERS`]: more threads than cores only wait for each other; thousands exhaust
/// the system's thread limit and each one's stack, so a typo (`-w 20000`) is refused here, not
/// met halfway through starting them.
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
            "the prefix '{text}' starts with a dot: its files would be hidden (and the run's own temporary files are the ones whose names start so)"
        ))
    } else if text.chars().any(char::is_control) {
        Err(format!(
            "the prefix {text:?} has a control character; file names here are plain text"
        ))
    } else if text.chars().any(std::path::is_separator) || text.contains('\0') {
        Err(format!(
            "the prefix names files, not folders: '{text}' has a path separator (use --dir)"
        ))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_whole_and_positive() {
        assert_eq!(at_least_one("12"), Ok(12));
        assert!(at_least_one("0").unwrap_err().contains("at least 1"));
        assert!(at_least_one("-3").unwrap_err().contains("got -3"));
        assert!(at_least_one("ten").unwrap_err().contains("'ten'"));
        assert!(at_least_one("1.5").is_err());
    }

    #[test]
    fn prefixes_are_plain_file_names() {
        assert_eq!(file_prefix("data").as_deref(), Ok("data"));
        assert!(file_prefix("").is_err());
        assert!(file_prefix("a/b").unwrap_err().contains("path separator"));
        assert!(file_prefix("a\nb")
            .unwrap_err()
            .contains("control character"));
        for dotted in [".", "..", ".data"] {
            assert!(file_prefix(dotted)
                .unwrap_err()
                .contains("starts with a dot"));
        }
        assert!(!file_prefix("a\nb").unwrap_err().contains('\n'));
    }

    #[test]
    fn workers_come_from_the_flag_then_slurm_then_one() {
        let parse = |argv: &[&str], slurm: Option<&str>| {
            let mut args = WorkerArgs::try_parse_from(argv).unwrap();
            args.resolve_workers(slurm.map(str::to_owned))
                .map(|()| args)
        };
        let args = parse(&["w", "-w", "3"], Some("8")).unwrap();
        assert_eq!(
            (args.workers(), args.workers_from),
            (3, Some(WorkersFrom::Flag))
        );
        let args = parse(&["w"], Some("8")).unwrap();
        assert_eq!(
            (args.workers(), args.workers_from),
            (8, Some(WorkersFrom::Slurm))
        );
        let args = parse(&["w"], None).unwrap();
        assert_eq!(
            (args.workers(), args.workers_from),
            (1, Some(WorkersFrom::Default))
        );
        assert!(parse(&["w"], Some("lots"))
            .unwrap_err()
            .to_string()
            .contains(SLURM_CPUS_PER_TASK));
        assert!(WorkerArgs::try_parse_from(["w", "-w", "0"]).is_err());
        assert!(WorkerArgs::try_parse_from(["w", "-w", "1024"]).is_ok());
        assert!(WorkerArgs::try_parse_from(["w", "-w", "1025"]).is_err());
        assert!(parse(&["w"], Some("5000")).is_err());
        assert_eq!(
            parse(&["w", "-w", "4"], None).unwrap().grids_in_memory(),
            15
        );
    }

    #[test]
    fn defaults_match_the_workshop() {
        let args = Args::try_parse_from(["write"]).unwrap();
        assert_eq!((args.n_files, args.size), (15, 100));
        assert_eq!(args.output, "data");
        assert_eq!(args.dir, PathBuf::from("output"));
        let args = Args::try_parse_from(["write", "-n", "3", "-s", "7", "-o", "run"]).unwrap();
        assert_eq!(
            (args.n_files, args.size, args.output.as_str()),
            (3, 7, "run")
        );
    }
}
