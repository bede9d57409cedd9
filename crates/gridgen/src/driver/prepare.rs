//! Before the lesson: the checks that refuse a run that cannot work (names, memory, disk space,
//! the file-size limit, the flamegraph's path), and the folders and output the run creates.
//!
//! Everything that can be known before writing is checked before anything is created: a run
//! refused for its memory or its disk leaves not even an empty folder behind.

use std::path::{Path, PathBuf};

use steps::Step;

use crate::driver::args::{Args, StepArgs};
use crate::driver::output::{check_creatable, Output};
use crate::driver::profile::ProfileKind;
use crate::error::Usage;
use crate::guard::{memory, space, Refused, PARTIAL_SUFFIX};
use crate::{Error, Result};

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
            return Err(Usage::FlamegraphPath(path.clone()).into());
        }
    }
    Ok(())
}

/// The longest final name and temporary name the run makes must fit the filesystem's limit.
fn check_names(step: &Step, common: &Args) -> Result<(), Refused> {
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
        return Err(Refused::NameTooLong {
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
