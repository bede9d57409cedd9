//! Starting and finishing `--flamegraph` and `--trace` around a step's lesson. Neither costs
//! anything unless asked for.

use std::path::Path;
use std::time::Instant;

use gridgen_contract::Summary;
use steps::Step;

use crate::driver::args::Args;
use crate::driver::output::{write_all_or_nothing, Output};
use crate::driver::profile::{self, rank_path, Profile, ProfileKind, Sampler, MIN_SAMPLES};
use crate::driver::report::line as report;
use crate::driver::team::Team;
use crate::driver::trace::{self, Process, Slice};
use crate::Result;

/// The sampler, when `--flamegraph` asked for one.
pub struct Observer {
    sampler: Option<Sampler>,
    start: Instant,
}

/// What was observed during the run.
pub struct Seen {
    pub profile: Option<Profile>,
    pub slices: Option<Vec<Slice>>,
    pub seconds: f64,
}

impl Observer {
    pub fn start(args: &Args) -> Result<Observer> {
        let sampler = match &args.flamegraph {
            Some(_) => Some(Sampler::start(args.profile_hz)?),
            None => None,
        };
        Ok(Observer {
            sampler,
            start: Instant::now(),
        })
    }

    /// Stops the sampler and takes the run's slices from `out`.
    pub fn finish(self, out: &Output) -> Result<Seen> {
        let seconds = self.start.elapsed().as_secs_f64();
        let profile = self.sampler.map(Sampler::finish).transpose()?;
        Ok(Seen {
            profile,
            slices: out.progress.take_slices(),
            seconds,
        })
    }
}

/// The flamegraph's title: the step and its parameters.
pub fn title(summary: &Summary) -> String {
    let mut title = format!(
        "{}  n={} size={}",
        summary.step, summary.n_files, summary.size
    );
    if let Some(w) = summary.workers {
        title += &format!(" workers={w}");
    }
    if let Some(r) = summary.ranks {
        title += &format!(" ranks={r}");
    }
    title
}

/// Writes `profile` as `svg` (and its folded stacks beside it), however few its samples; with
/// fewer than [`MIN_SAMPLES`] it also says so, and how to get more. A `.folded` path is one part
/// of a profile merged later: its samples are judged there, not here.
pub fn write_profile(
    profile: &Profile,
    svg: &Path,
    title: &str,
    step: &str,
    seconds: f64,
) -> Result<()> {
    if profile.samples() < MIN_SAMPLES && ProfileKind::of(svg) == Some(ProfileKind::Drawing) {
        report(&format!(
            "{step}: {}",
            profile::too_few_samples(profile.samples(), seconds)
        ));
    }
    profile.write(svg, title)
}

/// Writes the timeline of `processes`, all or nothing.
fn write_trace(path: &Path, processes: &[Process]) -> Result<()> {
    write_all_or_nothing(path, trace::chrome_json(processes).as_bytes())
}

/// Writes what the team observed. Alone: the flamegraph and the timeline. In a team of ranks:
/// every rank its own flamegraph (`PATH.rankNN.svg`), and member 0 the merged one (each rank
/// under a root frame of its own) and one timeline (one process per rank). The gathers come
/// first and happen on every member alike (the flags are the same everywhere); only then are
/// files written. `summary` is member 0's, and notes what was written.
pub fn write_observed<T: Team + ?Sized>(
    team: &T,
    step: &Step,
    args: &Args,
    seen: Seen,
    summary: Option<&mut Summary>,
) -> Result<()> {
    let profile = args
        .flamegraph
        .as_ref()
        .and_then(|_| team_profile(team, seen.profile.as_ref()));
    let slices = args
        .trace
        .as_ref()
        .map(|_| team_slices(team, step, seen.slices.unwrap_or_default()))
        .transpose()?
        .flatten();
    if let (Some(rank), Some(own), Some(svg)) = (team.named_rank(), &seen.profile, &args.flamegraph)
    {
        let title = format!(
            "{} rank {rank}  n={} size={}",
            step.name, args.n_files, args.size
        );
        own.write(&rank_path(svg, rank as i32), &title)?;
    }
    let Some(summary) = summary else {
        return Ok(());
    };
    if let (Some(profile), Some(svg)) = (profile, &args.flamegraph) {
        summary.samples = Some(profile.samples());
        write_profile(&profile, svg, &title(summary), step.name, seen.seconds)?;
        summary.flamegraph = Some(svg.display().to_string());
    }
    if let (Some(processes), Some(path)) = (slices, &args.trace) {
        write_trace(path, &processes)?;
        summary.trace = Some(path.display().to_string());
    }
    Ok(())
}

/// The team's profile on member 0: this process's own, or every rank's under its rank.
fn team_profile<T: Team + ?Sized>(team: &T, own: Option<&Profile>) -> Option<Profile> {
    if team.named_rank().is_none() {
        return own.cloned();
    }
    let folded = own.map(Profile::folded).unwrap_or_default();
    let parts = team.gather(folded.as_bytes())?;
    let mut merged = Profile::default();
    for (r, part) in parts.iter().enumerate() {
        merged.merge(
            &Profile::parse_folded(&String::from_utf8_lossy(part)).under(&format!("rank {r}")),
        );
    }
    Some(merged)
}

/// The team's timeline on member 0: one process, or one per rank.
fn team_slices<T: Team + ?Sized>(
    team: &T,
    step: &Step,
    own: Vec<Slice>,
) -> Result<Option<Vec<Process>>> {
    if team.named_rank().is_none() {
        return Ok(Some(vec![(0, step.name.to_owned(), own)]));
    }
    let bytes = serde_json::to_vec(&own).map_err(std::io::Error::other)?;
    let Some(parts) = team.gather(&bytes) else {
        return Ok(None);
    };
    let mut processes = Vec::with_capacity(parts.len());
    for (r, part) in parts.iter().enumerate() {
        let slices = serde_json::from_slice(part).map_err(std::io::Error::other)?;
        processes.push((r as i32, format!("{} rank {r}", step.name), slices));
    }
    Ok(Some(processes))
}
