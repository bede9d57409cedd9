//! Wrong solutions of the kinds learners write, each one mistake in a correct copy, and the
//! cause each verdict must name: its kind in `.grade.json` (what the room page reads) and the
//! words the learner reads. Every mistake class the grader tells apart is here at least once,
//! in steps and in capstones; a capstone's verdict never advises the workshop's own calls.
//!
//! `GRADER_UNDER_TEST=<path to another exercise binary>` grades them with another grader, to
//! measure it: the test then fails, listing what that grader named.

mod common;

use std::fmt::Write as _;
use std::fs;

use common::{buildable, repo, Folder};
use grader::exercise::Exercise;

/// One wrong solution.
struct Wrong {
    exercise: &'static str,
    mistake: &'static str,
    /// `(from, to)` replacements in the solution; `{repo}` is the project's folder.
    edits: &'static [(&'static str, &'static str)],
    /// The check that must fail, and the cause it must name (its `.grade.json` kind).
    check: &'static str,
    cause: &'static str,
    /// Words the cause's sentence must hold.
    says: &'static str,
    /// Graded with its speed timed (the speed is what is wrong).
    timed: bool,
}

const fn wrong(
    exercise: &'static str,
    mistake: &'static str,
    edits: &'static [(&'static str, &'static str)],
    check: &'static str,
    cause: &'static str,
    says: &'static str,
) -> Wrong {
    Wrong {
        exercise,
        mistake,
        edits,
        check,
        cause,
        says,
        timed: false,
    }
}

const FIELD: &str = "frac(x * x * y + y * y * x + t)";

#[rustfmt::skip]
const WRONG: &[Wrong] = &[
    // What a wrong array is, from all of its values.
    wrong("write_vectorized_binary", "values written big-endian",
        &[("file.write_all(gridgen::npy::tobytes(data))?;", "let be: Vec<u8> = data.iter().flat_map(|v| v.to_be_bytes()).collect();\n    file.write_all(&be)?;")],
        "correct", "byte_swapped", "reverse order"),
    wrong("write_vectorized", "the field computed in f32",
        &[(FIELD, "frac(f64::from((x as f32) * (x as f32) * (y as f32) + (y as f32) * (y as f32) * (x as f32) + t as f32))")],
        "correct", "single_precision", "f32"),
    wrong("capstone_threads", "the grid transposed (meshgrid's axes swapped)",
        &[("|(_, j)| x[j]);", "|(j, _)| x[j]);"), ("|(i, _)| y[i]);", "|(_, i)| y[i]);")],
        "correct", "transposed", "transposed"),
    wrong("write_final_collective", "the last plane of each batch never computed",
        &[("for (k, file_id) in out.progress(files.iter().copied()).enumerate() {", "for (k, file_id) in out.progress(files.iter().copied().take(files.len().saturating_sub(1))).enumerate() {")],
        "correct", "never_written", "never written"),
    wrong("write_final", "a rank's first dataset never filled",
        &[("for file_id in out.progress(my_files) {", "for file_id in out.progress(my_files.into_iter().skip(1)) {")],
        "correct", "never_written", "fill value"),
    wrong("write_vectorized", "the array of the next file index",
        &[("let data = generate_data(xx, yy, n_files, file_id);", "let data = generate_data(xx, yy, n_files, file_id + 1);")],
        "correct", "shifted_index", "file index 1"),
    wrong("write_mpi_scatter", "file indices handed out from 1",
        &[("let all_files: Vec<usize> = (0..n_files).collect();", "let all_files: Vec<usize> = (1..=n_files).collect();")],
        "correct", "shifted_index", "one index off"),
    wrong("capstone_threads", "t divided by n + 1",
        &[("let t = file_id as f64 / n_files as f64;", "let t = file_id as f64 / (n_files as f64 + 1.0);")],
        "correct", "offset_in_t", "another t"),
    wrong("write_vectorized", "Rust's % instead of numpy's floor modulo",
        &[(FIELD, "(x * x * y + y * y * x + t) % 1.0")],
        "correct", "floor_modulo", "Rust's % keeps the sign"),
    wrong("write_vectorized", "another order of operations",
        &[("frac(x * x * y", "frac(x * (x * y)")],
        "correct", "order_of_operations", "order of operations"),
    wrong("capstone_threads", "another order of operations",
        &[("let v = x * x * y", "let v = x * (x * y)")],
        "correct", "order_of_operations", "order of operations"),
    wrong("write_rayon", "another formula",
        &[(FIELD, "frac(x * y + t)")],
        "correct", "other_formula", "another formula"),
    // What the files show.
    wrong("write_vectorized_binary", "the file never committed",
        &[("    file.commit()\n}", "    drop(file);\n    Ok(())\n}")],
        "correct", "not_committed", "file.commit()"),
    wrong("write_mpi", "a split that drops the remainder",
        &[("let chunks = array_split(n_files, world.size() as usize);", "let per = n_files / world.size() as usize; let chunks: Vec<std::ops::Range<usize>> = (0..world.size() as usize).map(|r| r * per..(r + 1) * per).collect();")],
        "correct", "split_drops_remainder", "numpy.array_split"),
    wrong("write_vectorized_binary", "the header's shape as the number of values",
        &[("gridgen::npy::header(data.shape())", "gridgen::npy::header(&[data.len()])")],
        "correct", "npy_shape", "numpy.save's header"),
    // HDF5: the structure before the contents.
    wrong("write_hdf5", "an attribute of another type",
        &[("hf.new_attr::<u64>()\n        .create(\"n_files\")?\n        .write_scalar(&(args.n_files as u64))?;", "hf.new_attr::<i64>()\n        .create(\"n_files\")?\n        .write_scalar(&(args.n_files as i64))?;")],
        "correct", "h5_type", "write it as a u64"),
    wrong("write_hdf5", "no file_id attribute on the datasets",
        &[("    dataset\n        .new_attr::<u64>()\n        .create(\"file_id\")?\n        .write_scalar(&(file_id as u64))?;\n    Ok(())", "    let _ = dataset;\n    Ok(())")],
        "correct", "h5_missing_attribute", "file_id"),
    wrong("write_hdf5", "an extra dataset",
        &[("        .write_scalar(&Y_ORIGIN)?;\n    Ok(())", "        .write_scalar(&Y_ORIGIN)?;\n    hf.new_dataset::<f64>().shape((2,)).create(\"grid\")?;\n    Ok(())")],
        "correct", "h5_extra_dataset", "nothing else"),
    wrong("write_hdf5", "an extra group",
        &[("        .write_scalar(&Y_ORIGIN)?;\n    Ok(())", "        .write_scalar(&Y_ORIGIN)?;\n    hf.create_group(\"meta\")?;\n    Ok(())")],
        "correct", "h5_extra_group", "nothing else"),
    wrong("capstone_mpi", "a root attribute left out",
        &[("[(\"x_origin\", 0.0f64), (\"y_origin\", 500.0)]", "[(\"x_origin\", 0.0f64)]")],
        "correct", "h5_missing_attribute", "root"),
    wrong("write_final_collective", "the cube one plane too many",
        &[("let shape = (args.n_files, args.size, args.size);", "let shape = (args.n_files + 1, args.size, args.size);")],
        "correct", "h5_shape", "(n_files, size, size)"),
    // Hangs, by what was running.
    wrong("write_vectorized_binary", "a loop whose variable never changes",
        &[("    let mut file = out.create_file(file_id)?;", "    let mut waited = 0u64;\n    while waited < 1 {\n        waited *= 2;\n    }\n    let mut file = out.create_file(file_id)?;")],
        "correct", "hang_spinning", "loop that never ends"),
    wrong("write_vectorized", "a lock taken twice",
        &[("    out.save_txt(file_id, &data)\n}", "    let lock = std::sync::Mutex::new(());\n    let _first = lock.lock();\n    let _second = lock.lock();\n    out.save_txt(file_id, &data)\n}")],
        "correct", "hang_blocked", "futex"),
    wrong("write_multiprocessing_queue", "the queue never closed",
        &[("        drop(queue); // no more files: each worker's loop ends once the queue is empty\n", "")],
        "correct", "hang_channel_not_closed", "never closed"),
    wrong("capstone_threads", "the channel never closed",
        &[("        drop(tasks);\n    });", "    });")],
        "correct", "hang_channel_not_closed", "Sender"),
    wrong("write_multiprocessing", "a worker that never answers",
        &[("        if to_main.send(written).is_err() {\n            return; // the main thread has stopped waiting\n        }", "        let _ = (written, &to_main);")],
        "correct", "hang_threads_deadlocked", "waiting for another"),
    wrong("write_mpi", "the last rank never sent its chunk",
        &[(".enumerate().skip(1) {", ".enumerate().skip(1).filter(|(r, _)| r + 1 < world.size() as usize) {")],
        "correct", "hang_mpi_waiting", "rank"),
    wrong("capstone_mpi", "rank 0 skips an agreement",
        &[("    let all_written = all_agree(world, written.is_ok());", "    let all_written = rank != 0 || all_agree(world, written.is_ok());")],
        "correct", "hang_mpi_waiting", "collective"),
    // What the files cannot show.
    wrong("write_vectorized_binary", "a copy of each file in the working folder",
        &[("    file.commit()\n}", "    let _ = std::fs::write(\"last.npy\", gridgen::npy::tobytes(data));\n    file.commit()\n}")],
        "correct", "wrote_outside_dir", "--dir"),
    wrong("write_vectorized_binary", "a file written into the project",
        &[("    file.commit()\n}", "    std::fs::write(\"{repo}/grader-was-here.txt\", b\"x\")?;\n    file.commit()\n}")],
        "correct", "wrote_outside_dir", "--dir"),
    wrong("write_mpi", "every rank writes every file",
        &[("    let my_files = my_files(&world, args.n_files);", "    let _ = my_files(&world, args.n_files);\n    let my_files: Vec<usize> = (0..args.n_files).collect();")],
        "correct", "duplicate_work", "own share"),
    wrong("write_final", "every rank fills every dataset",
        &[("for file_id in out.progress(my_files) {", "for file_id in out.progress(0..args.n_files) {")],
        "correct", "duplicate_work", "its own"),
    wrong("write_rayon", "-w ignored: two threads always",
        &[(".num_threads(args.workers)", ".num_threads(2)")],
        "correct", "workers_ignored", "args.workers"),
    wrong("capstone_threads", "-w ignored: one worker a core",
        &[("for _ in 0..args.workers.max(1) {", "for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {")],
        "correct", "workers_ignored", "args.workers"),
    wrong("write_mpi_scatter", "rank 0 keeps every file",
        &[("        root.scatter_varcount_into(&mut my_files[..]);\n    }\n    my_files\n}", "        root.scatter_varcount_into(&mut my_files[..]);\n    }\n    let _ = my_files;\n    if world.rank() == ROOT {\n        (0..n_files).collect()\n    } else {\n        Vec::new()\n    }\n}")],
        "correct", "ranks_idle", "own share"),
    wrong("write_python", "a RuntimeError for an I/O error",
        &[(".map_err(|e| os_error(e, &path))", ".map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))")],
        "safe", "wrong_exception", "OSError"),
    wrong("write_python", "numpy.save's bytes written in place",
        &[("py.detach(|| write_new(&path, &[&header, bytemuck::cast_slice(values)]))", "py.detach(|| -> std::io::Result<()> {\n        let mut file = std::fs::File::create(&path)?;\n        std::io::Write::write_all(&mut file, &header)?;\n        std::io::Write::write_all(&mut file, bytemuck::cast_slice(values))\n    })")],
        "safe", "writes_in_place", "half a file"),
    wrong("write_vectorized_binary", "a file written in place",
        &[("    let mut file = out.create_file(file_id)?;", "    let mut file = std::fs::File::create(out.path(file_id))?;"),
          ("    file.write_all(&gridgen::npy::header(data.shape()))?;", "    std::io::Write::write_all(&mut file, &gridgen::npy::header(data.shape()))?;"),
          ("    file.write_all(gridgen::npy::tobytes(data))?;", "    std::io::Write::write_all(&mut file, gridgen::npy::tobytes(data))?;"),
          ("    file.commit()\n}", "    Ok(())\n}")],
        "safe", "writes_in_place", "half a file"),
    // Safe on failure.
    wrong("capstone_threads", "an unwrap on the rename",
        &[("        fs::rename(&partial, path)\n    })();", "        fs::rename(&partial, path).unwrap();\n        Ok(())\n    })();")],
        "safe", "safe_panic", "unwrap"),
    wrong("write_vectorized", "an error printed and the run going on",
        &[("        write_data(&xx, &yy, &out, args.n_files, file_id)?;", "        if let Err(e) = write_data(&xx, &yy, &out, args.n_files, file_id) {\n            eprintln!(\"Error: {e}\");\n        }")],
        "safe", "safe_exit_code", "exits 1"),
    wrong("capstone_threads", "two lines for one failure",
        &[("            eprintln!(\"capstone_threads: {e:#}\");", "            eprintln!(\"capstone_threads: something went wrong\");\n            eprintln!(\"capstone_threads: {e:#}\");")],
        "safe", "safe_many_lines", "one line"),
    wrong("capstone_threads", "an error that names no file",
        &[("            eprintln!(\"capstone_threads: {e:#}\");", "            eprintln!(\"capstone_threads: the run failed\");")],
        "safe", "safe_unnamed_file", "names the file"),
    wrong("capstone_threads", "the hidden file kept after a failure",
        &[("    if written.is_err() {\n        let _ = fs::remove_file(&partial);\n    }\n", "")],
        "safe", "safe_leftover", "hidden file"),
    // Speed: where the time goes.
    Wrong { timed: true, ..wrong("write_vectorized_binary", "one write call per value",
        &[("file.write_all(gridgen::npy::tobytes(data))?;", "for v in data.iter() {\n        file.write_all(&v.to_le_bytes())?;\n        std::io::Write::flush(&mut file).map_err(|e| gridgen::Error::msg(format!(\"cannot write {}: {e}\", out.path(file_id).display())))?;\n    }")],
        "fast", "slow_write_per_value", "write calls a file") },
    Wrong { timed: true, ..wrong("capstone_threads", "one unbuffered write per value",
        &[("        file.write_all(bytemuck::cast_slice(values))?;", "        file.flush()?;\n        for v in values {\n            file.get_mut().write_all(&v.to_le_bytes())?;\n        }")],
        "fast", "slow_write_per_value", "write calls a file") },
];

/// Calls a capstone has not got: its verdicts must not advise them.
const WORKSHOP_CALLS: [&str; 5] = ["gridgen", "out.", "commit()", "create_file", "save_txt"];

/// Grades one wrong solution: `None` when its verdict is right, else what was wrong with it.
fn graded(folder: &Folder, w: &Wrong) -> (bool, Option<String>) {
    let exercise = Exercise::find(w.exercise).unwrap();
    folder.start(exercise);
    let repo = repo().display().to_string();
    let edits: Vec<(&str, String)> = w
        .edits
        .iter()
        .map(|(from, to)| (*from, to.replace("{repo}", &repo)))
        .collect();
    folder.solve_edited(exercise, &edits);
    let mut args = vec!["verify", w.exercise];
    if !w.timed {
        args.push("--untimed");
    }
    // The hangs here are real: a shorter limit finds them sooner.
    let (code, text) = folder.grader(&args, &[("GRADER_HANG_SECONDS", "25")]);
    if edits.iter().any(|(_, to)| to.contains("grader-was-here")) {
        let _ = fs::remove_file(common::repo().join("grader-was-here.txt"));
    }
    let grade = folder.grade(w.exercise);
    let sentence = grade["cause"]["sentence"].as_str().unwrap_or_default();
    let says = text.contains(w.says);
    let mut wrong = Vec::new();
    if code != 1 {
        wrong.push(format!("exit {code}, not 1"));
    }
    if grade["failed_check"] != w.check {
        wrong.push(format!(
            "failed check {}, not {}",
            grade["failed_check"], w.check
        ));
    }
    if grade["cause"]["kind"] != w.cause {
        wrong.push(format!("cause {}, not {}", grade["cause"]["kind"], w.cause));
    }
    if !sentence.contains(w.says) {
        wrong.push(format!("the sentence does not say `{}`", w.says));
    }
    if matches!(exercise, Exercise::Capstone(_)) {
        if let Some(call) = WORKSHOP_CALLS.iter().find(|c| text.contains(*c)) {
            wrong.push(format!("a capstone's verdict names `{call}`"));
        }
    }
    let report = (!wrong.is_empty()).then(|| {
        format!(
            "{} — {}: {}\n{text}",
            w.exercise,
            w.mistake,
            wrong.join("; ")
        )
    });
    (says, report)
}

#[test]
fn every_wrong_solution_is_failed_naming_its_cause() {
    let under_test = std::env::var_os("GRADER_UNDER_TEST").is_some();
    let name = if under_test {
        "wrong-under-test"
    } else {
        "wrong"
    };
    let gradable: Vec<&Wrong> = WRONG
        .iter()
        .filter(|w| {
            let ok = buildable(Exercise::find(w.exercise).unwrap());
            if !ok {
                eprintln!(
                    "HPC_CHECK=rust-only: not graded here: {} ({})",
                    w.exercise, w.mistake
                );
            }
            ok
        })
        .collect();
    let verdicts = graded_all(name, &gradable);
    let mut failures = String::new();
    let (mut named, mut said) = (0, 0);
    for (says, report) in verdicts {
        said += usize::from(says);
        match report {
            None => named += 1,
            Some(report) => {
                let _ = writeln!(failures, "\n=== {report}");
            }
        }
    }
    let summary = format!(
        "{named} of {} wrong solutions failed naming their cause ({said} with its words in the report)",
        gradable.len()
    );
    let folder = Folder::new(name);
    let _ = fs::create_dir_all(&folder.0);
    let _ = fs::write(
        folder.0.join("summary.txt"),
        format!("{summary}\n{failures}"),
    );
    eprintln!("{summary}");
    assert!(failures.is_empty(), "{summary}{failures}");
}

/// Grades `wrongs`, their verdicts in their order. The untimed ones two at a time, each in an
/// exercises folder of its own: a hang's verdict waits out the hang limit, which the other one
/// fills. The timed ones then alone, so that nothing of this test slows what they time.
fn graded_all(name: &str, wrongs: &[&Wrong]) -> Vec<(bool, Option<String>)> {
    let verdicts = std::sync::Mutex::new(vec![None; wrongs.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let untimed: Vec<usize> = (0..wrongs.len()).filter(|&i| !wrongs[i].timed).collect();
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (verdicts, next, untimed) = (&verdicts, &next, &untimed);
            scope.spawn(move || {
                let folder = Folder::new(&format!("{name}-{worker}"));
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&i) = untimed.get(k) else { break };
                    let verdict = graded(&folder, wrongs[i]);
                    verdicts.lock().unwrap()[i] = Some(verdict);
                }
            });
        }
    });
    let mut verdicts = verdicts.into_inner().unwrap();
    let folder = Folder::new(name);
    for (i, w) in wrongs.iter().enumerate().filter(|(_, w)| w.timed) {
        verdicts[i] = Some(graded(&folder, w));
    }
    verdicts.into_iter().map(|v| v.unwrap()).collect()
}
