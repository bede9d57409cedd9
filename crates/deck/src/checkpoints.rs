//! Checkpoints: the line a learner should see after a command, captured from a real run. The
//! book, the instructor's guide and the deck include the captured line
//! (`workshop/src/checkpoints/<id>.txt`); a test runs each command again and fails when what it
//! prints no longer matches, numbers aside (times and rates differ from run to run).
//!
//! An exercise's checkpoints ("you should be here") are graded for real: the exercise is made in
//! a scratch folder, as `make exercise` makes it, and graded as it is (its lesson still to write)
//! or with the step's own code in it, as a learner's finished work.

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
    /// `deck checkpoints`, grading exercise `exercise` in a scratch folder: as generated, or
    /// `solved` with the step's own code.
    Graded {
        exercise: &'static str,
        solved: bool,
    },
    /// `deck checkpoints`, listing the scratch folder's exercises once the room's are solved.
    Listed,
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

/// A passing exercise's checkpoint: `make verify` of its finished code, its verdict line
/// (`line_with`: the exercise's name and a colon).
const fn passing(
    id: &'static str,
    exercise: &'static str,
    command: &'static str,
    line_with: &'static str,
) -> Checkpoint {
    Checkpoint {
        id,
        command,
        line_with,
        checked_by: CheckedBy::Graded {
            exercise,
            solved: true,
        },
    }
}

/// Every checkpoint, in the workshop's order.
pub const CHECKPOINTS: &[Checkpoint] = &[
    Checkpoint {
        id: "preflight",
        command: "make preflight",
        line_with: " missing",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "todo",
        command: "make verify STEP=write_vectorized",
        line_with: "write_vectorized: ",
        checked_by: CheckedBy::Graded {
            exercise: "write_vectorized",
            solved: false,
        },
    },
    Checkpoint {
        id: "workshop",
        command: "make workshop",
        line_with: "Every step wrote",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "write",
        command: "make write",
        line_with: "write: ",
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
    passing(
        "verify_write_vectorized",
        "write_vectorized",
        "make verify STEP=write_vectorized",
        "write_vectorized: ",
    ),
    Checkpoint {
        id: "npy_shape",
        command: "make write_vectorized_binary && /usr/bin/python3 -c 'import numpy; print(numpy.load(\"output/write_vectorized_binary/data00000.npy\").shape)'",
        line_with: "(100, 100)",
        checked_by: CheckedBy::Deck,
    },
    passing(
        "verify",
        "write_vectorized_binary",
        "make verify STEP=write_vectorized_binary",
        "write_vectorized_binary: ",
    ),
    Checkpoint {
        id: "exercises",
        command: "make exercises",
        line_with: "write_vectorized_binary",
        checked_by: CheckedBy::Listed,
    },
    Checkpoint {
        id: "pool",
        command: "make write_multiprocessing W=2",
        line_with: "written by 2 workers",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "timeline",
        command: "make timeline STEP=write_multiprocessing_queue N=60 S=200 W=2",
        line_with: "timeline: ",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "workers",
        command: "make write_multiprocessing_queue W=2",
        line_with: "written by 2 workers",
        checked_by: CheckedBy::Deck,
    },
    passing(
        "verify_write_multiprocessing_queue",
        "write_multiprocessing_queue",
        "make verify STEP=write_multiprocessing_queue",
        "write_multiprocessing_queue: ",
    ),
    Checkpoint {
        id: "rayon",
        command: "make write_rayon W=2",
        line_with: "written by 2 workers",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "mpi",
        command: "make write_mpi NP=2",
        line_with: "written by 2 ranks",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "ranks",
        command: "make write_mpi_scatter NP=2",
        line_with: "written by 2 ranks",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "diff_scatter",
        command: "make diff STEP=write_mpi_scatter",
        line_with: "scatter_varcount_into_root",
        checked_by: CheckedBy::Deck,
    },
    passing(
        "verify_write_mpi_scatter",
        "write_mpi_scatter",
        "make verify STEP=write_mpi_scatter",
        "write_mpi_scatter: ",
    ),
    Checkpoint {
        id: "hdf5",
        command: "make write_hdf5",
        line_with: "write_hdf5: ",
        checked_by: CheckedBy::Deck,
    },
    Checkpoint {
        id: "final",
        command: "make write_final NP=2",
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
        id: "diff_python",
        command: "make diff STEP=write_python",
        line_with: "from rust_kernel import",
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

/// The checkpoint's line in `output`; of an exercise's state in `make exercises`, the state
/// alone, without the note after it (how fast, which differs from run to run in words too).
pub fn line_in<'a>(checkpoint: &Checkpoint, output: &'a str) -> Option<&'a str> {
    let line = output
        .lines()
        .find(|l| l.contains(checkpoint.line_with))?
        .trim_end();
    Some(match checkpoint.checked_by {
        CheckedBy::Listed => line.split(';').next().unwrap_or(line),
        _ => line,
    })
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

/// The output (stdout then stderr) of `command` run from `dir`, at most `limit`; `Err` when it
/// cannot start or (with `must_succeed`) fails.
fn output(command: Command, what: &str, limit: Duration, must_succeed: bool) -> Result<String> {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let mut timed = Command::new("timeout");
    timed
        .arg(limit.as_secs().to_string())
        .arg(program)
        .args(args);
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let out = timed
        .output()
        .with_context(|| format!("cannot run `{what}`"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if must_succeed && !out.status.success() {
        bail!("`{what}` failed ({}):\n{text}", out.status);
    }
    Ok(text)
}

/// Where exercises are graded for their checkpoints: a folder of its own, not the learner's
/// `exercises/`.
pub struct Scratch {
    pub dir: PathBuf,
    /// The grader, `exercise`, built beside `deck`.
    pub grader: PathBuf,
}

impl Scratch {
    fn grade(&self, args: &[&str], limit: Duration, must_succeed: bool) -> Result<String> {
        let mut command = Command::new(&self.grader);
        command.args(args).arg("--exercises").arg(&self.dir);
        let what = format!("exercise {}", args.join(" "));
        output(command, &what, limit, must_succeed)
    }

    /// The step's own code in exercise `name`, as a learner's finished work (its sources without
    /// the book's anchor lines).
    fn solve(&self, repo: &Path, name: &str) -> Result<()> {
        let src = repo.join("crates").join(name).join("src");
        for entry in
            std::fs::read_dir(&src).with_context(|| format!("cannot read {}", src.display()))?
        {
            let path = entry?.path();
            let text = std::fs::read_to_string(&path)?;
            let to = self
                .dir
                .join(name)
                .join("src")
                .join(path.file_name().unwrap_or_default());
            std::fs::write(&to, steps::source::strip_anchors(&text))
                .with_context(|| format!("cannot write {}", to.display()))?;
        }
        Ok(())
    }
}

/// Runs the checkpoint's command (at most `limit`), and returns its line: a command from
/// `repo`, or an exercise graded in `scratch`.
pub fn run(
    repo: &Path,
    checkpoint: &Checkpoint,
    scratch: &Scratch,
    limit: Duration,
) -> Result<String> {
    let text = match checkpoint.checked_by {
        CheckedBy::Graded { exercise, solved } => {
            scratch.grade(&["new", exercise, "--reset"], limit, true)?;
            if solved {
                scratch.solve(repo, exercise)?;
            }
            // A failing grade is a line to capture too: the exercise as generated fails.
            scratch.grade(&["verify", exercise], limit, false)?
        }
        CheckedBy::Listed => scratch.grade(&["list"], limit, true)?,
        _ => {
            let mut command = Command::new("sh");
            command.args(["-c", checkpoint.command]).current_dir(repo);
            output(command, checkpoint.command, limit, true)?
        }
    };
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
