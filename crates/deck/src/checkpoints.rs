//! Checkpoints: the line a learner should see after a command, captured from a real run. The
//! book, the instructor's guide and the deck include the captured line
//! (`workshop/src/checkpoints/<id>.txt`); a test runs each command again and fails when what it
//! prints no longer matches, numbers aside (times and rates differ from run to run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Who runs a checkpoint's command to hold it to its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckedBy {
    /// `deck checkpoints --check` (in `make test`), from the repository's root.
    Deck,
    /// `scripts/slurm-test.sh`, on the test Slurm (a job's output).
    SlurmTest,
    /// `scripts/learner-test.sh`, as a user without root (an exercise's grading).
    LearnerTest,
}

/// One checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: &'static str,
    /// What the learner types, from the repository's root.
    pub command: &'static str,
    /// The checkpoint is the first line of the output containing this.
    pub line_with: &'static str,
    pub checked_by: CheckedBy,
}

/// Every checkpoint, in the workshop's order.
pub const CHECKPOINTS: &[Checkpoint] = &[
    Checkpoint {
        id: "workshop",
        command: "make workshop",
        line_with: "Every step wrote",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "flamegraph",
        command: "make flamegraph STEP=write",
        line_with: "flamegraph: profiles/write.svg",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "diff",
        command: "make diff STEP=write_vectorized",
        line_with: "gridgen::meshgrid(&x, &y)",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "npy_shape",
        command: "make write_vectorized_binary && /usr/bin/python3 -c 'import numpy; print(numpy.load(\"output/write_vectorized_binary/data00000.npy\").shape)'",
        line_with: "(100, 100)",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "verify",
        command: "make verify STEP=write_vectorized_binary",
        line_with: "every check passes",
        checked_by: CheckedBy::LearnerTest,
    },
    Checkpoint {
        id: "workers",
        command: "make write_multiprocessing_queue W=2",
        line_with: "written by 2 workers",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "ranks",
        command: "make write_mpi_scatter NP=2",
        line_with: "written by 2 ranks",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "h5ls",
        command: "make write_final && h5ls -r output/write_final/data.h5",
        line_with: "/data00000",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "python",
        command: "make write_python",
        line_with: "write_python: 100 files",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "job",
        command: "make submit JOB=mpi",
        line_with: "job ",
        checked_by: CheckedBy::SlurmTest,
    },
];

/// The checkpoint called `id`.
pub fn find(id: &str) -> Result<&'static Checkpoint> {
    CHECKPOINTS
        .iter()
        .find(|c| c.id == id)
        .with_context(|| format!("no checkpoint '{id}' (crates/deck/src/checkpoints.rs)"))
}

/// Where its captured line is kept.
pub fn path(repo: &Path, id: &str) -> PathBuf {
    repo.join("workshop/src/checkpoints")
        .join(format!("{id}.txt"))
}

/// The captured line of checkpoint `id`.
pub fn captured(repo: &Path, id: &str) -> Result<String> {
    find(id)?;
    let path = path(repo, id);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: run `make checkpoints` (or the test that captures it)",
            path.display()
        )
    })?;
    Ok(text.trim_end().to_owned())
}

/// The line as compared: every number (`0.021`, `4757`) is `#`, so that a run's times and rates
/// do not count, but its words, names and layout do.
pub fn masked(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

/// The checkpoint's line in `output`.
pub fn line_in<'a>(checkpoint: &Checkpoint, output: &'a str) -> Option<&'a str> {
    output
        .lines()
        .find(|l| l.contains(checkpoint.line_with))
        .map(str::trim_end)
}

/// Fails when `seen` (a run's line) no longer matches the captured one.
pub fn check_line(repo: &Path, id: &str, seen: &str) -> Result<()> {
    let kept = captured(repo, id)?;
    if masked(&kept) != masked(seen) {
        bail!(
            "checkpoint '{id}' is stale: the book says\n  {kept}\nbut `{}` now prints\n  {seen}\n\
             run `make checkpoints` and read the chapters that include it",
            find(id)?.command
        );
    }
    Ok(())
}

/// Runs the checkpoint's command from `repo` (at most `limit`), and returns its line.
pub fn run(repo: &Path, checkpoint: &Checkpoint, limit: Duration) -> Result<String> {
    let out = Command::new("timeout")
        .arg(limit.as_secs().to_string())
        .args(["sh", "-c", checkpoint.command])
        .current_dir(repo)
        .output()
        .with_context(|| format!("cannot run `{}`", checkpoint.command))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("`{}` failed ({}):\n{text}", checkpoint.command, out.status);
    }
    line_in(checkpoint, &text)
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "`{}` printed no line with '{}':\n{text}",
                checkpoint.command, checkpoint.line_with
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_do_not_count_words_do() {
        let a = "write_mpi_scatter: 100 files of 100×100, 8.00 MB written by 2 ranks in 0.021 s";
        let b = "write_mpi_scatter: 100 files of 100×100, 8.00 MB written by 4 ranks in 1.5 s";
        assert_eq!(masked(a), masked(b));
        assert_ne!(masked(a), masked(&a.replace("ranks", "workers")));
        assert_eq!(masked("(100, 100)"), "(#, #)");
    }

    #[test]
    fn ids_are_unique_and_lines_are_found() {
        for (i, c) in CHECKPOINTS.iter().enumerate() {
            assert!(CHECKPOINTS[..i].iter().all(|d| d.id != c.id), "{}", c.id);
            assert!(!c.line_with.is_empty());
        }
        let c = find("workshop").unwrap();
        assert_eq!(
            line_in(c, "a\nEvery step wrote the same numbers, bit for bit.\n"),
            Some("Every step wrote the same numbers, bit for bit.")
        );
        assert!(find("nothing").is_err());
    }
}
