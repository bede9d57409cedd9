//! `make bench`: times every step as a whole process over the workshop's sizes, worker and rank
//! counts, beside the floors no step can beat, and writes raw JSON, a markdown report and plots.

pub mod goals;
pub mod machine;
pub mod matrix;
pub mod plots;
pub mod program;
pub mod report;
pub mod results;
pub mod runner;
pub mod stats;
