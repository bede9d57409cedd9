//! The room's results in one SQLite file. Each post is one transaction, committed (and synced
//! to the disk: `synchronous=FULL`) before the learner's client hears "stored": a server killed
//! or restarted loses nothing it acknowledged. A result's id is its key, so a result sent
//! again, its answer lost on the way, is kept once.
//!
//! Values reach SQL only as bound parameters, never inside the SQL text.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::report::{Check, Id, Report, Stored, Verdict};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    learner TEXT NOT NULL,
    name TEXT NOT NULL,
    exercise TEXT NOT NULL,
    verdict TEXT NOT NULL,
    failed_check TEXT,
    cause TEXT,
    speed_ratio REAL,
    finished_at INTEGER NOT NULL,
    received INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS results_by_learner ON results (learner, exercise);
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the room's database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the room's database: no random numbers for its code and token: {0}")]
    Random(getrandom::Error),
    #[error("the room's database holds a value it did not write: {0}")]
    Corrupt(String),
}

/// What a post may be refused for once its fields are valid.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the room is full: it takes {0} learners")]
    Full(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The room's secrets and its clock, made when the database is first created and kept, so
/// that a restarted server has the same addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// In the learners' address: posting needs it.
    pub code: String,
    /// In the instructor's address: the page needs it.
    pub token: String,
    /// When the workshop's clock started, seconds since the Unix epoch.
    pub clock: u64,
}

/// A learner's latest result for one exercise.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub learner: String,
    pub exercise: String,
    pub verdict: Verdict,
    pub failed_check: Option<Check>,
    pub cause: Option<String>,
    pub speed_ratio: Option<f64>,
    pub received: u64,
}

/// Everything the page is drawn from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub latest: Vec<Latest>,
    /// Each learner's id and latest pseudonym.
    pub names: Vec<(String, String)>,
    pub results: u64,
}

/// One connection writes (posts are one at a time), another reads for the page, so that
/// drawing the page never waits for a post's sync to the disk (SQLite's WAL mode).
pub struct Store {
    write: Mutex<Connection>,
    read: Mutex<Connection>,
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding it cannot leave SQLite's own state half-done: carry on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let write = Connection::open(path)?;
        write.pragma_update(None, "journal_mode", "WAL")?;
        write.pragma_update(None, "synchronous", "FULL")?;
        write.busy_timeout(std::time::Duration::from_secs(5))?;
        write.execute_batch(SCHEMA)?;
        let read = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        read.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store {
            write: Mutex::new(write),
            read: Mutex::new(read),
        })
    }

    /// A store for reading alone (`room export`, beside a running server).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY;
        let open = || -> Result<Connection, StoreError> {
            let c = Connection::open_with_flags(path, flags)?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(c)
        };
        Ok(Store {
            write: Mutex::new(open()?),
            read: Mutex::new(open()?),
        })
    }

    /// The room's code, token and clock, made the first time.
    pub fn keys(&self, now: u64) -> Result<Keys, StoreError> {
        let mut db = lock(&self.write);
        let tx = db.transaction()?;
        let get_or_make = |key: &str, make: &dyn Fn() -> Result<String, StoreError>| {
            let kept: Option<String> = tx
                .query_row("SELECT value FROM room WHERE key = ?1", [key], |r| r.get(0))
                .optional()?;
            match kept {
                Some(value) => Ok::<_, StoreError>(value),
                None => {
                    let value = make()?;
                    tx.execute(
                        "INSERT INTO room (key, value) VALUES (?1, ?2)",
                        [key, &value],
                    )?;
                    Ok(value)
                }
            }
        };
        let secret = || Id::random().map(String::from).map_err(StoreError::Random);
        let code = get_or_make("code", &|| secret().map(|s| s[..12].to_owned()))?;
        let token = get_or_make("token", &secret)?;
        let clock = get_or_make("clock", &|| Ok(now.to_string()))?;
        tx.commit()?;
        let clock = clock
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("clock {clock:?}")))?;
        Ok(Keys { code, token, clock })
    }

    /// Starts the workshop's clock again at `now`.
    pub fn restart_clock(&self, now: u64) -> Result<(), StoreError> {
        lock(&self.write).execute(
            "UPDATE room SET value = ?1 WHERE key = 'clock'",
            [now.to_string()],
        )?;
        Ok(())
    }

    /// Stores a post's reports, all or none, and commits before returning.
    pub fn store(
        &self,
        reports: &[Report],
        received: u64,
        max_learners: usize,
    ) -> Result<Stored, Refused> {
        let mut db = lock(&self.write);
        let tx = db.transaction().map_err(StoreError::from)?;
        let (mut stored, mut already) = (0, 0);
        for r in reports {
            let known: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM results WHERE learner = ?1)",
                    [r.learner.as_str()],
                    |row| row.get(0),
                )
                .map_err(StoreError::from)?;
            if !known {
                let learners: usize = tx
                    .query_row("SELECT COUNT(DISTINCT learner) FROM results", [], |row| {
                        row.get(0)
                    })
                    .map_err(StoreError::from)?;
                if learners >= max_learners {
                    return Err(Refused::Full(max_learners));
                }
            }
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO results (id, learner, name, exercise, verdict, failed_check, cause, speed_ratio, finished_at, received)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        r.id.as_str(),
                        r.learner.as_str(),
                        r.name.as_str(),
                        r.exercise.as_str(),
                        r.verdict.key(),
                        r.failed_check.map(Check::key),
                        r.cause.as_ref().map(|c| c.as_str()),
                        r.speed_ratio,
                        r.finished_at as i64,
                        received as i64,
                    ],
                )
                .map_err(StoreError::from)?;
            if added == 1 {
                stored += 1;
            } else {
                already += 1;
            }
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(Stored { stored, already })
    }

    /// Each learner's latest result for each exercise (latest by when it finished, then by
    /// arrival), their latest names, and the number of results.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let db = lock(&self.read);
        let mut latest = Vec::new();
        let mut query = db.prepare_cached(
            "SELECT learner, exercise, verdict, failed_check, cause, speed_ratio, received FROM (
                 SELECT *, ROW_NUMBER() OVER (PARTITION BY learner, exercise
                                              ORDER BY finished_at DESC, rowid DESC) AS n
                 FROM results) WHERE n = 1",
        )?;
        let mut rows = query.query([])?;
        while let Some(row) = rows.next()? {
            let verdict: String = row.get(2)?;
            let check: Option<String> = row.get(3)?;
            latest.push(Latest {
                learner: row.get(0)?,
                exercise: row.get(1)?,
                verdict: Verdict::from_key(&verdict)
                    .ok_or_else(|| StoreError::Corrupt(format!("verdict {verdict:?}")))?,
                failed_check: check
                    .map(|c| Check::from_key(&c).ok_or(StoreError::Corrupt(format!("check {c:?}"))))
                    .transpose()?,
                cause: row.get(4)?,
                speed_ratio: row.get(5)?,
                received: row.get::<_, i64>(6)?.max(0) as u64,
            });
        }
        let mut names = Vec::new();
        let mut query = db.prepare_cached(
            "SELECT learner, name FROM results WHERE rowid IN
                 (SELECT max(rowid) FROM results GROUP BY learner)",
        )?;
        let mut rows = query.query([])?;
        while let Some(row) = rows.next()? {
            names.push((row.get(0)?, row.get(1)?));
        }
        let results: i64 = db.query_row("SELECT COUNT(*) FROM results", [], |r| r.get(0))?;
        Ok(Snapshot {
            latest,
            names,
            results: results.max(0) as u64,
        })
    }

    /// Every result, oldest first, as CSV (the header first). Text fields are quoted; the
    /// rules of each field keep commas, quotes and formulas out of them anyway.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, ExportError> {
        let db = lock(&self.read);
        writeln!(
            out,
            "received,learner,name,exercise,verdict,failed_check,cause,speed_ratio,finished_at"
        )?;
        let mut query = db.prepare(
            "SELECT received, learner, name, exercise, verdict, failed_check, cause, speed_ratio, finished_at
             FROM results ORDER BY received, rowid",
        )?;
        let mut rows = query.query([])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let text = |i: usize| -> rusqlite::Result<String> {
                Ok(row
                    .get::<_, Option<String>>(i)?
                    .map_or(String::new(), |s| format!("\"{}\"", s.replace('"', "\"\""))))
            };
            let ratio: Option<f64> = row.get(7)?;
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                row.get::<_, i64>(0)?,
                text(1)?,
                text(2)?,
                text(3)?,
                text(4)?,
                text(5)?,
                text(6)?,
                ratio.map_or(String::new(), |r| r.to_string()),
                row.get::<_, i64>(8)?,
            )?;
            n += 1;
        }
        Ok(n)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the room's database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("writing the CSV: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Kind, Name};

    pub fn report(learner: &Id, exercise: &str, verdict: Verdict, finished_at: u64) -> Report {
        let failed = verdict == Verdict::Failed;
        Report {
            id: Id::random().unwrap(),
            learner: learner.clone(),
            name: Name::parse("ada").unwrap(),
            exercise: Kind::parse(exercise, "exercise").unwrap(),
            verdict,
            failed_check: failed.then_some(Check::Correct),
            cause: failed.then(|| Kind::parse("floor_modulo", "cause").unwrap()),
            speed_ratio: (!failed).then_some(1.1),
            finished_at,
        }
    }

    #[test]
    fn keys_are_made_once_and_kept_across_a_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.sqlite");
        let keys = Store::open(&path).unwrap().keys(1_765_000_000).unwrap();
        assert_eq!((keys.code.len(), keys.token.len()), (12, 32));
        let again = Store::open(&path).unwrap().keys(1_765_999_999).unwrap();
        assert_eq!(again, keys);
    }

    #[test]
    fn a_result_sent_twice_is_kept_once_and_the_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("room.sqlite")).unwrap();
        let ada = Id::random().unwrap();
        let failed = report(&ada, "write_vectorized", Verdict::Failed, 1_765_000_000);
        let passed = report(&ada, "write_vectorized", Verdict::Passed, 1_765_000_100);
        let s = store
            .store(&[passed.clone(), failed.clone()], 1, 10)
            .unwrap();
        assert_eq!((s.stored, s.already), (2, 0));
        let s = store.store(&[failed], 2, 10).unwrap();
        assert_eq!((s.stored, s.already), (0, 1));
        let snap = store.snapshot().unwrap();
        assert_eq!(snap.results, 2);
        assert_eq!(snap.latest.len(), 1);
        assert_eq!(snap.latest[0].verdict, Verdict::Passed);
        assert_eq!(snap.names, [(ada.to_string(), "ada".to_string())]);
        let mut csv = Vec::new();
        assert_eq!(store.export(&mut csv).unwrap(), 2);
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("received,learner,name,"), "{csv}");
        assert!(csv.contains(",\"ada\",\"write_vectorized\",\"failed\",\"correct\",\"floor_modulo\",,1765000000\n"), "{csv}");
    }

    #[test]
    fn a_full_room_refuses_a_new_learner_and_stores_nothing_of_the_post() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("room.sqlite")).unwrap();
        let (ada, bob) = (Id::random().unwrap(), Id::random().unwrap());
        store
            .store(
                &[report(
                    &ada,
                    "write_vectorized",
                    Verdict::Passed,
                    1_765_000_000,
                )],
                1,
                1,
            )
            .unwrap();
        let post = [
            report(
                &ada,
                "write_vectorized_binary",
                Verdict::Passed,
                1_765_000_000,
            ),
            report(&bob, "write_vectorized", Verdict::Passed, 1_765_000_000),
        ];
        assert!(matches!(store.store(&post, 2, 1), Err(Refused::Full(1))));
        assert_eq!(store.snapshot().unwrap().results, 1);
    }
}
