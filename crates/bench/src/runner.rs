//! Running one benchmark case many times: each run a whole process (what a learner waits for),
//! its output folder emptied beforehand (untimed), its wall time taken from outside, its peak
//! memory from the kernel's accounting of that one child.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use tools::{step_binary, step_command, step_info, Launch};

use crate::stats::{Ratio, Stats};

/// What to run: a step, or one of the floors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// A step's name, `floor-npy` / `floor-txt` (the file-writing floor), `launch` (the
    /// launch floor: `mpirun` of a do-nothing MPI program), or `py-<step>` (the Python version
    /// of a serial step, timed in the same run).
    pub program: String,
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
}

impl Case {
    pub fn new(program: &str, n_files: usize, size: usize) -> Case {
        Case {
            program: program.into(),
            n_files,
            size,
            workers: None,
            ranks: None,
            oversubscribed: false,
            shared_memory: false,
            ram: false,
        }
    }
    /// The same case, written to the RAM-backed folder.
    pub fn on_ram(mut self) -> Case {
        self.ram = true;
        self
    }
    pub fn shared_memory(mut self) -> Case {
        self.shared_memory = true;
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
    pub fn ranks(mut self, r: usize) -> Case {
        self.ranks = Some(r);
        self.oversubscribed = r > tools::cores();
        self
    }

    /// The exact command line, as the report prints it.
    pub fn command_line(&self) -> String {
        let mut words = Vec::new();
        if let Some(r) = self.ranks {
            words.push(format!(
                "mpirun -np {r}{}",
                if self.oversubscribed {
                    " --oversubscribe"
                } else {
                    ""
                }
            ));
            words.extend(self.mpirun_options().iter().map(|o| o.to_string()));
        }
        match self.program.as_str() {
            "launch" => words.push("mpi_noop".into()),
            "capacity" => words.push(format!("capacity -w {}", self.workers.unwrap_or(1))),
            py if py.starts_with("py-") => {
                words.push(format!(
                    "python3 reference.py {} -n {} -s {}",
                    &py[3..],
                    self.n_files,
                    self.size
                ));
            }
            "floor-npy" | "floor-txt" | "floor-one" => {
                let format = &self.program[6..];
                words.push(format!(
                    "floor --format {format} -n {} -s {}",
                    self.n_files, self.size
                ));
            }
            step => {
                words.push(format!("{step} -n {} -s {}", self.n_files, self.size));
                if let Some(w) = self.workers {
                    words.push(format!("-w {w}"));
                }
            }
        }
        if self.ram {
            words.push("[tmpfs]".into());
        }
        words.join(" ")
    }

    fn command(&self, dir: &Path) -> Result<Command> {
        let ranks = self.ranks.unwrap_or(1);
        let mut command = match self.program.as_str() {
            "launch" => tools::mpirun_with(ranks, self.mpirun_options(), &step_binary("mpi_noop")?),
            "capacity" => {
                let mut c = Command::new(step_binary("capacity")?);
                c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                return Ok(c);
            }
            py if py.starts_with("py-") => {
                let mut c = Command::new(PYTHON);
                c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/reference.py"))
                    .arg(&py[3..]);
                c.args([
                    "-n",
                    &self.n_files.to_string(),
                    "-s",
                    &self.size.to_string(),
                    "--dir",
                ])
                .arg(dir);
                return Ok(c);
            }
            "floor-npy" | "floor-txt" | "floor-one" => {
                let mut c = Command::new(step_binary("floor")?);
                c.args(["--format", &self.program[6..]]);
                c
            }
            step => {
                let info = step_info(step).with_context(|| format!("no step named {step}"))?;
                let mut c = if self.shared_memory {
                    tools::mpirun_with(ranks, self.mpirun_options(), &step_binary(step)?)
                } else {
                    step_command(step, ranks)?
                };
                if info.launch == Launch::Threads {
                    c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                }
                c
            }
        };
        if self.program != "launch" {
            command
                .args([
                    "-n",
                    &self.n_files.to_string(),
                    "-s",
                    &self.size.to_string(),
                    "--json",
                    "--dir",
                ])
                .arg(dir);
        }
        Ok(command)
    }
}

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
fn run_once(case: &Case, dir: &Path) -> Result<(f64, f64, u64)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    // Untimed: write back what earlier runs left in the page cache, so that no run pays for
    // flushing another's files.
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut command = case.command(dir)?;
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
    let summarised =
        !matches!(case.program.as_str(), "launch" | "capacity") && !case.program.starts_with("py-");
    let bytes = match stdout.lines().last() {
        Some(line) if summarised => tools::parse_summary(line)?.bytes,
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
            let (wall, mib, b) = run_once(case, dir)?;
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
