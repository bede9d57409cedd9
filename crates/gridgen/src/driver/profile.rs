//! `--flamegraph PATH.svg`: sample the run with pprof and draw where the time went with inferno;
//! `--flamegraph PATH.folded`: keep the samples alone, for `make flamegraph` to merge several
//! short runs into one drawing (and judge their number once, on the merged profile).
//!
//! pprof's sampler fires on SIGPROF. Whatever frequency is asked for, the kernel's timer tick
//! caps it at about 250 samples per busy thread per second, so a short run gives few samples:
//! below [`MIN_SAMPLES`] the graph is still drawn, and the run says how to make it worth reading.
//!
//! The graph is built from "folded" lines (`thread;outer;…;inner count`), which are also written
//! beside it (`PATH.folded`): they are what a differential flamegraph or a merge of MPI ranks
//! needs. (pprof's own flamegraph feature would pull in a second, older inferno.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Profiler;
use crate::{Error, Result};

pub use gridgen_contract::summary::MIN_SAMPLES;

/// What `--flamegraph PATH` asks for, by the path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// `.svg`: the drawing, and its folded stacks beside it.
    Drawing,
    /// `.folded`: the folded stacks alone, one part of a profile merged later.
    Samples,
}

impl ProfileKind {
    /// The kind `path` names, or `None` for any other extension.
    pub fn of(path: &Path) -> Option<ProfileKind> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => Some(ProfileKind::Drawing),
            Some("folded") => Some(ProfileKind::Samples),
            _ => None,
        }
    }
}

/// A running profiler; [`Sampler::finish`] stops it.
pub struct Sampler {
    guard: pprof::ProfilerGuard<'static>,
}

/// What the sampler saw: folded stacks and their sample counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub stacks: BTreeMap<String, u64>,
}

impl Sampler {
    /// Starts sampling every thread of this process at `hz`.
    pub fn start(hz: i32) -> Result<Sampler> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(hz)
            // Frames inside the sampler and the C library's signal trampolines say nothing.
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(Profiler::Start)?;
        Ok(Sampler { guard })
    }

    /// Stops sampling and folds the stacks, each rooted at its thread's name.
    pub fn finish(self) -> Result<Profile> {
        let report = self.guard.report().build().map_err(Profiler::Report)?;
        let mut stacks = BTreeMap::new();
        for (frames, count) in &report.data {
            let mut line = clean(&frames.thread_name_or_id());
            // pprof lists the innermost frame first, and inlined functions innermost first.
            for frame in frames.frames.iter().rev() {
                for symbol in frame.iter().rev() {
                    line.push(';');
                    line.push_str(&clean(&strip_hash(&symbol.name())));
                }
            }
            *stacks.entry(line).or_insert(0) += (*count).max(0) as u64;
        }
        Ok(Profile { stacks })
    }
}

impl Profile {
    pub fn samples(&self) -> u64 {
        self.stacks.values().sum()
    }

    /// The folded text: one `stack count` line per distinct stack.
    pub fn folded(&self) -> String {
        self.stacks
            .iter()
            .map(|(stack, n)| format!("{stack} {n}\n"))
            .collect()
    }

    /// Reads folded text back (an MPI rank's, sent to rank 0).
    pub fn parse_folded(text: &str) -> Profile {
        let mut stacks = BTreeMap::new();
        for line in text.lines() {
            if let Some((stack, n)) = line.rsplit_once(' ') {
                if let Ok(n) = n.parse::<u64>() {
                    *stacks.entry(stack.to_owned()).or_insert(0) += n;
                }
            }
        }
        Profile { stacks }
    }

    /// This profile with every stack under one more root frame (`rank 3`), for merging ranks.
    pub fn under(&self, root: &str) -> Profile {
        Profile {
            stacks: self
                .stacks
                .iter()
                .map(|(s, n)| (format!("{root};{s}"), *n))
                .collect(),
        }
    }

    /// Adds another profile's samples to this one.
    pub fn merge(&mut self, other: &Profile) {
        for (stack, n) in &other.stacks {
            *self.stacks.entry(stack.clone()).or_insert(0) += n;
        }
    }

    /// Writes `svg` and the folded stacks beside it (`.folded`), each all or nothing; given a
    /// `.folded` path, the folded stacks alone.
    pub fn write(&self, svg: &Path, title: &str) -> Result<()> {
        let folded_path = svg.with_extension("folded");
        let folded = self.folded();
        crate::driver::output::write_all_or_nothing(&folded_path, folded.as_bytes())?;
        if ProfileKind::of(svg) == Some(ProfileKind::Samples) {
            return Ok(());
        }
        let mut options = inferno::flamegraph::Options::default();
        options.title = title.to_owned();
        options.count_name = "samples".to_owned();
        let mut svg_bytes = Vec::new();
        if self.stacks.is_empty() {
            // inferno draws nothing from no samples; the learner still gets a file that says why.
            svg_bytes = empty_graph(title).into_bytes();
        } else {
            inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg_bytes).map_err(
                |e| Error::Write {
                    path: svg.to_owned(),
                    source: std::io::Error::other(e.to_string()),
                },
            )?;
        }
        crate::driver::output::write_all_or_nothing(svg, &svg_bytes)
    }
}

/// A flamegraph of no samples: the title, and what to do.
fn empty_graph(title: &str) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"90\" font-family=\"Verdana\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#f8f8f8\"/>\n\
         <text x=\"600\" y=\"30\" text-anchor=\"middle\" font-size=\"17\">{}</text>\n\
         <text x=\"600\" y=\"62\" text-anchor=\"middle\" font-size=\"13\">no samples: the run was \
         too short to profile; make it longer (more files with -n, a larger grid with -s)</text>\n</svg>\n",
        escape(title)
    )
}

/// `PATH.svg` of rank `rank`: `PATH.rankNN.svg` (and `PATH.rankNN.folded` of `PATH.folded`).
pub fn rank_path(path: &Path, rank: i32) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = match ProfileKind::of(path) {
        Some(ProfileKind::Samples) => "folded",
        _ => "svg",
    };
    path.with_file_name(format!("{stem}.rank{rank:02}.{ext}"))
}

/// What to tell a learner whose run was too short to profile.
pub fn too_few_samples(samples: u64, seconds: f64) -> String {
    format!(
        "the flamegraph has only {samples} samples from {seconds:.2} s (the kernel allows about 250 per busy \
         thread per second): too few to trust; make the run longer, e.g. 10 times more files with -n"
    )
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
    fn hashes_are_stripped_and_separators_replaced() {
        assert_eq!(
            strip_hash("gridgen::text::savetxt::h0123456789abcdef"),
            "gridgen::text::savetxt"
        );
        assert_eq!(strip_hash("main"), "main");
        assert_eq!(clean("a;b"), "a:b");
    }

    #[test]
    fn folded_text_round_trips_and_merges_under_rank_roots() {
        let p = Profile::parse_folded("main;work 3\nmain;io 2\nnot a line\n");
        assert_eq!(p.samples(), 5);
        assert_eq!(Profile::parse_folded(&p.folded()), p);
        let mut all = p.under("rank 0");
        all.merge(&p.under("rank 1"));
        assert_eq!(all.samples(), 10);
        assert!(all.folded().contains("rank 1;main;work 3"));
    }

    #[test]
    fn rank_files_are_numbered() {
        assert_eq!(
            rank_path(Path::new("profiles/write_mpi.svg"), 3),
            Path::new("profiles/write_mpi.rank03.svg")
        );
        assert_eq!(
            rank_path(Path::new("profiles/.write_mpi.run1.folded"), 0),
            Path::new("profiles/.write_mpi.run1.rank00.folded")
        );
        assert_eq!(
            ProfileKind::of(Path::new("a.svg")),
            Some(ProfileKind::Drawing)
        );
        assert_eq!(ProfileKind::of(Path::new("a.png")), None);
    }

    #[test]
    fn a_real_profile_names_the_busy_function() {
        let sampler = Sampler::start(999).unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 600 {
            x = std::hint::black_box(busy(x));
        }
        let profile = sampler.finish().unwrap();
        assert!(profile.samples() > 20, "only {} samples", profile.samples());
        assert!(profile.folded().contains("busy"), "{}", profile.folded());
    }

    #[inline(never)]
    fn busy(mut x: u64) -> u64 {
        for i in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        x
    }
}
