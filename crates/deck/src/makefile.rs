//! The Makefile's targets and variables, so that every `make …` a slide shows is checked to be a
//! command that exists: a renamed target or variable breaks the deck's build, not the room. The
//! reading is the step table's (`steps::makefile`), which the book's test uses too.

use std::path::Path;

use anyhow::{Context, Result};

/// What the Makefile (and what it includes) offers.
#[derive(Debug, Default)]
pub struct Makefile(steps::makefile::Makefile);

impl Makefile {
    pub fn read(repo: &Path) -> Result<Makefile> {
        let read = steps::makefile::Makefile::read(repo).context("cannot read the Makefile")?;
        Ok(Makefile(read))
    }

    /// Checks `make <args>`: the first word a target, every `NAME=value` one of its variables.
    pub fn check(&self, args: &str) -> Result<()> {
        Ok(self.0.check(args)?)
    }
}
