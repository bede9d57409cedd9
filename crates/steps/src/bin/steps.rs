//! `steps`: the step table for scripts and for `make steps`.
//!
//!     steps regenerate                 rewrite the files derived from the table
//!     steps check                      list the derived files that disagree with it (exit 1)
//!     steps list [--launch L] [--needs N] [--format F]
//!                                      the names, one a line (L: serial, threads, mpi;
//!                                      N: rust, hdf5, mpi, parallel-hdf5; F: txt, npy, h5)
//!     steps get NAME FIELD             one field: launch, format, needs, predecessor, lesson,
//!                                      about, chapter, number
//!     steps diff PRED STEP             what STEP changes against PRED, as a learner reads it
//!                                      (`make diff`, the book's diffs): `diff -u` of the files
//!                                      source::diff_pairs names, without ANCHOR markers
//!
//! Paths are relative to the repository's root, found from this crate's location.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use steps::{derived, source, Format, Launch, Needs, Step, STEPS};

/// The project's folder: the one whose `target/` holds this program (a prepared folder copied
/// elsewhere works on its own files), else the one it was built from.
fn root() -> PathBuf {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = std::env::current_exe().ok();
    let beside = exe.as_deref().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .take(4)
            .find(|dir| dir.file_name().is_some_and(|n| n == "target"))
            .and_then(Path::parent)
            .filter(|dir| dir.join("crates/steps/src/lib.rs").is_file())
            .map(Path::to_path_buf)
    });
    let root = beside.unwrap_or(built_from);
    root.canonicalize().unwrap_or(root)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&words) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(why)) => {
            eprintln!("steps: {why} (see the top of crates/steps/src/bin/steps.rs)");
            ExitCode::from(2)
        }
        Err(Failure::Stale(paths)) => {
            for p in paths {
                eprintln!(
                    "steps: {} disagrees with the step table: run `make steps`",
                    p
                );
            }
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Stale(Vec<String>),
}

fn run(words: &[&str]) -> Result<(), Failure> {
    match words {
        ["regenerate"] => regenerate(),
        ["check"] => check(),
        ["list", filters @ ..] => list(filters),
        ["get", name, field] => get(name, field),
        ["diff", pred, step] => diff(pred, step),
        _ => Err(Failure::Usage(format!("unknown command {words:?}"))),
    }
}

fn regenerate() -> Result<(), Failure> {
    let stale = derived::stale(&root()).map_err(Failure::Usage)?;
    for (path, text) in &stale {
        std::fs::write(path, text)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
        println!("steps: wrote {}", path.display());
    }
    if stale.is_empty() {
        println!("steps: every derived file agrees with the table");
    }
    Ok(())
}

fn check() -> Result<(), Failure> {
    let stale = derived::stale(&root()).map_err(Failure::Usage)?;
    if stale.is_empty() {
        return Ok(());
    }
    Err(Failure::Stale(
        stale.iter().map(|(p, _)| p.display().to_string()).collect(),
    ))
}

/// One `--launch`, `--needs` or `--format` condition.
type Filter = Box<dyn Fn(&Step) -> bool>;

fn list(filters: &[&str]) -> Result<(), Failure> {
    let mut keep: Vec<Filter> = Vec::new();
    for pair in filters.chunks(2) {
        let [flag, value] = pair else {
            return Err(Failure::Usage(format!("{pair:?} needs a value")));
        };
        let value = value.to_string();
        match *flag {
            "--launch" => {
                let launch = parse_launch(&value)?;
                keep.push(Box::new(move |s| s.launch == launch));
            }
            "--needs" => {
                let needs = parse_needs(&value)?;
                keep.push(Box::new(move |s| s.needs() == needs));
            }
            "--format" => {
                let format = Format::from_ext(&value)
                    .ok_or_else(|| Failure::Usage(format!("no format {value}")))?;
                keep.push(Box::new(move |s| s.format == format));
            }
            other => return Err(Failure::Usage(format!("unknown filter {other}"))),
        }
    }
    for step in STEPS.iter().filter(|s| keep.iter().all(|k| k(s))) {
        println!("{}", step.name);
    }
    Ok(())
}

fn parse_launch(value: &str) -> Result<Launch, Failure> {
    Launch::ALL
        .into_iter()
        .find(|l| l.key() == value)
        .ok_or_else(|| Failure::Usage(format!("no launch kind {value}")))
}

fn parse_needs(value: &str) -> Result<Needs, Failure> {
    Needs::ALL
        .into_iter()
        .find(|n| n.key() == value)
        .ok_or_else(|| Failure::Usage(format!("no needs {value}")))
}

fn get(name: &str, field: &str) -> Result<(), Failure> {
    let step = steps::find(name).ok_or_else(|| Failure::Usage(format!("no step {name}")))?;
    let value = match field {
        "launch" => step.launch.key().to_owned(),
        "format" => step.format.to_string(),
        "needs" => step.needs().key().to_owned(),
        "predecessor" => step.predecessor.unwrap_or("").to_owned(),
        "lesson" => step.lesson.to_owned(),
        "about" => step.about.to_owned(),
        "chapter" => step.chapter.to_owned(),
        "number" => step.number().to_string(),
        _ => return Err(Failure::Usage(format!("no field {field}"))),
    };
    println!("{value}");
    Ok(())
}

/// `diff -u` of each pair of files, their ANCHOR lines left out (through two files of this
/// process's own in the temporary folder), under the files' own names.
fn diff(pred: &str, step: &str) -> Result<(), Failure> {
    for name in [pred, step] {
        steps::find(name).ok_or_else(|| Failure::Usage(format!("no step {name}")))?;
    }
    let usage = |what: String| Failure::Usage(what);
    let temp = std::env::temp_dir();
    let scratch = [0, 1].map(|i| temp.join(format!("steps-diff-{}-{i}", std::process::id())));
    let mut shown = Vec::new();
    for (before, after) in source::diff_pairs(pred, step) {
        for (path, copy) in [&before, &after].into_iter().zip(&scratch) {
            let text = std::fs::read_to_string(root().join(path))
                .map_err(|e| usage(format!("cannot read {path}: {e}")))?;
            std::fs::write(copy, source::strip_anchors(&text))
                .map_err(|e| usage(format!("cannot write {}: {e}", copy.display())))?;
        }
        let out = Command::new("diff")
            .args(["-u", "--label", &before, "--label", &after])
            .args(&scratch)
            .output()
            .map_err(|e| usage(format!("cannot run diff: {e}")))?;
        // diff says 0 for the same text, 1 for a difference, more for trouble.
        if out.status.code().is_none_or(|c| c > 1) {
            return Err(usage(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        shown.extend(out.stdout);
    }
    for copy in &scratch {
        let _ = std::fs::remove_file(copy);
    }
    std::io::stdout()
        .write_all(&shown)
        .map_err(|e| usage(format!("cannot print the diff: {e}")))
}
