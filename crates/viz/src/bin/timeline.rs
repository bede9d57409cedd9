//! `make timeline`: a step's `--trace` file drawn as an SVG for the book: one row per worker
//! thread or MPI rank, one bar per file, split into computing (blue) and writing (orange) — or,
//! for a dataset inside an HDF5 file, whose two phases a run does not see apart, one bar of
//! both (green).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde_json::Value;

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

/// What the trace says: the rows (threads or ranks) and the phases of every file on them.
#[derive(Debug, PartialEq)]
struct Timeline {
    rows: Vec<String>,
    bars: Vec<Bar>,
}

/// One phase of one file: `row`, from `start` to `end` in microseconds.
#[derive(Debug, PartialEq)]
struct Bar {
    row: usize,
    start: f64,
    end: f64,
    phase: String,
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
    let timeline = read_trace(&json)?;
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

/// The (pid, tid) of an event.
fn thread_of(e: &Value) -> (i64, i64) {
    (
        e["pid"].as_i64().unwrap_or(0),
        e["tid"].as_i64().unwrap_or(0),
    )
}

/// Rows in (pid, tid) order, named "<process> / <thread>", or just the thread when the trace
/// has one process (a thread step); bars from the "phase" events.
fn read_trace(json: &Value) -> Result<Timeline> {
    let events = json["traceEvents"].as_array().context("no traceEvents")?;
    let named = |kind: &'static str| events.iter().filter(move |e| e["name"] == kind);
    let process_name = |pid: i64| {
        named("process_name")
            .find(|e| e["pid"].as_i64() == Some(pid))
            .and_then(|e| e["args"]["name"].as_str())
            .unwrap_or("")
    };
    let one_process = named("process_name").count() == 1;
    let mut rows: Vec<((i64, i64), String)> = named("thread_name")
        .map(|e| {
            let key = thread_of(e);
            let thread = e["args"]["name"].as_str().unwrap_or("?");
            let name = if one_process {
                thread.to_owned()
            } else {
                format!("{} / {thread}", process_name(key.0))
            };
            (key, name)
        })
        .collect();
    rows.sort();
    let bars = events
        .iter()
        .filter(|e| e["cat"] == "phase")
        .filter_map(|e| {
            let row = rows.iter().position(|(k, _)| *k == thread_of(e))?;
            let start = e["ts"].as_f64().unwrap_or(0.0);
            Some(Bar {
                row,
                start,
                end: start + e["dur"].as_f64().unwrap_or(0.0),
                phase: e["name"].as_str().unwrap_or("").to_owned(),
            })
        })
        .collect();
    Ok(Timeline {
        rows: rows.into_iter().map(|(_, name)| name).collect(),
        bars,
    })
}

fn fail<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Row `i` is drawn between y = i and i + 1, the first row at the top; time runs in ms.
fn draw(timeline: &Timeline, title: &str, path: &Path) -> Result<()> {
    let rows = timeline.rows.len().max(1);
    let t_end = timeline.bars.iter().map(|b| b.end).fold(1.0, f64::max) / 1e3;
    // Room on the right for the legend, clear of the bars.
    let x_end = t_end * 1.12;
    let height = 120 + 26 * rows as u32;
    let root = SVGBackend::new(path, (1180, height)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(240)
        .build_cartesian_2d(0.0..x_end, rows as f64..0.0)
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
        .x_desc("ms since the run started")
        .draw()
        .map_err(fail)?;
    for (phase, color) in PHASES {
        if !timeline.bars.iter().any(|b| b.phase == phase) {
            continue;
        }
        let bars = timeline.bars.iter().filter(|b| b.phase == phase).map(|b| {
            let y = b.row as f64;
            Rectangle::new(
                [(b.start / 1e3, y + 0.15), (b.end / 1e3, y + 0.85)],
                color.filled(),
            )
        });
        chart
            .draw_series(bars)
            .map_err(fail)?
            .label(phase)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    legend(&mut chart)?;
    root.present().map_err(fail)
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let t = read_trace(&trace(&[(1, "write_rayon")])).unwrap();
        assert_eq!(t.rows, ["worker-0", "worker-1"]);
        assert_eq!(t.bars.len(), 4, "file events are not bars");
        assert_eq!(
            t.bars[0],
            Bar {
                row: 1,
                start: 10.0,
                end: 15.0,
                phase: "compute".into()
            }
        );
    }

    #[test]
    fn ranks_are_named_with_their_process() {
        let t = read_trace(&trace(&[(7, "rank 1"), (3, "rank 0")])).unwrap();
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
        let t = read_trace(&trace(&[(1, "write_rayon")])).unwrap();
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
        assert!(read_trace(&serde_json::json!({})).is_err());
    }
}
