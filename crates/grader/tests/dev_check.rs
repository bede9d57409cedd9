//! The exercises checked both ways, as rustlings' `dev check` does: every exercise fails as
//! generated, every solution passes; a wrong solution fails with the first differing value, a
//! slow one fails the speed check. With `HPC_CHECK=rust-only` (a machine without MPI and
//! HDF5) only the Rust-only exercises run, and the test says which it left out.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use grader::exercise::{Exercise, Layout};
use grader::source::strip_anchors;
use steps::Needs;

/// The speed checks time programs: one grading at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A fixed folder (not a fresh temporary one): the exercises keep their build between runs.
fn exercises() -> PathBuf {
    repo().join("target/dev-check/exercises")
}

fn grader(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_exercise"))
        .args(args)
        .arg("--exercises")
        .arg(exercises())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn rust_only() -> bool {
    std::env::var("HPC_CHECK").is_ok_and(|v| v == "rust-only")
}

/// The exercises this machine can build, and a note on those it cannot.
fn exercises_here() -> Vec<Exercise> {
    let (here, left): (Vec<_>, Vec<_>) = Exercise::all()
        .into_iter()
        .partition(|e| !rust_only() || e.reference().needs() == Needs::Rust);
    if !left.is_empty() {
        let names: Vec<_> = left.iter().map(|e| e.name()).collect();
        eprintln!(
            "HPC_CHECK=rust-only: not checked here: {}",
            names.join(", ")
        );
    }
    here
}

/// Writes `exercise`'s solution into its folder: the step's own sources, or the capstone's.
fn solve(exercise: Exercise, edit: impl Fn(&str) -> String) {
    let folder = exercises().join(exercise.name());
    match exercise {
        Exercise::Step(step) => {
            let src = repo().join("crates").join(step.name).join("src");
            for entry in fs::read_dir(src).unwrap() {
                let path = entry.unwrap().path();
                let text = strip_anchors(&fs::read_to_string(&path).unwrap());
                fs::write(
                    folder.join("src").join(path.file_name().unwrap()),
                    edit(&text),
                )
                .unwrap();
            }
        }
        Exercise::Capstone(c) => {
            fs::write(folder.join("src/main.rs"), edit(&strip_anchors(c.solution))).unwrap();
        }
    }
}

fn start(exercise: Exercise) {
    let (code, text) = grader(&["new", exercise.name(), "--reset"]);
    assert_eq!(code, 0, "exercise new {}: {text}", exercise.name());
}

#[test]
fn every_exercise_fails_as_generated_and_passes_as_its_own_solution() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for exercise in exercises_here() {
        let name = exercise.name();
        start(exercise);
        let (code, text) = grader(&["verify", name]);
        assert_eq!(code, 1, "{name} as generated must fail verify:\n{text}");
        assert!(
            text.contains("✗ correct") && text.contains("a part is still to write"),
            "{name} as generated must fail on its todo!:\n{text}"
        );
        solve(exercise, str::to_string);
        // Correct and safe, untimed: the speed check is held to its word by
        // a_correct_but_slow_solution_fails_the_speed_check (and timed in full by the learner
        // test); timing every exercise here would add minutes and test nothing more.
        let (code, text) = grader(&["verify", name, "--untimed"]);
        assert_eq!(code, 3, "{name}'s own solution must pass verify:\n{text}");
        for check in ["✓ builds", "✓ correct", "✓ safe", "not timed: --untimed"] {
            assert!(text.contains(check), "{name}: no `{check}`:\n{text}");
        }
    }
}

/// Replaces `from` (which must be there) with `to`.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the solution no longer has `{from}`");
    text.replacen(from, to, 1)
}

#[test]
fn another_order_of_operations_fails_with_the_first_differing_value() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let step = Exercise::find("write_vectorized").unwrap();
    let capstone = Exercise::find("capstone_threads").unwrap();
    for (exercise, from) in [(step, "frac(x * x * y"), (capstone, "let v = x * x * y")] {
        start(exercise);
        let to = from.replace("x * x * y", "x * (x * y)");
        solve(exercise, |t| replaced(t, from, &to));
        let (code, text) = grader(&["verify", exercise.name()]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("✗ correct"), "{text}");
        assert!(
            text.contains("yours ")
                && text.contains("(bits 0x")
                && text.contains("order of operations"),
            "the first differing value, its bits and the likely cause:\n{text}"
        );
    }
}

#[test]
fn a_correct_but_slow_solution_fails_the_speed_check() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exercise = Exercise::find("write_vectorized_binary").unwrap();
    start(exercise);
    // Correct bytes, one write call per value: the system call per value is the slowness.
    let one_write = "npy.write_all(bytemuck::cast_slice(values))?;";
    let per_value = "for v in values { npy.write_all(&v.to_le_bytes())?; }";
    solve(exercise, |t| replaced(t, one_write, per_value));
    let (code, text) = grader(&["verify", exercise.name()]);
    assert!(
        text.contains("✓ correct") && text.contains("✓ safe"),
        "{text}"
    );
    if text.contains("? fast") {
        eprintln!("the machine could not measure the speed now:\n{text}");
        assert_eq!(code, 3, "{text}");
        return;
    }
    assert_eq!(code, 1, "{text}");
    // Either timed round by round past 1.25× slower, or stopped at ten times the reference's
    // time; either way the grader says where the time went and why.
    assert!(
        text.contains("✗ fast")
            && (text.contains("more than the 1.25× slower allowed")
                || text.contains("stopped after")),
        "{text}"
    );
    assert!(
        text.contains("one write per value") || text.contains("in the kernel"),
        "a speed stop names its cause: {text}"
    );
}

/// Grades `exercise` with its solution edited by `edit`, which must fail the correct check;
/// returns the grader's report.
fn graded_wrong(name: &str, edit: impl Fn(&str) -> String) -> String {
    let exercise = Exercise::find(name).unwrap();
    start(exercise);
    solve(exercise, edit);
    let (code, text) = grader(&["verify", name]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✗ correct"), "{text}");
    text
}

#[test]
fn each_usual_mistake_is_named_by_its_cause() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The file never committed: nothing gets its name.
    let text = graded_wrong("write_vectorized_binary", |t| {
        replaced(t, "    npy.commit()\n}", "    drop(npy);\n    Ok(())\n}")
    });
    assert!(
        text.contains("no file got its final name") && text.contains("commit"),
        "{text}"
    );
    // Rust's % instead of numpy's floor modulo: the negative values are off by one.
    let text = graded_wrong("write_vectorized", |t| {
        replaced(
            t,
            "frac(x * x * y + y * y * x + t)",
            "(x * x * y + y * y * x + t) % 1.0",
        )
    });
    assert!(text.contains("Rust's % keeps the sign"), "{text}");
    // A header whose shape is the number of values.
    let text = graded_wrong("write_vectorized_binary", |t| {
        replaced(
            t,
            "gridgen::npy::header(data.shape())",
            "gridgen::npy::header(&[data.len()])",
        )
    });
    assert!(
        text.contains("header differs at byte 63, in the shape")
            && text.contains("yours:   {'descr'"),
        "{text}"
    );
    // A split that forgets the remainder leaves the last files out.
    let text = graded_wrong("write_mpi", |t| {
        replaced(
            t,
            "let chunks = array_split(n_files, world.size() as usize);",
            "let per = n_files / world.size() as usize; let chunks: Vec<std::ops::Range<usize>> = (0..world.size() as usize).map(|r| r * per..(r + 1) * per).collect();",
        )
    });
    assert!(text.contains("numpy.array_split gives"), "{text}");
}

#[test]
fn an_attribute_of_another_type_is_named() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if rust_only() {
        eprintln!("HPC_CHECK=rust-only: the HDF5 attribute's type is not checked here");
        return;
    }
    let text = graded_wrong("write_hdf5", |t| {
        replaced(
            t,
            "hf.new_attr::<u64>()\n        .create(\"n_files\")?\n        .write_scalar(&(args.n_files as u64))?;",
            "hf.new_attr::<i64>()\n        .create(\"n_files\")?\n        .write_scalar(&(args.n_files as i64))?;",
        )
    });
    assert!(
        text.contains("the root attribute n_files is stored as int64, the reference's as uint64"),
        "{text}"
    );
}

/// The processes running `binary` now.
fn running(binary: &str) -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(binary))
        .collect()
}

#[test]
fn a_panic_on_one_rank_is_reported_with_its_rank_and_nothing_is_left_running() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if rust_only() {
        eprintln!("HPC_CHECK=rust-only: the MPI capstone's panic is not checked here");
        return;
    }
    let start_time = std::time::Instant::now();
    let text = graded_wrong("capstone_mpi", |t| {
        replaced(
            t,
            "    let rank = world.rank() as usize;\n",
            "    let rank = world.rank() as usize;\n    if rank == 1 {\n        panic!(\"rank 1 trips over something\");\n    }\n",
        )
    });
    assert!(
        text.contains("rank 1 panicked at") && text.contains("rank 1 trips over something"),
        "{text}"
    );
    assert!(
        start_time.elapsed() < grader::correct::LIMIT + std::time::Duration::from_secs(30),
        "reported within the hang timeout: {:?}",
        start_time.elapsed()
    );
    let left = running("release/capstone_mpi");
    assert!(left.is_empty(), "processes of the run left: {left:?}");
    // In a step built on gridgen, the rank's panic is caught, reported as that rank's, and MPI's
    // own noise about the job's end is folded away.
    let text = graded_wrong("write_final", |t| {
        replaced(
            t,
            "    // Collective: every rank opens the same file",
            "    if world.rank() == 1 {\n        panic!(\"rank 1 trips over something\");\n    }\n    // Collective: every rank opens the same file",
        )
    });
    assert!(
        text.contains("rank 1 panicked at") && text.contains("trips over something"),
        "{text}"
    );
    assert!(
        !text.contains("ORTE_ERROR_LOG") && !text.contains("internal error"),
        "{text}"
    );
    assert!(running("release/my_write_final").is_empty());
}

#[test]
fn a_learners_work_is_never_overwritten_and_a_reset_keeps_a_copy() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exercise = Exercise::find("write_rayon").unwrap();
    start(exercise);
    let main = exercises().join("write_rayon/src/main.rs");
    fs::write(&main, "// my work\n").unwrap();
    let (code, text) = grader(&["new", "write_rayon"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("already holds your work") && text.contains("RESET=1"),
        "{text}"
    );
    assert_eq!(fs::read_to_string(&main).unwrap(), "// my work\n");
    start(exercise);
    let backups = fs::read_dir(exercises().join(".backup")).unwrap();
    let kept = backups
        .map(|e| e.unwrap().path().join("src/main.rs"))
        .any(|p| fs::read_to_string(p).is_ok_and(|t| t == "// my work\n"));
    assert!(kept, "the reset kept no copy of the learner's file");
    let generated = fs::read_to_string(&main).unwrap();
    assert!(
        !generated.contains("ANCHOR") && generated.contains("todo!("),
        "{generated}"
    );
    let (code, text) = grader(&["new", "write_nothing"]);
    assert_eq!(code, 2, "{text}");
    let layout = Layout::new(Some(exercises())).unwrap();
    assert!(layout.target.join("release").is_dir());
}

#[test]
fn the_harder_mode_starts_from_the_predecessors_code() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (code, text) = grader(&[
        "new",
        "write_vectorized_binary",
        "--reset",
        "--from-predecessor",
    ]);
    assert_eq!(code, 0, "{text}");
    let main = fs::read_to_string(exercises().join("write_vectorized_binary/src/main.rs")).unwrap();
    let predecessor = strip_anchors(
        &fs::read_to_string(repo().join("crates/write_vectorized/src/main.rs")).unwrap(),
    );
    assert_eq!(main, predecessor);
    // The predecessor writes text where this step writes .npy: it fails until turned into it.
    let (code, text) = grader(&["verify", "write_vectorized_binary"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("data00000.npy: the .npy header differs at byte 0"),
        "{text}"
    );
}

#[test]
fn hints_come_one_at_a_time_from_every_exercises_chapter() {
    let layout = Layout::new(Some(exercises())).unwrap();
    for exercise in Exercise::all() {
        let hints = grader::hints::hints(&layout, exercise).unwrap();
        assert!(
            hints.len() >= 2,
            "{}: {} hints",
            exercise.name(),
            hints.len()
        );
    }
    // The capstones' todo!() messages point at sections of their chapter that exist.
    for capstone in grader::exercise::CAPSTONES {
        for hole in capstone.holes {
            let (file, id) = hole.section.split_once('#').unwrap();
            let text = fs::read_to_string(repo().join("workshop/src").join(file)).unwrap();
            let found = text
                .lines()
                .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
                .any(|h| steps::derived::heading_id(h) == id);
            assert!(found, "{file} has no section #{id} ({})", capstone.name);
        }
    }
}
