//! What `make verify` does after the grader when `ROOM` is set: queue the new grade as a report,
//! then send everything queued, within a deadline, and say in one line what happened. Nothing
//! here can fail a verify: a room out of reach leaves the results queued for the next one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::files;
use crate::grade::{self, GradeError};
use crate::http::{self, RoomUrl};
use crate::learner::Learner;
use crate::queue::{Queue, Waiting};
use crate::report::{Batch, Id, Report, Stored, BATCH_MAX};

/// The learner's room folder inside the exercises' folder.
pub const ROOM_DIR: &str = ".room";

/// Where the room's files of one learner are: `exercises/.room/`.
#[derive(Debug, Clone)]
pub struct Place {
    pub dir: PathBuf,
}

impl Place {
    pub fn new(exercises: &Path) -> Place {
        Place {
            dir: exercises.join(ROOM_DIR),
        }
    }

    pub fn queue(&self) -> Queue {
        Queue::new(self.dir.join("queue"))
    }

    /// The file that remembers which grade of `exercise` was queued last.
    fn marker(&self, exercise: &str) -> PathBuf {
        self.dir.join("queued").join(exercise)
    }
}

/// Queues the grade in `folder` unless it was queued before (a verify that stopped before
/// grading leaves the last grade in place: it is not sent twice). Returns the report queued.
pub fn queue_grade(
    place: &Place,
    learner: &Learner,
    folder: &Path,
) -> Result<Option<Report>, QueueError> {
    let graded = grade::read(folder)?;
    let stamp = graded
        .written
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string();
    let marker = place.marker(graded.exercise.as_str());
    if std::fs::read_to_string(&marker).is_ok_and(|kept| kept == stamp) {
        return Ok(None);
    }
    let report = Report {
        id: Id::random().map_err(QueueError::Random)?,
        learner: learner.id.clone(),
        name: learner.name.clone(),
        exercise: graded.exercise,
        verdict: graded.verdict,
        failed_check: graded.failed_check,
        cause: graded.cause,
        speed_ratio: graded.speed_ratio,
        finished_at: graded.finished_at,
    };
    report.check().map_err(QueueError::Invalid)?;
    place.queue().push(&report).map_err(QueueError::Io)?;
    files::write_whole(&marker, stamp.as_bytes()).map_err(QueueError::Io)?;
    Ok(Some(report))
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Grade(#[from] GradeError),
    #[error("the grade breaks a rule of the room's: {0}")]
    Invalid(crate::report::Invalid),
    #[error("cannot queue the result: {0}")]
    Io(std::io::Error),
    #[error("no random numbers from the operating system: {0}")]
    Random(getrandom::Error),
}

/// What sending the queue came to.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Acknowledged by the room (stored now, or already stored).
    pub acknowledged: usize,
    /// Refused for good (the room's message said why); removed from the queue.
    pub refused: Vec<String>,
    /// Still waiting in the queue.
    pub waiting: usize,
    /// Why the rest waits, when it does.
    pub problem: Option<Problem>,
    /// How long each acknowledged post took.
    pub latencies: Vec<Duration>,
}

/// Why results still wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No answer: the room is stopped, out of reach, or slow.
    Unreached(String),
    /// The room answered but did not take them now (busy, or an error of its own).
    Busy(u16, String),
    /// The room refused the code in ROOM: the results wait for the right one.
    WrongRoom(String),
}

/// Sends the queue to the room, oldest first, until it is empty or `deadline` passes.
pub fn flush(queue: &Queue, url: &RoomUrl, deadline: Instant) -> std::io::Result<Flushed> {
    let mut flushed = Flushed::default();
    let mut batch_size = BATCH_MAX;
    loop {
        let waiting = queue.waiting()?;
        if waiting.is_empty() || Instant::now() >= deadline {
            flushed.waiting = waiting.len();
            return Ok(flushed);
        }
        let batch = &waiting[..waiting.len().min(batch_size)];
        let started = Instant::now();
        match post_batch(url, batch, deadline) {
            Sent::Acknowledged(stored) => {
                queue.remove(batch)?;
                flushed.acknowledged += stored.stored + stored.already;
                flushed.latencies.push(started.elapsed());
            }
            // One report the server will never take (an exercise or cause it does not know)
            // would hold back the rest: try them one by one, and drop only those refused.
            Sent::Refused(_) if batch.len() > 1 => batch_size = 1,
            Sent::Refused(message) => {
                queue.remove(batch)?;
                flushed.refused.push(message);
            }
            Sent::Kept(problem) => {
                flushed.waiting = waiting.len();
                flushed.problem = Some(problem);
                return Ok(flushed);
            }
        }
    }
}

enum Sent {
    Acknowledged(Stored),
    Refused(String),
    Kept(Problem),
}

fn post_batch(url: &RoomUrl, batch: &[Waiting], deadline: Instant) -> Sent {
    let body = Batch {
        results: batch.iter().map(|w| w.report.clone()).collect(),
    };
    let json = match serde_json::to_vec(&body) {
        Ok(json) => json,
        Err(e) => return Sent::Refused(e.to_string()),
    };
    match http::post(url, &json, deadline) {
        Err(e) => Sent::Kept(Problem::Unreached(e.to_string())),
        Ok(reply) => match reply.status {
            200..=299 => match serde_json::from_str::<Stored>(&reply.body) {
                Ok(stored) => Sent::Acknowledged(stored),
                Err(_) => Sent::Kept(Problem::Busy(reply.status, reply.body)),
            },
            403 | 404 => Sent::Kept(Problem::WrongRoom(reply.body)),
            400..=428 | 430..=499 => Sent::Refused(reply.body),
            _ => Sent::Kept(Problem::Busy(reply.status, reply.body)),
        },
    }
}
