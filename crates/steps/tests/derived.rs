//! Everything that lists the steps agrees with the table: the derived files are what `make
//! steps` writes, every step has its crate and its chapter, every step crate is in the table,
//! and the lists that cannot be derived (job scripts, Python originals) name only its steps.

use std::path::{Path, PathBuf};

use steps::{derived, Launch, STEPS};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_derived_file_is_what_the_table_makes() {
    let stale = derived::stale(&root()).unwrap();
    let names: Vec<String> = stale.iter().map(|(p, _)| p.display().to_string()).collect();
    assert!(
        names.is_empty(),
        "{names:?} disagree with the step table: run `make steps`"
    );
}

/// A Python step: its crate builds the module its script imports, and its script is its
/// predecessor's Python twin but for the one import of the kernel.
fn python_step_is_whole(step: &steps::Step) {
    let manifest = read(&format!("crates/{}/Cargo.toml", step.name));
    let module = steps::PYTHON_MODULE;
    assert!(
        manifest.contains(&format!("name = \"{module}\"")),
        "crates/{}/Cargo.toml: its library must be named {module}, the module the script imports",
        step.name
    );
    let lib = read(&format!("crates/{}/src/lib.rs", step.name));
    assert!(
        lib.contains(&format!("fn {module}(")),
        "{}: no #[pymodule] fn {module}",
        step.name
    );
    let pred = step
        .predecessor
        .expect("a Python step has a Rust step it came from");
    let script = read(&format!("crates/{}/python/{}.py", step.name, step.name));
    let twin = read(&format!("crates/{}/python/{pred}.py", step.name));
    let differ: Vec<(&str, &str)> = script
        .lines()
        .zip(twin.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(script.lines().count(), twin.lines().count());
    assert_eq!(
        differ,
        [(
            format!("from {module} import generate_data, save").as_str(),
            "from numpy_kernel import generate_data, save"
        )],
        "{}.py and {pred}.py must differ in the kernel's import alone",
        step.name
    );
}

#[test]
fn every_step_has_its_crate_and_every_step_crate_is_a_step() {
    for step in STEPS {
        let manifest = read(&format!("crates/{}/Cargo.toml", step.name));
        assert!(
            manifest.contains(&format!("name = \"{}\"", step.name)),
            "crates/{}/Cargo.toml names another package",
            step.name
        );
        // The lesson is the table's, not spelled again in the manifest.
        assert!(
            !manifest.contains("description ="),
            "crates/{}/Cargo.toml has a description: the table holds the lesson",
            step.name
        );
        if step.launch == Launch::Python {
            python_step_is_whole(step);
            continue;
        }
        let main = read(&format!("crates/{}/src/main.rs", step.name));
        assert!(
            main.contains("Args::parse"),
            "{}: a step's main.rs parses the steps' shared command line (Args::parse)",
            step.name
        );
    }
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let main = dir.join("src/main.rs");
        let module = format!("fn {}(", steps::PYTHON_MODULE);
        // A step is a program on the steps' shared command line, or a Python step's module.
        let is_step = std::fs::read_to_string(&main).is_ok_and(|m| m.contains("Args::parse"))
            || std::fs::read_to_string(dir.join("src/lib.rs"))
                .is_ok_and(|l| l.contains("#[pymodule]") && l.contains(&module));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            is_step,
            steps::find(&name).is_some(),
            "crates/{name}: a step crate must have a row in the table, and a row its crate"
        );
    }
    // The workspace takes every crate under crates/, so a new step needs no line there.
    assert!(read("Cargo.toml").contains("members = [\"crates/*\"]"));
}

#[test]
fn every_chapter_exists_and_is_in_the_book() {
    let summary = read("workshop/src/SUMMARY.md");
    for step in STEPS {
        assert!(
            root().join("workshop/src").join(step.chapter).is_file(),
            "{}: no chapter {}",
            step.name,
            step.chapter
        );
        assert!(
            summary.contains(&format!("]({})", step.chapter)),
            "SUMMARY.md lacks {}",
            step.chapter
        );
        let chapter = read(&format!("workshop/src/{}", step.chapter));
        assert!(
            chapter.contains(&format!("`{}`", step.name)),
            "{} never names {}",
            step.chapter,
            step.name
        );
    }
}

#[test]
fn the_job_scripts_and_the_python_originals_name_only_steps_of_the_table() {
    let mut jobs = 0;
    for entry in std::fs::read_dir(root().join("slurm")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "job") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let step = text
            .lines()
            .find_map(|l| l.strip_prefix("step="))
            .unwrap_or_else(|| panic!("{} has no step= line", path.display()));
        let name = step.rsplit('/').next().unwrap_or(step).trim_matches('"');
        assert!(
            steps::find(name).is_some(),
            "{} runs {name}, which is not a step",
            path.display()
        );
        jobs += 1;
    }
    assert!(jobs >= 6, "only {jobs} job scripts");
    // The benchmark's Python versions: one for every serial step, none for any other name.
    let python = read("crates/bench/python/reference.py");
    for step in steps::launched(Launch::Serial) {
        assert!(
            python.contains(&format!("\"{}\"", step.name)),
            "reference.py has no version of {}",
            step.name
        );
    }
}
