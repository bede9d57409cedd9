//! `make bench-quick` in miniature: the built runner measures every step on small sizes and
//! produces the report and every plot, well-formed; with today's build given as another build
//! too (`--baseline same=DIR`), which must write the same bytes.

use std::path::Path;
use std::process::{Command, Output};

/// `bench --quick` with `args`, writing its report, plots, results and scratch under `dir`.
fn quick_bench(dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(tools::step_binary("bench").unwrap())
        .arg("--quick")
        .args(args)
        .arg("--report")
        .arg(dir.join("benchmarks.md"))
        .arg("--plots")
        .arg(dir.join("plots"))
        .arg("--results")
        .arg(dir.join("results"))
        .arg("--scratch")
        .arg(dir.join("scratch"))
        .output()
        .unwrap()
}

#[test]
fn the_quick_benchmark_writes_a_report_and_well_formed_plots() {
    let dir = tempfile::tempdir().unwrap();
    let same = format!("same={}", tools::bin_dir().unwrap().display());
    let out = quick_bench(dir.path(), &["--baseline".as_ref(), same.as_ref()]);
    assert!(
        out.status.success(),
        "bench --quick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report = std::fs::read_to_string(dir.path().join("benchmarks.md")).unwrap();
    for section in [
        "# Benchmarks",
        "| cores |",
        "## Targets",
        "## Every case",
        "## The machine's parallel capacity",
        "## Disk and RAM",
        "## Built for this CPU",
        "## Where the text step's time goes",
        "What is left: on tmpfs `write_vectorized",
        "[tmpfs]",
        "IQR",
        "efficiency ≥ 0.8",
        "## Plots",
        "## The Python originals",
        "## Back in Python",
        "| one call from Python into Rust |",
        "Both ways wrote the same bytes.",
        "## Before and after",
        "| today ÷ same |",
        "`write` not slower than same: today ÷ same ≤",
    ] {
        assert!(report.contains(section), "report lacks {section}");
    }
    for step in tools::STEPS {
        assert!(
            report.contains(&format!("`{} -n", step.name))
                || report.contains(&format!(" {} -n", step.name))
                || report.contains(&format!(" {}.py -n", step.name)),
            "no row for {}",
            step.name
        );
    }
    assert!(
        report.contains("*(oversubscribed)*"),
        "the oversubscribed point is not marked"
    );

    // Today's build against itself: every file the same, the Python step left out.
    let same_files = line_starting(&report, "**same** (`");
    assert!(
        same_files.contains("files byte-identical") && same_files.contains("`write_python`"),
        "{same_files}"
    );
    for plot in [
        "baseline_same.svg",
        "steps.svg",
        "speedup_workers.svg",
        "speedup_ranks.svg",
        "npy_vs_hdf5.svg",
        "mpi_vs_hdf5.svg",
        "disk_vs_ram.svg",
    ] {
        let svg = std::fs::read_to_string(dir.path().join("plots").join(plot)).unwrap();
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{plot} is not well-formed: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg", "{plot}");
        let texts = doc.descendants().filter(|n| n.has_tag_name("text")).count();
        let shapes = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("rect"))
            .count();
        assert!(
            texts > 5 && shapes > 3,
            "{plot} looks empty: {texts} texts, {shapes} shapes"
        );
        assert!(
            report.contains(&format!("plots/{plot}")),
            "report does not show {plot}"
        );
    }

    // The text step's profile: drawn even from the quick sizes' few samples, and the report
    // says how many there were.
    let flamegraph = dir.path().join("plots/write_vectorized.flamegraph.svg");
    let svg = std::fs::read_to_string(&flamegraph).unwrap();
    // inferno's flamegraphs start with a DOCTYPE (when the run had samples): allow it.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(&svg, options).expect("the flamegraph is well-formed");
    assert!(report.contains("plots/write_vectorized.flamegraph.svg"));
    assert!(report.contains("CPU samples"), "no profile line");

    let raw = std::fs::read_dir(dir.path().join("results"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(raw).unwrap()).unwrap();
    let measured = results["measured"].as_array().unwrap();
    assert!(measured.len() > 20);
    // Every case keeps its rounds, so that ratios can be paired round by round.
    assert!(measured
        .iter()
        .all(|m| !m["samples"].as_array().unwrap().is_empty()));
    // With one round, no ratio can be trusted: the report must say so, not claim a target.
    assert!(report.contains("not measurable here"));
    // The other build's runs are cases of their own, saved with its label.
    assert!(measured.iter().any(|m| m["case"]["baseline"] == "same"));
    let baselines = results["baselines"].as_array().unwrap();
    assert_eq!(baselines.len(), 1);
    assert_eq!(baselines[0]["files_differing"], 0);
    assert!(baselines[0]["files_compared"].as_u64().unwrap() > 20);
}

/// The line of `text` that starts with `start`.
fn line_starting<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with {start}"))
}

#[test]
fn a_baseline_folder_without_steps_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let arg = format!("old={}", empty.display());
    let out = quick_bench(dir.path(), &["--baseline".as_ref(), arg.as_ref()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("holds no step's program"), "{stderr}");
    assert!(
        !dir.path().join("results").exists(),
        "it measured something"
    );
}

#[test]
fn a_failed_run_leaves_nothing_in_the_ram_backed_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ram = dir.path().join("ram");
    let native = std::ffi::OsStr::new("/nonexistent/native");
    let out = quick_bench(
        dir.path(),
        &[
            "--native".as_ref(),
            native,
            "--ram-scratch".as_ref(),
            ram.as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("/nonexistent/native"), "{stderr}");
    assert!(
        !ram.exists(),
        "left {:?}",
        std::fs::read_dir(&ram).map(|d| d.count())
    );
}
