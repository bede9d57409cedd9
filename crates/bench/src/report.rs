//! docs/benchmarks.md, regenerated from a run's results. The prose is in templates beside this
//! file (`report/*.md`, with `{{name}}` for what a run fills in); the code here makes the
//! tables and the numbers.

use std::fmt::Write;

use steps::{Format, Launch, Step, Target, STEPS};

use crate::metric::{against, capacity, goals, Goal, BASELINE_ROUNDS, NOT_SLOWER};
use crate::model::{Build, Case, Floor, Measured, Program};
use crate::plan::{Baseline, Plan};
use crate::results::{BaselineCheck, Boundary, Results, SameFiles, TextProfile};
use crate::runner::text_step;
use crate::stats::{Ratio, Stats};

const REPORT: &str = include_str!("report/report.md");
const CAPACITY: &str = include_str!("report/capacity.md");
const FILESYSTEMS: &str = include_str!("report/filesystems.md");
const NATIVE: &str = include_str!("report/native.md");
const NATIVE_MISSING: &str = include_str!("report/native_missing.md");
const BASELINE: &str = include_str!("report/baseline.md");
const BASELINE_TABLE: &str = include_str!("report/baseline_table.md");
const BASELINE_MISSING: &str = include_str!("report/baseline_missing.md");
const TEXT_PROFILE: &str = include_str!("report/text_profile.md");
const PROFILE: &str = include_str!("report/profile.md");
const PROFILE_EMPTY: &str = include_str!("report/profile_empty.md");
const TEXT_BUDGET: &str = include_str!("report/text_budget.md");
const BATCHES: &str = include_str!("report/batches.md");
const PYTHON_SECTION: &str = include_str!("report/python.md");
const BOUNDARY: &str = include_str!("report/boundary.md");

/// `template` with every `{{name}}` replaced by its value. Panics on a name left unfilled:
/// the templates are this crate's own, and the tests render every one.
pub fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        let rest: String = text[at..].chars().take(40).collect();
        panic!("a report template has an unfilled {rest}");
    }
    text
}

/// The Python originals, timed once on this project's Debian 12 machine (2 cores) in 2026-11
/// with 100×100 grids; medians. `make bench` does not run them: these are fixed references.
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
    stats_cell(&m.wall)
}

fn stats_cell(s: &Stats) -> String {
    format!("{:.3} ({:.3}–{:.3})", s.median, s.min, s.max)
}

/// `m`'s wall times in the rounds `other` ran too.
fn in_rounds_of(m: &Measured, other: &Measured) -> Option<Stats> {
    let times: Vec<f64> = m
        .samples
        .iter()
        .filter(|(round, _)| other.samples.iter().any(|(r, _)| r == round))
        .map(|(_, t)| *t)
        .collect();
    Stats::of(&times)
}

/// The plan a run used, rebuilt from its sizes (for the goals' cases).
pub fn plan_of(r: &Results) -> Plan {
    let mut plan = if r.quick {
        Plan::quick(r.machine.cores)
    } else {
        Plan::full(r.machine.cores)
    };
    plan.small = r.small;
    plan.large = r.large;
    plan.native = r.native.is_some();
    plan.baselines = r
        .baselines
        .iter()
        .map(|b| Baseline {
            label: b.label.clone(),
            steps: b
                .steps
                .iter()
                .filter_map(|name| steps::find(name))
                .map(|s| s.name)
                .collect(),
        })
        .collect();
    plan
}

/// The goals the run was judged under: those it recorded, or its plan's.
fn goals_of(r: &Results) -> Vec<Goal> {
    if r.goals.is_empty() {
        goals(&plan_of(r))
    } else {
        r.goals.clone()
    }
}

/// The whole report, in markdown. `plots` are file names relative to `plot_prefix`.
pub fn markdown(r: &Results, plots: &[String], plot_prefix: &str, raw_name: &str) -> String {
    let m = &r.machine;
    let plots: String = plots
        .iter()
        .map(|p| format!("![{p}]({plot_prefix}{p})\n\n"))
        .collect();
    render(
        REPORT,
        &[
            ("quick", if r.quick { "-quick" } else { "" }.into()),
            ("date", m.date.clone()),
            ("host", m.host.clone()),
            ("cpu", m.cpu.clone()),
            ("cores", m.cores.to_string()),
            ("memory", format!("{:.1}", m.memory_gib)),
            ("filesystem", m.filesystem.clone()),
            ("ram_filesystem", m.ram_filesystem.clone()),
            ("kernel", m.kernel.clone()),
            ("warmup", r.warmup.to_string()),
            ("repeat", r.repeat.to_string()),
            ("raw_name", raw_name.to_owned()),
            ("targets", targets(r)),
            ("capacity", capacity_section(r)),
            ("filesystems", filesystem_section(r)),
            ("native", native_section(r)),
            ("baseline", baseline_section(r)),
            ("batches", batches_section(r)),
            ("text_profile", text_profile_section(r, plot_prefix)),
            ("python", python_section(r)),
            ("every_case", every_case(r)),
            ("chapter_tables", chapter_tables(r)),
            ("plots", plots),
            ("python_reference", python_reference()),
        ],
    )
}

/// One row per goal, then the memory target.
fn targets(r: &Results) -> String {
    let mut md = String::new();
    for goal in goals_of(r) {
        let series: Option<Vec<&[(usize, f64)]>> = goal
            .metric
            .cases()
            .iter()
            .map(|c| r.find_case(c).map(|m| m.samples.as_slice()))
            .collect();
        let ratio = series.and_then(|series| Ratio::per_round(&series, |t| goal.metric.value(t)));
        let shown = ratio.as_ref().map_or("not measured".to_owned(), |q| {
            if goal.metric.is_share() {
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
        let _ = writeln!(
            md,
            "| {} | {shown} | {} |",
            goal.text,
            goal.judge(ratio.as_ref())
        );
    }
    if let Some(row) = memory_target(r) {
        md.push_str(&row);
    }
    md
}

/// Memory: every case at the large grid stays within 3 × (W + 1) grids + 20 MiB per process.
fn memory_target(r: &Results) -> Option<String> {
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
    worst.map(|(share, m, budget)| {
        let verdict = if share <= 1.0 { "met" } else { "**missed**" };
        format!(
            "| peak memory per process ≤ 3 × (W + 1) grids + 20 MiB at size {ls} | {:.0}% of budget at worst ({}: {:.1} MiB of {:.1} MiB) | {verdict} |\n",
            share * 100.0,
            m.command,
            m.peak_mib,
            budget
        )
    })
}

/// "The machine gave k× for W threads": the capacity probe, round by round.
fn capacity_section(r: &Results) -> String {
    let Some(one) = r.find_case(&capacity(1)) else {
        return String::new();
    };
    let mut rows = String::new();
    for w in 1..=r.machine.cores.max(1) * 2 {
        let Some(m) = r.find_case(&capacity(w)) else {
            continue;
        };
        if let Some(q) = Ratio::paired(&one.samples, &m.samples, |a, b| w as f64 * a / b) {
            let note = if q.narrow() {
                ""
            } else {
                "noisy: the host's load changed during the run"
            };
            let _ = writeln!(rows, "| {w} | {} | {note} |", q.shown());
        }
    }
    render(CAPACITY, &[("rows", rows)])
}

/// Each file-writing case on the disk and on the RAM-backed folder: what the disk costs.
fn filesystem_section(r: &Results) -> String {
    let mut rows = String::new();
    for ram in r.measured.iter().filter(|m| m.case.ram) {
        let mut disk = ram.case.clone();
        disk.ram = false;
        let Some(disk) = r.find_case(&disk) else {
            continue;
        };
        let ratio = Ratio::paired(&disk.samples, &ram.samples, |a, b| a / b);
        let _ = writeln!(
            rows,
            "| `{}` | {:.3} | {:.3} | {} |",
            disk.command,
            disk.wall.median,
            ram.wall.median,
            ratio.map_or("—".into(), |q| q.shown())
        );
    }
    if rows.is_empty() {
        return String::new();
    }
    render(FILESYSTEMS, &[("rows", rows)])
}

/// The learner's experiment `make bench NATIVE=1`: the same steps built for this CPU.
fn native_section(r: &Results) -> String {
    let Some(check) = &r.native else {
        return NATIVE_MISSING.to_owned();
    };
    let mut rows = String::new();
    for m in r.measured.iter().filter(|m| m.case.build == Build::Native) {
        let portable = m.case.clone().built(Build::Today);
        let ratio = r
            .find_case(&portable)
            .and_then(|p| Ratio::paired(&m.samples, &p.samples, |a, b| a / b));
        let _ = writeln!(
            rows,
            "| `{}` | {} |",
            m.command,
            ratio.map_or("—".into(), |q| q.shown())
        );
    }
    render(
        NATIVE,
        &[
            ("rustflags", check.rustflags.clone()),
            ("commands", commands(&check.files)),
            ("verdict", same_files_verdict(&check.files)),
            ("rows", rows),
        ],
    )
}

/// The collective step's batch-size curve: each planes-a-round case against the step's own
/// batch (its memory budget's), in the same rounds.
fn batches_section(r: &Results) -> String {
    let plan = plan_of(r);
    let (n, s) = plan.collective_size();
    let mut rows = String::new();
    for step in crate::matrix::batched() {
        let own = r.find_case(&Case::of(step, n, s).ranks(2).on_ram());
        let mut row = |label: String, rounds: String, m: &Measured| {
            let ratio = own.and_then(|o| Ratio::paired(&m.samples, &o.samples, |a, b| a / b));
            let _ = writeln!(
                rows,
                "| `{}` | {label} | {rounds} | {} | {} | {:.1} MiB |",
                step.name,
                cell(m),
                ratio.map_or("—".into(), |q| q.shown()),
                m.peak_mib
            );
        };
        for case in crate::matrix::batch_cases(&plan, step) {
            let (Some(m), Some(p)) = (r.find_case(&case), case.planes_per_round) else {
                continue;
            };
            row(p.to_string(), n.div_ceil(2).div_ceil(p).to_string(), m);
        }
        if let Some(m) = own {
            row("its budget's".into(), "fewest that fit".into(), m);
        }
    }
    if rows.is_empty() {
        return "Not measured in this run.\n".into();
    }
    render(
        BATCHES,
        &[("n", n.to_string()), ("s", s.to_string()), ("rows", rows)],
    )
}

fn commands(check: &SameFiles) -> String {
    check
        .commands
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn same_files_verdict(check: &SameFiles) -> String {
    if check.files_differing == 0 {
        format!("all {} files byte-identical", check.files_compared)
    } else {
        let first = check
            .first_difference
            .as_ref()
            .map_or(String::new(), |f| format!(", the first {f}"));
        format!(
            "**{} of {} files differ**{first}",
            check.files_differing, check.files_compared
        )
    }
}

/// `make bench BASELINE=DIR`: each other build's steps against today's, round by round, and
/// whether they wrote the same bytes.
fn baseline_section(r: &Results) -> String {
    if r.baselines.is_empty() {
        return BASELINE_MISSING.to_owned();
    }
    let goals = goals_of(r);
    let tables: String = r
        .baselines
        .iter()
        .map(|b| baseline_table(r, b, &goals))
        .collect();
    render(
        BASELINE,
        &[
            ("bound", format!("{NOT_SLOWER}")),
            ("slack", format!("{:.0}%", (NOT_SLOWER - 1.0) * 100.0)),
            ("rounds", BASELINE_ROUNDS.to_string()),
            ("tables", tables),
        ],
    )
}

/// One build's table: a row per goal against it.
fn baseline_table(r: &Results, b: &BaselineCheck, goals: &[Goal]) -> String {
    let mut rows = String::new();
    for (goal, today, before) in against(goals, &b.label) {
        let (Some(t), Some(o)) = (r.find_case(today), r.find_case(before)) else {
            continue;
        };
        let ratio = Ratio::paired(&t.samples, &o.samples, |a, b| a / b);
        // Each build's times over the rounds both ran (today's case may have run more rounds,
        // for another goal), so that the medians and the ratio speak of the same rounds.
        let (Some(theirs), Some(ours)) = (in_rounds_of(o, t), in_rounds_of(t, o)) else {
            continue;
        };
        let _ = writeln!(
            rows,
            "| `{}` | {} | {} | {} | {} |",
            t.command,
            stats_cell(&theirs),
            stats_cell(&ours),
            ratio.map_or("—".into(), |q| q.shown()),
            goal.judge(ratio.as_ref())
        );
    }
    let missing = if b.missing.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = b.missing.iter().map(|m| format!("`{m}`")).collect();
        format!(" Not in this build: {}.", names.join(", "))
    };
    let verdict = format!(
        "{} run by both builds: {}",
        match b.files.commands.len() {
            1 => "1 command".to_owned(),
            k => format!("{k} commands"),
        },
        same_files_verdict(&b.files)
    );
    render(
        BASELINE_TABLE,
        &[
            ("label", b.label.clone()),
            ("dir", b.dir.clone()),
            ("verdict", verdict),
            ("missing", missing),
            ("rows", rows),
        ],
    )
}

/// The Python step against its numpy twin and its Rust predecessor (the cases of its goals),
/// and what its boundary costs.
fn python_section(r: &Results) -> String {
    let Some(step) = STEPS.iter().find(|s| s.launch == Launch::Python) else {
        return String::new();
    };
    let ours = Case::of(step, r.small.0, r.small.1).on_ram();
    if r.find_case(&ours.clone().on_cores(r.machine.cores))
        .is_none()
    {
        return String::new(); // a run from before the Python step
    }
    let mut cases = vec![Case::new(Program::Python(step.name), r.small.0, r.small.1).on_ram()];
    cases.push(ours);
    cases.extend(
        step.predecessor_step()
            .map(|p| Case::of(p, r.small.0, r.small.1).on_ram()),
    );
    let mut rows = String::new();
    for case in &cases {
        if let Some(m) = r.find_case(&case.clone().on_cores(r.machine.cores)) {
            let _ = writeln!(rows, "| `{}` | {} |", m.command, cell(m));
        }
    }
    let boundary = r.boundary.as_ref().map_or(
        "The boundary was not timed in this run.\n".to_owned(),
        boundary_paragraph,
    );
    render(PYTHON_SECTION, &[("rows", rows), ("boundary", boundary)])
}

/// A short time in words: seconds, milliseconds or microseconds.
fn micros(seconds: f64) -> String {
    if seconds >= 0.1 {
        format!("{seconds:.3} s")
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

/// A difference of medians per call (`more` after it, if given), or that there was none to see.
fn extra(seconds: f64, more: &str) -> String {
    if seconds > 0.0 {
        format!("{}{more}", micros(seconds))
    } else {
        "too little to see in this run's times".to_owned()
    }
}

fn boundary_paragraph(b: &Boundary) -> String {
    let n = b.n_files as f64;
    let per_call = (b.loop_in_python.median - b.one_call.median) / (2.0 * n);
    let per_copy = (b.copies.median - b.views.median) / n;
    let copied = 3 * 8 * b.size * b.size;
    let same = if b.same_files {
        "Both ways wrote the same bytes."
    } else {
        "**The two ways wrote different bytes.**"
    };
    render(
        BOUNDARY,
        &[
            ("command", b.command.clone()),
            (
                "rounds",
                format!("{} round{}", b.rounds, if b.rounds == 1 { "" } else { "s" }),
            ),
            ("n", b.n_files.to_string()),
            ("loop", micros(b.loop_in_python.median)),
            ("one_call", micros(b.one_call.median)),
            ("per_call", extra(per_call, "")),
            ("per_file", micros(b.one_call.median / n)),
            ("views", micros(b.views.median)),
            ("copies", micros(b.copies.median)),
            ("per_copy", extra(per_copy, " more")),
            ("copied", format!("{} kB", copied / 1000)),
            ("same", same.to_owned()),
        ],
    )
}

/// Where the text step's CPU time goes: the profile behind the text-floor target.
fn text_profile_section(r: &Results, plot_prefix: &str) -> String {
    let profile = match &r.text_profile {
        None => "Not profiled in this run.".to_owned(),
        Some(p) => profile_paragraph(p, plot_prefix),
    };
    let budget = text_budget(r).unwrap_or_default();
    render(TEXT_PROFILE, &[("profile", profile), ("budget", budget)])
}

fn profile_paragraph(p: &TextProfile, prefix: &str) -> String {
    let common = [
        ("command", p.command.clone()),
        ("flamegraph", p.flamegraph.clone()),
        ("prefix", prefix.to_owned()),
    ];
    if p.samples == 0 {
        return render(PROFILE_EMPTY, &common);
    }
    let pct = |f: f64| format!("{:.0}%", 100.0 * f);
    let few = if p.samples < 50 {
        " Too few samples to trust: a longer run gives more."
    } else {
        ""
    };
    let mut values = common.to_vec();
    values.extend([
        ("samples", p.samples.to_string()),
        ("formatter", pct(p.formatter)),
        ("field", pct(p.field)),
        ("elsewhere", pct((1.0 - p.formatter - p.field).max(0.0))),
        ("few", few.to_owned()),
    ]);
    render(PROFILE, &values)
}

/// How far the text step is from its target, in time per value: what the code costs beyond
/// writing the same text (its median on tmpfs minus the text floor's), and what its target
/// allows it (the floor's time again, times the target's factor less one).
fn text_budget(r: &Results) -> Option<String> {
    let step = text_step()?;
    let times = step.targets.iter().find_map(|t| match t {
        Target::NearFloor { times, .. } => Some(*times),
        _ => None,
    })?;
    let (n, s) = r.small;
    let on_ram = |program: Program| {
        r.find_case(&Case::new(program, n, s).on_ram())
            .map(|m| m.wall.median)
    };
    let step_s = on_ram(Program::Step(step.name))?;
    let floor_s = on_ram(Program::Floor(Floor::Txt))?;
    let values = (n * s * s) as f64;
    let ns = |seconds: f64| format!("{:.0}", seconds / values * 1e9);
    let allowed = (times - 1.0) * floor_s;
    Some(render(
        TEXT_BUDGET,
        &[
            ("step", step.name.to_owned()),
            ("n", n.to_string()),
            ("s", s.to_string()),
            ("step_s", format!("{step_s:.3}")),
            ("floor_s", format!("{floor_s:.3}")),
            ("cost_s", format!("{:.3}", step_s - floor_s)),
            ("cost_ns", ns(step_s - floor_s)),
            ("times", format!("{times:.1}")),
            ("allowed_s", format!("{allowed:.3}")),
            ("allowed_ns", ns(allowed)),
        ],
    ))
}

/// Every case's median, spread, peak memory and bytes.
fn every_case(r: &Results) -> String {
    let mut md = String::new();
    for x in &r.measured {
        let _ = writeln!(
            md,
            "| `{}`{} | {} | {:.1} | {:.1} |",
            x.command,
            oversubscribed(x),
            cell(x),
            x.peak_mib,
            x.bytes as f64 / 1e6
        );
    }
    md
}

fn oversubscribed(m: &Measured) -> &'static str {
    if m.case.oversubscribed {
        " *(oversubscribed)*"
    } else {
        ""
    }
}

fn python_reference() -> String {
    PYTHON
        .iter()
        .map(|(script, n, variant, t)| {
            let variant = if variant.is_empty() { "—" } else { variant };
            format!("| {script} | {n} | {variant} | {t} |\n")
        })
        .collect()
}

/// One row: the command, its median (min–max), and its ratio to `base` if given.
fn row(md: &mut String, m: Option<&Measured>, base: Option<f64>) {
    if let Some(m) = m {
        let ratio = base.map_or(String::new(), |b| format!("{:.2}×", m.wall.median / b));
        let _ = writeln!(
            md,
            "| `{}`{} | {} | {ratio} |",
            m.command,
            oversubscribed(m),
            cell(m)
        );
    }
}

/// A chapter table, between ANCHOR comments so that the book can `{{#include}}` exactly the
/// numbers it discusses from this generated file.
fn table(md: &mut String, anchor: &str, title: &str, ratio: &str, rows: &str) {
    let _ = write!(
        md,
        "### {title}\n\n<!-- ANCHOR: {anchor} -->\n| command | wall s: median (min–max) | {ratio} |\n|---|---|---|\n{rows}<!-- ANCHOR_END: {anchor} -->\n\n"
    );
}

fn chapter_tables(r: &Results) -> String {
    let mut md = String::new();
    serial_table(&mut md, r);
    loops_table(&mut md, r);
    for (anchor, at) in [("threads_small", r.small), ("threads_large", r.large)] {
        sweep_table(&mut md, r, anchor, Launch::Threads, at);
    }
    for (anchor, at) in [("mpi_small", r.small), ("mpi_large", r.large)] {
        sweep_table(&mut md, r, anchor, Launch::Mpi, at);
    }
    hdf5_table(&mut md, r);
    md
}

fn serial_steps() -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(|s| s.launch == Launch::Serial)
}

/// Every serial step at the small size, each group of formats followed by its floor, then the
/// Python originals measured there; all against the first step.
fn serial_table(md: &mut String, r: &Results) {
    let small = r.small;
    let first = serial_steps().next().map(|s| Program::Step(s.name));
    let base = first.and_then(|p| r.median(p, small, None, None));
    let mut rows = String::new();
    for binary in [false, true] {
        for step in serial_steps().filter(|s| (s.format != Format::Txt) == binary) {
            row(
                &mut rows,
                r.find(Program::Step(step.name), small, None, None),
                base,
            );
        }
        let floor = if binary { Floor::Npy } else { Floor::Txt };
        row(
            &mut rows,
            r.find(Program::Floor(floor), small, None, None),
            base,
        );
    }
    for step in serial_steps() {
        row(
            &mut rows,
            r.find(Program::Python(step.name), small, None, None),
            base,
        );
    }
    let ratio = format!("time ÷ `{}`", serial_steps().next().map_or("", |s| s.name));
    table(md, "serial", "Serial steps", &ratio, &rows);
}

/// The loop step against the vectorized one, in Rust and in Python, where Python's loops ran.
fn loops_table(md: &mut String, r: &Results) {
    let mut rows = String::new();
    let baseline = serial_steps().next();
    if let Some(py) = baseline.and_then(|b| {
        r.measured
            .iter()
            .find(|m| m.case.program == Program::Python(b.name))
    }) {
        let at = (py.case.n_files, py.case.size);
        let text: Vec<&Step> = serial_steps().filter(|s| s.format == Format::Txt).collect();
        let rust = text
            .first()
            .and_then(|s| r.median(Program::Step(s.name), at, None, None));
        for step in &text {
            row(
                &mut rows,
                r.find(Program::Step(step.name), at, None, None),
                rust,
            );
        }
        row(&mut rows, Some(py), rust);
    }
    let ratio = format!("time ÷ Rust `{}`", baseline.map_or("", |s| s.name));
    table(md, "loops", "Loops: Rust and Python", &ratio, &rows);
}

/// The original workshop's thread or MPI steps over their worker or rank counts, against one;
/// for MPI also the launch floor and the runs with shared memory only.
fn sweep_table(md: &mut String, r: &Results, anchor: &str, launch: Launch, at: (usize, usize)) {
    let mut rows = String::new();
    for step in STEPS.iter().filter(|s| s.launch == launch && s.original) {
        let sweep = r.sweep(Program::Step(step.name), at);
        let base = sweep.first().map(|(_, m)| m.wall.median);
        for (_, m) in sweep {
            row(&mut rows, Some(m), base);
        }
    }
    let (kind, unit) = match launch {
        Launch::Mpi => ("MPI", "1 rank"),
        _ => ("Threads", "1 worker"),
    };
    if launch == Launch::Mpi {
        for m in r
            .measured
            .iter()
            .filter(|m| m.case.program == Program::Launch)
        {
            row(&mut rows, Some(m), None);
        }
        for m in r
            .measured
            .iter()
            .filter(|m| m.case.shared_memory && (m.case.n_files, m.case.size) == at)
        {
            row(&mut rows, Some(m), None);
        }
    }
    let title = format!("{kind}, n={}, size {}", at.0, at.1);
    table(md, anchor, &title, &format!("time ÷ {unit}"), &rows);
}

/// The serial .npy step and the serial HDF5 step at every file count measured.
fn hdf5_table(md: &mut String, r: &Results) {
    let size = r.small.1;
    let of = |format| {
        serial_steps()
            .find(|s| s.format == format)
            .map(|s| Program::Step(s.name))
    };
    let mut rows = String::new();
    if let (Some(npy), Some(h5)) = (of(Format::Npy), of(Format::H5)) {
        let mut ns: Vec<usize> = r
            .measured
            .iter()
            .filter(|m| m.case.program == h5 && m.case.size == size)
            .map(|m| m.case.n_files)
            .collect();
        ns.sort();
        ns.dedup();
        for n in ns {
            row(&mut rows, r.find(npy, (n, size), None, None), None);
            let base = r.median(npy, (n, size), None, None);
            row(&mut rows, r.find(h5, (n, size), None, None), base);
        }
    }
    table(
        md,
        "hdf5",
        "Many .npy files or one HDF5 file",
        "HDF5 ÷ .npy",
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_their_names_and_refuse_an_unfilled_one() {
        assert_eq!(render("a {{x}} b", &[("x", "1".into())]), "a 1 b");
        let missing = std::panic::catch_unwind(|| render("a {{y}}", &[]));
        assert!(missing.is_err());
    }

    fn seconds(median: f64) -> crate::stats::Stats {
        crate::stats::Stats::of(&[median]).unwrap()
    }

    fn boundary(views: f64, copies: f64) -> Boundary {
        Boundary {
            command: "boundary.py -n 1000 -s 100 [tmpfs]".into(),
            n_files: 1000,
            size: 100,
            rounds: 5,
            loop_in_python: seconds(0.059),
            one_call: seconds(0.055),
            views: seconds(views),
            copies: seconds(copies),
            same_files: true,
        }
    }

    #[test]
    fn the_boundary_table_gives_a_file_a_call_and_a_copy() {
        let text = boundary_paragraph(&boundary(0.029, 0.033));
        assert!(text.contains("| the work of one file: its field and its .npy file | 55.0 µs |"));
        assert!(text.contains("| one call from Python into Rust | 2.0 µs |"));
        assert!(text.contains("in and out instead of viewing them | 4.0 µs more |"));
        assert!(text.contains("(240 kB)"));
        assert!(text.contains("Both ways wrote the same bytes."));
        // A copy that timed faster than the views is noise, not a gain.
        let noise = boundary_paragraph(&boundary(0.033, 0.029));
        assert!(noise.contains("| too little to see in this run's times |"));
    }
}
