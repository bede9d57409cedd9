//! Running one benchmark case many times: each run a whole process (what a learner waits for),
//! its output folder emptied beforehand (untimed), its wall time taken from outside, its peak
//! memory from the kernel's accounting of that one child.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use tools::{step_info, Launch};

use crate::program::Program;
use crate::stats::{Ratio, Stats};

/// What to run, at which sizes, with how many workers or ranks, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub program: Program,
    pub n_files: usize,
    pub size: usize,
    #[serde(default)]
    pub workers: Option<usize>,
    #[serde(default)]
    pub ranks: Option<usize>,
    /// More ranks than cores.
    #[serde(default)]
    pub oversubscribed: bool,
    /// `mpirun` told to use shared memory only (`tools::SHARED_MEMORY_ONLY`).
    #[serde(default)]
    pub shared_memory: bool,
    /// Written to a RAM-backed folder (tmpfs) instead of the disk: what the code costs, without
    /// what the disk costs.
    #[serde(default)]
    pub ram: bool,
    /// The step built for this machine's CPU (`-C target-cpu=native`, `make bench NATIVE=1`).
    #[serde(default)]
    pub native: bool,
}

/// Where the programs are: the workspace's release build, and the build for this CPU.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub portable: PathBuf,
    pub native: Option<PathBuf>,
}

impl Binaries {
    /// The folder this benchmark was built into, and `native` if given.
    pub fn here(native: Option<PathBuf>) -> Result<Binaries> {
        Ok(Binaries {
            portable: tools::bin_dir()?,
            native,
        })
    }

    fn of(&self, case: &Case, name: &str) -> Result<PathBuf> {
        let dir = match (&self.native, case.native) {
            (_, false) => &self.portable,
            (Some(dir), true) => dir,
            (None, true) => bail!("{}: no native build given (--native)", case.command_line()),
        };
        let path = dir.join(name);
        ensure!(
            path.is_file(),
            "{} is not built: run `make build` (and `make bench NATIVE=1` for the native build)",
            path.display()
        );
        Ok(path)
    }
}

impl Case {
    pub fn new(program: Program, n_files: usize, size: usize) -> Case {
        Case {
            program,
            n_files,
            size,
            workers: None,
            ranks: None,
            oversubscribed: false,
            shared_memory: false,
            ram: false,
            native: false,
        }
    }
    /// The step called `name` (see [`Program::step`]).
    pub fn step(name: &str, n_files: usize, size: usize) -> Case {
        Case::new(Program::step(name), n_files, size)
    }
    /// The same case, written to the RAM-backed folder.
    pub fn on_ram(mut self) -> Case {
        self.ram = true;
        self
    }
    /// The same case with `mpirun` told to use shared memory only.
    pub fn shared_memory(mut self) -> Case {
        self.shared_memory = true;
        self
    }
    /// The same case, built for this machine's CPU.
    pub fn native(mut self) -> Case {
        self.native = true;
        self
    }
    fn mpirun_options(&self) -> &'static [&'static str] {
        if self.shared_memory {
            &tools::SHARED_MEMORY_ONLY
        } else {
            &[]
        }
    }
    pub fn workers(mut self, w: usize) -> Case {
        self.workers = Some(w);
        self
    }
    /// Run under `mpirun -np r` (marked oversubscribed by [`Case::on_cores`]).
    pub fn ranks(mut self, r: usize) -> Case {
        self.ranks = Some(r);
        self
    }
    /// Marks the case oversubscribed when it has more ranks than `cores`: the cores of the
    /// machine the plan was made for, not of the one redrawing a report.
    pub fn on_cores(mut self, cores: usize) -> Case {
        self.oversubscribed = self.ranks.is_some_and(|r| r > cores);
        self
    }

    /// The command line as the report prints it: the real command, with every path shortened
    /// to its file name and without the output options (`--json --dir <folder>`), then where
    /// it wrote (`[tmpfs]`) and how it was built (`[native]`).
    pub fn command_line(&self) -> String {
        let command = self.build(|_, name| Ok(Path::new("/bin").join(name)));
        let mut words = match command {
            Ok(command) => shown(&command),
            Err(e) => vec![format!("<{e}>")],
        };
        if self.ram {
            words.push("[tmpfs]".into());
        }
        if self.native {
            words.push("[native]".into());
        }
        words.join(" ")
    }

    /// The command that runs this case, writing into `dir`.
    fn command(&self, bins: &Binaries, dir: &Path) -> Result<Command> {
        let mut command = self.build(|case, name| bins.of(case, name))?;
        if self.program.summarises() {
            command.arg("--json");
        }
        if !matches!(self.program, Program::Launch | Program::Capacity) {
            command.arg("--dir").arg(dir);
        }
        Ok(command)
    }

    /// The command without its output options; `locate` finds a program by name.
    fn build(&self, locate: impl Fn(&Case, &str) -> Result<PathBuf>) -> Result<Command> {
        let ranks = self.ranks.unwrap_or(1);
        let mpirun = |program: PathBuf| tools::mpirun_with(ranks, self.mpirun_options(), &program);
        let sizes = [
            "-n".to_string(),
            self.n_files.to_string(),
            "-s".into(),
            self.size.to_string(),
        ];
        Ok(match self.program {
            Program::Launch => mpirun(locate(self, "mpi_noop")?),
            Program::Capacity => {
                let mut c = Command::new(locate(self, "capacity")?);
                c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                c
            }
            Program::Python(step) => {
                let mut c = Command::new(PYTHON);
                c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/reference.py"))
                    .arg(step)
                    .args(&sizes);
                c
            }
            Program::Floor(floor) => {
                let mut c = Command::new(locate(self, "floor")?);
                c.args(["--format", floor.format()]).args(&sizes);
                c
            }
            Program::Step(step) => {
                let info = step_info(step).with_context(|| format!("no step named {step}"))?;
                let binary = locate(self, step)?;
                let mut c = if info.launch == Launch::Mpi {
                    mpirun(binary)
                } else {
                    Command::new(binary)
                };
                c.args(&sizes);
                if info.launch == Launch::Threads {
                    c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                }
                c
            }
        })
    }
}

/// A command's words, each path (a word with a `/`) shortened to its file name.
fn shown(command: &Command) -> Vec<String> {
    let short = |word: &std::ffi::OsStr| {
        let word = word.to_string_lossy();
        match word.rsplit_once('/') {
            Some((_, name)) => name.to_owned(),
            None => word.into_owned(),
        }
    };
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(short)
        .collect()
}

/// Runs the field and formatter steps from both builds at the plan's small size and compares
/// every file they write, byte by byte.
pub fn compare_native(
    bins: &Binaries,
    plan: &crate::matrix::Plan,
    scratch: &Path,
) -> Result<crate::results::NativeCheck> {
    let (n, s) = (plan.small.0.min(100), plan.small.1);
    let mut check = crate::results::NativeCheck {
        rustflags: NATIVE_RUSTFLAGS.into(),
        commands: Vec::new(),
        files_compared: 0,
        files_differing: 0,
    };
    for step in ["write_vectorized", "write_vectorized_binary"] {
        let portable = Case::step(step, n, s);
        let native = portable.clone().native();
        let (a, b) = (scratch.join("portable"), scratch.join("native"));
        run_once(&portable, bins, &a)?;
        run_once(&native, bins, &b)?;
        check.commands.push(portable.command_line());
        for entry in
            std::fs::read_dir(&a).with_context(|| format!("cannot list {}", a.display()))?
        {
            let name = entry?.file_name();
            let same =
                std::fs::read(a.join(&name))? == std::fs::read(b.join(&name)).unwrap_or_default();
            check.files_compared += 1;
            check.files_differing += usize::from(!same);
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
    plan: &crate::matrix::Plan,
    scratch: &Path,
    plots: &Path,
) -> Result<crate::results::TextProfile> {
    // Three times the small case: a few hundred samples at the sampler's ~150 Hz here.
    let case = Case::step("write_vectorized", 3 * plan.small.0, plan.small.1).on_ram();
    let name = "write_vectorized.flamegraph.svg";
    std::fs::create_dir_all(plots).with_context(|| format!("cannot create {}", plots.display()))?;
    let svg = plots.join(name);
    let dir = scratch.join("profile");
    let mut command = case.command(bins, &dir)?;
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
        if stack.contains("gridgen::text::") {
            formatter += count;
        } else if stack.contains("gridgen::field::") {
            field += count;
        }
    }
    let share = |k: u64| k as f64 / samples.max(1) as f64;
    Ok(crate::results::TextProfile {
        command: format!("{} --flamegraph", case.command_line()),
        flamegraph: name.into(),
        samples,
        formatter: share(formatter),
        field: share(field),
    })
}

/// What `make bench NATIVE=1` builds the native steps with (the Makefile says the same).
pub const NATIVE_RUSTFLAGS: &str = "-C target-cpu=native";

/// Debian's Python, which has numpy and h5py (`make setup`).
pub const PYTHON: &str = "/usr/bin/python3";

/// One case's measurements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub case: Case,
    pub command: String,
    /// Wall seconds of the whole process, from outside.
    pub wall: Stats,
    /// Largest resident set of any one process of the run, in MiB (for MPI: the largest rank).
    pub peak_mib: f64,
    /// Bytes the run reported writing.
    pub bytes: u64,
    /// Every measured run: (round, wall seconds). Ratios pair two cases round by round.
    #[serde(default)]
    pub samples: Vec<(usize, f64)>,
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
    let mut command = case.command(bins, dir)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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

/// A target as the runner sees it: case indices, and how one round's times make its value.
pub struct Watched {
    pub cases: Vec<usize>,
    pub value: fn(&[f64]) -> f64,
}

/// How many rounds to run and which ratios must come out trustworthy.
pub struct Rounds<'a> {
    pub warmup: usize,
    /// Measured rounds every case gets.
    pub repeat: usize,
    /// The targets, as groups of cases whose round-by-round value is reported: while one is
    /// not narrow (see [`Ratio::narrow`]), more rounds of just its cases are run…
    pub watched: &'a [Watched],
    /// … until this much time has gone into extra rounds, or `max_rounds` in all.
    pub budget: Duration,
    pub max_rounds: usize,
}

/// Runs every case `warmup` rounds unmeasured, then `repeat` measured rounds, then extra rounds
/// of the cases in watched pairs whose ratio is still wide. Each round runs its cases once, in a
/// shuffled order (not all runs of one case, then the next), so a slow spell of the machine — a
/// busy disk, another job — spreads over every case instead of skewing one, and ratios between
/// cases stay fair. Cases with `ram` write under `ram_scratch`. `progress` is told after every
/// run.
pub fn measure_all(
    cases: &[Case],
    bins: &Binaries,
    rounds: &Rounds,
    scratch: &Path,
    ram_scratch: &Path,
    mut progress: impl FnMut(&Case),
) -> Result<Vec<Measured>> {
    let (disk_dir, ram_dir): (PathBuf, PathBuf) = (scratch.join("out"), ram_scratch.join("out"));
    let mut samples: Vec<Vec<(usize, f64)>> = vec![Vec::new(); cases.len()];
    let mut peaks = vec![(0.0f64, 0u64); cases.len()];
    let mut seed = 0x853c_49e6_748f_ea9b_u64;
    type Samples = Vec<Vec<(usize, f64)>>;
    let mut run_round = |samples: &mut Samples,
                         peaks: &mut Vec<(f64, u64)>,
                         round: usize,
                         which: &[usize],
                         measured: bool|
     -> Result<()> {
        let mut order = which.to_vec();
        // A new order every round: a disk that slows down as a round's gigabytes pile up would
        // otherwise always penalise the same cases (those late in the list).
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        for k in order {
            let case = &cases[k];
            let dir = if case.ram { &ram_dir } else { &disk_dir };
            let (wall, mib, b) = run_once(case, bins, dir)?;
            if measured {
                samples[k].push((round, wall));
                peaks[k] = (peaks[k].0.max(mib), b);
            }
            progress(case);
        }
        Ok(())
    };
    let all: Vec<usize> = (0..cases.len()).collect();
    let base = rounds.warmup + rounds.repeat.max(1);
    for round in 0..base {
        run_round(
            &mut samples,
            &mut peaks,
            round,
            &all,
            round >= rounds.warmup,
        )?;
    }
    let started = Instant::now();
    for round in base..rounds.max_rounds {
        if started.elapsed() >= rounds.budget {
            break;
        }
        let mut wide: Vec<usize> = Vec::new();
        for watched in rounds.watched {
            let series: Vec<&[(usize, f64)]> = watched
                .cases
                .iter()
                .map(|&k| samples[k].as_slice())
                .collect();
            let ratio = Ratio::per_round(&series, watched.value);
            if !ratio.is_some_and(|r| r.narrow()) {
                wide.extend(&watched.cases);
            }
        }
        wide.sort_unstable();
        wide.dedup();
        if wide.is_empty() {
            break;
        }
        run_round(&mut samples, &mut peaks, round, &wide, true)?;
    }
    let _ = std::fs::remove_dir_all(&disk_dir);
    let _ = std::fs::remove_dir_all(&ram_dir);
    Ok(cases
        .iter()
        .zip(samples)
        .zip(peaks)
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
        .collect())
}
