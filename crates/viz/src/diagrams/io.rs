//! The diagrams of many machines and their files: the split of the file indices over ranks,
//! many files against one HDF5 file, one parallel file, and the collective step's hyperslabs.

use gridgen_contract::split::array_split;

use crate::svg::{colour, Anchor, Font, Svg};

use super::SPLIT;

/// The indices of `chunk` as "0 1 2 3".
fn listed(chunk: &std::ops::Range<usize>) -> String {
    chunk
        .clone()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A row of file-index boxes `0..n` from `x`, each coloured by the rank whose chunk holds it.
fn indices(svg: &mut Svg, x: f64, y: f64, chunks: &[std::ops::Range<usize>]) {
    for (rank, chunk) in chunks.iter().enumerate() {
        for t in chunk.clone() {
            let at = x + 74.0 * t as f64;
            svg.labelled(
                (at, y),
                (66.0, 56.0),
                colour::series(rank),
                Font::LABEL.mono().fill(colour::PAPER),
                &t.to_string(),
            );
        }
    }
}

/// Rank boxes, one per chunk, in a row from `x`, each naming its files.
fn ranks(svg: &mut Svg, x: f64, y: f64, chunks: &[std::ops::Range<usize>]) -> Vec<(f64, f64)> {
    chunks
        .iter()
        .enumerate()
        .map(|(rank, chunk)| {
            let at = (x, y + 80.0 * rank as f64);
            svg.labelled(
                at,
                (290.0, 62.0),
                colour::series(rank),
                Font::LABEL.size(24.0).fill(colour::PAPER),
                &format!("rank {rank}: {}", listed(chunk)),
            );
            at
        })
        .collect()
}

/// `array_split(range(n), np)`, then the two ways the MPI steps hand the chunks out: rank 0
/// sending each other rank its own, or one collective scatter.
pub fn split() -> String {
    let (n, np) = SPLIT;
    let chunks = array_split(n, np);
    let mut svg = Svg::new(1200.0, 640.0, super::Diagram::Split.title());
    svg.text(
        (20.0, 44.0),
        Font::LABEL.bold().at(Anchor::Start),
        &format!("array_split(range({n}), {np}) on rank 0"),
    );
    indices(&mut svg, 20.0, 66.0, &chunks);
    sends(&mut svg, &chunks);
    scatter(&mut svg, &chunks);
    svg.text(
        (20.0, 600.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        &match n % np {
            0 => format!("{n} files over {np} ranks: as many each (numpy's array_split)"),
            1 => format!("{n} files over {np} ranks: rank 0 takes one more (numpy's array_split)"),
            more => format!(
                "{n} files over {np} ranks: ranks 0 to {} take one more (numpy's array_split)",
                more - 1
            ),
        },
    );
    svg.finish()
}

/// The left half of [`split`]: rank 0 sends each other rank its chunk.
fn sends(svg: &mut Svg, chunks: &[std::ops::Range<usize>]) {
    let np = chunks.len();
    let title = Font::LABEL.bold().at(Anchor::Start);
    svg.text((20.0, 200.0), title, "write_mpi: sends");
    let boxes = ranks(svg, 20.0, 230.0, chunks);
    for (rank, (x, y)) in boxes.iter().enumerate().skip(1) {
        // Rank 0 keeps its own chunk and sends one message to every other rank.
        svg.arrow(
            (boxes[0].0 + 300.0, boxes[0].1 + 31.0),
            (x + 300.0 + 60.0, y + 31.0),
            colour::INK,
            2.5,
        );
        svg.text(
            (x + 380.0, y + 40.0),
            Font::LABEL.size(24.0).at(Anchor::Start),
            &format!("send → {rank}"),
        );
    }
    svg.text(
        (20.0, 520.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        &format!("{} sends, one at a time, from rank 0", np - 1),
    );
}

/// The right half of [`split`]: one scatter that every rank calls.
fn scatter(svg: &mut Svg, chunks: &[std::ops::Range<usize>]) {
    let np = chunks.len();
    let title = Font::LABEL.bold().at(Anchor::Start);
    svg.text((640.0, 200.0), title, "write_mpi_scatter: one scatter");
    let scattered = ranks(svg, 640.0, 230.0, chunks);
    let bar_x = 640.0 + 290.0 + 60.0;
    svg.rect(
        (bar_x, 230.0),
        (30.0, 80.0 * np as f64 - 18.0),
        colour::INK,
        None,
        4.0,
    );
    for (x, y) in &scattered {
        svg.line(
            (x + 290.0, y + 31.0),
            (bar_x, y + 31.0),
            colour::INK,
            2.5,
            false,
        );
    }
    svg.text(
        (640.0, 520.0),
        Font::LABEL.size(24.0).at(Anchor::Start),
        "every rank calls it; MPI moves the chunks",
    );
}

/// A stack of file icons in a folder, against one HDF5 file holding a dataset per index.
pub fn files() -> String {
    let n = SPLIT.0;
    let mut svg = Svg::new(1200.0, 600.0, super::Diagram::Files.title());
    let bold = Font::LABEL.bold().at(Anchor::Start);
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    let mono = Font::LABEL.size(24.0).mono();
    svg.text((20.0, 44.0), bold, &format!("{n} files: .npy"));
    svg.rect(
        (20.0, 70.0),
        (500.0, 420.0),
        colour::PALE,
        Some(colour::INK),
        8.0,
    );
    svg.text((40.0, 106.0), mono.at(Anchor::Start), "output/");
    for (k, t) in [0, 1, 2, 3].into_iter().chain([n - 1]).enumerate() {
        let y = 130.0 + 62.0 * k as f64;
        let label = if k == 3 {
            "…".to_owned()
        } else {
            format!("data{t:05}.npy")
        };
        svg.labelled((60.0, y), (420.0, 50.0), colour::PAPER, mono, &label);
    }
    svg.text(
        (20.0, 530.0),
        note,
        "each file: create, write, close, rename —",
    );
    svg.text(
        (20.0, 562.0),
        note,
        &format!("{n} trips to the filesystem's metadata"),
    );
    one_file(&mut svg, n);
    svg.finish()
}

/// The right half of [`files`]: one HDF5 file, a dataset per array.
fn one_file(svg: &mut Svg, n: usize) {
    let bold = Font::LABEL.bold().at(Anchor::Start);
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    let mono = Font::LABEL.size(24.0).mono();
    svg.text((640.0, 44.0), bold, "one file: HDF5");
    svg.rect(
        (640.0, 70.0),
        (540.0, 420.0),
        colour::PALE,
        Some(colour::INK),
        8.0,
    );
    svg.text((660.0, 106.0), mono.at(Anchor::Start), "data.h5");
    svg.labelled(
        (680.0, 124.0),
        (480.0, 50.0),
        colour::YELLOW,
        mono,
        "attributes: n_files, size, …",
    );
    for (k, t) in [0, 1, 2].into_iter().chain([n - 1]).enumerate() {
        let y = 190.0 + 62.0 * k as f64;
        let label = if k == 2 {
            "…".to_owned()
        } else {
            format!("/data{t:05}  (file_id {t})")
        };
        svg.labelled((680.0, y), (480.0, 50.0), colour::SKY, mono, &label);
    }
    svg.text((640.0, 530.0), note, "created once; every array a dataset,");
    svg.text((640.0, 562.0), note, "named like the file it replaces");
}

/// Every rank opens the same file through MPI-IO, every rank creates every dataset (metadata
/// is collective), and each writes the data of its own files.
pub fn parallel_file() -> String {
    let (n, np) = SPLIT;
    let chunks = array_split(n, np);
    let mut svg = Svg::new(1200.0, 600.0, super::Diagram::ParallelFile.title());
    let boxes = ranks(&mut svg, 20.0, 120.0, &chunks);
    svg.text(
        (20.0, 60.0),
        Font::LABEL.bold().at(Anchor::Start),
        &format!("{np} ranks, one file: data.h5 through MPI-IO"),
    );
    svg.rect(
        (700.0, 84.0),
        (420.0, 404.0),
        colour::PALE,
        Some(colour::INK),
        8.0,
    );
    let mono = Font::LABEL.size(24.0).mono().fill(colour::PAPER);
    for (rank, chunk) in chunks.iter().enumerate() {
        let (x, y) = boxes[rank];
        for t in chunk.clone() {
            let at = (720.0, 96.0 + 38.8 * t as f64);
            svg.labelled(
                at,
                (380.0, 34.0),
                colour::series(rank),
                mono,
                &format!("/data{t:05}"),
            );
            svg.arrow(
                (x + 292.0, y + 31.0),
                (at.0 - 4.0, at.1 + 17.0),
                colour::series(rank),
                2.0,
            );
        }
    }
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    svg.text((20.0, 520.0), note, &format!("every rank creates all {n} datasets, in the same order (collective: the file's metadata);"));
    svg.text(
        (20.0, 556.0),
        note,
        "then each rank writes the data of its own files (independent)",
    );
    svg.finish()
}

/// The collective step's one `(n, size, size)` dataset: plane `t` is file `t`, each rank's planes
/// coloured, and the rounds in which every rank writes `per_round` of them at once.
pub fn hyperslabs() -> String {
    let (n, np) = SPLIT;
    let per_round = 2;
    let chunks = array_split(n, np);
    let rounds = chunks
        .iter()
        .map(|c| c.len().div_ceil(per_round))
        .max()
        .unwrap_or(0);
    let mut svg = Svg::new(1200.0, 620.0, super::Diagram::Hyperslabs.title());
    svg.text(
        (20.0, 44.0),
        Font::LABEL.bold().at(Anchor::Start),
        &format!("/data: one dataset of shape ({n}, size, size)"),
    );
    planes(&mut svg, &chunks);
    rounds_table(&mut svg, &chunks, per_round, rounds);
    let note = Font::LABEL.size(24.0).at(Anchor::Start);
    svg.text(
        (20.0, 540.0),
        note,
        "each round: one collective H5Dwrite on every rank, of its next planes (a hyperslab);",
    );
    svg.text(
        (20.0, 576.0),
        note,
        "every rank takes part in every round, with no plane left if need be",
    );
    svg.finish()
}

/// The dataset's planes as slanted cards, the first at the back, coloured by rank.
fn planes(svg: &mut Svg, chunks: &[std::ops::Range<usize>]) {
    for (rank, chunk) in chunks.iter().enumerate() {
        for t in chunk.clone() {
            let (x, y) = (30.0 + 42.0 * t as f64, 80.0 + 36.0 * t as f64);
            svg.rect(
                (x, y),
                (170.0, 110.0),
                colour::series(rank),
                Some(colour::PAPER),
                4.0,
            );
            svg.text(
                (x + 4.0, y + 27.0),
                Font::LABEL
                    .size(24.0)
                    .mono()
                    .fill(colour::PAPER)
                    .at(Anchor::Start),
                &format!("[{t}]"),
            );
        }
    }
}

/// Which planes each rank writes in each round.
fn rounds_table(svg: &mut Svg, chunks: &[std::ops::Range<usize>], per_round: usize, rounds: usize) {
    let mono = Font::LABEL.size(24.0).mono();
    svg.text(
        (620.0, 120.0),
        Font::LABEL.bold().at(Anchor::Start),
        &format!("{per_round} planes a round:"),
    );
    for rank in 0..chunks.len() {
        svg.text(
            (824.0 + 140.0 * rank as f64, 184.0),
            Font::LABEL.size(24.0).fill(colour::series(rank)),
            &format!("rank {rank}"),
        );
    }
    for round in 0..rounds {
        let y = 200.0 + 64.0 * round as f64;
        svg.text(
            (620.0, y + 36.0),
            Font::LABEL.size(24.0).at(Anchor::Start),
            &format!("round {}", round + 1),
        );
        for (rank, chunk) in chunks.iter().enumerate() {
            let mine: Vec<usize> = chunk
                .clone()
                .skip(round * per_round)
                .take(per_round)
                .collect();
            let label = match mine.as_slice() {
                [] => "—".to_owned(),
                [one] => one.to_string(),
                [first, .., last] => format!("{first}–{last}"),
            };
            svg.labelled(
                (760.0 + 140.0 * rank as f64, y),
                (128.0, 50.0),
                colour::series(rank),
                mono.fill(colour::PAPER),
                &label,
            );
        }
    }
}
