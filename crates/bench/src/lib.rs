//! `make bench`: times every step as a whole process over the workshop's sizes, worker and rank
//! counts, beside the floors no step can beat, and writes raw JSON, a markdown report and plots.
//!
//! The modules build on each other in one direction: `model` and `stats` (plain data), `plan`
//! (the sizes), `metric` (the goals, from the step table's targets), `matrix` (the cases),
//! `runner` (running them), `results` (what a run measured), then `report` and `plots`.

pub mod machine;
pub mod matrix;
pub mod metric;
pub mod model;
pub mod plan;
pub mod plots;
pub mod report;
pub mod results;
pub mod runner;
pub use tools::stats;
