//! The report and the plots of a fixed set of results, compared with the files they must be,
//! byte for byte; and every command line the report prints, rebuilt from its case.
//!
//! The fixtures are real runs: `bench --quick --repeat 3 --native …` (quick-results.json) and
//! `bench --quick --repeat 3 --baseline before=…` (quick-baseline-results.json, the build of an
//! earlier commit). After a deliberate change to the report or the plots,
//! `BLESS=1 cargo test -p bench --test report_fixture` rewrites the expected files; review their
//! diff before committing it.

use std::path::{Path, PathBuf};

use bench::results::Results;
use bench::{plots, report};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(path: &Path) -> Results {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares `actual` with the expected file, or writes it there under `BLESS=1`.
fn expect(expected: &Path, actual: &[u8]) {
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read(expected)
        .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", expected.display()));
    if want != actual {
        let first = want
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(want.len().min(actual.len()));
        let around = |b: &[u8]| {
            String::from_utf8_lossy(&b[first.saturating_sub(80)..(first + 80).min(b.len())])
                .into_owned()
        };
        panic!(
            "{} differs at byte {first}:\nexpected …{}…\nactual   …{}…",
            expected.display(),
            around(&want),
            around(actual)
        );
    }
}

/// Renders the fixture `results` and compares the report and every plot with `expected/`.
fn render_and_compare(results: &str, expected: &str) -> Vec<String> {
    let results = load(&fixtures().join(results));
    let dir = tempfile::tempdir().unwrap();
    let drawn = plots::draw_all(&results, &dir.path().join("plots")).unwrap();
    let md = report::markdown(&results, &drawn, "plots/", "quick-results.json");
    let expected = fixtures().join(expected);
    expect(&expected.join("benchmarks.md"), md.as_bytes());
    for name in &drawn {
        let svg = std::fs::read(dir.path().join("plots").join(name)).unwrap();
        expect(&expected.join("plots").join(name), &svg);
    }
    drawn
}

#[test]
fn the_report_of_the_fixture_is_exactly_the_expected_one() {
    let drawn = render_and_compare("quick-results.json", "expected");
    assert_eq!(drawn.len(), 6, "{drawn:?}");
}

#[test]
fn the_report_of_a_run_with_another_build_is_exactly_the_expected_one() {
    let drawn = render_and_compare("quick-baseline-results.json", "expected-baseline");
    assert!(
        drawn.contains(&"baseline_before.svg".to_owned()),
        "{drawn:?}"
    );
}

#[test]
fn every_printed_command_line_is_rebuilt_from_its_case() {
    let mut files = vec![
        fixtures().join("quick-results.json"),
        fixtures().join("quick-baseline-results.json"),
    ];
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/results");
    for entry in std::fs::read_dir(history).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for file in files {
        for m in load(&file).measured {
            assert_eq!(m.case.command_line(), m.command, "{}", file.display());
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} cases");
}
