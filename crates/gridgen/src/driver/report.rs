//! What a run says: the summary line (or JSON) on stdout, and one line on stderr for anything
//! that went wrong.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::guard::mark_told;
use crate::Error;
use gridgen_contract::Summary;

/// Writes one line to stderr in a single write, so that lines from several MPI ranks sharing
/// one terminal do not interleave mid-line (`eprintln!` may write in pieces).
pub fn line(text: &str) {
    let _ = io::stderr().write_all(format!("{text}\n").as_bytes());
}

/// Reports `e` as `<step>: [rank N: ]<cause>` and gives its exit code.
pub fn failure(step: &str, rank: Option<usize>, e: &Error) -> ExitCode {
    mark_told();
    let rank = rank.map(|r| format!("rank {r}: ")).unwrap_or_default();
    line(&format!("{step}: {rank}{e}"));
    ExitCode::from(e.exit_code())
}

/// Prints the summary on stdout. The files are written by now: a reader that went away (a
/// closed pipe, `| head`) is no failure of the run, so that ends it quietly and successfully;
/// any other failure to print (`> /dev/full`) is one line and exit 1.
pub fn summary(step: &str, summary: &Summary, json: bool) -> ExitCode {
    mark_told();
    let text = if json { summary.json() } else { summary.line() };
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            line(&format!("{step}: cannot print the summary: {e}"));
            ExitCode::from(1)
        }
    }
}

/// A panic prints one line, like every other failure: `who` (the step, and its rank under MPI),
/// the worker it happened in, where, and its message — `write_final: rank 1 panicked at
/// src/main.rs:127: …`. It is a bug in the code, the learner's or ours, not a failure of the
/// machine. (The panic that `std::thread::scope` raises afterwards, to say a worker panicked,
/// adds nothing.)
pub fn one_line_panics(who: String) {
    std::panic::set_hook(Box::new(move |info| {
        let message = crate::driver::workers::panic_message(info.payload());
        if message == "a scoped thread panicked" {
            return;
        }
        let thread = std::thread::current();
        let worker = thread
            .name()
            .filter(|n| n.starts_with(steps::WORKER_PREFIX))
            .map(|n| format!(" in {n}"))
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        line(&format!(
            "{who} panicked{worker}{place}: {}",
            message.replace('\n', " ")
        ));
    }));
}
