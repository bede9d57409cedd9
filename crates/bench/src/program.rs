//! What a benchmark case runs: a step, its Python original, a floor, or a probe of the machine.
//!
//! Saved in the raw results as the short names the report shows (`write_mpi`, `py-write`,
//! `floor-npy`, `launch`, `capacity`), so earlier runs' files still load.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What the file-writing floor writes: `floor --format <this>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Floor {
    /// The .npy steps' files: the same bytes, `File::create` and one `write_all` each.
    Npy,
    /// The text steps' files.
    Txt,
    /// One file of all the bytes: what one parallel HDF5 file costs at least.
    One,
}

impl Floor {
    pub const ALL: [Floor; 3] = [Floor::Npy, Floor::Txt, Floor::One];

    pub fn format(self) -> &'static str {
        match self {
            Floor::Npy => "npy",
            Floor::Txt => "txt",
            Floor::One => "one",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// A workshop step, by its name in [`tools::STEPS`].
    Step(&'static str),
    /// The Python original of a serial step (`python/reference.py <step>`).
    Python(&'static str),
    Floor(Floor),
    /// The launch floor: `mpirun` of a program that only starts and stops MPI.
    Launch,
    /// The machine's parallel capacity: fixed CPU work on `-w` threads.
    Capacity,
}

impl Program {
    /// The step called `name`. Panics on a name that is not a step: the benchmark's cases are
    /// written in this crate, and a typo there is a bug to catch in its tests.
    pub fn step(name: &str) -> Program {
        Program::Step(step_name(name).unwrap_or_else(|| panic!("no step named {name}")))
    }

    /// Python's version of the step called `name`.
    pub fn python(name: &str) -> Program {
        Program::Python(step_name(name).unwrap_or_else(|| panic!("no step named {name}")))
    }

    /// A workshop step's name, for a step.
    pub fn step_name(self) -> Option<&'static str> {
        match self {
            Program::Step(name) => Some(name),
            _ => None,
        }
    }

    /// Does the program print the steps' one-line JSON summary (with the bytes written)?
    pub fn summarises(self) -> bool {
        matches!(self, Program::Step(_) | Program::Floor(_))
    }

    pub fn is_floor(self) -> bool {
        matches!(self, Program::Floor(_))
    }
}

fn step_name(name: &str) -> Option<&'static str> {
    tools::step_info(name).map(|s| s.name)
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Program::Step(name) => f.write_str(name),
            Program::Python(name) => write!(f, "py-{name}"),
            Program::Floor(floor) => write!(f, "floor-{}", floor.format()),
            Program::Launch => f.write_str("launch"),
            Program::Capacity => f.write_str("capacity"),
        }
    }
}

impl FromStr for Program {
    type Err = String;

    fn from_str(s: &str) -> Result<Program, String> {
        let unknown = || format!("no benchmark program named {s:?}");
        match s {
            "launch" => Ok(Program::Launch),
            "capacity" => Ok(Program::Capacity),
            _ => {
                if let Some(format) = s.strip_prefix("floor-") {
                    Floor::ALL
                        .into_iter()
                        .find(|f| f.format() == format)
                        .map(Program::Floor)
                        .ok_or_else(unknown)
                } else if let Some(step) = s.strip_prefix("py-") {
                    step_name(step).map(Program::Python).ok_or_else(unknown)
                } else {
                    step_name(s).map(Program::Step).ok_or_else(unknown)
                }
            }
        }
    }
}

impl Serialize for Program {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Program {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Program, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_reads_back_from_its_name() {
        let mut all = vec![Program::Launch, Program::Capacity];
        all.extend(Floor::ALL.map(Program::Floor));
        for step in tools::STEPS {
            all.push(Program::step(step.name));
            all.push(Program::python(step.name));
        }
        for p in all {
            assert_eq!(p.to_string().parse::<Program>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), p);
        }
        assert_eq!(Program::Floor(Floor::Npy).to_string(), "floor-npy");
        assert_eq!(Program::python("write").to_string(), "py-write");
    }

    #[test]
    fn unknown_names_are_refused() {
        for name in [
            "",
            "py-",
            "floor-",
            "floor-csv",
            "py-nothing",
            "write_fast",
            "launch2",
        ] {
            assert!(name.parse::<Program>().is_err(), "{name:?} was accepted");
        }
    }
}
