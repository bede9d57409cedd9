//! docs/benchmarks.md, regenerated from a run's results.

use std::fmt::Write;

use crate::program::{Floor, Program};
use crate::results::Results;
use crate::runner::Measured;
use crate::stats::Ratio;

/// The Python originals, timed once on this project's Debian 12 machine (2 cores) in 2026-11
/// with 100×100 grids; medians. `make bench` does not run Python: these are fixed references.
pub const PYTHON: &[(&str, usize, &str, f64)] = &[
    ("write.py", 100, "", 1.30),
    ("write.py", 1000, "", 12.0),
    ("write_vectorized.py", 100, "", 0.64),
    ("write_vectorized.py", 1000, "", 5.23),
    ("write_vectorized_binary.py", 100, "", 0.165),
    ("write_vectorized_binary.py", 1000, "", 0.90),
    ("write_hdf5.py", 1000, "", 0.85),
    ("write_multiprocessing.py", 1000, "w=1", 1.36),
    ("write_multiprocessing.py", 1000, "w=2", 1.48),
    ("write_multiprocessing_queue.py", 1000, "w=1", 1.03),
    ("write_multiprocessing_queue.py", 1000, "w=2", 0.65),
    ("write_mpi_scatter.py", 1000, "np=1", 1.21),
    ("write_mpi_scatter.py", 1000, "np=2", 0.83),
    ("write_final.py (corrected)", 1000, "np=2", 0.875),
];

fn cell(m: &Measured) -> String {
    format!("{:.3} ({:.3}–{:.3})", m.wall.median, m.wall.min, m.wall.max)
}

/// One performance target: what was compared, the ratio measured, and whether it holds.
pub struct Target {
    pub text: String,
    pub measured: String,
    pub met: Option<bool>,
}

/// Memory: every case at the large grid stays within 3 × (W + 1) grids + 20 MiB per process.
fn memory_target(r: &Results) -> Option<Target> {
    let (_, ls) = r.large;
    let grid_mib = (ls * ls * 8) as f64 / (1024.0 * 1024.0);
    let mut worst: Option<(f64, &Measured, f64)> = None;
    for m in r.measured.iter().filter(|m| {
        m.case.size == ls && !m.case.program.is_floor() && m.case.program != Program::Capacity
    }) {
        let w = m.case.workers.unwrap_or(1) as f64;
        let budget = 3.0 * (w + 1.0) * grid_mib + 20.0;
        let share = m.peak_mib / budget;
        if worst.as_ref().is_none_or(|(s, _, _)| share > *s) {
            worst = Some((share, m, budget));
        }
    }
    worst.map(|(share, m, budget)| Target {
        text: format!("peak memory per process ≤ 3 × (W + 1) grids + 20 MiB at size {ls}"),
        measured: format!(
            "{:.0}% of budget at worst ({}: {:.1} MiB of {:.1} MiB)",
            share * 100.0,
            m.command,
            m.peak_mib,
            budget
        ),
        met: Some(share <= 1.0),
    })
}

/// The plan a run used, rebuilt from its sizes (for the goals' cases).
fn plan_of(r: &Results) -> crate::matrix::Plan {
    let mut plan = if r.quick {
        crate::matrix::Plan::quick(r.machine.cores)
    } else {
        crate::matrix::Plan::full(r.machine.cores)
    };
    plan.small = r.small;
    plan.large = r.large;
    plan.native = r.native.is_some();
    plan
}

/// "The machine gave k× for W threads": the capacity probe, round by round.
fn capacity_table(md: &mut String, r: &Results) {
    let one = r.find_case(&crate::runner::Case::new(Program::Capacity, 0, 0).workers(1));
    let Some(one) = one else {
        return;
    };
    let _ = writeln!(
        md,
        "\n## The machine's parallel capacity\n\nThe same fixed CPU work on W threads at once \
         (`capacity -w W`), in the same rounds as every case: on free cores W threads take as long as one, and \
         the capacity is W. Every parallel target above is judged against it, not against W.\n\n\
         <!-- ANCHOR: capacity -->\n| threads | the machine gave | |\n|---|---|---|"
    );
    for w in 1..=r.machine.cores.max(1) * 2 {
        let Some(m) = r.find_case(&crate::runner::Case::new(Program::Capacity, 0, 0).workers(w))
        else {
            continue;
        };
        let ratio = Ratio::paired(&one.samples, &m.samples, |a, b| w as f64 * a / b);
        if let Some(q) = ratio {
            let note = if q.narrow() {
                ""
            } else {
                "noisy: the host's load changed during the run"
            };
            let _ = writeln!(md, "| {w} | {} | {note} |", q.shown());
        }
    }
    let _ = writeln!(md, "<!-- ANCHOR_END: capacity -->");
}

/// Where the text step's CPU time goes: the profile behind the text-floor target.
fn text_profile_section(md: &mut String, r: &Results, plot_prefix: &str) {
    let _ = writeln!(
        md,
        "\n## Where the text step's time goes\n\n<!-- ANCHOR: text_profile -->"
    );
    match &r.text_profile {
        None => {
            let _ = writeln!(md, "Not profiled in this run.");
        }
        Some(p) if p.samples == 0 => {
            let _ = writeln!(
                md,
                "`{}`: no CPU samples, the run was too short to profile (a longer run gives \
                 more); the flamegraph is empty.\n\n![{}]({plot_prefix}{})",
                p.command, p.flamegraph, p.flamegraph
            );
        }
        Some(p) => {
            let pct = |f: f64| format!("{:.0}%", 100.0 * f);
            let _ = writeln!(
                md,
                "`{}`: {} CPU samples; {} in the formatter (`gridgen::text`), {} in the field \
                 (`gridgen::field`), {} elsewhere (writing the files, the kernel, start-up).{}\n\n\
                 ![{}]({plot_prefix}{})",
                p.command,
                p.samples,
                pct(p.formatter),
                pct(p.field),
                pct((1.0 - p.formatter - p.field).max(0.0)),
                if p.samples < 50 {
                    " Too few samples to trust: a longer run gives more."
                } else {
                    ""
                },
                p.flamegraph,
                p.flamegraph
            );
        }
    }
    if let Some(line) = text_budget(r) {
        let _ = writeln!(md, "\n{line}");
    }
    let _ = writeln!(md, "<!-- ANCHOR_END: text_profile -->");
}

/// How far the text step is from its target, in time per value: what the code costs beyond
/// writing the same text (its median on tmpfs minus the text floor's), and what it may cost for
/// the step to be within 2.0× of the floor (the floor's own time again).
fn text_budget(r: &Results) -> Option<String> {
    let (n, s) = r.small;
    let on_ram = |program: Program| {
        let case = crate::runner::Case::new(program, n, s).on_ram();
        r.find_case(&case).map(|m| m.wall.median)
    };
    let step = on_ram(Program::step("write_vectorized"))?;
    let floor = on_ram(Program::Floor(Floor::Txt))?;
    let values = (n * s * s) as f64;
    let ns = |seconds: f64| seconds / values * 1e9;
    Some(format!(
        "What is left: on tmpfs `write_vectorized -n {n} -s {s}` takes {step:.3} s and writing the same \
         text takes {floor:.3} s, so the field and the formatter cost {:.3} s, {:.0} ns a value. Within 2.0× \
         of the floor they may cost at most the floor's own {floor:.3} s, {:.0} ns a value.",
        step - floor,
        ns(step - floor),
        ns(floor)
    ))
}

/// The learner's experiment `make bench NATIVE=1`: the same steps built for this CPU.
fn native_section(md: &mut String, r: &Results) {
    let _ = writeln!(md, "\n## Built for this CPU\n\n<!-- ANCHOR: native -->");
    let Some(check) = &r.native else {
        let _ = writeln!(
            md,
            "Not measured in this run. `make bench NATIVE=1` also builds the field and formatter steps with \
             `-C target-cpu=native`, times both builds in the same rounds on tmpfs, and compares their files byte by byte.\n\
             <!-- ANCHOR_END: native -->"
        );
        return;
    };
    let verdict = if check.files_differing == 0 {
        format!("all {} files byte-identical", check.files_compared)
    } else {
        format!(
            "**{} of {} files differ**",
            check.files_differing, check.files_compared
        )
    };
    let _ = writeln!(
        md,
        "`RUSTFLAGS=\"{}\"` against the portable build, both running {}: {verdict}.\n",
        check.rustflags,
        check
            .commands
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(md, "| native ÷ portable | median (IQR) |\n|---|---|");
    for m in r.measured.iter().filter(|m| m.case.native) {
        let mut portable = m.case.clone();
        portable.native = false;
        let ratio = r
            .find_case(&portable)
            .and_then(|p| Ratio::paired(&m.samples, &p.samples, |a, b| a / b));
        let _ = writeln!(
            md,
            "| `{}` | {} |",
            m.command,
            ratio.map_or("—".into(), |q| q.shown())
        );
    }
    let _ = writeln!(md, "<!-- ANCHOR_END: native -->");
}

/// Each file-writing case on the disk and on the RAM-backed folder: what the disk costs.
fn filesystem_table(md: &mut String, r: &Results) {
    let pairs: Vec<(&Measured, &Measured)> = r
        .measured
        .iter()
        .filter(|m| m.case.ram)
        .filter_map(|ram| {
            let mut disk = ram.case.clone();
            disk.ram = false;
            r.find_case(&disk).map(|d| (d, ram))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Disk and RAM\n\nThe same cases written to the disk and to a RAM-backed folder (tmpfs), in the \
         same rounds. The RAM time is what the code and the kernel cost; the rest of the disk time is the disk.\n\n\
         <!-- ANCHOR: filesystems -->\n| command | disk s | tmpfs s | disk ÷ tmpfs |\n|---|---|---|---|"
    );
    for (disk, ram) in pairs {
        let ratio = Ratio::paired(&disk.samples, &ram.samples, |a, b| a / b);
        let _ = writeln!(
            md,
            "| `{}` | {:.3} | {:.3} | {} |",
            disk.command,
            disk.wall.median,
            ram.wall.median,
            ratio.map_or("—".into(), |q| q.shown())
        );
    }
    let _ = writeln!(md, "<!-- ANCHOR_END: filesystems -->");
}

/// One row: the command, its median (min–max), and its ratio to `base` if given.
fn row(md: &mut String, m: Option<&Measured>, base: Option<f64>) {
    if let Some(m) = m {
        let ratio = base.map_or(String::new(), |b| format!("{:.2}×", m.wall.median / b));
        let mark = if m.case.oversubscribed {
            " *(oversubscribed)*"
        } else {
            ""
        };
        let _ = writeln!(md, "| `{}`{mark} | {} | {ratio} |", m.command, cell(m));
    }
}

/// Opens a chapter table: its title, its ANCHOR (the book includes exactly this table) and the
/// header row, whose last column is `ratio`.
fn table_start(md: &mut String, anchor: &str, title: &str, ratio: &str) {
    let _ = writeln!(md, "### {title}\n\n<!-- ANCHOR: {anchor} -->");
    let _ = writeln!(
        md,
        "| command | wall s: median (min–max) | {ratio} |\n|---|---|---|"
    );
}

fn table_end(md: &mut String, anchor: &str) {
    let _ = writeln!(md, "<!-- ANCHOR_END: {anchor} -->\n");
}

/// Small tables for the workshop's chapters, each between ANCHOR comments so that the book can
/// `{{#include}}` exactly the numbers it discusses from this generated file.
fn chapter_tables(md: &mut String, r: &Results) {
    let _ = writeln!(md, "## Tables for the chapters\n");
    serial_table(md, r);
    loops_table(md, r);
    for (anchor, at) in [("threads_small", r.small), ("threads_large", r.large)] {
        threads_table(md, r, anchor, at);
    }
    for (anchor, at) in [("mpi_small", r.small), ("mpi_large", r.large)] {
        mpi_table(md, r, anchor, at);
    }
    hdf5_table(md, r);
}

/// Every serial step and its Python original at the small size, against `write`.
fn serial_table(md: &mut String, r: &Results) {
    let small = r.small;
    let write = r.median(Program::step("write"), small, None, None);
    table_start(md, "serial", "Serial steps", "time ÷ `write`");
    for program in [
        Program::step("write"),
        Program::step("write_vectorized"),
        Program::Floor(Floor::Txt),
        Program::step("write_vectorized_binary"),
        Program::step("write_hdf5"),
        Program::Floor(Floor::Npy),
        Program::python("write_vectorized"),
        Program::python("write_vectorized_binary"),
        Program::python("write_hdf5"),
    ] {
        row(md, r.find(program, small, None, None), write);
    }
    table_end(md, "serial");
}

/// The loop step against the vectorized one, in Rust and in Python.
fn loops_table(md: &mut String, r: &Results) {
    table_start(md, "loops", "Loops: Rust and Python", "time ÷ Rust `write`");
    if let Some(py) = r
        .measured
        .iter()
        .find(|m| m.case.program == Program::python("write"))
    {
        let at = (py.case.n_files, py.case.size);
        let rust = r.median(Program::step("write"), at, None, None);
        for program in [
            Program::step("write"),
            Program::step("write_vectorized"),
            Program::python("write"),
        ] {
            row(md, r.find(program, at, None, None), rust);
        }
    }
    table_end(md, "loops");
}

/// The two thread steps over their worker counts, against one worker.
fn threads_table(md: &mut String, r: &Results, anchor: &str, at: (usize, usize)) {
    table_start(
        md,
        anchor,
        &format!("Threads, {}", at_str(at)),
        "time ÷ 1 worker",
    );
    for program in ["write_multiprocessing", "write_multiprocessing_queue"] {
        sweep_rows(md, r, Program::step(program), at);
    }
    table_end(md, anchor);
}

/// The MPI steps over their rank counts, against one rank; the launch floor; the runs with
/// shared memory only.
fn mpi_table(md: &mut String, r: &Results, anchor: &str, at: (usize, usize)) {
    table_start(md, anchor, &format!("MPI, {}", at_str(at)), "time ÷ 1 rank");
    for program in ["write_mpi", "write_mpi_scatter", "write_final"] {
        sweep_rows(md, r, Program::step(program), at);
    }
    for m in r
        .measured
        .iter()
        .filter(|m| m.case.program == Program::Launch)
    {
        row(md, Some(m), None);
    }
    for m in r
        .measured
        .iter()
        .filter(|m| m.case.shared_memory && (m.case.n_files, m.case.size) == at)
    {
        row(md, Some(m), None);
    }
    table_end(md, anchor);
}

/// One row per worker or rank count, each against the first.
fn sweep_rows(md: &mut String, r: &Results, program: Program, at: (usize, usize)) {
    let sweep = r.sweep(program, at);
    let base = sweep.first().map(|(_, m)| m.wall.median);
    for (_, m) in sweep {
        row(md, Some(m), base);
    }
}

/// `write_vectorized_binary` and `write_hdf5` at every file count measured.
fn hdf5_table(md: &mut String, r: &Results) {
    let size = r.small.1;
    table_start(
        md,
        "hdf5",
        "Many .npy files or one HDF5 file",
        "HDF5 ÷ .npy",
    );
    let mut ns: Vec<usize> = r
        .measured
        .iter()
        .filter(|m| m.case.program == Program::step("write_hdf5") && m.case.size == size)
        .map(|m| m.case.n_files)
        .collect();
    ns.sort();
    ns.dedup();
    let npy = Program::step("write_vectorized_binary");
    for n in ns {
        row(md, r.find(npy, (n, size), None, None), None);
        let base = r.median(npy, (n, size), None, None);
        row(
            md,
            r.find(Program::step("write_hdf5"), (n, size), None, None),
            base,
        );
    }
    table_end(md, "hdf5");
}

fn at_str((n, s): (usize, usize)) -> String {
    format!("n={n}, size {s}")
}

/// The whole report, in markdown. `plots` are file names relative to `plot_prefix`.
pub fn markdown(r: &Results, plots: &[String], plot_prefix: &str, raw_name: &str) -> String {
    let mut md = String::new();
    let m = &r.machine;
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `make bench{}` on {} — do not edit by hand; run it again on your machine.\n",
        if r.quick { "-quick" } else { "" },
        m.date
    );
    let _ = writeln!(md, "<!-- ANCHOR: machine -->\n| machine | |\n|---|---|");
    let _ = writeln!(
        md,
        "| host | {} |\n| CPU | {} |\n| cores | {} |\n| memory | {:.1} GiB |",
        m.host, m.cpu, m.cores, m.memory_gib
    );
    let _ = writeln!(
        md,
        "| filesystem of the output | {} |\n| RAM-backed folder | {} |\n| kernel | {} |\n| date | {} |\n<!-- ANCHOR_END: machine -->\n",
        m.filesystem, m.ram_filesystem, m.kernel, m.date
    );
    let _ = writeln!(
        md,
        "Each case ran as a whole process, as a learner runs it: {} unmeasured warm-up round(s), then {} measured \
         round(s), each round running every case once in a new shuffled order (so a slow spell of the machine hits all cases alike); \
         the tables show the median wall time in seconds, with the fastest and slowest run in brackets. Before every \
         run the output folder is emptied and the page cache written back (`sync`), untimed. Wall time is taken from \
         outside the process, so it includes start-up (and `mpirun`'s launch for the MPI steps). This machine's disk \
         speed varies a lot over minutes: compare cases within one report, as ratios, rather than across reports. \
         Cases marked `[tmpfs]` wrote to a RAM-backed folder instead of the disk: the difference is what the disk \
         costs. Raw numbers: `bench/results/{raw_name}`.\n",
        r.warmup, r.repeat
    );
    let _ = writeln!(
        md,
        "## Targets\n\nEach target is a ratio of cases that ran in the same rounds, computed round by round: \
         the median, the interquartile range (IQR) of the rounds' values, and how many rounds. Rounds were added \
         (up to a time budget) while a ratio's IQR was wider than ±10% of its median; a target whose ratio stayed \
         that wide is *not measurable here* — the machine, not the code, decided it.\n\n\
         <!-- ANCHOR: targets -->\n| target | measured | |\n|---|---|---|"
    );
    let plan = plan_of(r);
    for goal in crate::goals::goals(&plan) {
        let outcome = goal.outcome(r);
        let shown = outcome.ratio.map_or("not measured".to_owned(), |q| {
            if goal.share {
                format!(
                    "{:.0}% (IQR {:.0}–{:.0}%, {} rounds)",
                    100.0 * q.median,
                    100.0 * q.q1,
                    100.0 * q.q3,
                    q.rounds
                )
            } else {
                q.shown()
            }
        });
        let _ = writeln!(md, "| {} | {shown} | {} |", goal.text, outcome.verdict);
    }
    if let Some(t) = memory_target(r) {
        let verdict = if t.met == Some(true) {
            "met"
        } else {
            "**missed**"
        };
        let _ = writeln!(md, "| {} | {} | {verdict} |", t.text, t.measured);
    }
    let _ = writeln!(md, "<!-- ANCHOR_END: targets -->");
    capacity_table(&mut md, r);
    filesystem_table(&mut md, r);
    native_section(&mut md, r);
    text_profile_section(&mut md, r, plot_prefix);
    let _ = writeln!(md, "\nPython is timed in the same run (`crates/bench/python/reference.py`: numpy, savetxt, save, h5py), except for `write_final`, whose Python version needs mpi4py and parallel h5py: it is compared with the fixed reference below, and only at n=1000, size 100.\n");

    let _ = writeln!(md, "## Every case\n\n| command | wall s: median (min–max) | peak MiB | MB written |\n|---|---|---|---|");
    for x in &r.measured {
        let mark = if x.case.oversubscribed {
            " *(oversubscribed)*"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| `{}`{mark} | {} | {:.1} | {:.1} |",
            x.command,
            cell(x),
            x.peak_mib,
            x.bytes as f64 / 1e6
        );
    }
    let _ = writeln!(md, "\n`floor` writes the same number of files with the same bytes as the step, with nothing but `File::create` and one `write_all` each; `mpi_noop` is `mpirun` of a program that only starts and stops MPI.\n");

    chapter_tables(&mut md, r);

    let _ = writeln!(md, "## Plots\n");
    for p in plots {
        let _ = writeln!(md, "![{p}]({plot_prefix}{p})\n");
    }
    let _ = writeln!(md, "## The Python originals, for reference\n\nTimed once on this project's Debian 12 machine (2 cores) in 2026-11, 100×100 grids, medians; not re-run by `make bench`.\n\n| script | n | workers/ranks | seconds |\n|---|---|---|---|");
    for (script, n, variant, t) in PYTHON {
        let _ = writeln!(
            md,
            "| {script} | {n} | {} | {t} |",
            if variant.is_empty() { "—" } else { variant }
        );
    }
    md
}
