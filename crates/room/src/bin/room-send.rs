//! `room-send STEP`: what `make verify` runs after the grader when `ROOM` is set. It queues
//! exercises/STEP's new grade and sends the queue to the room within a deadline, then says
//! in one line what happened. Its exit code is 0 when nothing waits, 1 otherwise; the Makefile
//! keeps the grader's, so the room never fails a verify.
//!
//! Usage: `ROOM=http://HOST:PORT/r/CODE [ROOM_NAME=pseudonym] room-send [--exercises DIR] STEP`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use room::grade::GradeError;
use room::http::RoomUrl;
use room::learner::Learner;
use room::send::{self, Flushed, Place, Problem, QueueError};

/// What the room may add to a verify, at most: well inside the second it is allowed.
const DEADLINE: Duration = Duration::from_millis(700);

fn main() -> ExitCode {
    let started = Instant::now();
    match run(started + DEADLINE) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            println!("room: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The folder of the exercises and the step, from the command line.
fn arguments() -> Result<(PathBuf, String), String> {
    let mut args = std::env::args().skip(1);
    let mut exercises = PathBuf::from("exercises");
    let mut step = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exercises" => exercises = args.next().ok_or("--exercises needs a folder")?.into(),
            _ if step.is_none() && !arg.starts_with('-') => step = Some(arg),
            _ => {
                return Err(format!(
                    "usage: room-send [--exercises DIR] STEP (not {arg:?})"
                ))
            }
        }
    }
    Ok((
        exercises,
        step.ok_or("usage: room-send [--exercises DIR] STEP")?,
    ))
}

fn run(deadline: Instant) -> Result<bool, String> {
    let (exercises, step) = arguments()?;
    let room = std::env::var("ROOM").unwrap_or_default();
    let url = RoomUrl::parse(&room).map_err(|e| e.to_string())?;
    let chosen = std::env::var("ROOM_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty());
    let place = Place::new(&exercises);
    let learner =
        Learner::load_or_create(&place.dir, chosen.as_deref()).map_err(|e| e.to_string())?;
    // A grade that cannot be queued is said (unless there is none: the grader said why); what
    // waits is sent all the same.
    let queued = send::queue_grade(&place, &learner, &exercises.join(&step));
    match &queued {
        Err(QueueError::Grade(GradeError::Read { source, .. }))
            if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => println!("room: this verify's result is not sent: {e}"),
        Ok(_) => {}
    }
    let queue = place.queue();
    let flushed = send::flush(&queue, &url, deadline)
        .map_err(|e| format!("{}: {e}", queue.dir().display()))?;
    say(&learner, &flushed, &queue.dir().display().to_string());
    Ok(flushed.waiting == 0 && flushed.refused.is_empty())
}

fn say(learner: &Learner, flushed: &Flushed, queue: &str) {
    for message in &flushed.refused {
        println!("room: the room refused a result for good: {message}");
    }
    if flushed.acknowledged > 0 {
        let results = plural(flushed.acknowledged, "result");
        println!("room: {results} sent as {}", learner.name);
    }
    if flushed.waiting == 0 {
        return;
    }
    let waiting = plural(flushed.waiting, "result");
    match &flushed.problem {
        Some(Problem::WrongRoom(message)) => println!(
            "room: the room refused the code in ROOM ({message}); {waiting} wait in {queue} until ROOM is right"
        ),
        Some(Problem::Busy(status, message)) => println!(
            "room: the room is busy ({status}: {message}); {waiting} wait in {queue} and go with your next make verify"
        ),
        Some(Problem::Unreached(why)) => println!(
            "room: the room did not answer ({why}); {waiting} wait in {queue} and go with your next make verify"
        ),
        None => println!("room: {waiting} wait in {queue} and go with your next make verify"),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
