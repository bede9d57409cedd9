//! Starting and finishing `--flamegraph` and `--trace` around a step's lesson. Neither costs
//! anything unless asked for.

use std::path::Path;
use std::time::Instant;

use crate::profile::{self, Profile, ProfileKind, Sampler, MIN_SAMPLES};
use crate::report::line as report;
use crate::trace::{self, Slice};
use crate::{Args, Output, Result, Summary};

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
pub fn write_trace(path: &Path, processes: &[(i32, String, Vec<Slice>)]) -> Result<()> {
    crate::output::write_all_or_nothing(path, trace::chrome_json(processes).as_bytes())
}

impl Seen {
    /// Writes what a single process observed, and notes it in the summary.
    pub fn write_alone(self, args: &Args, summary: &mut Summary) -> Result<()> {
        if let (Some(profile), Some(svg)) = (&self.profile, &args.flamegraph) {
            summary.samples = Some(profile.samples());
            write_profile(profile, svg, &title(summary), &summary.step, self.seconds)?;
            summary.flamegraph = Some(svg.display().to_string());
        }
        if let (Some(slices), Some(path)) = (self.slices, &args.trace) {
            write_trace(path, &[(0, summary.step.clone(), slices)])?;
            summary.trace = Some(path.display().to_string());
        }
        Ok(())
    }
}
