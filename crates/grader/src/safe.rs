//! The safety check: a failure the machine causes must end the run with exit 1 and one line on
//! stderr naming the file, every rank stopping, nothing temporary left and no wrong file under
//! a final name. Two failures are made: a name the program cannot write (a folder stands
//! there), and a disk that fills in the middle of a file — the failure a program that writes
//! in place, with no hidden file renamed when complete, cannot survive. A Python module is
//! also called directly, to see which exception each failure raises.

use std::fs;
use std::path::Path;

use anyhow::Result;
use steps::{Format, Launch};

use crate::cause::{Cause, Topic, Tutor};
use crate::compare::names_in;
use crate::run::{Case, Ran, Watch};
use crate::said::{self, program_lines};
use crate::trial::Trial;
use crate::trial::{file_bytes, limit, reference_run, your_run};
use crate::verdict::{Check, Checked};

/// The name the check blocks: the last file (the last rank's, for MPI), or the one file.
pub fn blocked_name(format: Format, n: usize) -> String {
    if format.one_file() {
        format!("data.{format}")
    } else {
        format!("data{:05}.{format}", n - 1)
    }
}

pub fn check(trial: &Trial) -> Result<Checked> {
    let yours = &trial.contest.yours;
    let workers: &[usize] = match yours.launch {
        Launch::Serial | Launch::Python => &[1],
        Launch::Threads => &[2],
        Launch::Mpi => &[2, 3],
    };
    let (theirs, mine) = (trial.scratch.join("reference"), trial.scratch.join("yours"));
    // The Python module is called directly first: which exception it raises is the more
    // specific evidence.
    if yours.launch == Launch::Python {
        if let Err(failed) = crate::python_probe::check(trial)? {
            return Ok(*failed);
        }
    }
    let blocked = blocked_name(trial.format, 4);
    for &w in workers {
        let case = Case {
            n: 4,
            s: 16,
            workers: w,
        };
        reference_run(&trial.contest.reference, case, &theirs)?;
        // The folder is made before the run, with the blocked name in it.
        let ran = {
            crate::run::fresh(&mine)?;
            fs::create_dir(mine.join(&blocked))?;
            fs::write(mine.join(&blocked).join("keep"), "not yours to replace\n")?;
            blocked_run(trial, case, &mine)?
        };
        let with = format!("with {blocked} blocked ({})", yours.describe(case));
        if let Some(failed) = judge(&ran, &with, Some(&blocked), &theirs, &mine, trial)? {
            return Ok(failed);
        }
    }
    let full = disk_full(trial, &theirs, &mine)?;
    let _ = (fs::remove_dir_all(&theirs), fs::remove_dir_all(&mine));
    if let Err(failed) = full {
        return Ok(*failed);
    }
    let ranks = if yours.launch == Launch::Mpi {
        ", every rank stopped"
    } else {
        ""
    };
    let mut passed = Checked::pass(
        Check::Safe,
        format!("an output it cannot write ({blocked}) and a disk full mid-file end it with exit 1 and one line naming the file{ranks}, nothing partial or wrong left"),
    );
    if let Ok(Some(note)) = full {
        passed = passed.with(note);
    }
    Ok(passed)
}

/// The learner's run into `dir` as it stands (the blocked name already in it).
fn blocked_run(trial: &Trial, case: Case, dir: &Path) -> Result<Ran> {
    let yours = &trial.contest.yours;
    crate::run::fresh(&yours.cwd())?;
    let watch = Watch {
        dir: Some(dir.to_path_buf()),
        ..Watch::default()
    };
    crate::run::watched(&mut yours.command(case, dir), limit(), watch)
}

type Full = std::result::Result<Option<String>, Box<Checked>>;

/// A disk that fills mid-file: `Ok(note)` when it passed (the note says what was not
/// checked here), `Err(failed check)` when it did not.
fn disk_full(trial: &Trial, theirs: &Path, mine: &Path) -> Result<Full> {
    let yours = &trial.contest.yours;
    if yours.launch == Launch::Python {
        return Ok(Ok(None)); // the probe called its module with a full disk already
    }
    let case = Case {
        n: 4,
        s: 64,
        workers: if yours.launch == Launch::Serial { 1 } else { 2 },
    };
    reference_run(&trial.contest.reference, case, theirs)?;
    let data = file_bytes(trial.format, case.s);
    let with = format!("with the disk full mid-file ({})", yours.describe(case));
    if yours.launch == Launch::Mpi && trial.format.one_file() {
        // The parallel HDF5 references themselves may hang on a full disk (a rank's failed
        // write leaves the collective close to the others): not a failure to ask of yours.
        return Ok(Ok(Some("information: a full disk was not tried (parallel HDF5 ending cleanly on a full disk is the lesson of write_production)".into())));
    }
    let ran = if yours.launch == Launch::Mpi {
        // A file-size limit would also stop MPI's own shared-memory files: a small disk
        // instead, which needs root to mount.
        let Some(disk) = SmallDisk::mount(mine, 2 * data)? else {
            return Ok(Ok(Some(
                "information: the full disk was not tried here (mounting a small disk needs root)"
                    .into(),
            )));
        };
        let ran = your_run_in(trial, case, &disk)?;
        let judged = judge(&ran, &with, None, theirs, &disk.0, trial)?;
        drop(disk);
        return Ok(judged.map_or(Ok(None), |c| Err(Box::new(c))));
    } else {
        let size = if trial.format.one_file() {
            data * case.n as u64 / 2
        } else {
            data / 2
        };
        your_run(
            trial,
            case,
            mine,
            Watch {
                file_size: Some(size),
                ..Watch::default()
            },
        )?
    };
    Ok(judge(&ran, &with, None, theirs, mine, trial)?.map_or(Ok(None), |c| Err(Box::new(c))))
}

fn your_run_in(trial: &Trial, case: Case, disk: &SmallDisk) -> Result<Ran> {
    let yours = &trial.contest.yours;
    crate::run::fresh(&yours.cwd())?;
    let watch = Watch {
        dir: Some(disk.0.clone()),
        ..Watch::default()
    };
    crate::run::watched(&mut yours.command(case, &disk.0), limit(), watch)
}

/// A tmpfs of a few pages mounted at a folder, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `None` where mounting is not allowed (not root).
    fn mount(at: &Path, bytes: u64) -> Result<Option<SmallDisk>> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: geteuid reads this process's user id.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        crate::run::fresh(at)?;
        let (what, path) = (
            CString::new("tmpfs")?,
            CString::new(at.as_os_str().as_bytes())?,
        );
        let options = CString::new(format!("size={}k,mode=0755", bytes.div_ceil(1024).max(4)))?;
        // SAFETY: mount(2) with valid C strings that outlive the call.
        let mounted = unsafe {
            libc::mount(
                what.as_ptr(),
                path.as_ptr(),
                what.as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        Ok((mounted == 0).then(|| SmallDisk(at.to_path_buf())))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        use std::os::unix::ffi::OsStrExt;
        if let Ok(path) = std::ffi::CString::new(self.0.as_os_str().as_bytes()) {
            // SAFETY: umount2 of the folder mounted above.
            unsafe {
                libc::umount2(path.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

/// What the run did wrong, if anything. `blocked`: the name a folder stood at.
fn judge(
    ran: &Ran,
    with: &str,
    blocked: Option<&str>,
    theirs: &Path,
    mine: &Path,
    trial: &Trial,
) -> Result<Option<Checked>> {
    let tutor = &trial.tutor;
    let fail = |summary: String| Checked::fail(Check::Safe, format!("{with}: {summary}"));
    if let Some(name) = in_place(ran, theirs)? {
        return Ok(Some(fail(format!("{name} was created under its final name and written there")).because(
            Cause::WritesInPlace,
            format!("a crash or a full disk in the middle of it leaves half a file under that name: {} {}", tutor.commit_advice(), tutor.see(Topic::WriteThenRename)),
        )));
    }
    if let Some(failed) = ended(ran, &fail, trial, blocked) {
        return Ok(Some(failed));
    }
    if let Some(b) = blocked.filter(|b| !mine.join(b).join("keep").is_file()) {
        return Ok(Some(
            fail(format!(
                "{b} was replaced or emptied: it was not the run's to touch"
            ))
            .because(
                Cause::SafeTouchedBlocked,
                format!(
                    "a new file never replaces what stands at its name unless complete: {}",
                    tutor.commit_advice()
                ),
            ),
        ));
    }
    leftovers(blocked, theirs, mine, trial.format, tutor)
}

/// How the run ended, and what it said: exit 1 and one line naming the file, or what else.
fn ended(
    ran: &Ran,
    fail: &dyn Fn(String) -> Checked,
    trial: &Trial,
    blocked: Option<&str>,
) -> Option<Checked> {
    let tutor = &trial.tutor;
    let lines = program_lines(&ran.stderr);
    let shown = |c: Checked, k: usize| lines.iter().take(k).fold(c, |c, l| c.with(l.clone()));
    if ran.hung() {
        let who = if tutor.launch() == Launch::Mpi {
            "one rank stopped and the others wait for it: every rank agrees on success before each collective call"
        } else {
            "a worker stopped and the others (or the main thread) wait for it: stop feeding the workers at the first error, and return it"
        };
        return Some(
            fail(format!("it did not end within {} s", limit().as_secs())).because(
                Cause::SafeHang,
                format!("{who} {}", tutor.see(Topic::Agree)),
            ),
        );
    }
    if let Some(panic) = said::first_panic(&said::lines(&ran.stderr)) {
        return Some(fail(format!("{panic}")).because(
            Cause::SafePanic,
            format!(
                "an unwrap or expect on what the machine refused: {}",
                tutor.error_advice()
            ),
        ));
    }
    if ran.code() != Some(1) {
        let summary = format!("exit {:?}, not 1 (a run that fails exits 1)", ran.code());
        return Some(shown(fail(summary), 4).because(Cause::SafeExitCode, tutor.error_advice()));
    }
    // HDF5 reports a write that failed inside the library without the file's name: for the
    // one file, the line need not name it.
    let names = |l: &String| match blocked {
        Some(b) => l.contains(b),
        None => trial.format.one_file() || l.contains(&format!(".{}", trial.format)),
    };
    if !lines.iter().any(names) {
        let which = blocked.map_or("the file it could not write".to_string(), str::to_string);
        return Some(
            shown(fail(format!("no line on stderr names {which}")), 4).because(
                Cause::SafeUnnamedFile,
                format!("the error names the file: {}", tutor.error_advice()),
            ),
        );
    }
    (lines.len() > 1).then(|| {
        let summary = format!(
            "{} lines on stderr; one, naming the file and the cause, is enough",
            lines.len()
        );
        shown(fail(summary), 6).because(Cause::SafeManyLines, tutor.error_advice())
    })
}

/// A final name that a file was created at directly (not renamed to).
fn in_place(ran: &Ran, theirs: &Path) -> Result<Option<String>> {
    let Some(events) = &ran.events else {
        return Ok(None);
    };
    let finals = names_in(theirs)?;
    Ok(events
        .created
        .keys()
        .find(|n| finals.contains(*n) || n.ends_with(".h5") && !n.starts_with('.'))
        .cloned())
}

/// A file left that is not a complete, correct output.
fn leftovers(
    blocked: Option<&str>,
    theirs: &Path,
    mine: &Path,
    format: Format,
    tutor: &Tutor,
) -> Result<Option<Checked>> {
    let finals = names_in(theirs)?;
    for name in names_in(mine)? {
        if Some(name.as_str()) == blocked {
            continue;
        }
        let fail = |summary: String, kind: Cause| {
            Some(Checked::fail(Check::Safe, summary).because(
                kind,
                format!(
                    "{} {}",
                    tutor.commit_advice(),
                    tutor.see(Topic::WriteThenRename)
                ),
            ))
        };
        if !finals.contains(&name) {
            return Ok(fail(
                format!("{name} is left behind after the failure: a temporary or partial file"),
                Cause::SafeLeftover,
            ));
        }
        // A final name must hold the reference's bytes (HDF5: the one file must not be there).
        if format.one_file() || fs::read(mine.join(&name))? != fs::read(theirs.join(&name))? {
            let size = fs::metadata(mine.join(&name)).map(|m| m.len()).unwrap_or(0);
            return Ok(fail(format!("{name} is left under its final name holding {size} bytes, not the reference's file"), Cause::WritesInPlace));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_name_is_the_last_file_or_the_one_file() {
        assert_eq!(blocked_name(Format::Npy, 4), "data00003.npy");
        assert_eq!(blocked_name(Format::H5, 4), "data.h5");
    }
}
