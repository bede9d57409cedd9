//! The room's server run for real, as `make room` runs it: its two lines; what it refuses (wrong
//! codes and tokens, huge bodies, bad JSON, SQL in strings, unknown exercises and causes,
//! floods from one address), each with a 4xx and nothing changed; every acknowledged result
//! kept when it is killed and restarted; the learner's client held to its second when the room
//! is out of reach, its results queued and sent later; and a short load run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use room::report::{Batch, Check, Id, Kind, Name, Report, Verdict};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `room serve` on loopback: its process and the two lines it printed.
struct Room {
    child: Child,
    /// What it prints after its two lines: nothing, ever.
    rest: std::io::Lines<BufReader<std::process::ChildStdout>>,
    learners: String,
    instructor: String,
}

impl Room {
    fn start(db: &Path, port: u16, extra: &[&str]) -> Room {
        let mut child = Command::new(env!("CARGO_BIN_EXE_room"))
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
            .arg(repo().join("workshop/slides/deck.md"))
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let learners = lines.next().unwrap().unwrap();
        let instructor = lines.next().unwrap().unwrap();
        Room {
            child,
            rest: lines,
            learners: learners
                .strip_prefix("learners: ROOM=")
                .unwrap_or_else(|| panic!("first line: {learners}"))
                .to_owned(),
            instructor: instructor
                .strip_prefix("instructor: ")
                .unwrap_or_else(|| panic!("second line: {instructor}"))
                .to_owned(),
        }
    }

    fn authority(&self) -> &str {
        let rest = self.learners.strip_prefix("http://").unwrap();
        &rest[..rest.find('/').unwrap()]
    }

    fn port(&self) -> u16 {
        self.authority()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The path part of an address of this room's.
    fn path(address: &str) -> String {
        let rest = address.strip_prefix("http://").unwrap();
        rest[rest.find('/').unwrap()..].to_owned()
    }

    fn learners_path(&self) -> String {
        Room::path(&self.learners)
    }

    fn instructor_path(&self) -> String {
        Room::path(&self.instructor)
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        request(self.authority(), method, path, body)
    }

    fn post(&self, batch: &Batch) -> (u16, String) {
        self.request(
            "POST",
            &self.learners_path(),
            &serde_json::to_vec(batch).unwrap(),
        )
    }

    fn state(&self) -> serde_json::Value {
        let (status, body) = self.request("GET", &format!("{}/state", self.instructor_path()), b"");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Kills it (SIGKILL) and checks it printed nothing after its two lines.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let more: Vec<String> = self.rest.by_ref().map_while(Result::ok).collect();
        assert!(
            more.is_empty(),
            "room printed more than two lines: {more:?}"
        );
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; the status and the body.
fn request(authority: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A body the server refuses early may not be read whole: the answer counts, not the write.
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, body.to_owned())
}

fn report(
    learner: &Id,
    name: &str,
    exercise: &str,
    verdict: Verdict,
    cause: Option<&str>,
) -> Report {
    Report {
        id: Id::random().unwrap(),
        learner: learner.clone(),
        name: Name::parse(name).unwrap(),
        exercise: Kind::parse(exercise, "exercise").unwrap(),
        verdict,
        failed_check: (verdict == Verdict::Failed).then_some(Check::Correct),
        cause: cause.map(|c| Kind::parse(c, "cause").unwrap()),
        speed_ratio: (verdict == Verdict::Passed).then_some(1.07),
        finished_at: 1_765_140_000,
    }
}

fn one(r: Report) -> Batch {
    Batch { results: vec![r] }
}

#[test]
fn it_prints_two_lines_and_refuses_what_it_should_changing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let room = Room::start(&dir.path().join("room.sqlite"), 0, &[]);
    assert!(room.learners.starts_with("http://127.0.0.1:") && room.learners.contains("/r/"));
    assert!(room.instructor.starts_with("http://127.0.0.1:") && room.instructor.contains("/i/"));
    let ada = Id::random().unwrap();
    let good = report(
        &ada,
        "ada",
        "write_multiprocessing_queue",
        Verdict::Failed,
        Some("hang_channel_not_closed"),
    );
    let (status, body) = room.post(&one(good.clone()));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"stored":1,"already":0}"#)
    );
    let (status, body) = room.post(&one(good.clone()));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"stored":0,"already":1}"#),
        "a resend is kept once"
    );
    let before = room.state();

    let learners = room.learners_path();
    let wrong_code = learners.replace("/r/", "/r/0");
    let json = |r: &Report| serde_json::to_value(r).unwrap();
    let with = |field: &str, value: serde_json::Value| {
        let mut v = json(&report(
            &ada,
            "ada",
            "write_vectorized",
            Verdict::Failed,
            Some("floor_modulo"),
        ));
        v[field] = value;
        serde_json::to_vec(&serde_json::json!({ "results": [v] })).unwrap()
    };
    let many = serde_json::to_vec(&Batch {
        results: (0..51)
            .map(|_| report(&ada, "ada", "write_vectorized", Verdict::Passed, None))
            .collect(),
    })
    .unwrap();
    let hostile: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "a wrong code",
            wrong_code,
            serde_json::to_vec(&one(good.clone())).unwrap(),
            403,
            "not this room's code",
        ),
        (
            "a huge body",
            learners.clone(),
            vec![b'{'; 1 << 20],
            413,
            "larger than",
        ),
        (
            "not JSON",
            learners.clone(),
            b"results=1".to_vec(),
            400,
            "not a batch of results",
        ),
        (
            "JSON of another shape",
            learners.clone(),
            br#"{"results":"all"}"#.to_vec(),
            400,
            "invalid type",
        ),
        (
            "code sent along",
            learners.clone(),
            with("code", "fn main() {}".into()),
            400,
            "unknown field `code`",
        ),
        (
            "SQL in the name",
            learners.clone(),
            with("name", "x'); DROP TABLE results;--".into()),
            400,
            "name: 1 to 24",
        ),
        (
            "SQL in the exercise",
            learners.clone(),
            with("exercise", "write_vectorized' OR 1=1".into()),
            400,
            "lowercase letters",
        ),
        (
            "an exercise that is not one",
            learners.clone(),
            with("exercise", "write_everything".into()),
            422,
            "not an exercise of this workshop",
        ),
        (
            "a cause the grader does not name",
            learners.clone(),
            with("cause", "cosmic_rays".into()),
            422,
            "not a cause the grader names",
        ),
        (
            "a verdict of another kind",
            learners.clone(),
            with("verdict", "almost".into()),
            400,
            "unknown variant",
        ),
        (
            "a failure naming no check",
            learners.clone(),
            with("failed_check", serde_json::Value::Null),
            422,
            "failed_check",
        ),
        (
            "a speed out of range",
            learners.clone(),
            with("speed_ratio", 1e9.into()),
            422,
            "speed_ratio",
        ),
        (
            "a markup name",
            learners.clone(),
            with("name", "<script>alert(1)</script>".into()),
            400,
            "name: 1 to 24",
        ),
        ("too many at once", learners.clone(), many, 422, "1 to 50"),
    ];
    for (what, path, body, want, says) in hostile {
        let (status, answer) = room.request("POST", &path, &body);
        assert_eq!(status, want, "{what}: {answer}");
        assert!(answer.contains(says), "{what}: {answer}");
    }
    let token = room.instructor_path();
    let wrong_token = token.replace("/i/", "/i/f");
    for path in ["", "/", "/state", "/events", "/results.csv", "/page.js"] {
        let (status, answer) = room.request("GET", &format!("{wrong_token}{path}"), b"");
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(answer.contains("not this room's token"), "{answer}");
    }
    let (status, _) = room.request("POST", &format!("{wrong_token}/clock"), b"");
    assert_eq!(status, 403);
    let (status, _) = room.request("GET", "/nothing/here", b"");
    assert_eq!(status, 404);
    assert_eq!(room.state(), before, "a refused request changed the room");

    let (status, page) = room.request("GET", &format!("{token}/"), b"");
    assert!(
        status == 200 && page.contains("<table>"),
        "{status}: {page}"
    );
    assert_eq!(room.request("GET", &token, b"").0, 308);
    let (status, csv) = room.request("GET", &format!("{token}/results.csv"), b"");
    assert_eq!((status, csv.lines().count()), (200, 2), "{csv}");
    assert!(csv.contains("\"hang_channel_not_closed\""), "{csv}");
    room.kill();
}

#[test]
fn a_flood_from_one_address_is_refused_and_only_what_was_acknowledged_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let room = Room::start(&dir.path().join("room.sqlite"), 0, &["--per-address", "20"]);
    let ada = Id::random().unwrap();
    let (mut acknowledged, mut refused) = (0, 0);
    for _ in 0..300 {
        let (status, body) = room.post(&one(report(
            &ada,
            "ada",
            "write_vectorized",
            Verdict::Passed,
            None,
        )));
        match status {
            200 => acknowledged += 1,
            429 => {
                assert!(body.contains("too many requests from 127.0.0.1"), "{body}");
                refused += 1;
            }
            _ => panic!("{status}: {body}"),
        }
    }
    assert!(
        refused > 0 && acknowledged >= 20,
        "{acknowledged} acknowledged, {refused} refused"
    );
    // The flood is over once the address has been quiet for a second.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(room.state()["results"], acknowledged);
}

#[test]
fn a_killed_server_keeps_every_acknowledged_result_and_its_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.sqlite");
    let room = Room::start(&db, 0, &[]);
    let (learners, instructor, port) =
        (room.learners.clone(), room.instructor.clone(), room.port());
    let ada = Id::random().unwrap();
    for i in 0..40 {
        let verdict = if i % 2 == 0 {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        let cause = (verdict == Verdict::Failed).then_some("not_committed");
        let (status, body) = room.post(&one(report(
            &ada,
            "ada",
            "write_vectorized_binary",
            verdict,
            cause,
        )));
        assert_eq!(status, 200, "{body}");
    }
    room.kill();
    let again = Room::start(&db, port, &[]);
    assert_eq!(
        (again.learners.as_str(), again.instructor.as_str()),
        (learners.as_str(), instructor.as_str())
    );
    assert_eq!(again.state()["results"], 40);
}

/// A grade as the grader writes it, in a fresh exercises folder.
fn exercises_with_a_grade() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("write_vectorized");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join(".grade.json"),
        r#"{"schema":1,"exercise":"write_vectorized","verdict":"failed","failed_check":"correct",
            "cause":{"kind":"floor_modulo","sentence":"…"},"speed_ratio":null,
            "finished_at":1765140000,"seconds":2.5,"sources":1,"checks":[]}"#,
    )
    .unwrap();
    dir
}

fn send(exercises: &Path, room: &str) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_room-send"))
        .arg("--exercises")
        .arg(exercises)
        .arg("write_vectorized")
        .env("ROOM", room)
        .env_remove("ROOM_NAME")
        .output()
        .unwrap();
    (out, started.elapsed())
}

fn queued(exercises: &Path) -> usize {
    std::fs::read_dir(exercises.join(".room/queue")).map_or(0, |d| d.count())
}

#[test]
fn a_room_out_of_reach_costs_verify_under_a_second_and_its_results_go_later() {
    let exercises = exercises_with_a_grade();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.sqlite");
    let room = Room::start(&db, 0, &[]);
    let (address, port) = (room.learners.clone(), room.port());
    room.kill();
    // Stopped: the port refuses at once.
    let (out, took) = send(exercises.path(), &address);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(took < Duration::from_secs(1), "{took:?}: {said}");
    assert!(
        said.contains("did not answer") && said.contains("1 result wait"),
        "{said}"
    );
    assert_eq!(queued(exercises.path()), 1);
    // A host that takes the connection and never answers: the deadline holds.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let code = address.rsplit('/').next().unwrap();
    let silent_address = format!("http://{}/r/{code}", silent.local_addr().unwrap());
    let (out, took) = send(exercises.path(), &silent_address);
    assert!(
        took < Duration::from_secs(1),
        "{took:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(queued(exercises.path()), 1, "the same grade is queued once");
    // Back: the next verify (here with no new grade) sends what waited.
    let room = Room::start(&db, port, &[]);
    let (out, _) = send(exercises.path(), &address);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("1 result sent as "),
        "{said}"
    );
    assert_eq!(queued(exercises.path()), 0);
    let state = room.state();
    assert_eq!(state["results"], 1);
    assert_eq!(state["causes"][0]["cause"], "floor modulo");
    // The pseudonym is made once and is not the login name.
    let name = std::fs::read_to_string(exercises.path().join(".room/name")).unwrap();
    assert_eq!(state["learners"][0]["name"], name.trim());
    assert_ne!(Some(name.trim().to_owned()), std::env::var("USER").ok());
}

#[test]
fn sixty_learners_posting_every_two_seconds_lose_nothing_across_a_kill() {
    let out = Command::new(env!("CARGO_BIN_EXE_room-load"))
        .args([
            "--learners",
            "60",
            "--every",
            "2",
            "--seconds",
            "16",
            "--kill-after",
            "8",
        ])
        .arg("--deck")
        .arg(repo().join("workshop/slides/deck.md"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // | learners | every | for | made | stored | lost | ...
    let row = said.lines().find(|l| l.starts_with("| 60 |")).unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[4], "480", "{said}");
    assert_eq!((cells[5], cells[6]), ("480", "0"), "{said}");
}
