//! `room-load` (`make room-load`): simulated learners posting to a real room server, to see that
//! no result is lost, how long a post takes, and how much memory the server holds.
//!
//! It starts `room serve` (the binary beside it) on loopback with a database of its own; each
//! simulated learner is a thread with a queue of its own, sending every few seconds through the
//! same client code as `make verify`. Halfway (`--kill-after`), the server is killed with
//! SIGKILL and started again on the same port and database: what was sent meanwhile waits in
//! the queues. At the end every queue is sent, and every result made is looked for in the
//! database. The figures go to standard output and, with `--report`, into a Markdown file.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use clap::Parser;
use room::http::RoomUrl;
use room::queue::Queue;
use room::report::{Check, Id, Kind, Name, Report, Verdict};
use room::send;

#[derive(Parser)]
#[command(
    about = "Simulated learners posting to a real room server: lost results, latency, memory"
)]
struct Cli {
    #[arg(long, default_value_t = 60)]
    learners: usize,
    /// Seconds between one learner's posts
    #[arg(long, default_value_t = 2.0)]
    every: f64,
    /// Seconds the learners post for
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Kill the server (SIGKILL) after this many seconds and start it again (0: never)
    #[arg(long, default_value_t = 300)]
    kill_after: u64,
    /// The deck whose minutes make the server's plan
    #[arg(long, default_value = "workshop/slides/deck.md")]
    deck: PathBuf,
    /// Where to write the figures as Markdown
    #[arg(long)]
    report: Option<PathBuf>,
}

/// The causes the simulated learners fail with (checked against the grader's at the start).
const CAUSES: [&str; 4] = [
    "hang_channel_not_closed",
    "floor_modulo",
    "not_committed",
    "split_drops_remainder",
];

/// One run of the server.
struct Server {
    child: Child,
    lines: [String; 2],
}

impl Server {
    fn start(db: &Path, port: u16, deck: &Path) -> Result<Server> {
        let exe = std::env::current_exe()?.with_file_name("room");
        let mut child = Command::new(&exe)
            .args([
                "serve",
                "--bind",
                "127.0.0.1",
                "--host",
                "127.0.0.1",
                "--port",
            ])
            .arg(port.to_string())
            .arg("--db")
            .arg(db)
            .arg("--deck")
            .arg(deck)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut next =
            || -> Result<String> { Ok(lines.next().context("the server printed no addresses")??) };
        let lines = [next()?, next()?];
        Ok(Server { child, lines })
    }

    fn instructor(&self) -> String {
        self.lines[1].trim_start_matches("instructor: ").to_owned()
    }

    /// Kills it (SIGKILL: no chance to tidy up).
    fn stop(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    fn learners_url(&self) -> Result<RoomUrl> {
        let url = self.lines[0]
            .strip_prefix("learners: ROOM=")
            .context("no learners' line")?;
        Ok(RoomUrl::parse(url)?)
    }

    /// Peak and current resident memory, in MiB, from /proc.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

/// What one simulated learner did.
#[derive(Default)]
struct Tally {
    made: Vec<Id>,
    latencies: Vec<Duration>,
    posts_unanswered: usize,
}

fn report(learner: &Id, name: &Name, i: u64, exercises: &[String]) -> Result<Report> {
    let exercise = &exercises[(i as usize) % exercises.len()];
    let verdict = match i % 3 {
        0 => Verdict::Failed,
        1 => Verdict::Passed,
        _ => Verdict::PassedSpeedNotJudged,
    };
    let failed = verdict == Verdict::Failed;
    Ok(Report {
        id: Id::random()?,
        learner: learner.clone(),
        name: name.clone(),
        exercise: Kind::parse(exercise, "exercise")?,
        verdict,
        failed_check: failed.then_some(Check::Correct),
        cause: failed
            .then(|| Kind::parse(CAUSES[(i as usize / 3) % CAUSES.len()], "cause"))
            .transpose()?,
        speed_ratio: (verdict == Verdict::Passed).then_some(0.8 + (i % 5) as f64 / 10.0),
        finished_at: room::server::now(),
    })
}

/// One learner: a result every `every`, from its start offset until `end`.
fn learner(
    n: usize,
    dir: PathBuf,
    url: Arc<Mutex<RoomUrl>>,
    (start, every, end): (Instant, Duration, Instant),
    exercises: Arc<Vec<String>>,
) -> Result<Tally> {
    let queue = Queue::new(dir);
    let id = Id::random()?;
    let name = Name::parse(&format!("load-{n:02}"))?;
    let mut tally = Tally::default();
    for i in 0u64.. {
        let at = start + every.mul_f64(i as f64);
        if at >= end {
            break;
        }
        thread::sleep(at.saturating_duration_since(Instant::now()));
        let r = report(&id, &name, i, &exercises)?;
        tally.made.push(r.id.clone());
        queue.push(&r)?;
        let url = url.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let flushed = send::flush(&queue, &url, Instant::now() + Duration::from_secs(5))?;
        tally.latencies.extend(flushed.latencies);
        if flushed.problem.is_some() {
            tally.posts_unanswered += 1;
        }
    }
    // Whatever still waits goes now.
    let url = url.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let flushed = send::flush(&queue, &url, Instant::now() + Duration::from_secs(20))?;
    tally.latencies.extend(flushed.latencies);
    Ok(tally)
}

/// The instructor's page, open all along: reads its live feed (reconnecting after the kill, as
/// the page does) and counts the views it receives.
fn page(instructor: Arc<Mutex<String>>, end: Instant) -> usize {
    use std::io::{Read, Write};
    let mut views = 0;
    while Instant::now() < end {
        let address = instructor.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some((authority, path)) = address
            .strip_prefix("http://")
            .and_then(|rest| rest.find('/').map(|at| rest.split_at(at)))
        else {
            return views;
        };
        let Ok(mut stream) = std::net::TcpStream::connect(authority) else {
            thread::sleep(Duration::from_millis(500));
            continue;
        };
        let request = format!("GET {path}/events HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let mut chunk = [0u8; 65536];
        while Instant::now() < end {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => views += chunk[..n].windows(6).filter(|w| w == b"data: ").count(),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    }
    views
}

fn stored_ids(db: &Path) -> Result<HashSet<String>> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut q = c.prepare("SELECT id FROM results")?;
    let ids = q
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Everything one run measured.
struct Measured {
    tally: Tally,
    /// The server's memory (peak, end) in MiB: before the kill, and at the end.
    memory: Vec<(f64, f64)>,
    views: usize,
    stored: HashSet<String>,
}

fn join_learners(threads: Vec<thread::JoinHandle<Result<Tally>>>) -> Result<Tally> {
    let mut tally = Tally::default();
    for t in threads {
        let t = t
            .join()
            .map_err(|_| anyhow::anyhow!("a learner's thread panicked"))??;
        tally.made.extend(t.made);
        tally.latencies.extend(t.latencies);
        tally.posts_unanswered += t.posts_unanswered;
    }
    Ok(tally)
}

/// The server, the learners and the page, for `cli.seconds`, with the kill halfway.
fn simulate(cli: &Cli, work: &Path) -> Result<Measured> {
    let db = work.join("room.sqlite");
    let mut server = Server::start(&db, 0, &cli.deck)?;
    let url = server.learners_url()?;
    let port = url.port;
    let shared_url = Arc::new(Mutex::new(url));
    let page_address = Arc::new(Mutex::new(server.instructor()));
    let exercises = Arc::new(room::server::exercises());
    let every = Duration::from_secs_f64(cli.every);
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(cli.seconds);
    let threads: Vec<_> = (0..cli.learners)
        .map(|n| {
            let offset = every.mul_f64(n as f64 / cli.learners as f64);
            let dir = work.join(format!("learner{n:02}"));
            let (url, exercises) = (shared_url.clone(), exercises.clone());
            thread::spawn(move || learner(n, dir, url, (start + offset, every, end), exercises))
        })
        .collect();
    let page_thread = {
        let address = page_address.clone();
        thread::spawn(move || page(address, end))
    };
    let mut memory = Vec::new();
    if cli.kill_after > 0 && cli.kill_after < cli.seconds {
        let at = start + Duration::from_secs(cli.kill_after);
        thread::sleep(at.saturating_duration_since(Instant::now()));
        memory.push(server.memory());
        server.stop()?;
        // Down for a couple of posts of every learner's, then back on the same port and file.
        thread::sleep(every.mul_f64(2.0));
        server = Server::start(&db, port, &cli.deck)?;
        *page_address.lock().unwrap_or_else(|e| e.into_inner()) = server.instructor();
    }
    let tally = join_learners(threads)?;
    let views = page_thread.join().unwrap_or(0);
    memory.push(server.memory());
    let stored = stored_ids(&db)?;
    server.stop()?;
    Ok(Measured {
        tally,
        memory,
        views,
        stored,
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.learners == 0 || cli.every <= 0.0 {
        bail!("--learners and --every must be above 0");
    }
    for cause in CAUSES {
        serde_json::from_value::<grader::verdict::Cause>(cause.into())
            .with_context(|| format!("{cause} is no longer a cause the grader names"))?;
    }
    let work = tempfile::tempdir()?;
    let mut m = simulate(&cli, work.path())?;
    let lost = m
        .tally
        .made
        .iter()
        .filter(|id| !m.stored.contains(id.as_str()))
        .count();
    m.tally.latencies.sort();
    let latencies = &m.tally.latencies;
    let figures = Figures {
        cli: &cli,
        made: m.tally.made.len(),
        stored: m.stored.len(),
        lost,
        unanswered: m.tally.posts_unanswered,
        posts: latencies.len(),
        p50: percentile(latencies, 0.50),
        p99: percentile(latencies, 0.99),
        slowest: percentile(latencies, 1.0),
        memory: m.memory,
        views: m.views,
    };
    let text = figures.markdown();
    print!("{text}");
    if let Some(path) = &cli.report {
        room::files::write_whole(path, text.as_bytes())?;
    }
    if lost > 0 {
        bail!("{lost} results lost");
    }
    Ok(())
}

struct Figures<'a> {
    cli: &'a Cli,
    made: usize,
    stored: usize,
    lost: usize,
    unanswered: usize,
    posts: usize,
    p50: f64,
    p99: f64,
    slowest: f64,
    memory: Vec<(f64, f64)>,
    views: usize,
}

impl Figures<'_> {
    fn markdown(&self) -> String {
        let cli = self.cli;
        let killed = if cli.kill_after > 0 && cli.kill_after < cli.seconds {
            format!(
                "The server was killed (SIGKILL) after {} s and started again on the same port and database; {} posts found it down, and their results waited in the learners' queues.",
                cli.kill_after, self.unanswered
            )
        } else {
            "The server ran throughout.".to_owned()
        };
        let memory: Vec<String> = self
            .memory
            .iter()
            .map(|(peak, now)| format!("{peak:.1} MiB at its peak ({now:.1} MiB at the end)"))
            .collect();
        let days = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        format!(
            "<!-- Written by `make room-load` (crates/room/src/bin/room-load.rs); do not edit. -->\n\n\
             | learners | a post every | for | results made | stored | lost | p99 | slowest post |\n\
             |---|---|---|---|---|---|---|---|\n\
             | {} | {} s | {} s | {} | {} | {} | {:.1} ms | {:.1} ms |\n\n\
             Of {} posts answered, half took less than {:.1} ms and 99 in 100 less than {:.1} ms (p99). \
             {killed} The instructor's page was open throughout and received {} live updates. \
             The server's memory (resident): {}. Measured on {}, on {} cores.\n",
            cli.learners,
            cli.every,
            cli.seconds,
            self.made,
            self.stored,
            self.lost,
            self.p99,
            self.slowest,
            self.posts,
            self.p50,
            self.p99,
            self.views,
            memory.join("; then, after the restart, "),
            civil_date(days),
            thread::available_parallelism().map_or(0, |n| n.get()),
        )
    }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (the proleptic Gregorian calendar, in 400-year
/// eras of 146,097 days).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
        assert_eq!(super::civil_date(20_794), "2026-12-07");
    }
}
