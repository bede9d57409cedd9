//! The report's SVG plots, drawn with plotters.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use steps::{Format, Launch, STEPS};

use crate::matrix::last_original;
use crate::metric::{against, NOT_SLOWER};
use crate::model::{Build, Case, Floor, Program};
use crate::results::Results;
use crate::stats::Ratio;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The labels' size: legible when a slide shows a plot 1000 pixels wide (20 px or more; the
/// deck checks it) and when the book scales it to its page. plotters draws a font of size `f` at
/// 0.8 `f` units: 28 gives 22-unit labels, 32 a 26-unit title.
const LABEL: u32 = 28;
const CAPTION: u32 = 32;
/// The width of the line and bar charts, in units (pixels when shown at their size).
const WIDTH: u32 = 1000;

fn fail<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// One named line of points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A line chart with a legend.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_max = all().map(|p| p.0).fold(1.0, f64::max);
    let x_min = all().map(|p| p.0).fold(x_max, f64::min);
    let pad = (x_max - x_min).max(1.0) * 0.05;
    // Headroom above the highest point for the legend (upper left), a line per series.
    let y_max = all().map(|p| p.1).fold(0.0, f64::max) * (1.1 + 0.12 * series.len() as f64);
    let root = SVGBackend::new(path, (WIDTH, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", CAPTION))
        .margin(12)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(x_min - pad..x_max + pad, 0.0..y_max.max(1e-3))
        .map_err(fail)?;
    // Workers, ranks and file counts are whole numbers: no tick between them.
    let whole = all().all(|p| p.0.fract() == 0.0);
    let x_ticks = if whole {
        ((x_max - x_min) as usize + 1).min(12)
    } else {
        10
    };
    mesh(&mut chart, x_ticks, whole, x_label, y_label)?;
    let mut guides = 0;
    for (i, s) in series.iter().enumerate() {
        if s.dashed {
            guide(&mut chart, s, guides)?;
            guides += 1;
            continue;
        }
        let color = COLORS[i % COLORS.len()].mix(1.0);
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(s.points.clone(), style))
            .map_err(fail)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(fail)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)
}

/// A reference line (the ideal, the machine's capacity): dashed and grey, the `k`th with its
/// own dash so that two of them can be told apart, on the plot and in the legend.
fn guide<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    s: &Series,
    k: usize,
) -> Result<()> {
    let (dash, gap, shade) = if k % 2 == 0 {
        (10, 6, 0.45)
    } else {
        (3, 4, 0.85)
    };
    let style = BLACK.mix(shade).stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(s.points.clone(), dash, gap, style))
        .map_err(fail)?
        .label(s.name.clone())
        .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], dash, gap, style));
    // The capacity's points are measured: marked like every measured point.
    chart
        .draw_series(
            s.points
                .iter()
                .map(|&p| Circle::new(p, 3, BLACK.mix(shade).filled())),
        )
        .map_err(fail)?;
    Ok(())
}

/// The grid, the ticks and the axes' names of a line chart; with `whole` x values, ticks only
/// at whole numbers.
fn mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_ticks: usize,
    whole: bool,
    x_label: &str,
    y_label: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_mesh()
        .x_labels(x_ticks)
        .x_label_formatter(&|x| {
            if whole && x.fract() != 0.0 {
                String::new()
            } else {
                format!("{x}")
            }
        })
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", LABEL))
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(fail)?;
    Ok(())
}

/// Horizontal bars, one per labelled value, with a dashed line at `floor`.
pub fn bars(
    path: &Path,
    title: &str,
    unit: &str,
    bars: &[(String, f64)],
    floor: Option<(&str, f64)>,
) -> Result<()> {
    let max = bars
        .iter()
        .map(|b| b.1)
        .fold(floor.map_or(0.0, |f| f.1), f64::max)
        * 1.1;
    // A row below the bars for the floor's legend, so that the legend hides no bar.
    let spare = usize::from(floor.is_some());
    let rows = bars.len() + spare;
    let height = 120 + 36 * rows as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    // Room for the longest label: about 12.5 units a character at the labels' size.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", CAPTION))
        .margin(12)
        .x_label_area_size(64)
        .y_label_area_size(24 + 25 * longest / 2)
        .build_cartesian_2d(0.0..max.max(1e-3), 0.0..rows as f64)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows * 2 + 1)
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", LABEL))
        .y_label_formatter(&|y| {
            let i = (y - 0.5).round() - spare as f64;
            if (y - 0.5 - i - spare as f64).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len()
            {
                labels[labels.len() - 1 - i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc(unit)
        .draw()
        .map_err(fail)?;
    let n = bars.len();
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let row = (n - 1 - i + spare) as f64;
            Rectangle::new([(0.0, row + 0.15), (*v, row + 0.85)], COLORS[0].filled())
        }))
        .map_err(fail)?;
    if let Some(floor) = floor {
        floor_line(&mut chart, floor, rows)?;
    }
    root.present().map_err(fail)
}

/// The floor as a red vertical line across `rows` bars, with its legend.
fn floor_line<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    (name, f): (&str, f64),
    rows: usize,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = ShapeStyle {
        color: RED.mix(0.8),
        filled: false,
        stroke_width: 2,
    };
    chart
        .draw_series(LineSeries::new(vec![(f, 0.0), (f, rows as f64)], style))
        .map_err(fail)?
        .label(name.to_owned())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    // Below right: the bars are longest at the top (the first steps are the slowest).
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(fail)?;
    Ok(())
}

/// Speedup over the first point of a sweep: t(1) / t(k).
fn speedups(results: &Results, program: Program, at: (usize, usize)) -> Vec<(f64, f64)> {
    let sweep = results.sweep(program, at);
    let Some(base) = sweep.first().map(|(_, m)| m.wall.median) else {
        return Vec::new();
    };
    sweep
        .iter()
        .map(|(k, m)| (*k as f64, base / m.wall.median))
        .collect()
}

/// The capacity probe: W × t(1 thread) ÷ t(W threads), medians.
fn capacity(results: &Results) -> Series {
    let probe = |w: usize| {
        results
            .find_case(&crate::metric::capacity(w))
            .map(|m| m.wall.median)
    };
    let points = probe(1).map_or(Vec::new(), |one| {
        (1..=2 * results.machine.cores.max(1))
            .filter_map(|w| probe(w).map(|t| (w as f64, w as f64 * one / t)))
            .collect()
    });
    Series {
        name: "the machine's capacity (CPU probe)".into(),
        points,
        dashed: true,
    }
}

fn ideal(max: usize) -> Series {
    Series {
        name: "ideal (linear)".into(),
        points: (1..=max).map(|k| (k as f64, k as f64)).collect(),
        dashed: true,
    }
}

/// How a legend names what a step of `format` writes.
fn files_word(format: Format) -> &'static str {
    match format {
        Format::Txt => "text files",
        Format::Npy => ".npy files",
        Format::H5 => "one file",
    }
}

/// Draws every plot of the report into `dir`; returns their file names.
pub fn draw_all(results: &Results, dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut drawn = Vec::new();
    steps_plot(results, dir, &mut drawn)?;
    speedup_plots(results, dir, &mut drawn)?;
    npy_vs_hdf5_plot(results, dir, &mut drawn)?;
    mpi_vs_hdf5_plot(results, dir, &mut drawn)?;
    disk_vs_ram_plot(results, dir, &mut drawn)?;
    baseline_plots(results, dir, &mut drawn)?;
    Ok(drawn)
}

fn size_name((n, s): (usize, usize)) -> String {
    format!("n={n}, size {s}")
}

/// Time per step at the small-grid case, with the file-writing floor.
fn steps_plot(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    let small = results.small;
    let steps: Vec<(String, f64)> = STEPS
        .iter()
        .filter_map(|step| {
            let (w, r) = match step.launch {
                Launch::Serial | Launch::Python => (None, None),
                Launch::Threads => (Some(2), None),
                Launch::Mpi => (None, Some(2)),
            };
            let label = match (w, r) {
                (Some(w), _) => format!("{} (w={w})", step.name),
                (_, Some(r)) => format!("{} (np={r})", step.name),
                _ => step.name.to_owned(),
            };
            results
                .median(Program::Step(step.name), small, w, r)
                .map(|t| (label, t))
        })
        .collect();
    let floor = results.median(Program::Floor(Floor::Npy), small, None, None);
    bars(
        &dir.join("steps.svg"),
        &format!("Wall time per step ({})", size_name(small)),
        "seconds (median)",
        &steps,
        floor.map(|f| (".npy file-writing floor", f)),
    )?;
    drawn.push("steps.svg".to_owned());

    Ok(())
}

/// Speedup against workers, then ranks, at both sizes, with the ideal and the capacity lines.
fn speedup_plots(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    let (small, large) = (results.small, results.large);
    for (file, launch, title, unit) in [
        (
            "speedup_workers.svg",
            Launch::Threads,
            "Speedup against worker threads",
            "worker",
        ),
        (
            "speedup_ranks.svg",
            Launch::Mpi,
            "Speedup against MPI ranks (last point oversubscribed)",
            "rank",
        ),
    ] {
        let steps: Vec<Program> = STEPS
            .iter()
            .filter(|s| s.launch == launch)
            .map(|s| Program::Step(s.name))
            .collect();
        let mut series = Vec::new();
        for at in [small, large] {
            for &step in &steps {
                series.push(Series {
                    name: format!("{step}, {}", size_name(at)),
                    points: speedups(results, step, at),
                    dashed: false,
                });
            }
        }
        let max = results.sweep(steps[0], small).last().map_or(1, |p| p.0);
        series.push(ideal(max));
        // What the machine gave that many threads of pure CPU work in the same run: a step's
        // speedup above this line is the disk or the host, not the code.
        series.push(capacity(results));
        let y_label = format!("speedup over 1 {unit}");
        lines(
            &dir.join(file),
            title,
            &format!("{unit}s"),
            &y_label,
            &series,
        )?;
        drawn.push(file.to_owned());
    }

    Ok(())
}

/// Many .npy files against one HDF5 file, over n.
fn npy_vs_hdf5_plot(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    let small = results.small;
    let size = small.1;
    let over_n = |program: Program| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = results
            .measured
            .iter()
            // One point per n: on the disk, the portable build (the tmpfs and native cases at
            // the same n are other lines' business).
            .filter(|m| {
                m.case.program == program
                    && m.case.size == size
                    && m.case.workers.is_none()
                    && m.case.ranks.is_none()
                    && !m.case.ram
                    && m.case.build == Build::Today
            })
            .map(|m| (m.case.n_files as f64, m.wall.median))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };
    let mut series: Vec<Series> = STEPS
        .iter()
        .filter(|s| s.launch == Launch::Serial && s.format != Format::Txt)
        .map(|step| Series {
            name: format!("{} ({})", step.name, files_word(step.format)),
            points: over_n(Program::Step(step.name)),
            dashed: false,
        })
        .collect();
    series.push(Series {
        name: ".npy file-writing floor".into(),
        points: over_n(Program::Floor(Floor::Npy)),
        dashed: true,
    });
    lines(
        &dir.join("npy_vs_hdf5.svg"),
        &format!("Many .npy files or one HDF5 file (size {size})"),
        "files (n)",
        "seconds (median)",
        &series,
    )?;
    drawn.push("npy_vs_hdf5.svg".to_owned());

    Ok(())
}

/// MPI with .npy files against MPI with one parallel HDF5 file, over ranks.
fn mpi_vs_hdf5_plot(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    let small = results.small;
    let times = |program: Program, at| -> Vec<(f64, f64)> {
        results
            .sweep(program, at)
            .iter()
            .map(|(k, m)| (*k as f64, m.wall.median))
            .collect()
    };
    let launch: Vec<(f64, f64)> = results
        .measured
        .iter()
        .filter(|m| m.case.program == Program::Launch && !m.case.shared_memory)
        .filter_map(|m| m.case.ranks.map(|r| (r as f64, m.wall.median)))
        .collect();
    let mut series: Vec<Series> = [false, true]
        .into_iter()
        .filter_map(|one_file| last_original(Launch::Mpi, one_file))
        .map(|step| Series {
            name: format!(
                "{} ({})",
                step.name,
                if step.format.one_file() {
                    "one parallel HDF5 file"
                } else {
                    files_word(step.format)
                }
            ),
            points: times(Program::Step(step.name), small),
            dashed: false,
        })
        .collect();
    series.push(Series {
        name: "launch floor (mpirun of a do-nothing program)".into(),
        points: launch,
        dashed: true,
    });
    lines(
        &dir.join("mpi_vs_hdf5.svg"),
        &format!("MPI: .npy files or parallel HDF5 ({})", size_name(small)),
        "ranks",
        "seconds (median)",
        &series,
    )?;
    drawn.push("mpi_vs_hdf5.svg".to_owned());

    Ok(())
}

/// Disk or RAM: each serial step at the small case on both, in the same run.
fn disk_vs_ram_plot(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    let small = results.small;
    let mut bars_of: Vec<(String, f64)> = Vec::new();
    let serial = STEPS
        .iter()
        .filter(|s| s.launch == Launch::Serial)
        .map(|s| Program::Step(s.name));
    // Each program that ran on both, at the small case.
    for program in serial.chain([Program::Floor(Floor::Npy)]) {
        let disk = Case::new(program, small.0, small.1);
        let (Some(on_disk), Some(on_ram)) = (
            results.find_case(&disk),
            results.find_case(&disk.clone().on_ram()),
        ) else {
            continue;
        };
        bars_of.push((format!("{program} (disk)"), on_disk.wall.median));
        bars_of.push((format!("{program} (tmpfs)"), on_ram.wall.median));
    }
    if !bars_of.is_empty() {
        bars(
            &dir.join("disk_vs_ram.svg"),
            &format!(
                "The same steps on the disk and on tmpfs ({})",
                size_name(small)
            ),
            "seconds (median)",
            &bars_of,
            None,
        )?;
        drawn.push("disk_vs_ram.svg".to_owned());
    }
    Ok(())
}

/// Today's time over another build's, one row per case: the median of the rounds' ratios as a
/// dot, their interquartile range as a bar through it, a dashed line at 1 (as fast as that
/// build) and a red one at `bound`; the legend in a band above the rows.
pub fn ratios(path: &Path, title: &str, rows: &[(String, Ratio)], bound: f64) -> Result<()> {
    let lo = rows.iter().map(|r| r.1.q1).fold(1.0, f64::min);
    let hi = rows.iter().map(|r| r.1.q3).fold(bound, f64::max);
    let pad = (hi - lo).max(0.05) * 0.15;
    let n = rows.len();
    let top = n as f64 + 1.6;
    let root = SVGBackend::new(path, (WIDTH, 180 + 40 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", CAPTION))
        .margin(12)
        .x_label_area_size(64)
        .y_label_area_size(24 + 25 * longest / 2)
        .build_cartesian_2d(lo - pad..hi + pad, 0.0..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(2 * (n + 2) + 1)
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", LABEL))
        .y_label_formatter(&|y| {
            let i = (y - 0.5).round();
            if (y - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[labels.len() - 1 - i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("today's time ÷ the other build's (median, IQR)")
        .draw()
        .map_err(fail)?;
    ratio_marks(&mut chart, rows, bound)?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)
}

/// The ratio plot's marks: each row's spread and median, the line of "as fast" and the bound
/// (their legend entries drawn by the caller).
fn ratio_marks(
    chart: &mut ChartContext<SVGBackend, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    rows: &[(String, Ratio)],
    bound: f64,
) -> Result<()> {
    let n = rows.len();
    let y = |i: usize| (n - 1 - i) as f64 + 0.5;
    let spread = COLORS[0].stroke_width(6);
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, (_, q))| PathElement::new(vec![(q.q1, y(i)), (q.q3, y(i))], spread)),
        )
        .map_err(fail)?;
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, (_, q))| Circle::new((q.median, y(i)), 5, BLACK.filled())),
        )
        .map_err(fail)?;
    let even = BLACK.mix(0.6).stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            vec![(1.0, 0.0), (1.0, n as f64)],
            10,
            6,
            even,
        ))
        .map_err(fail)?
        .label("as fast as the other build")
        .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], 10, 6, even));
    let limit = RED.mix(0.8).stroke_width(2);
    chart
        .draw_series(LineSeries::new(
            vec![(bound, 0.0), (bound, n as f64)],
            limit,
        ))
        .map_err(fail)?
        .label(format!("not slower: at most {bound}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], limit));
    Ok(())
}

/// One plot per other build (`make bench BASELINE=DIR`): `baseline_<label>.svg`.
fn baseline_plots(results: &Results, dir: &Path, drawn: &mut Vec<String>) -> Result<()> {
    for b in &results.baselines {
        let mut rows = Vec::new();
        for (_, today, before) in against(&results.goals, &b.label) {
            let (Some(t), Some(o)) = (results.find_case(today), results.find_case(before)) else {
                continue;
            };
            let Some(ratio) = Ratio::paired(&t.samples, &o.samples, |a, b| a / b) else {
                continue;
            };
            let parallel = match (today.workers, today.ranks) {
                (Some(w), _) => format!(" -w {w}"),
                (_, Some(r)) => format!(" -np {r}"),
                _ => String::new(),
            };
            rows.push((
                format!("{} -n {}{parallel}", today.program, today.n_files),
                ratio,
            ));
        }
        if rows.is_empty() {
            continue;
        }
        let file = format!("baseline_{}.svg", b.label);
        ratios(
            &dir.join(&file),
            &format!("Today against {} (tmpfs, rounds paired)", b.label),
            &rows,
            NOT_SLOWER,
        )?;
        drawn.push(file);
    }
    Ok(())
}
