//! The frame around every step's lesson: parse the arguments, check the run can work (memory,
//! disk space, every path it will write), create the output folder, time the run, print one
//! summary line, and turn errors into one line on stderr and an exit code (2 for usage, 1 for
//! runtime failures).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::args::{self, Step, StepArgs};
use crate::observe::Observer;
use crate::report::{self, Summary};
use crate::{memory, progress, signals, space, Error, Output, Result};

/// Runs one step: `body` is the lesson, handed the parsed arguments and the output folder.
pub fn run<A: StepArgs>(step: Step, body: impl FnOnce(&A, &Output) -> Result<()>) -> ExitCode {
    report::one_line_panics(step.name);
    let args: A = match args::parse(step, true) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return report::failure(step.name, None, &e),
    };
    signals::watch(step.name, args.common().n_files, signals::Process::Alone);
    match run_parsed(step, &args, body) {
        Ok(summary) => report::summary(step.name, &summary, args.common().json),
        Err(e) => report::failure(step.name, None, &e),
    }
}

fn run_parsed<A: StepArgs>(
    step: Step,
    args: &A,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> Result<Summary> {
    let out = prepare(step, args, 0)?;
    // The profiler's own start-up (it loads symbols) is not part of the run being timed.
    let observer = Observer::start(args.common())?;
    let start = Instant::now();
    progress::show_bar(args.common().n_files);
    let result = body(args, &out);
    progress::clear_bar();
    result?;
    let mut summary = summarize(step, args, out.bytes_written(), start);
    observer
        .finish()?
        .write_alone(args.common(), &mut summary)?;
    Ok(summary)
}

/// Before any work: refuse a run that cannot fit in memory (the grids, and `extra` bytes the
/// frame holds) or on the output's filesystem, create the output folder, and make sure the
/// `--trace` and `--flamegraph` files can be written — so that nothing fails after the whole
/// run for a reason known before it.
pub(crate) fn prepare<A: StepArgs>(step: Step, args: &A, extra: u64) -> Result<Output> {
    let common = args.common();
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
    let out = Output::create_dir(&common.dir, &common.output)?;
    space::check_room(
        &common.dir,
        space::bytes_for(step.writes, common.n_files, common.size),
    )?;
    space::check_file_size_limit(space::largest_file(
        step.writes,
        common.n_files,
        common.size,
    ))?;
    if let Some(svg) = &common.flamegraph {
        if svg.extension().is_some_and(|e| e == "folded") {
            return Err(Error::Usage(format!(
                "--flamegraph {} would be overwritten by its own folded stacks: name the .svg",
                svg.display()
            )));
        }
    }
    for path in [&common.flamegraph, &common.trace].into_iter().flatten() {
        check_writable(path)?;
    }
    Ok(out)
}

/// Creates `path`'s folder and checks a file can be created in it (then removes the probe).
fn check_writable(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let probe = crate::output::TempName::next().path_for(path);
    std::fs::create_dir_all(folder)
        .and_then(|()| crate::output::create_exclusive(&probe))
        .map(|_| {
            let _ = std::fs::remove_file(&probe);
        })
        .map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
}

pub(crate) fn summarize<A: StepArgs>(step: Step, args: &A, bytes: u64, start: Instant) -> Summary {
    let common = args.common();
    let seconds = start.elapsed().as_secs_f64();
    let mut summary = Summary::new(step.name, common.n_files, common.size, bytes, seconds);
    args.annotate(&mut summary);
    summary
}
