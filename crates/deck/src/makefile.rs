//! The Makefile's targets and variables, so that every `make …` a slide shows is checked to be a
//! command that exists: a renamed target or variable breaks the deck's build, not the room.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// What the Makefile (and `steps.mk`, which it includes) offers.
#[derive(Debug, Default)]
pub struct Makefile {
    pub targets: BTreeSet<String>,
    pub variables: BTreeSet<String>,
}

impl Makefile {
    pub fn read(repo: &Path) -> Result<Makefile> {
        let mut text = String::new();
        for name in ["Makefile", "steps.mk"] {
            text += &std::fs::read_to_string(repo.join(name))
                .with_context(|| format!("cannot read {name}"))?;
        }
        Ok(Makefile::parse(&text))
    }

    pub fn parse(text: &str) -> Makefile {
        let mut m = Makefile::default();
        for line in text.lines() {
            let assigned = [":=", "?=", "+="].iter().find_map(|op| line.split_once(op));
            if let Some((name, _)) = assigned {
                let name = name.trim().trim_start_matches("override ").trim();
                if is_name(name) {
                    m.variables.insert(name.to_owned());
                }
                continue;
            }
            if line.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                if let Some((names, _)) = line.split_once(':') {
                    m.targets
                        .extend(names.split_whitespace().map(str::to_owned));
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

    /// Checks `make <args>`: the first word a target, every `NAME=value` one of its variables.
    pub fn check(&self, args: &str) -> Result<()> {
        let mut words = args.split_whitespace();
        let target = words.next().context("`make` with no target")?;
        if !self.targets.contains(target) {
            bail!("`make {args}`: {target} is not a Makefile target");
        }
        for word in words {
            match word.split_once('=') {
                Some((name, _)) if self.variables.contains(name) => {}
                Some((name, _)) => bail!("`make {args}`: the Makefile reads no variable {name}"),
                None if self.targets.contains(word) => {}
                None => bail!("`make {args}`: {word} is neither a target nor NAME=value"),
            }
        }
        Ok(())
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "N ?= 100\noverride OUT := x\n.PHONY: a\nwrite: ## Step 1\nflamegraph: need-step ## Profile $(STEP)\n\t$(BIN)/x\n";

    #[test]
    fn targets_and_variables_are_found() {
        let m = Makefile::parse(TEXT);
        assert!(m.targets.contains("write") && m.targets.contains("flamegraph"));
        assert!(m.variables.contains("N") && m.variables.contains("OUT"));
        assert!(m.variables.contains("STEP") && m.variables.contains("BIN"));
        assert!(m.check("flamegraph STEP=write").is_ok());
        assert!(m.check("write N=10").is_ok());
        assert!(m.check("flamegraphs STEP=write").is_err());
        assert!(m.check("write STEPS=write").is_err());
    }
}
