//! `--flamegraph PATH.svg`: sample the run with pprof and draw where the time went with inferno;
//! `--flamegraph PATH.folded`: keep the samples alone, for `make flamegraph` to merge several
//! short runs into one drawing. Each rank of an MPI job writes its own (`PATH.rank01.svg`).
//!
//! The kernel's timer caps sampling at about 250 samples per busy thread per second, whatever
//! frequency is asked for: a short run gives few samples, and says so.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::args::launcher_rank;
use crate::Args;
pub use gridgen_contract::summary::MIN_SAMPLES;

/// A running profile: dropped at the end of `main`, it writes the flamegraph.
pub struct Profile {
    sampler: Option<pprof::ProfilerGuard<'static>>,
    path: PathBuf,
    title: String,
}

/// Starts sampling the whole process if the run was given `--flamegraph`; else does nothing.
/// Hold the value for the run: `let _profile = gridgen::profile(&args)?;`.
pub fn profile(args: &Args) -> crate::Result<Option<Profile>> {
    let Some(path) = &args.flamegraph else {
        return Ok(None);
    };
    let path = match launcher_rank() {
        Some(rank) => rank_path(path, rank),
        None => path.clone(),
    };
    // A path that cannot be written fails now, not after the run.
    check_writable(&path)?;
    let sampler = pprof::ProfilerGuardBuilder::default()
        .frequency(args.profile_hz)
        // Frames inside the sampler and the C library's signal trampolines say nothing.
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| fail!("cannot start the profiler: {e}"))?;
    let title = format!("{} -n {} -s {}", Args::program(), args.n_files, args.size);
    Ok(Some(Profile {
        sampler: Some(sampler),
        path,
        title,
    }))
}

impl Drop for Profile {
    fn drop(&mut self) {
        let Some(sampler) = self.sampler.take() else {
            return;
        };
        match write(sampler, &self.path, &self.title) {
            Ok(samples) if samples < MIN_SAMPLES => eprintln!(
                "Note: {} has only {samples} samples: too few to trust; make the run longer (more files with -n)",
                self.path.display()
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!("Error: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Stops sampling, and writes the folded stacks and (for an .svg) the drawing.
fn write(sampler: pprof::ProfilerGuard<'_>, path: &Path, title: &str) -> crate::Result<u64> {
    let report = sampler
        .report()
        .build()
        .map_err(|e| fail!("cannot read the profile: {e}"))?;
    let mut stacks = BTreeMap::new();
    for (frames, count) in &report.data {
        let mut line = thread_root(&frames.thread_name_or_id());
        // pprof lists the innermost frame first, and inlined functions innermost first.
        for frame in frames.frames.iter().rev() {
            for symbol in frame.iter().rev() {
                line.push(';');
                line.push_str(&clean(&strip_hash(&symbol.name())));
            }
        }
        *stacks.entry(line).or_insert(0) += (*count).max(0) as u64;
    }
    let folded: String = stacks.iter().map(|(s, n)| format!("{s} {n}\n")).collect();
    write_whole(&path.with_extension("folded"), folded.as_bytes())?;
    if path.extension().is_some_and(|e| e == "svg") {
        let mut svg = Vec::new();
        let mut options = inferno::flamegraph::Options::default();
        options.title = title.to_owned();
        options.count_name = "samples".to_owned();
        if stacks.is_empty() {
            svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"60\"><text x=\"20\" y=\"35\" font-size=\"20\">{title}: no samples, the run was too short</text></svg>\n").into_bytes();
        } else {
            inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
                .map_err(|e| fail!("cannot draw {}: {e}", path.display()))?;
        }
        write_whole(path, &svg)?;
    }
    Ok(stacks.values().sum())
}

/// Writes `bytes` as `path`, all or nothing: a hidden file beside it, renamed when complete.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .tempfile_in(folder.unwrap_or(Path::new(".")))
        .map_err(|e| fail!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| fail!("cannot write {}: {e}", path.display()))?;
    file.persist(path)
        .map_err(|e| fail!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Fails, naming the path, if a file cannot be created beside `path`.
pub(crate) fn check_writable(path: &Path) -> crate::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    tempfile::Builder::new()
        .prefix(".")
        .tempfile_in(folder.unwrap_or(Path::new(".")))
        .map(drop)
        .map_err(|e| fail!("cannot write {}: {e}", path.display()))
}

/// `PATH.svg` of rank `rank`: `PATH.rank01.svg`.
fn rank_path(path: &Path, rank: usize) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let ext = path.extension().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.rank{rank:02}.{ext}"))
}

/// A flamegraph's root frame: the thread's name, or `thread` for the unnamed ones (so that the
/// workers of a pool, each a number, merge into one tower).
fn thread_root(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_digit()) {
        "thread".to_owned()
    } else {
        clean(name)
    }
}

/// Symbols as demangled by pprof end in a hash (`::h0123456789abcdef`): noise in a graph.
fn strip_hash(name: &str) -> String {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head.to_owned()
        }
        _ => name.to_owned(),
    }
}

/// A frame may not hold the folded format's separators.
fn clean(name: &str) -> String {
    name.replace(';', ":").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_ranks_numbered() {
        assert_eq!(
            strip_hash("gridgen::text::savetxt::h0123456789abcdef"),
            "gridgen::text::savetxt"
        );
        assert_eq!(strip_hash("main"), "main");
        assert_eq!(clean("a;b"), "a:b");
        assert_eq!(thread_root("140234"), "thread");
        assert_eq!(thread_root("main"), "main");
        assert_eq!(
            rank_path(Path::new("profiles/write_mpi.svg"), 3),
            Path::new("profiles/write_mpi.rank03.svg")
        );
    }

    #[test]
    fn a_real_profile_names_the_busy_function() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.folded");
        let sampler = pprof::ProfilerGuardBuilder::default()
            .frequency(999)
            .build()
            .unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 600 {
            x = std::hint::black_box(busy(x));
        }
        let samples = write(sampler, &path, "busy").unwrap();
        assert!(samples > 20, "only {samples} samples");
        assert!(std::fs::read_to_string(&path).unwrap().contains("busy"));
    }

    #[inline(never)]
    fn busy(mut x: u64) -> u64 {
        for i in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        x
    }
}
