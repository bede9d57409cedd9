//! The room at a glance. Each learner's `make verify` sends its verdict to a small server that
//! the instructor starts with `make room`; the instructor's page shows, live, a grid of learners
//! × exercises, the causes most learners are failing on right now, and where the room is against
//! the plan's minutes.
//!
//! The learner's side builds with std, serde and tempfile alone ([`report`], [`grade`],
//! [`learner`], [`queue`], [`http`], [`send`]: the `room-send` binary). The server, its page and
//! its store are in [`server`], behind the `server` feature (axum, tokio, SQLite), which only
//! `make room` builds.

pub mod files;
pub mod grade;
pub mod http;
pub mod learner;
pub mod queue;
pub mod report;
pub mod send;
#[cfg(feature = "server")]
pub mod server;
