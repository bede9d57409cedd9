//! The exercises checked both ways, as rustlings' `dev check` does: every exercise fails as
//! generated, every solution passes — on a busy machine too; and the grader leaves nothing
//! behind: no process, no run folder, no MPI segment, whether a run passes, hangs or the
//! grader is stopped with Ctrl-C; two verifies of one exercise at once both finish. With
//! `HPC_CHECK=rust-only` (a machine without MPI and HDF5) only the Rust-only exercises run, and
//! the test says which it left out. The wrong solutions are in `wrong_solutions.rs`.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{buildable, replaced, repo, root, running, Folder};
use grader::cause::{Topic, Tutor};
use grader::exercise::{Exercise, Layout};
use grader::source::strip_anchors;

/// The speed checks time programs: one grading at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn folder() -> Folder {
    Folder::new("exercises")
}

/// The exercises this machine can build, and a note on those it cannot.
fn exercises_here() -> Vec<Exercise> {
    let (here, left): (Vec<_>, Vec<_>) = Exercise::all().into_iter().partition(|e| buildable(*e));
    if !left.is_empty() {
        let names: Vec<_> = left.iter().map(|e| e.name()).collect();
        eprintln!(
            "HPC_CHECK=rust-only: not checked here: {}",
            names.join(", ")
        );
    }
    here
}

#[test]
fn every_exercise_fails_as_generated_and_passes_as_its_own_solution() {
    let _one = one_at_a_time();
    let folder = folder();
    for exercise in exercises_here() {
        let name = exercise.name();
        folder.start(exercise);
        let (code, text) = folder.grader(&["verify", name], &[]);
        assert_eq!(code, 1, "{name} as generated must fail verify:\n{text}");
        assert!(
            text.contains("✗ correct") && text.contains("a part is still to write"),
            "{name} as generated must fail on its todo!:\n{text}"
        );
        assert_eq!(folder.grade(name)["cause"]["kind"], "todo_left", "{text}");
        folder.solve(exercise, str::to_string);
        // Correct and safe, untimed: the speed check is held to its word by the busy-machine
        // test here and the slow wrong solutions.
        let (code, text) = folder.grader(&["verify", name, "--untimed"], &[]);
        assert_eq!(code, 0, "{name}'s own solution must pass verify:\n{text}");
        for check in ["✓ builds", "✓ correct", "✓ safe", "not timed: --untimed"] {
            assert!(text.contains(check), "{name}: no `{check}`:\n{text}");
        }
    }
}

/// Spins `threads` threads until the returned flag is set: a busy machine.
fn busy(threads: usize) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = (0..threads)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    std::hint::black_box(x);
                }
            })
        })
        .collect();
    (stop, handles)
}

#[test]
fn a_correct_solution_is_never_failed_on_speed_because_the_machine_is_busy() {
    let _one = one_at_a_time();
    let folder = folder();
    let exercise = Exercise::find("write_vectorized_binary").unwrap();
    folder.start(exercise);
    folder.solve(exercise, str::to_string);
    // Twice as many busy threads as cores, beside the timing.
    let (stop, handles) = busy(2 * tools::cores());
    let (code, text) = folder.grader(&["verify", exercise.name()], &[]);
    stop.store(true, Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(
        code, 0,
        "the step's own solution on a busy machine:\n{text}"
    );
    assert!(
        text.contains("✓ fast") || text.contains("? fast: not judged"),
        "{text}"
    );
    assert!(!text.contains('✗'), "{text}");
}

#[test]
fn a_panic_on_one_rank_is_reported_with_its_rank_and_nothing_is_left_running() {
    let _one = one_at_a_time();
    if common::rust_only() {
        eprintln!("HPC_CHECK=rust-only: the MPI panics are not checked here");
        return;
    }
    let folder = folder();
    for (name, from, to) in [
        ("capstone_mpi", "    let rank = world.rank() as usize;\n", "    let rank = world.rank() as usize;\n    if rank == 1 {\n        panic!(\"rank 1 trips over something\");\n    }\n"),
        ("write_final", "    let h5 = gridgen_mpi::create_one_file(&out, world)?;", "    if world.rank() == 1 {\n        panic!(\"rank 1 trips over something\");\n    }\n    let h5 = gridgen_mpi::create_one_file(&out, world)?;"),
    ] {
        let exercise = Exercise::find(name).unwrap();
        folder.start(exercise);
        folder.solve(exercise, |t| replaced(t, from, to));
        let (code, text) = folder.grader(&["verify", name, "--untimed"], &[]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("rank 1 panicked at") && text.contains("rank 1 trips over something"), "{text}");
        assert_eq!(folder.grade(name)["cause"]["kind"], "panicked", "{text}");
        // MPI's own noise about the job's end is folded away.
        assert!(!text.contains("ORTE_ERROR_LOG") && !text.contains("internal error"), "{text}");
        let binary = exercise.binary();
        let left = running(&format!("bin/{binary} "));
        assert!(left.is_empty(), "processes of the run left: {left:?}");
    }
}

/// The wrong solution that spins forever.
fn spinning(folder: &Folder) -> Exercise {
    let exercise = Exercise::find("write_vectorized_binary").unwrap();
    folder.start(exercise);
    folder.solve(exercise, |t| {
        replaced(t, "    let mut file = out.create_file(file_id)?;", "    let mut waited = 0u64;\n    while waited < 1 {\n        waited *= 2;\n    }\n    let mut file = out.create_file(file_id)?;")
    });
    exercise
}

#[test]
fn ctrl_c_on_verify_ends_the_learners_program_and_removes_the_run_folder() {
    let _one = one_at_a_time();
    let folder = folder();
    let exercise = spinning(&folder);
    let tmp = repo().join("target/dev-check/tmp-ctrl-c");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(common::grader_binary())
        .args(["verify", exercise.name(), "--untimed", "--exercises"])
        .arg(&folder.0)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let program = format!("/bin/{} ", exercise.binary());
    // No clock here: the grader's own limit ends a program that runs too long, and then the
    // grader ends, which fails the test.
    while running(&program).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the grader ended before the program ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on the grader we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGINT), "{status:?}");
    assert!(
        running(&program).is_empty(),
        "the learner's program still runs"
    );
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "the run's folder is left: {left:?}");
    let shm = format!("grader-{}-", child.id());
    assert!(fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(&shm)));
}

#[test]
fn a_stopped_mpi_run_leaves_no_segment_in_dev_shm_and_nothing_in_tmp() {
    let _one = one_at_a_time();
    if common::rust_only() || !root() {
        eprintln!("not checked here: a private /dev/shm needs root and MPI");
        return;
    }
    let folder = folder();
    let exercise = Exercise::find("write_mpi").unwrap();
    folder.start(exercise);
    folder.solve(exercise, |t| {
        replaced(
            t,
            ".enumerate().skip(1) {",
            ".enumerate().skip(1).filter(|(r, _)| r + 1 < world.size() as usize) {",
        )
    });
    let tmp = repo().join("target/dev-check/tmp-mpi");
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    // A /dev/shm of the grader's own, listed once it has ended.
    let script = "mount -t tmpfs tmpfs /dev/shm && \"$0\" \"$@\"; echo \"exit $?\"; echo /dev/shm holds:; ls -A /dev/shm";
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(common::grader_binary())
        .args(["verify", "write_mpi", "--untimed", "--exercises"])
        .arg(&folder.0)
        .env("TMPDIR", &tmp)
        .env("GRADER_HANG_SECONDS", "20")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("exit 1") && text.contains("a hang"), "{text}");
    let shm = text.split("/dev/shm holds:").nth(1).unwrap_or("?");
    assert!(shm.trim().is_empty(), "left in /dev/shm: {shm}");
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn two_verifies_of_one_exercise_at_once_both_finish() {
    let _one = one_at_a_time();
    let folder = folder();
    let exercise = Exercise::find("write_rayon").unwrap();
    folder.start(exercise);
    folder.solve(exercise, str::to_string);
    let start = || {
        Command::new(common::grader_binary())
            .args(["verify", exercise.name(), "--untimed", "--exercises"])
            .arg(&folder.0)
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    for out in [a, b] {
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("✓ correct") && text.contains("✓ safe"),
            "{text}"
        );
    }
}

#[test]
fn every_section_the_grader_links_is_in_the_book() {
    let topics = [
        Topic::Field,
        Topic::Text,
        Topic::Npy,
        Topic::WriteThenRename,
        Topic::Workers,
        Topic::Split,
        Topic::Agree,
        Topic::Hdf5,
        Topic::Errors,
        Topic::Profile,
    ];
    let mut sections: Vec<&str> = Exercise::all()
        .into_iter()
        .flat_map(|e| topics.map(|t| Tutor::new(e).section(t)))
        .collect();
    for capstone in grader::exercise::CAPSTONES {
        sections.extend(capstone.holes.iter().map(|h| h.section));
    }
    for section in sections {
        let (file, id) = section.split_once('#').unwrap();
        let text = fs::read_to_string(repo().join("workshop/src").join(file)).unwrap();
        let found = text
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim())
            .any(|h| steps::derived::heading_id(h) == id);
        assert!(found, "{file} has no section #{id}");
    }
}

#[test]
fn a_learners_work_is_never_overwritten_and_a_reset_keeps_a_copy() {
    let _one = one_at_a_time();
    let folder = folder();
    let exercise = Exercise::find("write_rayon").unwrap();
    folder.start(exercise);
    let main = folder.0.join("write_rayon/src/main.rs");
    fs::write(&main, "// my work\n").unwrap();
    let (code, text) = folder.grader(&["new", "write_rayon"], &[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("already holds your work") && text.contains("RESET=1"),
        "{text}"
    );
    assert_eq!(fs::read_to_string(&main).unwrap(), "// my work\n");
    folder.start(exercise);
    let backups = fs::read_dir(folder.0.join(".backup")).unwrap();
    let kept = backups
        .map(|e| e.unwrap().path().join("src/main.rs"))
        .any(|p| fs::read_to_string(p).is_ok_and(|t| t == "// my work\n"));
    assert!(kept, "the reset kept no copy of the learner's file");
    let generated = fs::read_to_string(&main).unwrap();
    assert!(
        !generated.contains("ANCHOR") && generated.contains("todo!("),
        "{generated}"
    );
    let (code, text) = folder.grader(&["new", "write_nothing"], &[]);
    assert_eq!(code, 2, "{text}");
    let layout = Layout::new(Some(folder.0.clone())).unwrap();
    assert!(layout.target.join("release").is_dir());
}

#[test]
fn the_harder_mode_starts_from_the_predecessors_code() {
    let _one = one_at_a_time();
    let folder = folder();
    let (code, text) = folder.grader(
        &[
            "new",
            "write_vectorized_binary",
            "--reset",
            "--from-predecessor",
        ],
        &[],
    );
    assert_eq!(code, 0, "{text}");
    let main = fs::read_to_string(folder.0.join("write_vectorized_binary/src/main.rs")).unwrap();
    let predecessor = strip_anchors(
        &fs::read_to_string(repo().join("crates/write_vectorized/src/main.rs")).unwrap(),
    );
    assert_eq!(main, predecessor);
    // The predecessor writes text where this step writes .npy: it fails until turned into it.
    let (code, text) = folder.grader(&["verify", "write_vectorized_binary", "--untimed"], &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("data00000.txt is there"), "{text}");
    assert_eq!(
        folder.grade("write_vectorized_binary")["cause"]["kind"],
        "other_format"
    );
}

#[test]
fn hints_come_one_at_a_time_from_every_exercises_chapter() {
    let layout = Layout::new(Some(folder().0)).unwrap();
    for exercise in Exercise::all() {
        let hints = grader::hints::hints(&layout, exercise).unwrap();
        assert!(
            hints.len() >= 2,
            "{}: {} hints",
            exercise.name(),
            hints.len()
        );
    }
}
