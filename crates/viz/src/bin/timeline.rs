//! `make timeline`: a step's `--trace` file drawn as an SVG for the book: one row per worker
//! thread or MPI rank, one bar per file, split into computing (blue) and writing (orange) — or,
//! for a dataset inside an HDF5 file, whose two phases a run does not see apart, one bar of
//! both (green).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Parser;
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
}

const COMPUTE: RGBColor = RGBColor(31, 119, 180);
const WRITE: RGBColor = RGBColor(255, 127, 14);
const BOTH: RGBColor = RGBColor(44, 160, 44);

/// The phases a bar can be, with their colours; `gridgen::trace` names them.
const PHASES: [(&str, RGBColor); 3] = [
    ("compute", COMPUTE),
    ("write", WRITE),
    ("compute and write", BOTH),
];

fn main() -> Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.trace)
        .with_context(|| format!("cannot read {}", cli.trace.display()))?;
    let json: Value = serde_json::from_str(&text).context("not a trace-event file")?;
    let timeline = read(&json).map_err(anyhow::Error::msg)?;
    let title = if cli.title.is_empty() {
        cli.trace.display().to_string()
    } else {
        cli.title.clone()
    };
    draw(&timeline, &title, &cli.output)
        .with_context(|| format!("cannot draw {}", cli.output.display()))?;
    println!(
        "timeline: {} ({} rows, {} bars)",
        cli.output.display(),
        timeline.rows.len(),
        timeline.bars.len()
    );
    Ok(())
}

fn fail<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Sizes chosen to stay legible when the book scales the figure to its page width (about 750
/// pixels): 1000 units wide, 22-unit labels, rows of 56 units.
const WIDTH: u32 = 1000;
const ROW: u32 = 56;
const LABEL: u32 = 22;

/// Row `i` is drawn between y = i and i + 1, the first row at the top; time runs in ms. The
/// title and the legend share a strip above the chart, clear of the bars.
fn draw(timeline: &Timeline, title: &str, path: &Path) -> Result<()> {
    let rows = timeline.rows.len().max(1);
    let t_end = timeline.bars.iter().map(|b| b.end).fold(1.0, f64::max) / 1e3;
    let height = 150 + ROW * rows as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let (top, body) = root.split_vertically(80);
    top.draw(&Text::new(title, (16, 8), ("sans-serif", 26).into_font()))
        .map_err(fail)?;
    legend(&top, timeline)?;
    let longest = timeline
        .rows
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(8);
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(24 + 13 * longest as u32)
        .build_cartesian_2d(0.0..t_end * 1.02, rows as f64..0.0)
        .map_err(fail)?;
    let row_name = |y: &f64| {
        // A label in the middle of each row names it; the lines between rows have none.
        let i = y.floor() as usize;
        if (y - y.floor() - 0.5).abs() < 1e-9 {
            timeline.rows.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(2 * rows + 1)
        .y_label_formatter(&row_name)
        .x_labels(6)
        .label_style(("sans-serif", LABEL))
        .axis_desc_style(("sans-serif", LABEL))
        .x_desc("ms since the run started")
        .draw()
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
    root.present().map_err(fail)
}

/// A swatch and a name for each phase the trace has, right-aligned in the strip `top`.
fn legend<DB: DrawingBackend>(
    top: &DrawingArea<DB, plotters::coord::Shift>,
    timeline: &Timeline,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let shown: Vec<(&str, RGBColor)> = PHASES
        .into_iter()
        .filter(|(phase, _)| timeline.bars.iter().any(|b| b.phase == *phase))
        .collect();
    let item_width = |name: &str| 40 + 12 * name.chars().count() as i32;
    let mut x = WIDTH as i32 - 16 - shown.iter().map(|(n, _)| item_width(n)).sum::<i32>();
    for (name, color) in shown {
        top.draw(&Rectangle::new([(x, 48), (x + 24, 70)], color.filled()))
            .map_err(fail)?;
        top.draw(&Text::new(
            name,
            (x + 32, 48),
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
        let t = read(&trace(&[(1, "write_rayon")])).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        draw(&t, "a title", &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "a title", "worker-0", "worker-1", "compute", "write", "ms since",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Two colours of bars: two compute and two write bars, and a legend swatch each.
        assert_eq!(svg.matches(r##"fill="#1F77B4""##).count(), 3, "{svg}");
        assert_eq!(svg.matches(r##"fill="#FF7F0E""##).count(), 3, "{svg}");
    }

    #[test]
    fn a_trace_without_events_is_an_error() {
        assert!(read(&serde_json::json!({})).is_err());
    }
}
