//! The Makefile's targets and variables, read from its text: so that every `make …` the book,
//! the README and the deck show can be checked to be a command that exists (a renamed target
//! or variable breaks a test, not the room). One reader for all of them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// What the Makefile offers, with what it includes (`steps.mk`, `room.mk`…).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Makefile {
    pub targets: BTreeSet<String>,
    pub variables: BTreeSet<String>,
}

/// Why a `make` command line is not one the Makefile accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    NoTarget,
    Target(String),
    Variable(String),
    Word(String),
}

/// A command line that names something the Makefile does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCommand {
    pub args: String,
    pub unknown: Unknown,
}

impl fmt::Display for BadCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args = &self.args;
        match &self.unknown {
            Unknown::NoTarget => write!(f, "`make` with no target"),
            Unknown::Target(t) => write!(f, "`make {args}`: {t} is not a Makefile target"),
            Unknown::Variable(v) => write!(f, "`make {args}`: the Makefile reads no variable {v}"),
            Unknown::Word(w) => {
                write!(f, "`make {args}`: {w} is neither a target nor NAME=value")
            }
        }
    }
}

impl std::error::Error for BadCommand {}

impl Makefile {
    /// Reads `Makefile` in `repo` and every file it includes (`include NAME`, from the same
    /// folder).
    pub fn read(repo: &Path) -> std::io::Result<Makefile> {
        let main = std::fs::read_to_string(repo.join("Makefile"))?;
        let mut text = main.clone();
        for line in main.lines() {
            let Some(names) = line
                .strip_prefix("include ")
                .or_else(|| line.strip_prefix("-include "))
            else {
                continue;
            };
            for name in names.split_whitespace() {
                match std::fs::read_to_string(repo.join(name)) {
                    Ok(included) => text += &included,
                    Err(e) if line.starts_with('-') => drop(e),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Makefile::parse(&text))
    }

    /// The targets (`name: …` at the start of a line) and the variables (assigned with `:=`,
    /// `?=`, `+=` or `=`, or read as `$(NAME)` in capitals) of a Makefile's text.
    pub fn parse(text: &str) -> Makefile {
        let mut m = Makefile::default();
        for line in text.lines() {
            if line.starts_with(['\t', '#']) {
                continue;
            }
            if let Some(name) = assigned(line) {
                m.variables.insert(name.to_owned());
                continue;
            }
            if line.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '$') {
                if let Some((names, _)) = line.split_once(':') {
                    let plain = names.split_whitespace().filter(|n| is_name(n));
                    m.targets.extend(plain.map(str::to_owned));
                }
            }
        }
        // Variables read without a default (`$(STEP)`, `$(JOB)`) are variables too.
        for (at, _) in text.match_indices("$(") {
            let name: String = text[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                m.variables.insert(name);
            }
        }
        m
    }

    /// Checks `make <args>`: the first word a target, every other a target or `NAME=value`
    /// with a variable the Makefile reads.
    pub fn check(&self, args: &str) -> Result<(), BadCommand> {
        let bad = |unknown| BadCommand {
            args: args.to_owned(),
            unknown,
        };
        let mut words = args.split_whitespace();
        let target = words.next().ok_or_else(|| bad(Unknown::NoTarget))?;
        if !self.targets.contains(target) {
            return Err(bad(Unknown::Target(target.to_owned())));
        }
        for word in words {
            match word.split_once('=') {
                Some((name, _)) if self.variables.contains(name) => {}
                Some((name, _)) => return Err(bad(Unknown::Variable(name.to_owned()))),
                None if self.targets.contains(word) => {}
                None => return Err(bad(Unknown::Word(word.to_owned()))),
            }
        }
        Ok(())
    }
}

/// The variable a line assigns (`N ?= 100`, `override OUT := x`, `export CC = gcc`), if any.
fn assigned(line: &str) -> Option<&str> {
    let at = line.find('=')?;
    let before = line[..at].trim_end_matches([':', '?', '+', '!']);
    // `a: b=c` is a target-specific assignment, `$(call x,a=b)` not an assignment at all.
    if before.contains([':', '(', '$']) {
        return None;
    }
    let name = before
        .trim()
        .trim_start_matches("override ")
        .trim_start_matches("export ")
        .trim();
    is_name(name).then_some(name)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "N ?= 100\noverride OUT := x\nexport CC = gcc\n.PHONY: a\nwrite: ## Step 1\nflamegraph: need-step ## Profile $(STEP)\n\t$(BIN)/x a=b\n$(STEPS): %: setup-for-%\nrun-it:\n";

    #[test]
    fn targets_and_variables_are_found() {
        let m = Makefile::parse(TEXT);
        assert!(m.targets.contains("write") && m.targets.contains("flamegraph"));
        assert!(m.targets.contains("run-it") && !m.targets.contains("$(STEPS)"));
        assert!(m.variables.contains("N") && m.variables.contains("OUT"));
        assert!(m.variables.contains("CC") && !m.variables.contains("a"));
        assert!(m.variables.contains("STEP") && m.variables.contains("BIN"));
        assert!(m.check("flamegraph STEP=write").is_ok());
        assert!(m.check("write N=10").is_ok());
        let wrong = m.check("flamegraphs STEP=write").unwrap_err();
        assert_eq!(wrong.unknown, Unknown::Target("flamegraphs".into()));
        assert!(wrong.to_string().contains("is not a Makefile target"));
        assert!(m.check("write NOPE=1").is_err());
        assert!(m.check("").is_err());
    }
}
