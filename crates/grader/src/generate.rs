//! `make exercise`: an exercise folder made from its step's own source, never copied by hand.
//! The lines the chapter explains (the function inside each hole's ANCHOR) become `todo!`; the
//! ANCHOR lines go; everything else is the step as it is. The exercises are one Cargo
//! workspace of their own, beside the project's, sharing its target folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use steps::Step;

use crate::exercise::{Exercise, Layout};
use crate::files::{copy_whole, write_whole};
use crate::source;

/// Where the learner starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The step's own code with the lesson's functions left as `todo!`.
    Holes,
    /// The predecessor's code, to be turned into the step (the harder, self-study mode).
    Predecessor,
}

/// A file of the exercise: its path inside the exercise folder, its text.
pub type Files = Vec<(PathBuf, String)>;

/// Creates the exercise folder; an existing one is kept unless `reset`, which moves it to
/// `exercises/.backup/` first. Returns the folder.
pub fn create(layout: &Layout, exercise: Exercise, start: Start, reset: bool) -> Result<PathBuf> {
    let folder = layout.folder(exercise);
    let files = files_of(layout, exercise, start)?;
    fs::create_dir_all(&layout.exercises)
        .with_context(|| format!("cannot create {}", layout.exercises.display()))?;
    if folder.exists() {
        if !reset {
            bail!(
                "{} already holds your work: it is kept as it is. `make exercise STEP={} RESET=1` starts over (your files move to {}/)",
                folder.display(),
                exercise.name(),
                layout.exercises.join(".backup").display()
            );
        }
        let backup = backup_of(layout, exercise)?;
        fs::rename(&folder, &backup)
            .with_context(|| format!("cannot move {} aside", folder.display()))?;
        eprintln!("your previous files are in {}", backup.display());
    }
    // Written beside, then renamed: a folder that exists is a whole exercise.
    let staging = layout.exercises.join(format!(".{}.new", exercise.name()));
    let _ = fs::remove_dir_all(&staging);
    let staged = files.iter().try_for_each(|(path, text)| {
        let path = staging.join(path);
        fs::create_dir_all(path.parent().unwrap_or(&staging))?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    });
    let made = staged.and_then(|()| {
        fs::rename(&staging, &folder).with_context(|| format!("cannot create {}", folder.display()))
    });
    if made.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    made?;
    write_workspace(layout)?;
    Ok(folder)
}

/// The files an exercise starts with.
pub fn files_of(layout: &Layout, exercise: Exercise, start: Start) -> Result<Files> {
    match (exercise, start) {
        (Exercise::Capstone(c), _) => {
            let mut files = vec![(PathBuf::from("src/main.rs"), c.solution.to_string())];
            for hole in c.holes {
                cut_hole(&mut files, c.name, hole)?;
            }
            files[0].1 = source::strip_anchors(&files[0].1);
            files.push((PathBuf::from("Cargo.toml"), c.manifest.to_string()));
            Ok(files)
        }
        (Exercise::Step(step), Start::Holes) => {
            let mut files = sources(&layout.step_crate(step.name))?;
            for hole in step.holes {
                cut_hole(&mut files, step.name, hole)?;
            }
            finish(layout, step, step, files)
        }
        (Exercise::Step(step), Start::Predecessor) => {
            let from = step
                .predecessor_step()
                .with_context(|| format!("{} has no predecessor to start from", step.name))?;
            finish(layout, step, from, sources(&layout.step_crate(from.name))?)
        }
    }
}

/// The Rust files of a crate's `src/`, by their path inside the crate.
fn sources(krate: &Path) -> Result<Files> {
    let src = krate.join("src");
    let mut files = Vec::new();
    for entry in fs::read_dir(&src).with_context(|| format!("cannot read {}", src.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path)?;
            files.push((
                Path::new("src").join(path.file_name().unwrap_or_default()),
                text,
            ));
        }
    }
    files.sort();
    Ok(files)
}

/// The one function inside the hole's ANCHOR, in whichever file has it, left as `todo!`.
fn cut_hole(files: &mut Files, name: &str, hole: &steps::Hole) -> Result<()> {
    let message = format!("{} (the book: {})", hole.todo, hole.section);
    for (path, text) in files.iter_mut() {
        if let Some(region) = source::anchor_region(text, hole.anchor) {
            *text = source::cut_body(text, region, &message)
                .with_context(|| format!("{name}: ANCHOR {} in {}", hole.anchor, path.display()))?;
            return Ok(());
        }
    }
    bail!("{name}: no file has the ANCHOR {}", hole.anchor)
}

/// The exercise's sources without ANCHOR lines, and its manifest: `from`'s, named as `step`.
fn finish(layout: &Layout, step: &'static Step, from: &Step, mut files: Files) -> Result<Files> {
    for (_, text) in files.iter_mut() {
        *text = source::strip_anchors(text);
    }
    let manifest_path = layout.step_crate(from.name).join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    files.push((
        PathBuf::from("Cargo.toml"),
        exercise_manifest(&manifest, step, from)?,
    ));
    Ok(files)
}

/// A step's manifest as the exercise's: the package named as the step (its row in the table
/// is found by that name), its binary `my_<step>`.
pub fn exercise_manifest(manifest: &str, step: &'static Step, from: &Step) -> Result<String> {
    let name_line = format!("name = \"{}\"", from.name);
    if !manifest.lines().any(|l| l.trim() == name_line) {
        bail!("{}'s Cargo.toml has no `{name_line}`", from.name);
    }
    let exercise = Exercise::Step(step);
    let what = if step.launch == steps::Launch::Python {
        format!(
            "library is `{}` (Python still imports it as {})",
            exercise.binary(),
            steps::PYTHON_MODULE
        )
    } else {
        format!("binary is `{}`", exercise.binary())
    };
    let mut out = format!(
        "# Your exercise for `{0}`: `make verify STEP={0}` grades it.\n# Its {what}: building it never replaces the project's own `{0}`.\n",
        step.name
    );
    if from.name != step.name {
        out.push_str(&format!(
            "# It starts as `{}`: turn it into `{}`, adding the dependencies the new code needs\n# (each as `<crate>.workspace = true`, the versions are in ../Cargo.toml).\n",
            from.name, step.name
        ));
    }
    for line in manifest.lines() {
        if line.starts_with("# What this step teaches") {
            continue;
        }
        if line.trim() == "[dependencies]" && step.launch != steps::Launch::Python {
            out.push_str(&format!(
                "[[bin]]\nname = \"{}\"\npath = \"src/main.rs\"\n\n",
                exercise.binary()
            ));
        }
        if line.trim() == format!("name = \"{}\"", steps::PYTHON_MODULE) {
            // The library's name, not the module's: Python still imports it as rust_kernel.
            out.push_str(&format!("name = \"{}\"\n", exercise.binary()));
        } else if line.trim() == name_line {
            out.push_str(&format!("name = \"{}\"\n", step.name));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("\n[lints.rust]\n# Until you write them, the parts left as todo!() leave imports and arguments unused.\nunused = \"allow\"\n");
    Ok(out)
}

/// A name in `exercises/.backup/` that no earlier reset used.
fn backup_of(layout: &Layout, exercise: Exercise) -> Result<PathBuf> {
    let dir = layout.exercises.join(".backup");
    fs::create_dir_all(&dir)?;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut k = 0;
    loop {
        let path = dir.join(format!("{}-{secs}-{k}", exercise.name()));
        if !path.exists() {
            return Ok(path);
        }
        k += 1;
    }
}

/// The exercises' own workspace: the project's manifest with its members replaced by the
/// exercises present and its paths pointing back at the project's crates; the project's lock
/// file (the same versions as the references); its target folder.
pub fn write_workspace(layout: &Layout) -> Result<()> {
    let members: Vec<String> = Exercise::all()
        .into_iter()
        .filter(|e| layout.folder(*e).join("Cargo.toml").is_file())
        .map(|e| e.name().to_string())
        .collect();
    let main = fs::read_to_string(layout.repo.join("Cargo.toml"))?;
    let up = relative_to_project(layout)?;
    write_whole(
        &layout.exercises.join("Cargo.toml"),
        workspace_manifest(&main, &members, &up).as_bytes(),
    )?;
    copy_lock(layout)?;
    let config = layout.exercises.join(".cargo");
    fs::create_dir_all(&config)?;
    write_whole(
        &config.join("config.toml"),
        format!(
            "# Exercises build into the project's target folder: its dependencies are compiled once.\n[build]\ntarget-dir = \"{}\"\n",
            layout.target.display()
        )
        .as_bytes(),
    )?;
    Ok(())
}

/// The project's lock file as the exercises': the same versions as the references, and no
/// trip to crates.io to choose them (cargo only drops what the exercises do not use).
pub fn copy_lock(layout: &Layout) -> Result<()> {
    copy_whole(
        &layout.repo.join("Cargo.lock"),
        &layout.exercises.join("Cargo.lock"),
    )
    .context("cannot copy the project's Cargo.lock to the exercises")
}

/// The project's folder as the exercises' manifest names it.
fn relative_to_project(layout: &Layout) -> Result<String> {
    let exercises = layout.exercises.canonicalize()?;
    Ok(if exercises.parent() == Some(layout.repo.as_path()) {
        "..".to_string()
    } else {
        layout.repo.display().to_string()
    })
}

/// The project's `Cargo.toml` rewritten for the exercises' workspace.
pub fn workspace_manifest(main: &str, members: &[String], project: &str) -> String {
    let mut out = String::from(
        "# Generated by `make exercise`: the exercises are a workspace of their own, so that a\n# half-written one never breaks the project's build. The dependencies are the project's.\n",
    );
    let mut in_workspace = false;
    for line in main.lines() {
        if line.starts_with('[') {
            in_workspace = line.trim() == "[workspace]";
            if in_workspace {
                let list: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
                out.push_str(&format!(
                    "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
                    list.join(", ")
                ));
                continue;
            }
        }
        if in_workspace {
            continue;
        }
        out.push_str(&line.replace("path = \"crates/", &format!("path = \"{project}/crates/")));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_keeps_versions_and_profiles_and_points_at_the_project() {
        let main = "[workspace]\nresolver = \"2\"\n# members\nmembers = [\"crates/*\"]\nexclude = [\"exercises\"]\n\n[workspace.dependencies]\ngridgen = { path = \"crates/gridgen\" }\nndarray = \"0.17\"\n\n[profile.release]\ndebug = \"limited\"\n";
        let out = workspace_manifest(main, &["write_mpi".into()], "..");
        assert!(out.contains("members = [\"write_mpi\"]\n"));
        assert!(!out.contains("exclude"));
        assert!(out.contains("gridgen = { path = \"../crates/gridgen\" }"));
        assert!(out.contains("ndarray = \"0.17\""));
        assert!(out.contains("[profile.release]\ndebug = \"limited\""));
    }

    #[test]
    fn the_manifest_names_the_step_and_a_binary_of_its_own() {
        let step = steps::find("write_rayon").unwrap();
        let from = steps::find("write_multiprocessing_queue").unwrap();
        let manifest = "[package]\nname = \"write_multiprocessing_queue\"\n\n# What this step teaches is its row.\n[dependencies]\ngridgen.workspace = true\n";
        let out = exercise_manifest(manifest, step, from).unwrap();
        assert!(out.contains("name = \"write_rayon\"\n"));
        assert!(out.contains("[[bin]]\nname = \"my_write_rayon\""));
        assert!(!out.contains("What this step teaches"));
        assert!(out.contains("It starts as `write_multiprocessing_queue`"));
    }
}
