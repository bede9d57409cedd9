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
