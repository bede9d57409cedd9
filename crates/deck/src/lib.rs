//! What an instructor presents, generated from the project's own sources.
//!
//! The deck's template (`workshop/slides/deck.md`, read by [`template`]) holds the words; every
//! piece of code, command, number, figure and checkpoint on a slide is a directive that
//! [`render`] expands from where it lives: the steps' anchors ([`code`]), the Makefile
//! ([`makefile`]), the benchmark's results ([`measured`]), the figures (held legible by
//! [`figure`]), the captured [`checkpoints`]. [`plan`] sums the slides' minutes into the
//! instructor's plans, for three hours and for a full day. `make slides` runs it all and hands
//! the result to Marp; [`pdf`] reads the PDF back to hold its smallest text.

pub mod checkpoints;
pub mod code;
pub mod figure;
pub mod makefile;
pub mod measured;
pub mod pdf;
pub mod plan;
pub mod render;
pub mod template;
