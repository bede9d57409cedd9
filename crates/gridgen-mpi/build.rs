//! Guards a target folder against a change of MPI. rsmpi's build script finds the MPI once (the
//! compiler wrapper named by `MPICC`, else `mpicc` on the PATH) and never looks again: after a
//! `module swap` a plain `cargo build` would link the old MPI's bindings into new binaries.
//! This script notes which wrapper the folder was first built with and stops the build, with
//! the fix, when the environment names another one. (`make build` never meets it: each MPI gets
//! a target folder of its own, see scripts/mpi-stack.sh.)

use std::path::PathBuf;

/// The MPI compiler wrapper the environment provides, with every link resolved
/// (`/usr/bin/mpicc` → `/usr/bin/mpicc.openmpi`).
fn wrapper() -> Option<PathBuf> {
    let named = std::env::var_os("MPICC").map(PathBuf::from);
    let found = named.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join("mpicc"))
            .find(|p| p.is_file())
    })?;
    found.canonicalize().ok().or(Some(found))
}

fn main() {
    println!("cargo:rerun-if-env-changed=MPICC");
    println!("cargo:rerun-if-env-changed=PATH");
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let now = wrapper().map_or_else(|| "no mpicc".to_string(), |p| p.display().to_string());
    let record = out_dir.join("mpi-wrapper");
    match std::fs::read_to_string(&record) {
        Ok(first) if first != now => panic!(
            "\n\nthis target folder was built against the MPI of {first}, but the environment now \
             provides {now}.\nrsmpi does not rebuild for another MPI, so the binaries would mix \
             the two. Build into a folder of its own\n(`make build` does that: \
             CARGO_TARGET_DIR=$(scripts/mpi-stack.sh target-dir)), or start this one again with \
             `cargo clean -p mpi-sys -p gridgen-mpi`.\n"
        ),
        Ok(_) => {}
        Err(_) => {
            let _ = std::fs::write(&record, &now);
        }
    }
}
