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
