//! `make timeline`: a step's `--trace` file drawn as an SVG for the book and the deck: one row
//! per worker thread or MPI rank, one bar per file from when its thread was handed the file to
//! when it was done, split into computing (blue) and writing (orange) — or, for a dataset inside
//! an HDF5 file, whose two phases a run does not see apart, one bar of both (green). A row is
//! grey where its thread waited: before its first file, between files, after its last.
//!
//! `--also OTHER.json` draws another run below it, on the same time axis, so that two steps'
//! timelines compare at a glance (the deck's blocking pool against the queue).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use viz::trace::{read, Timeline};

#[derive(Parser)]
#[command(about = "Draw a --trace timeline as an SVG")]
struct Cli {
    /// The Chrome trace-event file a step wrote with --trace
    trace: PathBuf,
    /// The SVG to write
    output: PathBuf,
    #[arg(long, default_value = "")]
    title: String,
    /// Another run's trace, drawn below on the same time axis (repeat for more)
    #[arg(long)]
    also: Vec<PathBuf>,
    /// The title of each --also panel, in order
    #[arg(long)]
    also_title: Vec<String>,
}

const COMPUTE: RGBColor = RGBColor(31, 119, 180);
const WRITE: RGBColor = RGBColor(255, 127, 14);
const BOTH: RGBColor = RGBColor(44, 160, 44);
const WAITING: RGBColor = RGBColor(225, 225, 225);

/// The phases a bar can be, with their colours; `gridgen::trace` names them.
const PHASES: [(&str, RGBColor); 3] = [
    ("compute", COMPUTE),
    ("write", WRITE),
    ("compute and write", BOTH),
];

/// A run's trace read back, with its title.
fn panel(trace: &Path, title: &str) -> Result<(Timeline, String)> {
    let text = std::fs::read_to_string(trace)
        .with_context(|| format!("cannot read {}", trace.display()))?;
    let json: Value = serde_json::from_str(&text).context("not a trace-event file")?;
    let timeline = read(&json).map_err(anyhow::Error::msg)?;
    if timeline.bars.is_empty() {
        bail!("{} holds no file: nothing to draw", trace.display());
    }
    let title = if title.is_empty() {
        trace.display().to_string()
    } else {
        title.to_owned()
    };
    Ok((timeline.from_zero(), title))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.also_title.len() > cli.also.len() {
        bail!("more --also-title than --also");
    }
    let mut panels = vec![panel(&cli.trace, &cli.title)?];
    for (i, trace) in cli.also.iter().enumerate() {
        let title = cli.also_title.get(i).map_or("", String::as_str);
        panels.push(panel(trace, title)?);
    }
    draw(&panels, &cli.output).with_context(|| format!("cannot draw {}", cli.output.display()))?;
    let bars: usize = panels.iter().map(|(t, _)| t.bars.len()).sum();
    println!(
        "timeline: {} ({} panels, {bars} bars)",
        cli.output.display(),
        panels.len()
    );
    Ok(())
}

fn fail<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Sizes for a slide 1000 pixels wide and a book page of about 750: plotters draws a font of
/// size `f` at 0.8 `f` units, so 28 gives 22-unit labels (22 px on the slide) and 32 a 26-unit
/// title; rows of 56 units.
const WIDTH: u32 = 1000;
const ROW: u32 = 56;
const LABEL: u32 = 28;
const TITLE: u32 = 32;
/// The strip of each panel's title, and the legend's at the top.
const TITLE_STRIP: u32 = 48;
const LEGEND_STRIP: u32 = 52;
const AXIS: u32 = 64;

fn panel_height(timeline: &Timeline) -> u32 {
    TITLE_STRIP + ROW * timeline.rows.len().max(1) as u32 + AXIS + 16
}

/// The panels one below the other under one legend, every panel on one time axis (ms from its
/// own run's start) so that their lengths compare.
fn draw(panels: &[(Timeline, String)], path: &Path) -> Result<()> {
    let t_end = panels
        .iter()
        .flat_map(|(t, _)| t.bars.iter().map(|b| b.end))
        .fold(1.0, f64::max)
        / 1e3;
    let height = LEGEND_STRIP + panels.iter().map(|(t, _)| panel_height(t)).sum::<u32>();
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let (top, mut rest) = root.split_vertically(LEGEND_STRIP);
    let timelines: Vec<&Timeline> = panels.iter().map(|(t, _)| t).collect();
    legend(&top, &timelines)?;
    let longest = timelines
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| r.chars().count()))
        .max()
        .unwrap_or(8) as u32;
    for (timeline, title) in panels {
        let (area, below) = rest.split_vertically(panel_height(timeline));
        chart(&area, timeline, title, t_end, 24 + 15 * longest)?;
        rest = below;
    }
    root.present().map_err(fail)
}

/// One panel: its title, a row per thread (grey: waiting), a bar per file phase.
fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    timeline: &Timeline,
    title: &str,
    t_end: f64,
    label_width: u32,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let rows = timeline.rows.len().max(1);
    let (head, body) = area.split_vertically(TITLE_STRIP);
    let heading = Text::new(title.to_owned(), (16, 8), ("sans-serif", TITLE).into_font());
    head.draw(&heading).map_err(fail)?;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(16)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(AXIS)
        .y_label_area_size(label_width)
        .build_cartesian_2d(0.0..t_end * 1.02, rows as f64..0.0)
        .map_err(fail)?;
    let row_name = |y: &f64| row_label(timeline, *y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .y_labels(2 * rows + 1)
        .y_label_formatter(&row_name)
        .x_labels(6)
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", LABEL))
        .x_desc("ms since the run's first file")
        .draw()
        .map_err(fail)?;
    // Waiting: the whole row, under its bars.
    chart
        .draw_series((0..rows).map(|r| {
            let y = r as f64;
            Rectangle::new([(0.0, y + 0.12), (t_end, y + 0.88)], WAITING.filled())
        }))
        .map_err(fail)?;
    for (phase, color) in PHASES {
        let bars = timeline.bars.iter().filter(|b| b.phase == phase).map(|b| {
            let y = b.row as f64;
            Rectangle::new(
                [(b.start / 1e3, y + 0.12), (b.end / 1e3, y + 0.88)],
                color.filled(),
            )
        });
        chart.draw_series(bars).map_err(fail)?;
    }
    Ok(())
}

/// The label at height `y`: a row's name in the middle of the row, none on the lines between.
fn row_label(timeline: &Timeline, y: f64) -> String {
    let i = y.floor() as usize;
    if (y - y.floor() - 0.5).abs() < 1e-9 {
        timeline.rows.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// A swatch and a name for each phase the traces have, and waiting, right-aligned in `top`.
fn legend<DB: DrawingBackend>(top: &DrawingArea<DB, Shift>, timelines: &[&Timeline]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut shown: Vec<(&str, RGBColor)> = PHASES
        .into_iter()
        .filter(|(phase, _)| {
            timelines
                .iter()
                .any(|t| t.bars.iter().any(|b| b.phase == *phase))
        })
        .collect();
    shown.push(("waiting", WAITING));
    let item_width = |name: &str| 44 + 13 * name.chars().count() as i32;
    let mut x = WIDTH as i32 - 16 - shown.iter().map(|(n, _)| item_width(n)).sum::<i32>();
    for (name, color) in shown {
        top.draw(&Rectangle::new([(x, 14), (x + 26, 40)], color.filled()))
            .map_err(fail)?;
        top.draw(&Text::new(
            name,
            (x + 34, 12),
            ("sans-serif", LABEL).into_font(),
        ))
        .map_err(fail)?;
        x += item_width(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use viz::trace::Bar;

    fn event(name: &str, pid: i64, tid: i64, extra: Value) -> Value {
        let mut e = serde_json::json!({"name": name, "pid": pid, "tid": tid});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    }

    fn trace(processes: &[(i64, &str)]) -> Value {
        let mut events: Vec<Value> = processes
            .iter()
            .map(|(pid, name)| {
                event(
                    "process_name",
                    *pid,
                    0,
                    serde_json::json!({"args": {"name": name}}),
                )
            })
            .collect();
        for (pid, _) in processes {
            for tid in [2, 1] {
                let name = steps::worker_name(tid as usize - 1);
                events.push(event(
                    "thread_name",
                    *pid,
                    tid,
                    serde_json::json!({"args": {"name": name}}),
                ));
                events.push(event(
                    "compute",
                    *pid,
                    tid,
                    serde_json::json!({"cat": "phase", "ts": 10.0, "dur": 5.0}),
                ));
                events.push(event(
                    "write",
                    *pid,
                    tid,
                    serde_json::json!({"cat": "phase", "ts": 15.0, "dur": 20.0}),
                ));
            }
        }
        events.push(event(
            "data00000.npy",
            1,
            1,
            serde_json::json!({"cat": "file", "ts": 10.0, "dur": 25.0}),
        ));
        serde_json::json!({ "traceEvents": events })
    }

    #[test]
    fn threads_of_one_process_are_named_alone_and_sorted() {
        let t = read(&trace(&[(1, "write_rayon")])).unwrap();
        assert_eq!(t.rows, ["worker-0", "worker-1"]);
        assert_eq!(t.bars.len(), 4, "file events are not bars");
        assert_eq!(
            t.bars[0],
            Bar {
                row: 1,
                start: 10.0,
                end: 15.0,
                phase: "compute".into(),
                file_id: None
            }
        );
    }

    #[test]
    fn ranks_are_named_with_their_process() {
        let t = read(&trace(&[(7, "rank 1"), (3, "rank 0")])).unwrap();
        assert_eq!(
            t.rows,
            [
                "rank 0 / worker-0",
                "rank 0 / worker-1",
                "rank 1 / worker-0",
                "rank 1 / worker-1"
            ]
        );
    }

    #[test]
    fn the_drawing_has_a_bar_per_phase_and_names_every_row() {
        let t = read(&trace(&[(1, "write_rayon")])).unwrap().from_zero();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        let other = read(&trace(&[(1, "write_multiprocessing")]))
            .unwrap()
            .from_zero();
        draw(&[(t, "a title".into()), (other, "another".into())], &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "a title", "another", "worker-0", "worker-1", "compute", "write", "waiting", "ms since",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Two panels of two compute and two write bars, and a legend swatch each.
        assert_eq!(svg.matches(r##"fill="#1F77B4""##).count(), 5, "{svg}");
        assert_eq!(svg.matches(r##"fill="#FF7F0E""##).count(), 5, "{svg}");
        // Legible on a slide 1000 px wide: no text under 20 units.
        for (at, _) in svg.match_indices("font-size=\"") {
            let size: f64 = svg[at + 11..].split('"').next().unwrap().parse().unwrap();
            assert!(size >= 20.0, "a {size}-unit text");
        }
    }

    #[test]
    fn a_trace_without_events_is_an_error() {
        assert!(read(&serde_json::json!({})).is_err());
    }
}
