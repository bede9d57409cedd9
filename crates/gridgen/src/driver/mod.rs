//! The frame around every step's lesson: parse the arguments, check the run can work (names,
//! memory, disk space, the file-size limit), create the output folder, time the run, print one
//! summary line, and turn errors into one line on stderr and an exit code.
//!
//! Everything that can be known before writing is checked before anything is created: a run
//! refused for its memory or its disk leaves not even an empty folder behind.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use steps::Step;

use crate::args::{self, StepArgs};
use crate::observe::Observer;
use crate::output::{check_creatable, PARTIAL_SUFFIX};
use crate::profile::ProfileKind;
use crate::report::{self, Summary};
use crate::signals::{self, Process};
use crate::{memory, space, Error, Output, Result};

/// Runs one step: `body` is the lesson, handed the parsed arguments and the output folder.
/// `step` is the calling crate's row of the step table: [`crate::step!`].
pub fn run<A: StepArgs>(
    step: &'static Step,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> ExitCode {
    report::one_line_panics(step.name.to_owned());
    let args: A = match args::parse(step, true) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return report::failure(step.name, None, &e),
    };
    signals::watch(step.name, args.common().n_files, Process::Alone);
    match run_parsed(step, &args, body) {
        Ok(summary) => report::summary(step.name, &summary, args.common().json),
        Err(e) => report::failure(step.name, None, &e),
    }
}

fn run_parsed<A: StepArgs>(
    step: &'static Step,
    args: &A,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> Result<Summary> {
    check(step, args, 0)?;
    let (out, made) = create(step, args)?;
    made.keep();
    // The profiler's own start-up (it loads symbols) is not part of the run being timed.
    let observer = Observer::start(args.common())?;
    let start = Instant::now();
    out.progress.show_bar(args.common().n_files);
    let result = lesson(&out, body(args, &out));
    out.progress.clear_bar();
    result?;
    let mut summary = summarize(step, args, out.bytes_written(), start);
    observer
        .finish(&out)?
        .write_alone(args.common(), &mut summary)?;
    Ok(summary)
}

/// The lesson's outcome as gridgen's error, naming the run's one file if the error named none
/// (a library's error knows no path), and saying what lies behind a library's "unknown library
/// error" (HDF5 1.10's word for a failed flush on a full disk or at `ulimit -f`).
pub fn lesson(out: &Output, outcome: Result<()>) -> Result<()> {
    outcome.map_err(|e| {
        let one_file = out.format().one_file();
        match e.in_file(|| one_file.then(|| out.single_path())) {
            Error::Library {
                library,
                path,
                message,
            } if message.contains("unknown library error") || message.contains("write failed") => {
                Error::Library {
                    library,
                    path,
                    message: format!("{message}{}", likely_cause(out)),
                }
            }
            other => other,
        }
    })
}

/// What the run's file has most likely run into: the file-size limit, if it is now below the
/// file's size (lowered during the run: it was checked before); else the free space left.
fn likely_cause(out: &Output) -> String {
    let needed = out.data_bytes();
    if let Some(limit) = space::file_size_limit().filter(|&l| l < needed) {
        return format!(
            ": File too large (the file-size limit, ulimit -f, is {}; the file needs about {})",
            space::human(limit),
            space::human(needed)
        );
    }
    match space::free_bytes(out.dir()) {
        Some(free) => format!(" (its folder has {} free)", space::human(free)),
        None => String::new(),
    }
}

/// Before anything is created: refuse a run whose names are too long for the output's
/// filesystem, that cannot fit in this process's memory limits (the grids, and `extra` bytes
/// the frame holds) or on the output's filesystem, or whose largest file exceeds `ulimit -f`.
/// A folder that does not exist yet is judged by the filesystem it will be made on.
pub fn check<A: StepArgs>(step: &'static Step, args: &A, extra: u64) -> Result<()> {
    let common = args.common();
    check_names(step, common)?;
    let trace_bytes = if common.trace.is_some() {
        // A recorded slice per file.
        (common.n_files as u64).saturating_mul(96)
    } else {
        0
    };
    memory::check_fits(
        common.size,
        args.grids_in_memory(),
        extra.saturating_add(trace_bytes),
    )?;
    let on = space::nearest_existing(&common.dir);
    space::check_room(
        &on,
        space::bytes_for(step.format, common.n_files, common.size),
    )?;
    space::check_file_size_limit(space::largest_file(
        step.format,
        common.n_files,
        common.size,
    ))?;
    if let Some(path) = &common.flamegraph {
        if ProfileKind::of(path).is_none() {
            return Err(Error::Usage(format!(
                "--flamegraph {}: name an .svg (the drawing, its samples beside it) or a .folded \
                 file (the samples alone, to merge several runs)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The longest final name and temporary name the run makes must fit the filesystem's limit.
fn check_names(step: &Step, common: &crate::Args) -> Result<()> {
    let last = if step.format.one_file() {
        common.output.clone()
    } else {
        format!("{}{:05}", common.output, common.n_files.saturating_sub(1))
    };
    let name = format!("{last}.{}", step.format);
    // `.<name>.<pid>-<n>.partial`, with room for any pid and a long-running counter.
    let temporary = format!(".{name}.{}-{}{PARTIAL_SUFFIX}", u32::MAX, u32::MAX);
    let on = space::nearest_existing(&common.dir);
    let limit = space::name_max(&on);
    if temporary.len() > limit {
        return Err(Error::NameTooLong {
            name: if name.len() > limit { name } else { temporary },
            limit,
            dir: on,
        });
    }
    Ok(())
}

/// Creates the output folder (and those of `--trace` and `--flamegraph`, checking a file can be
/// created in each) and opens the run's output. The folders it made are removed again if it
/// fails, or if the caller drops them (an MPI rank whose peers failed); [`Folders::keep`] keeps
/// them.
pub fn create<A: StepArgs>(step: &'static Step, args: &A) -> Result<(Output, Folders)> {
    let common = args.common();
    let mut made = Folders::default();
    made.create(&common.dir)
        .map_err(|source| Error::CreateDir {
            path: common.dir.clone(),
            source,
        })?;
    for path in [&common.flamegraph, &common.trace].into_iter().flatten() {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            made.create(parent).map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        }
        check_creatable(path)?;
    }
    let out = Output::open(&common.dir, common, step)?;
    Ok((out, made))
}

/// Folders a run created, removed again (if still empty) unless it goes ahead.
#[derive(Debug, Default)]
pub struct Folders {
    made: Vec<PathBuf>,
}

impl Folders {
    /// `create_dir_all`, remembering each folder it made.
    pub fn create(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut missing = Vec::new();
        let mut at = dir.to_path_buf();
        while !at.as_os_str().is_empty() && !at.exists() {
            missing.push(at.clone());
            if !at.pop() {
                break;
            }
        }
        std::fs::create_dir_all(dir)?;
        // Outermost first, so that they are removed innermost first.
        self.made.extend(missing.into_iter().rev());
        Ok(())
    }

    /// The run goes ahead: keep them.
    pub fn keep(mut self) {
        self.made.clear();
    }
}

impl Drop for Folders {
    fn drop(&mut self) {
        for dir in self.made.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The summary of a finished run.
pub fn summarize<A: StepArgs>(step: &Step, args: &A, bytes: u64, start: Instant) -> Summary {
    let common = args.common();
    let seconds = start.elapsed().as_secs_f64();
    let mut summary = Summary::new(step.name, common.n_files, common.size, bytes, seconds);
    args.annotate(&mut summary);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_made_for_a_refused_run_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        {
            let mut made = Folders::default();
            made.create(&deep).unwrap();
            assert!(deep.is_dir());
        }
        assert!(!root.path().join("a").exists(), "left an empty folder");
        let mut made = Folders::default();
        made.create(&deep).unwrap();
        made.keep();
        assert!(deep.is_dir());
    }
}
