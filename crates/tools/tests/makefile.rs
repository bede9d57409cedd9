//! The Makefile takes its steps from the table (through steps.mk, which `cargo test -p steps`
//! holds to the table), and the drawing tools build with cargo alone.

use std::path::Path;

fn makefile() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Makefile");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_makefile_takes_its_steps_from_the_table() {
    let makefile = makefile();
    assert!(
        makefile.contains("\ninclude steps.mk\n"),
        "no `include steps.mk`"
    );
    // Step names appear in the Makefile only through the lists of steps.mk.
    for step in tools::STEPS {
        // Comments and help texts (`target: ## …`) may show an example.
        let code = makefile
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.split(" ## ").next().unwrap_or(l));
        for line in code {
            assert!(
                !line
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == step.name),
                "the Makefile names {} itself: `{line}`",
                step.name
            );
        }
    }
    assert!(makefile.contains("$(STEPS): %: setup-for-%"));
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
    for system in ["hdf5", "mpi ", "mpi-sys"] {
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

#[test]
fn gridgen_needs_no_system_library() {
    // The shared crate builds once, with cargo alone: MPI and HDF5 are its sibling crates'.
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "gridgen",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && tree.contains("ndarray"), "{tree}");
    for system in ["hdf5", "mpi-sys", "mpi v"] {
        assert!(
            !tree.contains(system),
            "gridgen depends on {system}:\n{tree}"
        );
    }
}
