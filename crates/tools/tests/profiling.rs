//! `--flamegraph` and `--trace` on the real step binaries: well-formed SVGs that name the steps'
//! own functions, folded stacks that parse, every MPI rank's own graph and their merge, a
//! differential flamegraph, a timeline with a slice per file on every worker, and a short run
//! that says it was too short. The steps are chosen from the table by what they are.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{first, steps_where};
use gridgen_contract::summary::MIN_SAMPLES;
use tools::{step_binary, Format, Launch};

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

fn samples(stacks: &[(String, u64)]) -> u64 {
    stacks.iter().map(|s| s.1).sum()
}

fn run(mut command: Command) -> String {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).to_string() + &stderr
}

/// The serial step whose predecessor is `step`.
fn successor(step: &str) -> &'static str {
    steps_where(|s| s.predecessor == Some(step) && s.launch == Launch::Serial)[0]
}

/// Profiles `step -n N -s 1000` into `dir/<step>.svg`, again and again (at most six runs, merged
/// as `make flamegraph` merges them) until the samples are enough to trust: the kernel's timer
/// gives a busy thread at most about 250 a second, and a loaded machine fewer. Returns the
/// first run's SVG and the merged folded stacks.
fn profile(dir: &Path, step: &str, n: usize) -> (PathBuf, PathBuf) {
    let mut runs = Vec::new();
    while runs.len() < 6 {
        let svg = dir.join(format!("{step}.{}.svg", runs.len()));
        let mut c = Command::new(step_binary(step).unwrap());
        c.args(["-n", &n.to_string(), "-s", "1000", "--dir"])
            .arg(dir.join("out"))
            .arg("--flamegraph")
            .arg(&svg);
        run(c);
        runs.push(svg.with_extension("folded"));
        let all: u64 = runs.iter().map(|f| samples(&folded(f))).sum();
        if all >= MIN_SAMPLES {
            break;
        }
    }
    let merged = dir.join(format!("{step}.svg"));
    let mut c = Command::new(step_binary("flamegraph").unwrap());
    c.arg(&merged).args(&runs).args(["--title", step]);
    let said = run(c);
    let stacks = folded(&merged.with_extension("folded"));
    assert!(
        samples(&stacks) >= MIN_SAMPLES,
        "{step}: {} samples in {} runs: {said}",
        samples(&stacks),
        runs.len()
    );
    (
        dir.join(format!("{step}.0.svg")),
        merged.with_extension("folded"),
    )
}

#[test]
fn a_flamegraph_names_the_steps_own_functions_and_a_diff_shows_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = first(Launch::Serial, Format::Txt);
    let (svg, merged) = profile(dir.path(), baseline, 25);
    let text = svg_text(&svg);
    assert!(
        text.contains(&format!("{baseline} -n 25 -s 1000")),
        "the title names the step and its parameters"
    );
    assert!(
        text.contains("push_e18") || text.contains("savetxt"),
        "the text formatter is missing"
    );
    assert!(text.contains("generate_value"), "the field is missing");
    let stacks = folded(&svg.with_extension("folded"));
    assert!(
        stacks
            .iter()
            .all(|(s, _)| s.starts_with(&format!("{baseline};"))),
        "rooted at the thread, named after the program"
    );

    let next = successor(baseline);
    let (vectorized, next_merged) = profile(dir.path(), next, 25);
    assert!(svg_text(&vectorized).contains("generate_data"));
    let diff = dir.path().join("diff.svg");
    let mut c = Command::new(step_binary("flamegraph-diff").unwrap());
    c.arg(&merged).arg(&next_merged).arg(&diff);
    run(c);
    let diff_text = svg_text(&diff);
    assert_ne!(diff_text, svg_text(&vectorized));
    assert!(diff_text.contains("red grew, blue shrank"));
}

#[test]
fn worker_threads_have_stacks_of_their_own() {
    // The queue step: long-lived workers, each running its `worker` function.
    let step = steps_where(|s| {
        s.launch == Launch::Threads && s.holes.iter().any(|h| h.anchor == "worker")
    })
    .into_iter()
    .last()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("queue.svg");
    let mut c = Command::new(step_binary(step).unwrap());
    c.args(["-n", "300", "-s", "700", "-w", "2", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg);
    run(c);
    let stacks = folded(&svg.with_extension("folded"));
    let in_workers: u64 = stacks
        .iter()
        .filter(|(s, _)| s.contains("::worker;") && !s.contains(";main;"))
        .map(|s| s.1)
        .sum();
    assert!(
        in_workers > 0,
        "{step}: no samples in its workers' own stacks: {stacks:?}"
    );
}

#[test]
fn every_mpi_rank_writes_its_own_graph_and_they_merge() {
    let step = first(Launch::Mpi, Format::Npy);
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("mpi.svg");
    let mut c = common::timed_mpirun(2, &step_binary(step).unwrap());
    c.args(["-n", "160", "-s", "1000", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg);
    run(c);
    assert!(
        !svg.exists(),
        "one graph for the job: each rank writes its own"
    );
    let ranks: Vec<PathBuf> = ["rank00", "rank01"]
        .iter()
        .map(|r| dir.path().join(format!("mpi.{r}.svg")))
        .collect();
    for rank in &ranks {
        assert!(svg_text(rank).contains(step), "{}", rank.display());
        assert!(!folded(&rank.with_extension("folded")).is_empty());
    }
    // As `make flamegraph` merges runs: both ranks' samples in one graph.
    let merged = dir.path().join("merged.svg");
    let mut c = Command::new(step_binary("flamegraph").unwrap());
    c.arg(&merged)
        .args(ranks.iter().map(|r| r.with_extension("folded")));
    let said = run(c);
    assert!(said.contains("from 2 runs"), "{said}");
    let both: u64 = ranks
        .iter()
        .map(|r| samples(&folded(&r.with_extension("folded"))))
        .sum();
    assert_eq!(samples(&folded(&merged.with_extension("folded"))), both);
}

#[test]
fn a_trace_has_one_slice_per_file_on_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("q.json");
    let (n, w) = (40, 3);
    for step in common::steps_launched(Launch::Threads) {
        let mut c = Command::new(step_binary(step).unwrap());
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
        let said = run(c);
        assert!(
            said.contains(&format!("timeline in {}", trace.display())),
            "{said}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
        let events = json["traceEvents"].as_array().unwrap();
        let files: Vec<_> = events.iter().filter(|e| e["cat"] == "file").collect();
        assert_eq!(files.len(), n, "{step}");
        let mut ids: Vec<u64> = files
            .iter()
            .map(|e| e["args"]["file_id"].as_u64().unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, (0..n as u64).collect::<Vec<_>>(), "{step}");
        for e in &files {
            assert!(e["dur"].as_f64().unwrap() >= 0.0);
            // Wall-clock microseconds since the Unix epoch: after 2020, before 2100.
            let ts = e["ts"].as_f64().unwrap();
            assert!((1.6e15..4.1e15).contains(&ts), "{step}: ts {ts}");
        }
        let svg = dir.path().join(format!("{step}.svg"));
        let mut c = Command::new(step_binary("timeline").unwrap());
        c.arg(&trace).arg(&svg);
        run(c);
        let text = svg_text(&svg);
        assert!(text.matches("<rect").count() > 2 * n, "{step}");
    }
}

#[test]
fn a_too_short_run_still_draws_its_graph_and_says_it_is_thin() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("short.svg");
    let out = Command::new(step_binary(first(Launch::Serial, Format::Npy)).unwrap())
        .args(["-n", "2", "-s", "10", "--json", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--flamegraph")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Note: "), "{stderr}");
    assert!(stderr.contains("too few to trust"), "{stderr}");
    assert!(stderr.contains("make the run longer"), "{stderr}");
    assert!(svg_text(&svg).contains("<svg"), "no graph was written");
    assert!(svg.with_extension("folded").exists(), "no folded stacks");
    assert!(samples(&folded(&svg.with_extension("folded"))) < MIN_SAMPLES);
    tools::parse_summary(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
}

#[test]
fn profiling_does_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let step = first(Launch::Serial, Format::Txt);
    let mut c = Command::new(step_binary(successor(step)).unwrap());
    c.args(["-n", "3", "-s", "9", "--dir"])
        .arg(dir.path())
        .arg("--flamegraph")
        .arg(dir.path().join("p.svg"))
        .arg("--trace")
        .arg(dir.path().join("t.json"));
    run(c);
    let arrays = tools::load_run(dir.path(), "data", Format::Txt, 3).unwrap();
    tools::compare_runs(&tools::reference(3, 9), &arrays).unwrap();
}
