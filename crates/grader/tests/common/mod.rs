//! What the grader's tests share: an exercises folder of their own, the grader run on it, and
//! an exercise's solution written into it (edited, for a wrong one).

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use grader::exercise::Exercise;
use grader::source::strip_anchors;
use steps::Needs;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The grader under test: this build's, or another given in `GRADER_UNDER_TEST` (to measure an
/// older grader on the same wrong solutions).
pub fn grader_binary() -> PathBuf {
    std::env::var_os("GRADER_UNDER_TEST").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_exercise")),
        PathBuf::from,
    )
}

/// An exercises folder of a test's own, fixed (not a fresh temporary one): the exercises keep
/// their build between runs.
pub struct Folder(pub PathBuf);

impl Folder {
    pub fn new(name: &str) -> Folder {
        Folder(repo().join("target/dev-check").join(name))
    }

    /// Runs the grader with `args` on this folder; its exit code and everything it printed.
    pub fn grader(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let out = Command::new(grader_binary())
            .args(args)
            .arg("--exercises")
            .arg(&self.0)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    pub fn start(&self, exercise: Exercise) {
        let (code, text) = self.grader(&["new", exercise.name(), "--reset"], &[]);
        assert_eq!(code, 0, "exercise new {}: {text}", exercise.name());
    }

    /// Writes `exercise`'s solution into its folder: the step's own sources, or the
    /// capstone's, each through `edit`.
    pub fn solve(&self, exercise: Exercise, edit: impl Fn(&str) -> String) {
        let folder = self.0.join(exercise.name());
        match exercise {
            Exercise::Step(step) => {
                let src = repo().join("crates").join(step.name).join("src");
                for entry in fs::read_dir(src).unwrap() {
                    let path = entry.unwrap().path();
                    let text = strip_anchors(&fs::read_to_string(&path).unwrap());
                    fs::write(
                        folder.join("src").join(path.file_name().unwrap()),
                        edit(&text),
                    )
                    .unwrap();
                }
            }
            Exercise::Capstone(c) => {
                fs::write(folder.join("src/main.rs"), edit(&strip_anchors(c.solution))).unwrap();
            }
        }
    }

    /// Writes `exercise`'s solution with each `(from, to)` replaced in whichever of its files
    /// holds `from` (one must).
    pub fn solve_edited(&self, exercise: Exercise, edits: &[(&str, String)]) {
        let holders: Vec<bool> = edits.iter().map(|_| false).collect();
        let found = std::cell::RefCell::new(holders);
        self.solve(exercise, |text| {
            let mut text = text.to_string();
            for (k, (from, to)) in edits.iter().enumerate() {
                if text.contains(from) {
                    text = text.replace(from, to);
                    found.borrow_mut()[k] = true;
                }
            }
            text
        });
        for (k, (from, _)) in edits.iter().enumerate() {
            assert!(found.borrow()[k], "the solution no longer has `{from}`");
        }
    }

    /// The grade kept by the last verify.
    pub fn grade(&self, exercise: &str) -> serde_json::Value {
        let text =
            fs::read_to_string(self.0.join(exercise).join(".grade.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

pub fn rust_only() -> bool {
    std::env::var("HPC_CHECK").is_ok_and(|v| v == "rust-only")
}

/// Whether this machine can build `exercise` (with `HPC_CHECK=rust-only`, only the Rust-only
/// ones).
pub fn buildable(exercise: Exercise) -> bool {
    !rust_only() || exercise.reference().needs() == Needs::Rust
}

/// Replaces every `from` (which must be there) with `to`.
pub fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the solution no longer has `{from}`");
    text.replace(from, to)
}

/// The processes whose command line holds `text`.
pub fn running(text: &str) -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(text))
        .collect()
}

pub fn root() -> bool {
    // SAFETY: geteuid reads this process's user id.
    unsafe { libc::geteuid() == 0 }
}
