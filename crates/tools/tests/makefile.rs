//! The Makefile and the tools' step list describe the same steps: a target per step, and the
//! same predecessor for `make diff` as `make workshop` compares against.

use std::path::Path;

use tools::STEPS;

fn makefile() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Makefile");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_step_has_a_target_and_the_same_predecessor() {
    let makefile = makefile();
    for step in STEPS {
        let target = format!("\n{}: ## ", step.name);
        assert!(
            makefile.contains(&target),
            "no documented `make {}` target",
            step.name
        );
        let pred_line = makefile
            .lines()
            .find_map(|l| l.strip_prefix(&format!("PRED_{} := ", step.name)))
            .map(str::trim);
        assert_eq!(pred_line, step.predecessor, "predecessor of {}", step.name);
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../{}/src/main.rs", step.name))
                .is_file(),
            "crates/{} is missing",
            step.name
        );
    }
}

/// The Makefile's step lists (how `make` starts each step) hold exactly tools::STEPS, each
/// under the launch it has there.
#[test]
fn the_makefile_lists_every_step_under_its_launch() {
    let makefile = makefile();
    let list = |name: &str| -> Vec<String> {
        makefile
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} := ")))
            .unwrap_or_else(|| panic!("the Makefile has no {name}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    for (name, launch) in [
        ("SERIAL_STEPS", tools::Launch::Serial),
        ("THREAD_STEPS", tools::Launch::Threads),
        ("MPI_STEPS", tools::Launch::Mpi),
    ] {
        let want: Vec<String> = STEPS
            .iter()
            .filter(|s| s.launch == launch)
            .map(|s| s.name.to_owned())
            .collect();
        assert_eq!(list(name), want, "{name} differs from tools::STEPS");
    }
}

#[test]
fn the_drawing_tools_need_no_mpi_and_no_hdf5() {
    // `make timeline` and `make diff-flamegraph` build `viz` alone, so that a learner without
    // the system libraries can draw the Rust-only steps.
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "viz",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("plotters"), "{tree}");
    for system in ["hdf5", "mpi ", "mpi-sys", "gridgen"] {
        assert!(!tree.contains(system), "viz depends on {system}:\n{tree}");
    }
    let makefile = makefile();
    for target in ["timeline:", "diff-flamegraph:"] {
        let recipe: String = makefile
            .split(&format!("\n{target}"))
            .nth(1)
            .unwrap()
            .lines()
            .take_while(|l| !l.is_empty())
            .collect();
        assert!(
            recipe.contains("-p viz"),
            "make {target} does not build viz alone"
        );
        assert!(
            !recipe.contains(" build ##"),
            "make {target} builds the workspace"
        );
    }
}
