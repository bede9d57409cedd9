//! What the checks share: the programs to compare, who is graded (for advice that fits), the
//! run's folder, and what the learner's program may not touch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use steps::Format;

use crate::cause::Tutor;
use crate::run::{bounded, fresh, watched, Case, Program, Ran, Watch};

/// The programs a check runs.
pub struct Contest {
    pub yours: Program,
    pub reference: Program,
    /// The reference of the step before, to say how much this step's idea gave.
    pub predecessor: Option<Program>,
}

/// One grading: the programs, who is graded, where it runs.
pub struct Trial<'a> {
    pub contest: &'a Contest,
    pub tutor: Tutor,
    pub format: Format,
    /// The run's own folder (removed when the grading ends).
    pub scratch: &'a Path,
    /// The learner's binary's crate name, as its functions are named in a backtrace
    /// (`my_write_rayon::worker`).
    pub crate_name: String,
    /// The project, where the learner's program must change nothing.
    pub project: &'a Project,
}

/// The project's files (their sizes and times), to find what a run changed in it where it
/// cannot be made read-only for the run.
pub struct Project {
    pub root: PathBuf,
    /// Whether the learner's runs see the project read-only (a mount namespace of their own:
    /// root only), so that nothing needs comparing.
    pub read_only: bool,
}

/// Folders whose changes are not the learner's program's doing (builds, the exercises, git).
const NOT_WATCHED: [&str; 5] = ["target", ".git", "exercises", "node_modules", ".venv"];

/// Each file's (length, modification time) under `root`, but [`NOT_WATCHED`].
pub type Files = BTreeMap<PathBuf, (u64, i64)>;

impl Project {
    pub fn new(root: &Path) -> Project {
        // SAFETY: geteuid reads this process's user id.
        let root_user = unsafe { libc::geteuid() } == 0;
        Project {
            root: root.to_path_buf(),
            read_only: root_user,
        }
    }

    /// Every file's length and time, when they must be compared after a run.
    pub fn scan(&self) -> Option<Files> {
        if self.read_only {
            return None;
        }
        let mut files = Files::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                let name = entry.file_name();
                if meta.is_dir() {
                    if !NOT_WATCHED.iter().any(|n| name == *n) {
                        stack.push(path);
                    }
                } else {
                    use std::os::unix::fs::MetadataExt;
                    files.insert(
                        path,
                        (meta.len(), meta.mtime_nsec() + 1_000_000_000 * meta.mtime()),
                    );
                }
            }
        }
        Some(files)
    }

    /// What changed since `before`: files added, changed or removed, by their path in the
    /// project.
    pub fn changed(&self, before: &Option<Files>) -> Vec<String> {
        let (Some(before), Some(after)) = (before, self.scan()) else {
            return Vec::new();
        };
        let show = |p: &PathBuf| {
            p.strip_prefix(&self.root)
                .unwrap_or(p)
                .display()
                .to_string()
        };
        let mut changes: Vec<String> = after
            .iter()
            .filter(|(p, v)| before.get(*p) != Some(v))
            .map(|(p, _)| show(p))
            .collect();
        changes.extend(
            before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| format!("{} (removed)", show(p))),
        );
        changes
    }
}

/// What a run wrote in its working folder, where nothing should be (it writes to `--dir`).
pub fn written_in(cwd: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![cwd.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(
                    path.strip_prefix(cwd)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    found.sort();
    found
}

/// Small runs: a hang shows as one long before this. `GRADER_HANG_SECONDS` sets another
/// (the grader's own tests of programs that truly hang use a shorter one).
pub fn limit() -> Duration {
    let seconds = std::env::var("GRADER_HANG_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// Runs the reference into `dir` for `case`; its failure is the grader's, not the learner's.
pub fn reference_run(reference: &Program, case: Case, dir: &Path) -> Result<()> {
    fresh(dir)?;
    let ran = bounded(&mut reference.command(case, dir), limit())?;
    if !ran.succeeded() {
        bail!(
            "{} {} failed on this machine ({}): {}",
            reference.label,
            reference.describe(case),
            outcome(&ran),
            ran.stderr.trim()
        );
    }
    Ok(())
}

/// Runs the learner's program for `case` into a fresh `dir`, watched, from an empty working
/// folder.
pub fn your_run(trial: &Trial, case: Case, dir: &Path, watch: Watch) -> Result<Ran> {
    let yours = &trial.contest.yours;
    fresh(dir)?;
    fresh(&yours.cwd())?;
    let watch = Watch {
        dir: Some(dir.to_path_buf()),
        ..watch
    };
    watched(&mut yours.command(case, dir), limit(), watch)
}

/// "exit 1", "killed by signal 9 (exit 137)".
pub fn outcome(ran: &Ran) -> String {
    match ran.code() {
        Some(c) if c > 128 => format!("killed by signal {} (exit {c})", c - 128),
        Some(c) => format!("exit {c}"),
        None => "still running".into(),
    }
}

/// The bytes of one file of `case` in `format`, about.
pub fn file_bytes(format: Format, s: usize) -> u64 {
    let per_value = if format == Format::Txt { 25 } else { 8 };
    (s * s * per_value) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_added_or_removed_is_found() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("README.md"), "# x\n").unwrap();
        fs::create_dir(dir.path().join("target")).unwrap();
        let project = Project {
            root: dir.path().to_path_buf(),
            read_only: false,
        };
        let before = project.scan();
        fs::write(dir.path().join("target/built"), "").unwrap();
        assert!(project.changed(&before).is_empty());
        fs::write(dir.path().join("README.md"), "# changed, longer\n").unwrap();
        fs::write(dir.path().join("new.txt"), "").unwrap();
        let changed = project.changed(&before);
        assert_eq!(
            changed,
            vec!["README.md".to_string(), "new.txt".to_string()]
        );
        assert_eq!(written_in(dir.path()).len(), 3);
    }
}
