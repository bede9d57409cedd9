//! Why a check failed, as a kind a program can read (the room page reads it from
//! `.grade.json`, which the verdict module documents) beside the sentence a learner reads; and where the
//! book explains each, for the exercise in question: a capstone's links point at its own
//! chapter, and its advice never names the workshop's own calls.

use serde::{Deserialize, Serialize};
use steps::Launch;

use crate::exercise::Exercise;

/// The cause a verdict names. Its serialized name (`byte_swapped`) is stable: new kinds may be
/// added, none is renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// cargo could not build it.
    BuildFailed,
    /// A `todo!()` is still there.
    TodoLeft,
    /// A panic: a bug where it points, or an error that should have been returned.
    Panicked,
    /// It failed (exit code not 0) without a panic.
    RunFailed,
    /// A hang, busy computing in a loop that never ends.
    HangSpinning,
    /// A hang, waiting on something that never comes (a lock, a join, a read, a sleep).
    HangBlocked,
    /// A thread program that wrote every file but never ended: a channel never closed.
    HangChannelNotClosed,
    /// A thread program whose threads all wait for each other before every file is written.
    HangThreadsDeadlocked,
    /// MPI ranks waiting in a receive or a collective that the other ranks never join.
    HangMpiWaiting,
    /// No file got its final name: written but never committed (renamed).
    NotCommitted,
    /// With several ranks, the last files are missing: a split that drops the remainder.
    SplitDropsRemainder,
    /// Some file index was never written.
    IndexLeftOut,
    /// A file the reference does not write.
    ExtraFile,
    /// The files named right, in another format (`.txt` where `.npy` is written).
    OtherFormat,
    /// It wrote files outside `--dir` (its working folder, the project).
    WroteOutsideDir,
    /// A file was written more than once in one run: ranks or workers doing the same work.
    DuplicateWork,
    /// `-w` asked for a number of workers, and it used another.
    WorkersIgnored,
    /// Some ranks wrote none of the files: the work is not spread over the ranks.
    RanksIdle,
    /// The .npy header's first bytes.
    NpyPreamble,
    /// The .npy header's `descr`.
    NpyValueType,
    /// The .npy header's `fortran_order`.
    NpyOrder,
    /// The .npy header's `shape`.
    NpyShape,
    /// The .npy header's length or padding.
    NpyPadding,
    /// The bytes after the header are not the values, once.
    ValueBytes,
    /// numpy.savetxt's text, other than numpy's for the same numbers.
    TextFormat,
    /// Every value's bytes in the reverse order: big-endian.
    ByteSwapped,
    /// Values computed in f32: their low mantissa bits are all zero.
    SinglePrecision,
    /// Rows and columns swapped.
    Transposed,
    /// All zeros or HDF5's fill value: the array or plane was never written.
    NeverWritten,
    /// The values of another file index (or plane): an index shifted or an offset wrong.
    ShiftedIndex,
    /// The same grid with another `t`: a constant offset in `t`.
    OffsetInT,
    /// Rust's `%`, which keeps the sign, where numpy's `% 1` is a floor modulo.
    FloorModulo,
    /// The same formula in another order of operations: the last bits differ.
    OrderOfOperations,
    /// Another formula, grid or index altogether.
    OtherFormula,
    /// HDF5 cannot open the file.
    H5Unreadable,
    H5MissingGroup,
    H5ExtraGroup,
    H5MissingDataset,
    H5ExtraDataset,
    H5MissingAttribute,
    H5ExtraAttribute,
    /// An attribute or dataset stored as another type.
    H5Type,
    /// A dataset of another shape.
    H5Shape,
    /// A root attribute of another value.
    H5AttributeValue,
    /// A dataset's `file_id` attribute of another value.
    H5FileId,
    /// The safe check's run did not end.
    SafeHang,
    /// The safe check's run panicked on what the machine refused.
    SafePanic,
    /// The safe check's run ended with another exit code than 1.
    SafeExitCode,
    /// No line on stderr names the file that could not be written.
    SafeUnnamedFile,
    /// More than one line on stderr for one failure.
    SafeManyLines,
    /// The run replaced or emptied what stood at a name it could not write.
    SafeTouchedBlocked,
    /// A temporary or partial file left after a failure.
    SafeLeftover,
    /// A file written in place under its final name: a full disk or a crash mid-file leaves
    /// half a file there.
    WritesInPlace,
    /// At the Python boundary, another exception than the one Python code expects.
    WrongException,
    /// Slow: one write system call per value.
    SlowWritePerValue,
    /// Slow: most of its time in the kernel, in system calls.
    SlowSystemCalls,
    /// Slow: more work in its own code than the reference's.
    SlowOwnCode,
    /// Not a failure: the machine was too busy to judge the speed.
    SpeedNotJudged,
}

/// What a cause is about: where the book explains it differs from exercise to exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The formula and the grid.
    Field,
    /// numpy.savetxt's text.
    Text,
    /// numpy.save's header and bytes.
    Npy,
    /// A file written under a hidden name, renamed when complete.
    WriteThenRename,
    /// Worker threads and what feeds them.
    Workers,
    /// The split of the file indices over the ranks.
    Split,
    /// Ranks agreeing before a collective call.
    Agree,
    /// One HDF5 file: datasets and attributes.
    Hdf5,
    /// Errors: one line, exit 1.
    Errors,
    /// Profiling a slow program.
    Profile,
}

/// A named cause: its kind and the sentence the learner reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub kind: Cause,
    pub sentence: String,
}

impl Named {
    pub fn new(kind: Cause, sentence: impl Into<String>) -> Named {
        Named {
            kind,
            sentence: sentence.into(),
        }
    }
}

/// Who is graded, for advice that fits: a step (its own calls, its chapter) or a capstone
/// (crates.io crates only, its own chapter).
#[derive(Debug, Clone, Copy)]
pub struct Tutor {
    pub exercise: Exercise,
}

impl Tutor {
    pub fn new(exercise: Exercise) -> Tutor {
        Tutor { exercise }
    }

    pub fn capstone(&self) -> bool {
        matches!(self.exercise, Exercise::Capstone(_))
    }

    pub fn launch(&self) -> Launch {
        self.exercise.launch()
    }

    /// The section of the book that explains `topic`, for this exercise: its own hole's
    /// section where one teaches it, else the chapter where the workshop teaches it.
    pub fn section(&self, topic: Topic) -> &'static str {
        let name = self.exercise.name();
        let own = |anchor: &str| -> Option<&'static str> {
            let holes = match self.exercise {
                Exercise::Step(s) => s.holes,
                Exercise::Capstone(c) => c.holes,
            };
            holes.iter().find(|h| h.anchor == anchor).map(|h| h.section)
        };
        // The step in question's own section, for what no hole of its teaches by name.
        let first = match self.exercise {
            Exercise::Step(s) => s.holes.first().map(|h| h.section),
            Exercise::Capstone(c) => c.holes.first().map(|h| h.section),
        };
        if self.capstone() {
            return match topic {
                Topic::Field | Topic::Text => "your-own-crate.md#the-field",
                Topic::Npy => "your-own-crate.md#the-npy-header",
                Topic::WriteThenRename if name == "capstone_threads" => {
                    "your-own-crate.md#write-then-rename"
                }
                Topic::Workers => "your-own-crate.md#workers-and-a-channel",
                Topic::Split => "your-own-crate.md#array_split",
                Topic::Hdf5 => "your-own-crate.md#one-parallel-hdf5-file",
                Topic::WriteThenRename | Topic::Agree | Topic::Errors if name == "capstone_mpi" => {
                    "your-own-crate.md#agree-before-every-collective"
                }
                Topic::Errors | Topic::Agree | Topic::WriteThenRename => {
                    "your-own-crate.md#write-then-rename"
                }
                Topic::Profile => "profiling.md#try-it-profile-your-exercise",
            };
        }
        match topic {
            Topic::Field | Topic::Text => "vectorizing.md#one-array-expression",
            Topic::Npy => "binary.md#the-npy-format",
            Topic::WriteThenRename | Topic::Errors => match name {
                "write_python" => "python.md#a-python-module-in-rust",
                "write_hdf5" => "hdf5.md#one-file-many-datasets",
                "write_final" => "parallel-hdf5.md#one-file-every-rank",
                "write_final_collective" => "collective-hdf5.md#few-large-collective-writes",
                _ => "binary.md#the-npy-format",
            },
            Topic::Workers => own("write_files")
                .or_else(|| own("worker"))
                .unwrap_or("single-node.md#long-lived-workers-and-a-queue"),
            Topic::Split => own("my_files").unwrap_or("mpi.md#a-collective"),
            Topic::Agree => own("agree")
                .or_else(|| own("write_planes"))
                .or_else(|| own("write_file"))
                .or(first)
                .unwrap_or("parallel-hdf5.md#one-file-every-rank"),
            Topic::Hdf5 => own("write_planes")
                .or_else(|| own("write_file"))
                .or_else(|| own("save_dataset"))
                .unwrap_or("hdf5.md#one-file-many-datasets"),
            Topic::Profile => "profiling.md#try-it-profile-your-exercise",
        }
    }

    /// `(the book: binary.md#the-npy-format)`.
    pub fn see(&self, topic: Topic) -> String {
        format!("(the book: {})", self.section(topic))
    }

    /// How this exercise commits a file, in its own calls.
    pub fn commit_advice(&self) -> &'static str {
        match (self.exercise.name(), self.exercise.format()) {
            ("capstone_threads", _) => {
                "write into a hidden file beside the final one, and fs::rename it to its final name once every byte is written"
            }
            ("capstone_mpi", _) => {
                "every rank closes the hidden file (file.close()), every rank agrees it went well, then rank 0 renames it with fs::rename"
            }
            ("write_python", _) => {
                "save writes a hidden file beside `path` and renames it to `path` once every byte is written (std::fs::rename)"
            }
            (_, steps::Format::H5) if self.launch() == Launch::Mpi => {
                "every rank closes the file (hf.close()?), then gridgen_mpi::commit(h5, world)? gives it its name"
            }
            (_, steps::Format::H5) => {
                "close the file (hf.close()?), then h5.commit()? gives it its name"
            }
            (_, steps::Format::Txt) => {
                "out.save_txt(file_id, &data)? writes and commits a text file"
            }
            _ => {
                "out.create_file(file_id)? gives a hidden file; write_all the header and the bytes, then file.commit()? gives it its name (a file dropped without commit is removed)"
            }
        }
    }

    /// How a failure becomes one line and exit 1, in this exercise's own terms.
    pub fn error_advice(&self) -> &'static str {
        match self.exercise {
            Exercise::Capstone(_) => {
                "return the error with `?` up to main, which prints it as one line (eprintln!) and returns ExitCode::from(1)"
            }
            Exercise::Step(s) if s.launch == Launch::Python => {
                "return the error as a PyErr (an OSError naming the file): the script's frame prints it as one line and exits 1"
            }
            Exercise::Step(s) if s.launch == Launch::Mpi => {
                "return the error with `?`: gridgen_mpi::finish(&world, written) has the lowest failing rank print one line, and every rank exits 1"
            }
            Exercise::Step(_) => {
                "return the error with `?` up to main: gridgen prints it as one line, `Error: …`, and exits 1"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_snake_case_names() {
        let text = serde_json::to_string(&Cause::ByteSwapped).unwrap();
        assert_eq!(text, "\"byte_swapped\"");
        let back: Cause = serde_json::from_str("\"hang_channel_not_closed\"").unwrap();
        assert_eq!(back, Cause::HangChannelNotClosed);
    }

    #[test]
    fn a_capstones_links_stay_in_its_chapter_and_its_advice_names_no_workshop_call() {
        for capstone in crate::exercise::CAPSTONES {
            let tutor = Tutor::new(Exercise::Capstone(capstone));
            for topic in [
                Topic::Field,
                Topic::Npy,
                Topic::WriteThenRename,
                Topic::Workers,
                Topic::Split,
                Topic::Agree,
                Topic::Hdf5,
                Topic::Errors,
            ] {
                assert!(tutor.section(topic).starts_with("your-own-crate.md#"));
            }
            for advice in [tutor.commit_advice(), tutor.error_advice()] {
                for call in ["out.", "gridgen", "commit()", "create_file"] {
                    assert!(!advice.contains(call), "{}: {advice}", capstone.name);
                }
            }
        }
    }
}
