//! What the instructor's page shows, computed from the store's snapshot: the grid of learners ×
//! exercises, the causes most learners are failing on right now, and where the room is against
//! the plan's minutes. The page draws this as it comes (JSON over server-sent events).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::store::{Latest, Snapshot};
use crate::report::{Kind, Verdict};

/// A part of the workshop's plan, with the minutes it starts and ends at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPart {
    pub name: String,
    pub start: u32,
    pub end: u32,
    pub exercises: Vec<String>,
}

/// What the view is computed against.
#[derive(Debug, Clone)]
pub struct Setting<'a> {
    /// Every exercise, in the workshop's order: the grid's columns.
    pub exercises: &'a [String],
    pub plan: &'a [PlanPart],
    /// A failure counts as "right now" for this long after it arrived.
    pub recent_seconds: u64,
    pub now: u64,
    /// When the workshop's clock started.
    pub clock: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    pub exercises: Vec<String>,
    pub learners: Vec<Row>,
    pub causes: Vec<CauseCount>,
    pub plan: PlanView,
    pub results: u64,
    pub recent_minutes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    pub cells: Vec<Cell>,
}

/// One learner's state on one exercise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Cell {
    NotStarted,
    /// The failed check, and the cause in words when the grader named one.
    Failing {
        check: String,
        why: String,
    },
    /// How fast, in the grader's words ("1.07× slower"), or why the speed is not known.
    Passing {
        speed: String,
    },
}

/// One cause and how many learners fail on it right now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseCount {
    pub cause: String,
    pub learners: usize,
    pub of: usize,
    pub exercises: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanView {
    /// Minutes since the workshop's clock started.
    pub minute: u64,
    pub total: u32,
    /// The part the plan is in now ("after the plan" past its end).
    pub part: String,
    /// One sentence: where the room is against the plan.
    pub headline: String,
    pub exercises: Vec<Due>,
}

/// A planned exercise: when the plan has it done, and how many learners passed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    pub exercise: String,
    pub by_minute: u32,
    pub passed: usize,
    pub of: usize,
    /// Its minute is past and fewer than half passed.
    pub late: bool,
}

fn passing(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Passed | Verdict::PassedSpeedNotJudged)
}

/// The words a failure is shown and counted by: the cause's kind, or the check that failed.
fn why(latest: &Latest) -> String {
    match (&latest.cause, latest.failed_check) {
        (Some(cause), _) => Kind::parse(cause, "cause").map_or(cause.clone(), |k| k.words()),
        (None, Some(check)) => format!("the {} check", check.key()),
        (None, None) => "no cause named".to_owned(),
    }
}

fn cell(latest: &Latest) -> Cell {
    match latest.verdict {
        Verdict::Failed => Cell::Failing {
            check: latest.failed_check.map_or("", |c| c.key()).to_owned(),
            why: why(latest),
        },
        Verdict::Passed => Cell::Passing {
            speed: latest
                .speed_ratio
                .map_or("speed not timed".to_owned(), grader::fast::relative),
        },
        Verdict::PassedSpeedNotJudged => Cell::Passing {
            speed: "speed not judged".to_owned(),
        },
    }
}

pub fn view(snapshot: &Snapshot, setting: &Setting) -> View {
    let names: HashMap<&str, &str> = snapshot
        .names
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    // The columns: every exercise someone has a result for, in the workshop's order (the
    // grid stays wide enough to read on a projector until the room gets there).
    let started: BTreeSet<&str> = snapshot
        .latest
        .iter()
        .map(|l| l.exercise.as_str())
        .collect();
    let exercises: Vec<String> = setting
        .exercises
        .iter()
        .filter(|e| started.contains(e.as_str()))
        .cloned()
        .collect();
    let column: HashMap<&str, usize> = exercises
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i))
        .collect();
    let mut rows: BTreeMap<(&str, &str), Vec<Cell>> = BTreeMap::new();
    for (id, name) in &names {
        rows.insert((name, id), vec![Cell::NotStarted; exercises.len()]);
    }
    for latest in &snapshot.latest {
        let name = names.get(latest.learner.as_str()).copied().unwrap_or("");
        if let (Some(cells), Some(&i)) = (
            rows.get_mut(&(name, latest.learner.as_str())),
            column.get(latest.exercise.as_str()),
        ) {
            cells[i] = cell(latest);
        }
    }
    View {
        exercises,
        learners: rows
            .into_iter()
            .map(|((name, _), cells)| Row {
                name: name.to_owned(),
                cells,
            })
            .collect(),
        causes: causes(snapshot, setting, names.len()),
        plan: plan(snapshot, setting, names.len()),
        results: snapshot.results,
        recent_minutes: setting.recent_seconds / 60,
    }
}

/// The three causes the most learners fail on right now (their latest result on an exercise,
/// arrived within the recent window).
fn causes(snapshot: &Snapshot, setting: &Setting, learners: usize) -> Vec<CauseCount> {
    let since = setting.now.saturating_sub(setting.recent_seconds);
    let mut by_cause: BTreeMap<String, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for latest in &snapshot.latest {
        if latest.verdict == Verdict::Failed && latest.received >= since {
            let (who, what) = by_cause.entry(why(latest)).or_default();
            who.insert(&latest.learner);
            what.insert(&latest.exercise);
        }
    }
    let mut counts: Vec<CauseCount> = by_cause
        .into_iter()
        .map(|(cause, (who, what))| CauseCount {
            cause,
            learners: who.len(),
            of: learners,
            exercises: what.into_iter().map(str::to_owned).collect(),
        })
        .collect();
    // Most learners first; the same count in the alphabet's order, so the list stays still.
    counts.sort_by(|a, b| b.learners.cmp(&a.learners).then(a.cause.cmp(&b.cause)));
    counts.truncate(3);
    counts
}

fn plan(snapshot: &Snapshot, setting: &Setting, learners: usize) -> PlanView {
    let minute = setting.now.saturating_sub(setting.clock) / 60;
    let total = setting.plan.last().map_or(0, |p| p.end);
    let part = setting
        .plan
        .iter()
        .find(|p| u64::from(p.start) <= minute && minute < u64::from(p.end))
        .map_or("after the plan".to_owned(), |p| p.name.clone());
    let passed = |exercise: &str| {
        snapshot
            .latest
            .iter()
            .filter(|l| l.exercise == exercise && passing(l.verdict))
            .count()
    };
    let exercises: Vec<Due> = setting
        .plan
        .iter()
        .flat_map(|p| p.exercises.iter().map(move |e| (e, p.end)))
        .map(|(exercise, by_minute)| {
            let passed = passed(exercise);
            Due {
                exercise: exercise.clone(),
                by_minute,
                passed,
                of: learners,
                late: minute > u64::from(by_minute) && passed * 2 < learners,
            }
        })
        .collect();
    let headline = headline(&exercises, minute, learners);
    PlanView {
        minute,
        total,
        part,
        headline,
        exercises,
    }
}

/// Where the room is: the first planned exercise fewer than half the learners have passed,
/// against the minute the plan has it done.
fn headline(exercises: &[Due], minute: u64, learners: usize) -> String {
    if learners == 0 {
        return "no results yet".to_owned();
    }
    match exercises.iter().find(|d| d.passed * 2 < learners) {
        None => "ahead: most learners have passed every exercise of the plan".to_owned(),
        Some(d) if minute > u64::from(d.by_minute) => format!(
            "the room is on {}, which the plan has done by minute {}: {} minutes behind",
            d.exercise,
            d.by_minute,
            minute - u64::from(d.by_minute)
        ),
        Some(d) => format!(
            "the room is on {}, which the plan has done by minute {}: on time",
            d.exercise, d.by_minute
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Check;

    fn latest(learner: &str, exercise: &str, verdict: Verdict, cause: &str, at: u64) -> Latest {
        let failed = verdict == Verdict::Failed;
        Latest {
            learner: learner.to_owned(),
            exercise: exercise.to_owned(),
            verdict,
            failed_check: failed.then_some(Check::Correct),
            cause: (!cause.is_empty()).then(|| cause.to_owned()),
            speed_ratio: (verdict == Verdict::Passed).then_some(0.5),
            received: at,
        }
    }

    fn setting<'a>(exercises: &'a [String], plan: &'a [PlanPart], now: u64) -> Setting<'a> {
        Setting {
            exercises,
            plan,
            recent_seconds: 900,
            now,
            clock: 1_000_000,
        }
    }

    fn room() -> (Vec<String>, Vec<PlanPart>) {
        let exercises = vec![
            "write_a".to_owned(),
            "write_b".to_owned(),
            "capstone".to_owned(),
        ];
        let plan = vec![
            PlanPart {
                name: "Open".into(),
                start: 0,
                end: 10,
                exercises: vec![],
            },
            PlanPart {
                name: "A".into(),
                start: 10,
                end: 30,
                exercises: vec!["write_a".into()],
            },
            PlanPart {
                name: "B".into(),
                start: 30,
                end: 60,
                exercises: vec!["write_b".into()],
            },
        ];
        (exercises, plan)
    }

    fn snapshot(latest: Vec<Latest>) -> Snapshot {
        Snapshot {
            names: vec![
                ("1".into(), "ada".into()),
                ("2".into(), "bob".into()),
                ("3".into(), "cy".into()),
            ],
            results: latest.len() as u64,
            latest,
        }
    }

    #[test]
    fn the_grid_has_a_row_a_learner_and_a_column_an_exercise() {
        let (exercises, plan) = room();
        let now = 1_000_000 + 40 * 60;
        let snap = snapshot(vec![
            latest("1", "write_a", Verdict::Passed, "", now),
            latest("2", "write_a", Verdict::Failed, "floor_modulo", now),
            latest(
                "3",
                "write_b",
                Verdict::PassedSpeedNotJudged,
                "speed_not_judged",
                now,
            ),
        ]);
        let v = view(&snap, &setting(&exercises, &plan, now));
        let names: Vec<_> = v.learners.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ada", "bob", "cy"]);
        // No one has a result for the capstone: no column for it yet.
        assert_eq!(v.exercises, ["write_a", "write_b"]);
        assert_eq!(
            v.learners[0].cells[0],
            Cell::Passing {
                speed: "2.00× faster".into()
            }
        );
        assert_eq!(v.learners[0].cells[1], Cell::NotStarted);
        assert_eq!(
            v.learners[1].cells[0],
            Cell::Failing {
                check: "correct".into(),
                why: "floor modulo".into()
            }
        );
        assert_eq!(
            v.learners[2].cells[1],
            Cell::Passing {
                speed: "speed not judged".into()
            }
        );
    }

    #[test]
    fn the_top_causes_count_learners_failing_right_now() {
        let (exercises, plan) = room();
        let now = 1_000_000 + 40 * 60;
        let old = now - 3600;
        let snap = snapshot(vec![
            latest("1", "write_a", Verdict::Failed, "floor_modulo", now),
            latest("2", "write_a", Verdict::Failed, "floor_modulo", now),
            latest(
                "2",
                "write_b",
                Verdict::Failed,
                "hang_channel_not_closed",
                now,
            ),
            latest("3", "write_b", Verdict::Failed, "not_committed", old),
            latest("3", "write_a", Verdict::Failed, "", now),
            latest("1", "write_b", Verdict::Failed, "byte_swapped", now),
        ]);
        let v = view(&snap, &setting(&exercises, &plan, now));
        let causes: Vec<_> = v
            .causes
            .iter()
            .map(|c| (c.cause.as_str(), c.learners))
            .collect();
        // not_committed is an hour old; four causes with a learner or more: three shown.
        assert_eq!(
            causes,
            [
                ("floor modulo", 2),
                ("byte swapped", 1),
                ("hang channel not closed", 1)
            ]
        );
        assert_eq!(
            (v.causes[0].of, v.causes[0].exercises.clone()),
            (3, vec!["write_a".to_owned()])
        );
    }

    #[test]
    fn the_plan_says_where_the_room_is_against_its_minutes() {
        let (exercises, plan) = room();
        let at = |minute: u64| 1_000_000 + minute * 60;
        let empty = view(&snapshot(vec![]), &setting(&exercises, &plan, at(5)));
        assert_eq!((empty.plan.part.as_str(), empty.plan.total), ("Open", 60));
        let two_of_three = snapshot(vec![
            latest("1", "write_a", Verdict::Passed, "", at(20)),
            latest("2", "write_a", Verdict::Passed, "", at(20)),
        ]);
        let v = view(&two_of_three, &setting(&exercises, &plan, at(45)));
        assert_eq!(v.plan.part, "B");
        assert_eq!(
            v.plan.headline,
            "the room is on write_b, which the plan has done by minute 60: on time"
        );
        let v = view(&two_of_three, &setting(&exercises, &plan, at(75)));
        assert_eq!(v.plan.part, "after the plan");
        assert!(
            v.plan.headline.ends_with("15 minutes behind"),
            "{}",
            v.plan.headline
        );
        assert_eq!(
            v.plan
                .exercises
                .iter()
                .map(|d| (d.passed, d.late))
                .collect::<Vec<_>>(),
            [(2, false), (0, true)]
        );
    }
}
