//! The workshop's explanatory diagrams, drawn as SVG from the project's own code and data: the
//! split of files over ranks is `array_split`'s, the bytes a task copies are the grid's, the
//! queue's picture is a real run's trace. `make diagrams` writes them into `docs/images/diagrams/`,
//! where the book and the deck both show them.

mod io;
mod parallel;

use crate::trace::Timeline;

/// One diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagram {
    /// The same files on one core and on four.
    Cores,
    /// What `Pool.apply` copies per task, against what a queue sends.
    Copies,
    /// Workers fed by a bounded channel, and which files each took in a real run.
    Queue,
    /// Rank 0 splitting the file indices: sends, then one scatter.
    Split,
    /// Many small files against one HDF5 file.
    Files,
    /// Ranks writing their datasets into one parallel file.
    ParallelFile,
    /// One dataset, each rank's planes written in collective rounds.
    Hyperslabs,
    /// The speedup Amdahl's law allows.
    Amdahl,
}

impl Diagram {
    pub const ALL: [Diagram; 8] = [
        Diagram::Cores,
        Diagram::Copies,
        Diagram::Queue,
        Diagram::Split,
        Diagram::Files,
        Diagram::ParallelFile,
        Diagram::Hyperslabs,
        Diagram::Amdahl,
    ];

    /// Its file in `docs/images/diagrams/`.
    pub const fn file_name(self) -> &'static str {
        match self {
            Diagram::Cores => "cores.svg",
            Diagram::Copies => "copies.svg",
            Diagram::Queue => "queue.svg",
            Diagram::Split => "split.svg",
            Diagram::Files => "files.svg",
            Diagram::ParallelFile => "parallel_file.svg",
            Diagram::Hyperslabs => "hyperslabs.svg",
            Diagram::Amdahl => "amdahl.svg",
        }
    }

    /// What it shows, in a few words: its SVG title and the book's caption.
    pub const fn title(self) -> &'static str {
        match self {
            Diagram::Cores => "The work split over cores",
            Diagram::Copies => "What each task copies: Pool.apply against a queue",
            Diagram::Queue => "Workers fed by a queue",
            Diagram::Split => "Rank 0 splits the file indices: sends, or one scatter",
            Diagram::Files => "Many small files, or one HDF5 file",
            Diagram::ParallelFile => "Ranks writing one parallel HDF5 file",
            Diagram::Hyperslabs => "One dataset, written in collective rounds of hyperslabs",
            Diagram::Amdahl => "The speedup Amdahl's law allows",
        }
    }

    /// True when it is drawn from a run's trace, which changes from run to run; the others
    /// depend on the code alone and are redrawn byte for byte.
    pub const fn from_a_run(self) -> bool {
        matches!(self, Diagram::Queue)
    }

    /// The diagram as SVG text. `queue_run` is the trace of a run of the queue step (see
    /// [`QUEUE_STEP`], [`QUEUE_RUN`]); only [`Diagram::Queue`] needs it.
    pub fn draw(self, queue_run: Option<&Timeline>) -> Result<String, String> {
        Ok(match self {
            Diagram::Cores => parallel::cores(),
            Diagram::Copies => parallel::copies(),
            Diagram::Queue => parallel::queue(queue_run.ok_or(
                "the queue diagram is drawn from a run: give the trace of write_multiprocessing_queue (--queue-trace)",
            )?)?,
            Diagram::Split => io::split(),
            Diagram::Files => io::files(),
            Diagram::ParallelFile => io::parallel_file(),
            Diagram::Hyperslabs => io::hyperslabs(),
            Diagram::Amdahl => parallel::amdahl(),
        })
    }
}

/// The step the queue diagram is drawn from, and its run: files, grid size and workers.
/// `make diagrams` runs it with them and `--trace`.
pub const QUEUE_STEP: &str = "write_multiprocessing_queue";
pub const QUEUE_RUN: (usize, usize, usize) = (12, 400, 3);

/// Files and ranks of the MPI diagrams: ten files over three ranks, which `array_split` cannot
/// share evenly (the Python original's `reshape` could not split them at all).
pub const SPLIT: (usize, usize) = (10, 3);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Bar, Timeline};

    fn run() -> Timeline {
        let bar = |row, file_id, start| Bar {
            row,
            start,
            end: start + 5.0,
            phase: "compute".into(),
            file_id: Some(file_id),
        };
        Timeline {
            rows: vec!["worker-0".into(), "worker-1".into()],
            bars: vec![
                bar(0, 0, 0.0),
                bar(1, 1, 1.0),
                bar(0, 2, 6.0),
                bar(1, 3, 7.0),
            ],
        }
    }

    #[test]
    fn every_diagram_draws_titled_svg_with_large_labels() {
        let timeline = run();
        for d in Diagram::ALL {
            let svg = d.draw(Some(&timeline)).unwrap();
            assert!(svg.starts_with("<svg "), "{d:?}");
            assert!(svg.contains(&format!("<title>{}</title>", crate::svg::escape(d.title()))));
            // Legible on a projector: no text smaller than 24 units on a 1200-unit canvas, so
            // that a slide may show it down to 20 px (the deck checks each slide's width).
            for (at, _) in svg.match_indices("font-size=\"") {
                let size: f64 = svg[at + 11..].split('"').next().unwrap().parse().unwrap();
                assert!(size >= 24.0, "{d:?}: a {size}-unit text");
            }
        }
        assert!(Diagram::Queue.draw(None).is_err());
    }

    #[test]
    fn the_split_drawn_is_array_splits() {
        let svg = Diagram::Split.draw(None).unwrap();
        // 10 files over 3 ranks: 4, 3 and 3.
        assert!(svg.contains(">rank 0: 0 1 2 3<"), "{svg}");
        assert!(svg.contains(">rank 2: 7 8 9<"), "{svg}");
    }

    #[test]
    fn the_queue_step_is_a_thread_step_of_the_table() {
        let step = steps::find(QUEUE_STEP).unwrap();
        assert_eq!(step.launch, steps::Launch::Threads);
    }

    #[test]
    fn the_queue_shows_which_worker_took_which_file() {
        let svg = Diagram::Queue.draw(Some(&run())).unwrap();
        assert!(
            svg.contains(">worker-0<") && svg.contains(">worker-1<"),
            "{svg}"
        );
        assert_eq!(run().files_by_row(), vec![vec![0, 2], vec![1, 3]]);
    }
}
