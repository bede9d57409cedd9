//! `--flamegraph` and `--trace` on the real step binaries: well-formed SVGs that name the steps'
//! own functions, folded stacks that parse, every MPI rank in the merge, a differential
//! flamegraph, a timeline with a slice per file on every worker, and a short run that says it
//! was too short.

mod common;

use std::path::Path;
use std::process::Command;

use tools::step_binary;

fn svg_text(path: &Path) -> String {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // inferno's SVGs carry a DOCTYPE; allow it.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&svg, options)
        .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    svg
}

/// Parses folded stacks: every line is "frames count".
fn folded(path: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let (stack, count) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad folded line: {line}"));
            (
                stack.to_owned(),
                count
                    .parse()
                    .unwrap_or_else(|_| panic!("bad count in: {line}")),
            )
        })
        .collect()
}

fn run(mut command: Command) -> String {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).to_string() + &stderr
}

#[test]
fn a_flamegraph_names_the_steps_own_functions_and_a_diff_shows_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let profile = |step: &str| {
        let svg = dir.path().join(format!("{step}.svg"));
        let mut c = Command::new(step_binary(step).unwrap());
        // Enough CPU time for about a hundred samples (the kernel gives about 250 a second).
        c.args(["-n", "25", "-s", "1000", "--dir"])
            .arg(dir.path().join("out"))
            .arg("--flamegraph")
            .arg(&svg);
        let said = run(c);
        assert!(said.contains("profile samples in"), "{said}");
        svg
    };
    let write = profile("write");
    let text = svg_text(&write);
    assert!(
        text.contains("write  n=25 size=1000"),
        "the title names the step and its parameters"
    );
    assert!(
        text.contains("push_e18") || text.contains("savetxt"),
        "the text formatter is missing"
    );
    assert!(text.contains("generate_value"), "the field is missing");
    let stacks = folded(&write.with_extension("folded"));
    assert!(stacks.iter().map(|s| s.1).sum::<u64>() >= gridgen_contract::summary::MIN_SAMPLES);
    assert!(
        stacks
            .iter()
            .all(|(s, _)| s.starts_with("write;") || s.starts_with("main;")),
        "rooted at the thread"
    );

    let vectorized = profile("write_vectorized");
    assert!(svg_text(&vectorized).contains("generate_data"));
    let diff = dir.path().join("diff.svg");
    let mut c = Command::new(step_binary("flamegraph-diff").unwrap());
    c.arg(write.with_extension("folded"))
        .arg(vectorized.with_extension("folded"))
        .arg(&diff);
    run(c);
    let diff_text = svg_text(&diff);
    assert_ne!(diff_text, svg_text(&vectorized));
    assert!(diff_text.contains("red grew, blue shrank"));
}

#[test]
fn worker_threads_appear_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("queue.svg");
    let mut c = Command::new(step_binary("write_multiprocessing_queue").unwrap());
    c.args(["-n", "500", "-s", "700", "-w", "2", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg);
    run(c);
    let stacks = folded(&svg.with_extension("folded"));
    for worker in ["worker-0;", "worker-1;"] {
        assert!(
            stacks.iter().any(|(s, _)| s.starts_with(worker)),
            "no stacks under {worker}"
        );
    }
}

#[test]
fn mpi_ranks_write_their_own_graphs_and_rank_0_merges_them() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("mpi.svg");
    let mut c = common::timed_mpirun(2, &step_binary("write_mpi_scatter").unwrap());
    c.args(["-n", "320", "-s", "1000", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg);
    run(c);
    let stacks = folded(&svg.with_extension("folded"));
    for rank in ["rank 0;", "rank 1;"] {
        assert!(
            stacks.iter().any(|(s, _)| s.starts_with(rank)),
            "the merge lacks {rank}"
        );
    }
    assert!(svg_text(&svg).contains("ranks=2"));
    let rank_files = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".rank0")
        })
        .count();
    assert!(
        rank_files >= 2,
        "every rank with enough samples writes its own graph and folded stacks"
    );
}

#[test]
fn a_trace_has_one_slice_per_file_on_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("q.json");
    let (n, w) = (40, 3);
    let mut c = Command::new(step_binary("write_multiprocessing_queue").unwrap());
    c.args([
        "-n",
        &n.to_string(),
        "-s",
        "200",
        "-w",
        &w.to_string(),
        "--dir",
    ])
    .arg(dir.path().join("out"))
    .arg("--trace")
    .arg(&trace);
    run(c);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let files: Vec<_> = events.iter().filter(|e| e["cat"] == "file").collect();
    assert_eq!(files.len(), n);
    let mut ids: Vec<u64> = files
        .iter()
        .map(|e| e["args"]["file_id"].as_u64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, (0..n as u64).collect::<Vec<_>>());
    let mut threads: Vec<i64> = files.iter().map(|e| e["tid"].as_i64().unwrap()).collect();
    threads.sort();
    threads.dedup();
    // With 40 files over 3 workers a worker can, rarely, find the queue empty before it starts.
    assert!(
        threads.len() >= 2,
        "files were written on {} thread(s)",
        threads.len()
    );
    for e in files {
        assert!(e["dur"].as_f64().unwrap() >= 0.0);
    }
    let svg = dir.path().join("q.svg");
    let mut c = Command::new(step_binary("timeline").unwrap());
    c.arg(&trace).arg(&svg);
    run(c);
    let text = svg_text(&svg);
    assert!(text.contains("worker-0") && text.matches("<rect").count() > 2 * n);
}

#[test]
fn a_too_short_run_still_draws_its_graph_and_says_it_is_thin() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("short.svg");
    let out = Command::new(step_binary("write_vectorized_binary").unwrap())
        .args(["-n", "2", "-s", "10", "--json", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("too few to trust"), "{stderr}");
    assert!(stderr.contains("make the run longer"), "{stderr}");
    assert!(svg_text(&svg).contains("<svg"), "no graph was written");
    assert!(svg.with_extension("folded").exists(), "no folded stacks");
    let summary = tools::parse_summary(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert!(summary.samples.unwrap() < gridgen_contract::summary::MIN_SAMPLES);
    assert_eq!(summary.flamegraph, Some(svg.display().to_string()));
}

#[test]
fn profiling_does_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(step_binary("write_vectorized").unwrap());
    c.args(["-n", "3", "-s", "9", "--dir"])
        .arg(dir.path())
        .arg("--flamegraph")
        .arg(dir.path().join("p.svg"))
        .arg("--trace")
        .arg(dir.path().join("t.json"));
    run(c);
    let arrays = tools::load_run(dir.path(), "data", tools::Format::Txt, 3).unwrap();
    tools::compare_runs(&tools::reference(3, 9), &arrays).unwrap();
}
