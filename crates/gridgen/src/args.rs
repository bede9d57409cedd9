//! The command line every step shares. The short flags of the Python original (-n, -s, -o) carry
//! over so the slides' commands work unchanged.

use std::path::PathBuf;

use clap::{ArgMatches, Parser};

/// A step's name and one-line lesson, taken from its Cargo.toml by [`step!`](crate::step).
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub name: &'static str,
    pub about: &'static str,
}

/// The calling crate's [`Step`]: its package name and description.
#[macro_export]
macro_rules! step {
    () => {
        $crate::Step {
            name: env!("CARGO_PKG_NAME"),
            about: env!("CARGO_PKG_DESCRIPTION"),
        }
    };
}

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
}

/// What the runner needs from a step's arguments: the shared ones, and how many grids the step
/// holds at once (for the memory check).
pub trait StepArgs: Parser {
    fn common(&self) -> &Args;
    /// Grids of `size × size` f64 held at once: the meshgrid pair and one result by default.
    fn grids_in_memory(&self) -> u64 {
        3
    }
}

impl StepArgs for Args {
    fn common(&self) -> &Args {
        self
    }
}

/// Parses the process's arguments for `step`. On a usage error, returns clap's message cut to
/// its first line (the cause); `--help` and `--version` come back as `Ok(None)` after printing.
pub fn parse<A: StepArgs>(step: Step) -> Result<Option<A>, String> {
    let command = A::command()
        .name(step.name)
        .bin_name(step.name)
        .about(step.about);
    let parsed = command
        .try_get_matches()
        .and_then(|matches: ArgMatches| A::from_arg_matches(&matches));
    match parsed {
        Ok(args) => Ok(Some(args)),
        Err(e) if !e.use_stderr() => {
            // --help or --version: print to stdout, a successful exit.
            let _ = e.print();
            Ok(None)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            Err(format!(
                "{} (see --help)",
                first.trim_start_matches("error: ").trim()
            ))
        }
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

fn file_prefix(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("the prefix must not be empty".into())
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
