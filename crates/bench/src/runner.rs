//! Running the benchmark's cases: each run a whole process (what a learner waits for), its
//! output folder emptied beforehand (untimed), its wall time taken from outside, its peak memory
//! from the kernel's accounting of that one child; rounds of every case in a shuffled order, and
//! extra rounds while a target's ratio is still wide.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use steps::{Format, Launch, Step, Target, STEPS};

use crate::metric::Goal;
use crate::model::{Build, Case, Measured};
use crate::results::{NativeCheck, SameFiles};
use crate::stats::{Ratio, Stats};

/// Where the programs are: the workspace's release build, the build for this CPU, and other
/// builds of the steps to compare with.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub portable: PathBuf,
    pub native: Option<PathBuf>,
    pub baselines: Vec<BaselineDir>,
}

impl Binaries {
    /// The folder this benchmark was built into, and the other builds given.
    pub fn here(native: Option<PathBuf>, baselines: Vec<BaselineDir>) -> Result<Binaries> {
        Ok(Binaries {
            portable: tools::bin_dir()?,
            native,
            baselines,
        })
    }

    /// The program `name` of `case`: a step's from the case's build, anything else (floors,
    /// probes, `mpi_noop`) from today's.
    pub fn of(&self, case: &Case, name: &str) -> Result<PathBuf> {
        let dir = match (&case.build, case.program.step_name()) {
            (_, None) | (Build::Today, _) => &self.portable,
            (Build::Native, _) => self.native.as_ref().with_context(|| {
                format!("{}: no native build given (--native)", case.command_line())
            })?,
            (Build::Baseline(label), _) => self
                .baselines
                .iter()
                .find(|b| &b.label == label)
                .map(|b| &b.dir)
                .with_context(|| {
                    format!(
                        "{}: no build labelled {label} given (--baseline)",
                        case.command_line()
                    )
                })?,
        };
        let path = dir.join(name);
        ensure!(
            path.is_file(),
            "{} is not built: run `make build` (and `make bench NATIVE=1` for the native build)",
            path.display()
        );
        if case
            .program
            .step_name()
            .and_then(steps::find)
            .map(|s| s.launch)
            == Some(Launch::Python)
        {
            // A Python step's module: importable under its own name.
            tools::link_python_module(&path)?;
        }
        Ok(path)
    }
}

/// Another build of the steps (`--baseline [LABEL=]DIR`): the folder of its programs, and the
/// label the report gives it (`before` unless told).
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineDir {
    pub label: String,
    pub dir: PathBuf,
}

impl FromStr for BaselineDir {
    type Err = String;

    fn from_str(arg: &str) -> Result<BaselineDir, String> {
        // A label is a plain word; a folder can hold `=`, but one before its first `/` is read
        // as the label's.
        let (label, dir) = match arg.split_once('=') {
            Some((label, dir)) if !label.contains('/') => (label, dir),
            _ => ("before", arg),
        };
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if label.is_empty() || !label.chars().all(plain) {
            return Err(format!(
                "the label {label:?} is not a plain word (letters, digits, . _ -)"
            ));
        }
        if dir.is_empty() {
            return Err("no folder given".into());
        }
        Ok(BaselineDir {
            label: label.to_owned(),
            dir: PathBuf::from(dir),
        })
    }
}

impl BaselineDir {
    /// The steps whose program is in the folder, in the table's order. Not the Python step: its
    /// script is today's, and a module built from other code need not fit it.
    pub fn steps(&self) -> Vec<&'static str> {
        STEPS
            .iter()
            .filter(|s| s.launch != Launch::Python && self.dir.join(s.artifact()).is_file())
            .map(|s| s.name)
            .collect()
    }

    /// The steps of the table it has not (or that are not compared).
    pub fn missing(&self) -> Vec<&'static str> {
        let have = self.steps();
        STEPS
            .iter()
            .map(|s| s.name)
            .filter(|name| !have.contains(name))
            .collect()
    }
}

/// The step whose text formatting the report profiles: the last serial text step (the
/// vectorized one).
pub fn text_step() -> Option<&'static Step> {
    STEPS
        .iter()
        .rfind(|s| s.launch == Launch::Serial && s.format == Format::Txt)
}

/// Runs the field and formatter steps from both builds at the plan's small size and compares
/// every file they write, byte by byte.
pub fn compare_native(
    bins: &Binaries,
    plan: &crate::plan::Plan,
    scratch: &Path,
) -> Result<NativeCheck> {
    let (n, s) = (plan.small.0.min(100), plan.small.1);
    let pairs: Vec<(Case, Case)> = STEPS
        .iter()
        .filter(|s| s.targets.iter().any(|t| matches!(t, Target::Native { .. })))
        .map(|step| (Case::of(step, n, s), Case::of(step, n, s).native()))
        .collect();
    Ok(NativeCheck {
        rustflags: NATIVE_RUSTFLAGS.into(),
        files: compare_builds(bins, &pairs, scratch)?,
    })
}

/// Runs each pair of cases (one command from two builds) once and compares every file the two
/// runs wrote, byte by byte: the same names, the same bytes.
pub fn compare_builds(
    bins: &Binaries,
    pairs: &[(Case, Case)],
    scratch: &Path,
) -> Result<SameFiles> {
    let mut check = SameFiles::default();
    for (one, other) in pairs {
        let (a, b) = (scratch.join("compare-a"), scratch.join("compare-b"));
        run_once(one, bins, &a)?;
        run_once(other, bins, &b)?;
        check.commands.push(one.command_line());
        let names = |dir: &Path| -> Result<std::collections::BTreeSet<std::ffi::OsString>> {
            let entries =
                std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
            Ok(entries
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?)
        };
        let (in_a, in_b) = (names(&a)?, names(&b)?);
        for name in in_a.union(&in_b) {
            let same = in_a.contains(name)
                && in_b.contains(name)
                && same_bytes(&a.join(name), &b.join(name))?;
            check.files_compared += 1;
            if !same {
                check.files_differing += 1;
                check.first_difference.get_or_insert_with(|| {
                    format!("{} ({})", name.to_string_lossy(), one.command_line())
                });
            }
        }
        for dir in [a, b] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    Ok(check)
}

/// Profiles the text step on tmpfs with `--flamegraph` (written into `plots` as
/// `write_vectorized.flamegraph.svg`) and counts where its samples are.
pub fn profile_text_step(
    bins: &Binaries,
    plan: &crate::plan::Plan,
    scratch: &Path,
    plots: &Path,
) -> Result<crate::results::TextProfile> {
    // Three times the small case: a few hundred samples at the sampler's ~150 Hz here.
    let step = text_step().context("the step table has no text step to profile")?;
    let case = Case::of(step, 3 * plan.small.0, plan.small.1).on_ram();
    let name = format!("{}.flamegraph.svg", step.name);
    std::fs::create_dir_all(plots).with_context(|| format!("cannot create {}", plots.display()))?;
    let svg = plots.join(&name);
    let dir = scratch.join("profile");
    let mut command = case.command(|c, n| bins.of(c, n), &dir)?;
    let out = command
        .arg("--flamegraph")
        .arg(&svg)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", case.command_line()))?;
    let _ = std::fs::remove_dir_all(&dir);
    ensure!(
        out.status.success(),
        "{} --flamegraph failed: {}",
        case.command_line(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let folded = svg.with_extension("folded");
    let stacks = std::fs::read_to_string(&folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    let _ = std::fs::remove_file(&folded);
    let (mut samples, mut formatter, mut field) = (0u64, 0u64, 0u64);
    for line in stacks.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let count: u64 = count.parse().unwrap_or(0);
        samples += count;
        if stack.contains("gridgen_contract::text::") {
            formatter += count;
        } else if stack.contains("::generate_data") || stack.contains("gridgen_contract::field::") {
            field += count;
        }
    }
    let share = |k: u64| k as f64 / samples.max(1) as f64;
    Ok(crate::results::TextProfile {
        command: format!("{} --flamegraph", case.command_line()),
        flamegraph: name,
        samples,
        formatter: share(formatter),
        field: share(field),
    })
}

/// Times the Python step's kernel inside one Python process (`python/boundary.py`): what a
/// call across the boundary costs, and what the copy it avoids would. `None` when the table
/// has no Python step.
pub fn boundary(
    bins: &Binaries,
    plan: &crate::plan::Plan,
    scratch: &Path,
    rounds: usize,
) -> Result<Option<crate::results::Boundary>> {
    let Some(step) = STEPS.iter().find(|s| s.launch == Launch::Python) else {
        return Ok(None);
    };
    let (n, s) = plan.small;
    let library = bins.of(&Case::of(step, n, s), &step.artifact())?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/boundary.py");
    let mut command = tools::python_command(&script, &library);
    let dir = scratch.join("boundary");
    command
        .args(["-n", &n.to_string(), "-s", &s.to_string(), "--rounds"])
        .arg(rounds.max(1).to_string())
        .arg("--dir")
        .arg(&dir);
    let shown = format!("boundary.py -n {n} -s {s} [tmpfs]");
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    ensure!(
        out.status.success(),
        "{shown} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let parsed: BoundaryRuns =
        serde_json::from_slice(&out.stdout).with_context(|| format!("{shown} printed no JSON"))?;
    let stats = |name: &str| -> Result<Stats> {
        let samples = parsed
            .seconds
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Stats::of(samples).with_context(|| format!("{shown}: no runs of {name}"))
    };
    Ok(Some(crate::results::Boundary {
        command: shown.clone(),
        n_files: n,
        size: s,
        rounds: rounds.max(1),
        loop_in_python: stats("loop")?,
        one_call: stats("one_call")?,
        views: stats("views")?,
        copies: stats("copies")?,
        same_files: parsed.same_files,
    }))
}

/// What `python/boundary.py` prints.
#[derive(serde::Deserialize)]
struct BoundaryRuns {
    seconds: std::collections::BTreeMap<String, Vec<f64>>,
    same_files: bool,
}

/// What `make bench NATIVE=1` builds the native steps with (the Makefile says the same).
pub const NATIVE_RUSTFLAGS: &str = "-C target-cpu=native";

/// Whether two files hold the same bytes, read a block at a time: reading whole outputs
/// (hundreds of MiB for a cube) would grow this process, and a child started afterwards counts
/// its parent's resident memory in its own peak (it shares the parent's pages until `exec`).
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let open =
        |p: &Path| std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()));
    let (mut x, mut y) = (open(a)?, open(b)?);
    if x.metadata()?.len() != y.metadata()?.len() {
        return Ok(false);
    }
    let (mut bx, mut by) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let got = x.read(&mut bx)?;
        if got == 0 {
            return Ok(true);
        }
        y.read_exact(&mut by[..got])?;
        if bx[..got] != by[..got] {
            return Ok(false);
        }
    }
}

/// One run: wall seconds, peak resident MiB, bytes written (from the `--json` summary).
fn run_once(case: &Case, bins: &Binaries, dir: &Path) -> Result<(f64, f64, u64)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    // Untimed: write back what earlier runs left in the page cache, so that no run pays for
    // flushing another's files.
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut command = case.command(|c, name| bins.of(c, name), dir)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let own_kib = own_resident_kib();
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", case.command_line()))?;
    // Both pipes at once: a child that fills one while we wait on the other would never exit.
    let mut err_pipe = child.stderr.take().context("no stderr")?;
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err_pipe.read_to_string(&mut text);
        text
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .context("no stdout")?
        .read_to_string(&mut stdout)?;
    let stderr = stderr_reader.join().unwrap_or_default();
    let (status, peak_kib) = wait_with_peak_memory(child.id())?;
    let wall = start.elapsed().as_secs_f64();
    if peak_kib <= own_kib {
        eprintln!(
            "bench: the peak memory of {} is not its own: the benchmark held {} MiB when it started it",
            case.command_line(),
            own_kib / 1024
        );
    }
    ensure!(
        status == 0,
        "{} failed (status {status}): {}",
        case.command_line(),
        stderr.trim()
    );
    let bytes = match stdout.lines().last() {
        Some(line) if case.program.summarises() => tools::parse_summary(line)?.bytes,
        _ => 0,
    };
    Ok((wall, peak_kib as f64 / 1024.0, bytes))
}

/// This process's resident memory now, in KiB (0 if /proc cannot say).
fn own_resident_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Reaps child `pid` and returns its exit status and the peak resident set (KiB) of it and the
/// descendants it waited for. `wait4` reports this one child, unlike `getrusage`, which adds up
/// every child the benchmark ever had.
fn wait_with_peak_memory(pid: u32) -> Result<(i32, i64)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data, and wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss))
}

/// A target as the runner sees it: its cases as indices into the run's cases, its metric and
/// the rounds it needs.
pub struct Watched {
    pub cases: Vec<usize>,
    pub goal: Goal,
}

impl Watched {
    /// The goal over `cases`, if every one of its cases is run.
    pub fn of(goal: &Goal, cases: &[Case]) -> Option<Watched> {
        let indices: Option<Vec<usize>> = goal
            .metric
            .cases()
            .iter()
            .map(|c| cases.iter().position(|x| x == c))
            .collect();
        Some(Watched {
            cases: indices?,
            goal: goal.clone(),
        })
    }
}

/// How many rounds to run and which ratios must come out trustworthy.
pub struct Rounds<'a> {
    pub warmup: usize,
    /// Measured rounds every case gets.
    pub repeat: usize,
    /// The targets, whose round-by-round value is reported: while one is not settled (see
    /// [`Goal::settled`]), more rounds of just its cases are run…
    pub watched: &'a [Watched],
    /// … until this much time has gone into extra rounds, or `max_rounds` in all.
    pub budget: Duration,
    pub max_rounds: usize,
}

/// Where the cases write: the disk's folder and the RAM-backed one.
pub struct Scratch {
    pub disk: PathBuf,
    pub ram: PathBuf,
}

/// What the rounds have measured so far: every case's (round, seconds), its peak MiB and bytes.
struct Tally {
    samples: Vec<Vec<(usize, f64)>>,
    peaks: Vec<(f64, u64)>,
    seed: u64,
}

impl Tally {
    fn new(cases: usize) -> Tally {
        Tally {
            samples: vec![Vec::new(); cases],
            peaks: vec![(0.0, 0); cases],
            seed: 0x853c_49e6_748f_ea9b,
        }
    }

    /// A new order every round: a disk that slows down as a round's gigabytes pile up would
    /// otherwise always penalise the same cases (those late in the list).
    fn shuffled(&mut self, which: &[usize]) -> Vec<usize> {
        let mut order = which.to_vec();
        for i in (1..order.len()).rev() {
            self.seed = self
                .seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (self.seed >> 33) as usize % (i + 1));
        }
        order
    }

    /// The watched targets whose ratio is still wide: all their cases.
    fn wide(&self, watched: &[Watched]) -> Vec<usize> {
        let mut wide: Vec<usize> = Vec::new();
        for w in watched {
            let series: Vec<&[(usize, f64)]> = w
                .cases
                .iter()
                .map(|&k| self.samples[k].as_slice())
                .collect();
            let ratio = Ratio::per_round(&series, |t| w.goal.metric.value(t));
            if !ratio.is_some_and(|r| w.goal.settled(&r)) {
                wide.extend(&w.cases);
            }
        }
        wide.sort_unstable();
        wide.dedup();
        wide
    }
}

/// Runs every case `warmup` rounds unmeasured, then `repeat` measured rounds, then extra rounds
/// of the cases of watched targets whose ratio is still wide. Each round runs its cases once, in
/// a shuffled order (not all runs of one case, then the next), so a slow spell of the machine —
/// a busy disk, another job — spreads over every case instead of skewing one, and ratios between
/// cases stay fair. `progress` is told after every run.
pub fn measure_all(
    cases: &[Case],
    bins: &Binaries,
    rounds: &Rounds,
    scratch: &Scratch,
    mut progress: impl FnMut(&Case),
) -> Result<Vec<Measured>> {
    let mut tally = Tally::new(cases.len());
    let mut round =
        |tally: &mut Tally, number: usize, which: &[usize], measured: bool| -> Result<()> {
            for k in tally.shuffled(which) {
                let case = &cases[k];
                let dir = if case.ram {
                    &scratch.ram
                } else {
                    &scratch.disk
                };
                let (wall, mib, bytes) = run_once(case, bins, dir)?;
                if measured {
                    tally.samples[k].push((number, wall));
                    tally.peaks[k] = (tally.peaks[k].0.max(mib), bytes);
                }
                progress(case);
            }
            Ok(())
        };
    let all: Vec<usize> = (0..cases.len()).collect();
    let base = rounds.warmup + rounds.repeat.max(1);
    for number in 0..base {
        round(&mut tally, number, &all, number >= rounds.warmup)?;
    }
    let started = Instant::now();
    for number in base..rounds.max_rounds {
        let wide = tally.wide(rounds.watched);
        if started.elapsed() >= rounds.budget || wide.is_empty() {
            break;
        }
        round(&mut tally, number, &wide, true)?;
    }
    let _ = std::fs::remove_dir_all(&scratch.disk);
    let _ = std::fs::remove_dir_all(&scratch.ram);
    Ok(measurements(cases, tally))
}

fn measurements(cases: &[Case], tally: Tally) -> Vec<Measured> {
    cases
        .iter()
        .zip(tally.samples)
        .zip(tally.peaks)
        .map(|((case, samples), (peak_mib, bytes))| {
            let walls: Vec<f64> = samples.iter().map(|(_, w)| *w).collect();
            Measured {
                command: case.command_line(),
                case: case.clone(),
                wall: Stats::of(&walls).expect("at least one measured round"),
                peak_mib,
                bytes,
                samples,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_is_a_folder_with_an_optional_label() {
        let parsed = |arg: &str| arg.parse::<BaselineDir>();
        let before = parsed("/work/bin").unwrap();
        assert_eq!(
            (before.label.as_str(), before.dir.as_path()),
            ("before", Path::new("/work/bin"))
        );
        let labelled = parsed("72ec6e4=target/release").unwrap();
        assert_eq!(labelled.label, "72ec6e4");
        assert_eq!(labelled.dir, Path::new("target/release"));
        // An `=` inside the folder's path is the path's.
        assert_eq!(parsed("out/a=b").unwrap().dir, Path::new("out/a=b"));
        for bad in ["", "x=", "two words=dir", "[x]=dir"] {
            assert!(parsed(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_baseline_folder_has_the_steps_whose_programs_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STEPS[0].name), b"").unwrap();
        let b = BaselineDir {
            label: "before".into(),
            dir: dir.path().to_owned(),
        };
        assert_eq!(b.steps(), [STEPS[0].name]);
        assert_eq!(b.missing().len(), STEPS.len() - 1);
    }
}
