//! The diagrams of one machine's parallelism: the work over cores, what a task copies, the
//! queue, and Amdahl's law.

use gridgen_contract::split::array_split;

use crate::svg::{colour, Anchor, Font, Svg};
use crate::trace::Timeline;

use super::{QUEUE_RUN, QUEUE_STEP};

/// `n` file boxes of one lane, each `w` wide, from `x`; coloured `fill`.
fn lane(
    svg: &mut Svg,
    files: impl IntoIterator<Item = usize>,
    x: f64,
    y: f64,
    w: f64,
    fill: &str,
) -> f64 {
    let mut at = x;
    for t in files {
        svg.labelled(
            (at, y),
            (w - 6.0, 56.0),
            fill,
            Font::LABEL.mono().fill(colour::PAPER),
            &format!("t={t}"),
        );
        at += w;
    }
    at
}

/// Eight files one after another on one core, then the same files over four cores, each core
/// taking `array_split`'s share.
pub fn cores() -> String {
    let (n, cores) = (8, 4);
    let mut svg = Svg::new(1200.0, 600.0, super::Diagram::Cores.title());
    let (x0, w) = (200.0, 118.0);
    svg.text((20.0, 75.0), Font::LABEL.bold().at(Anchor::Start), "1 core");
    lane(&mut svg, 0..n, x0, 40.0, w, colour::GREY);
    svg.text(
        (20.0, 150.0),
        Font::LABEL.bold().at(Anchor::Start),
        &format!("{cores} cores"),
    );
    let mut end = x0;
    for (core, chunk) in array_split(n, cores).into_iter().enumerate() {
        let y = 170.0 + 76.0 * core as f64;
        svg.text(
            (30.0, y + 38.0),
            Font::LABEL.at(Anchor::Start),
            &format!("core {core}"),
        );
        end = lane(&mut svg, chunk, x0, y, w, colour::series(core));
    }
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    svg.text((end + 40.0, 250.0), note, "the same files,");
    svg.text(
        (end + 40.0, 284.0),
        note,
        &format!("in 1/{cores} of the time —"),
    );
    svg.text((end + 40.0, 318.0), note, "if no core waits for another,");
    svg.text((end + 40.0, 352.0), note, "for the disk or for the data");
    svg.arrow((x0, 560.0), (1160.0, 560.0), colour::INK, 3.0);
    svg.text((1160.0, 545.0), Font::LABEL.at(Anchor::End), "time");
    svg.finish()
}

/// Bytes in words: 80 kB, 16 MB (powers of ten, as a disk's label says).
fn bytes(b: usize) -> String {
    match b {
        b if b >= 1_000_000 => format!("{} MB", b / 1_000_000),
        b if b >= 1_000 => format!("{} kB", b / 1_000),
        b => format!("{b} B"),
    }
}

/// Per task, `Pool.apply` sends the grids (pickled in Python, cloned here) and waits; a queue
/// sends the index alone, the grids made once per worker.
pub fn copies() -> String {
    // The Makefile's defaults: 100 files of 100 × 100.
    let (n, size) = (100usize, 100usize);
    let grid = 8 * size * size;
    let mut svg = Svg::new(1200.0, 600.0, super::Diagram::Copies.title());
    copies_by_apply(&mut svg, n, grid);
    copies_by_queue(&mut svg, n);
    svg.finish()
}

/// The top half of [`copies`]: `Pool.apply`'s tasks, each with its own copy of the grids.
fn copies_by_apply(svg: &mut Svg, n: usize, grid: usize) {
    let bold = Font::LABEL.bold().at(Anchor::Start);
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    svg.text(
        (20.0, 50.0),
        bold,
        "Pool.apply: every task carries the grids",
    );
    svg.labelled(
        (20.0, 80.0),
        (150.0, 120.0),
        colour::PALE,
        Font::LABEL,
        "main",
    );
    for task in 0..3 {
        let x = 230.0 + 250.0 * task as f64;
        svg.labelled(
            (x, 95.0),
            (50.0, 90.0),
            colour::ORANGE,
            Font::LABEL.mono(),
            "t",
        );
        svg.labelled(
            (x + 56.0, 95.0),
            (80.0, 90.0),
            colour::BLUE,
            Font::LABEL.fill(colour::PAPER),
            "X",
        );
        svg.labelled(
            (x + 142.0, 95.0),
            (80.0, 90.0),
            colour::BLUE,
            Font::LABEL.fill(colour::PAPER),
            "Y",
        );
    }
    svg.text(
        (990.0, 150.0),
        Font::LABEL.size(30.0).at(Anchor::Start),
        "…",
    );
    svg.arrow((180.0, 230.0), (1150.0, 230.0), colour::INK, 3.0);
    svg.text(
        (230.0, 270.0),
        note,
        &format!(
            "{n} tasks × (X and Y: 2 × {}) = {} copied, and apply waits for each",
            bytes(grid),
            bytes(2 * grid * n)
        ),
    );
}

/// The bottom half of [`copies`]: a queue's tasks, an index each.
fn copies_by_queue(svg: &mut Svg, n: usize) {
    let bold = Font::LABEL.bold().at(Anchor::Start);
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    svg.text((20.0, 360.0), bold, "A queue: every task is a file index");
    svg.labelled(
        (20.0, 390.0),
        (150.0, 120.0),
        colour::PALE,
        Font::LABEL,
        "main",
    );
    for task in 0..8 {
        let x = 230.0 + 90.0 * task as f64;
        svg.labelled(
            (x, 420.0),
            (60.0, 60.0),
            colour::ORANGE,
            Font::LABEL.mono(),
            &task.to_string(),
        );
    }
    svg.arrow((180.0, 510.0), (1150.0, 510.0), colour::INK, 3.0);
    svg.text(
        (230.0, 550.0),
        note,
        &format!(
            "{n} tasks × {} = {}; each worker makes X and Y once",
            bytes(std::mem::size_of::<usize>()),
            bytes(std::mem::size_of::<usize>() * n)
        ),
    );
}

/// The main thread feeds a bounded channel; each worker takes the next index when it is free.
/// Below each worker, the files it took in a real run, in order.
pub fn queue(run: &Timeline) -> Result<String, String> {
    let taken = run.files_by_row();
    if taken.iter().all(Vec::is_empty) {
        return Err("the run's trace has no files in it".into());
    }
    let (n, _, workers) = QUEUE_RUN;
    let mut svg = Svg::new(1200.0, 620.0, super::Diagram::Queue.title());
    svg.labelled(
        (20.0, 230.0),
        (150.0, 110.0),
        colour::PALE,
        Font::LABEL,
        "main",
    );
    let channel_end = channel(&mut svg, 2 * taken.len());
    worker_rows(&mut svg, run, &taken, channel_end);
    svg.text(
        (20.0, 600.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        &format!(
        "From a run: {QUEUE_STEP} -n {n} -w {workers} --trace; each row, the files that worker took"
    ),
    );
    Ok(svg.finish())
}

/// The bounded channel of [`queue`], `slots` indices long (two per worker: the main thread
/// blocks while it is full); returns where it ends.
fn channel(svg: &mut Svg, slots: usize) -> f64 {
    svg.rect(
        (210.0, 255.0),
        (44.0 * slots as f64 + 10.0, 60.0),
        colour::PAPER,
        Some(colour::INK),
        4.0,
    );
    for slot in 0..slots {
        let x = 215.0 + 44.0 * slot as f64;
        svg.labelled(
            (x, 262.0),
            (38.0, 46.0),
            colour::ORANGE,
            Font::LABEL.size(24.0).mono(),
            &slot.to_string(),
        );
    }
    let channel_end = 225.0 + 44.0 * slots as f64;
    svg.arrow((172.0, 285.0), (208.0, 285.0), colour::INK, 3.0);
    svg.text(
        (215.0, 240.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        &format!("bounded channel: {slots} slots"),
    );
    channel_end
}

/// Each worker of [`queue`], and the files it took.
fn worker_rows(svg: &mut Svg, run: &Timeline, taken: &[Vec<usize>], channel_end: f64) {
    let rows = taken.len().max(1) as f64;
    let step = 520.0 / rows;
    for (w, files) in taken.iter().enumerate() {
        let y = 40.0 + step * w as f64 + (step - 80.0) / 2.0;
        svg.arrow((channel_end, 285.0), (570.0, y + 40.0), colour::GREY, 2.5);
        svg.labelled(
            (575.0, y),
            (170.0, 80.0),
            colour::series(w),
            Font::LABEL.fill(colour::PAPER),
            &run.rows[w],
        );
        let shown = files.iter().take(6);
        for (k, t) in shown.enumerate() {
            let x = 770.0 + 66.0 * k as f64;
            svg.labelled(
                (x, y + 14.0),
                (58.0, 52.0),
                colour::PALE,
                Font::LABEL.size(24.0).mono(),
                &t.to_string(),
            );
        }
        if files.len() > 6 {
            svg.text(
                (1180.0, y + 50.0),
                Font::LABEL.size(24.0).at(Anchor::End),
                &format!("+{}", files.len() - 6),
            );
        }
    }
}

/// Amdahl's law, `1 / ((1 - p) + p / N)`, on 1 to 64 cores, for several parallel shares `p`,
/// both axes doubling (so perfect scaling is the diagonal).
pub fn amdahl() -> String {
    let shares = [0.5, 0.75, 0.9, 0.95, 0.99];
    let mut svg = Svg::new(1200.0, 620.0, super::Diagram::Amdahl.title());
    let (left, right, top, bottom) = (130.0, 800.0, 70.0, 540.0);
    let x_of = |cores: f64| left + (right - left) * cores.log2() / 6.0;
    let y_of = |speedup: f64| bottom - (bottom - top) * speedup.log2() / 6.0;
    amdahl_axes(&mut svg, (left, right, top, bottom), x_of, y_of);
    for (i, p) in shares.iter().enumerate() {
        let speedup = |cores: f64| 1.0 / ((1.0 - p) + p / cores);
        let points: Vec<(f64, f64)> = (0..=60)
            .map(|k| f64::from(k) / 10.0)
            .map(|e| (x_of(e.exp2()), y_of(speedup(e.exp2()))))
            .collect();
        svg.polyline(&points, colour::series(i), 4.0, false);
        let label = format!(
            "{:.0}% parallel: at most {:.0}×",
            p * 100.0,
            1.0 / (1.0 - p)
        );
        svg.text(
            (right + 16.0, y_of(speedup(64.0)) + 8.0),
            Font::LABEL
                .size(24.0)
                .fill(colour::series(i))
                .at(Anchor::Start),
            &label,
        );
    }
    svg.finish()
}

/// The axes of [`amdahl`], both doubling, and the diagonal of perfect scaling.
fn amdahl_axes(
    svg: &mut Svg,
    (left, right, top, bottom): (f64, f64, f64, f64),
    x_of: impl Fn(f64) -> f64,
    y_of: impl Fn(f64) -> f64,
) {
    for k in 0..=6 {
        let v = f64::from(1u32 << k);
        svg.line((x_of(v), top), (x_of(v), bottom), colour::PALE, 2.0, false);
        svg.line((left, y_of(v)), (right, y_of(v)), colour::PALE, 2.0, false);
        svg.text(
            (x_of(v), bottom + 34.0),
            Font::LABEL.size(24.0),
            &format!("{v}"),
        );
        svg.text(
            (left - 14.0, y_of(v) + 8.0),
            Font::LABEL.size(24.0).at(Anchor::End),
            &format!("{v}×"),
        );
    }
    svg.text(((left + right) / 2.0, bottom + 72.0), Font::LABEL, "cores");
    // Amdahl's law itself, in the empty upper left of the plot.
    svg.text(
        (left + 20.0, y_of(48.0)),
        Font::LABEL.size(24.0).at(Anchor::Start),
        "speedup = 1 / ((1 − p) + p / cores)",
    );
    svg.text(
        (20.0, 36.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        "speedup",
    );
    svg.line(
        (x_of(1.0), y_of(1.0)),
        (x_of(64.0), y_of(64.0)),
        colour::INK,
        2.5,
        true,
    );
    svg.text(
        (x_of(4.0), y_of(8.0)),
        Font::LABEL.size(24.0).at(Anchor::End),
        "every part parallel",
    );
}
