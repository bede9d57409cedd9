//! `make timeline`: a step's `--trace` file drawn as an SVG for the book: one row per worker
//! thread or MPI rank, one bar per file, split into computing (blue) and writing (orange).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
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

struct Bar {
    row: usize,
    start: f64,
    end: f64,
    phase: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.trace)
        .with_context(|| format!("cannot read {}", cli.trace.display()))?;
    let json: Value = serde_json::from_str(&text).context("not a trace-event file")?;
    let events = json["traceEvents"].as_array().context("no traceEvents")?;
    // Rows: (pid, tid) in order, named "<process> / <thread>".
    let mut rows: Vec<((i64, i64), String)> = Vec::new();
    let process_name = |pid: i64| {
        events
            .iter()
            .find(|e| e["name"] == "process_name" && e["pid"].as_i64() == Some(pid))
            .and_then(|e| e["args"]["name"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    for e in events.iter().filter(|e| e["name"] == "thread_name") {
        let key = (
            e["pid"].as_i64().unwrap_or(0),
            e["tid"].as_i64().unwrap_or(0),
        );
        let name = format!(
            "{} / {}",
            process_name(key.0),
            e["args"]["name"].as_str().unwrap_or("?")
        );
        rows.push((key, name));
    }
    rows.sort();
    // One process (a thread step): the thread names alone say it.
    if events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .count()
        == 1
    {
        for (_, name) in rows.iter_mut() {
            *name = name.rsplit(" / ").next().unwrap_or_default().to_owned();
        }
    }
    let mut bars = Vec::new();
    for e in events.iter().filter(|e| e["cat"] == "phase") {
        let key = (
            e["pid"].as_i64().unwrap_or(0),
            e["tid"].as_i64().unwrap_or(0),
        );
        let Some(row) = rows.iter().position(|(k, _)| *k == key) else {
            continue;
        };
        let start = e["ts"].as_f64().unwrap_or(0.0);
        let end = start + e["dur"].as_f64().unwrap_or(0.0);
        bars.push(Bar {
            row,
            start,
            end,
            phase: e["name"].as_str().unwrap_or("").to_owned(),
        });
    }
    let t_end = bars.iter().map(|b| b.end).fold(1.0, f64::max);
    let (left, width, row_h, top) = (260.0, 900.0, 26.0, 50.0);
    let height = top + row_h * rows.len() as f64 + 50.0;
    let x = |t: f64| left + width * t / t_end;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        left + width + 20.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = if cli.title.is_empty() {
        cli.trace.display().to_string()
    } else {
        cli.title.clone()
    };
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="22" font-size="16">{}</text>"#,
        escape(&title)
    );
    for (i, (_, name)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + row_h * 0.65,
            escape(name)
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>"##,
            left + width,
            y + row_h,
            y + row_h
        );
    }
    for b in &bars {
        let color = if b.phase == "write" {
            "#ff7f0e"
        } else {
            "#1f77b4"
        };
        let y = top + row_h * b.row as f64 + 4.0;
        let w = (x(b.end) - x(b.start)).max(0.5);
        let _ = writeln!(
            svg,
            r#"<rect x="{:.2}" y="{y}" width="{w:.2}" height="{}" fill="{color}"><title>{} {:.3}–{:.3} ms</title></rect>"#,
            x(b.start),
            row_h - 8.0,
            b.phase,
            b.start / 1e3,
            b.end / 1e3
        );
    }
    let axis_y = top + row_h * rows.len() as f64 + 18.0;
    for k in 0..=5 {
        let t = t_end * k as f64 / 5.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{axis_y}" text-anchor="middle">{:.1} ms</text>"#,
            x(t),
            t / 1e3
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{}" width="12" height="12" fill="#1f77b4"/><text x="{}" y="{}">compute</text><rect x="{}" y="{}" width="12" height="12" fill="#ff7f0e"/><text x="{}" y="{}">write</text>"##,
        axis_y + 10.0,
        left + 16.0,
        axis_y + 21.0,
        left + 90.0,
        axis_y + 10.0,
        left + 106.0,
        axis_y + 21.0
    );
    svg.push_str("</svg>\n");
    std::fs::write(&cli.output, svg)
        .with_context(|| format!("cannot write {}", cli.output.display()))?;
    println!(
        "timeline: {} ({} rows, {} bars)",
        cli.output.display(),
        rows.len(),
        bars.len()
    );
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
