//! A figure as a slide shows it: an SVG scaled to the width the slide asks for (and no taller
//! than the theme lets an image be), whose smallest text must still read from the back of the
//! room. The deck's build fails on a figure that would not, before a room sees it.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The smallest text a slide may hold, in pixels of the 1280×720 slide (the theme's rule).
pub const MIN_TEXT_PX: f64 = 20.0;
/// What the theme gives an image at most: the width between the margins, and its max-height.
pub const MAX_WIDTH_PX: f64 = 1184.0;
pub const MAX_HEIGHT_PX: f64 = 540.0;

/// An SVG's size and its text sizes, in its own units.
#[derive(Debug, Clone, PartialEq)]
pub struct Svg {
    pub width: f64,
    pub height: f64,
    pub font_sizes: Vec<f64>,
}

/// The number after `key` in `text` (`width="1000"`, `font-size:16px`), if it starts there.
fn number_after(text: &str, key: &str) -> Option<f64> {
    let rest = text.strip_prefix(key)?.trim_start_matches(['"', '\'', ' ']);
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl Svg {
    /// Reads the root element's `width` and `height` and every `font-size` (attribute or CSS).
    pub fn parse(text: &str) -> Result<Svg> {
        let at = text.find("<svg").context("not an SVG")?;
        let root = &text[at..at + text[at..].find('>').context("an unclosed <svg>")?];
        let attribute = |name: &str| {
            root.match_indices(name)
                .find_map(|(i, _)| number_after(&root[i..], name))
                .with_context(|| format!("the <svg> has no {name}"))
        };
        let font_sizes = ["font-size=", "font-size:"]
            .iter()
            .flat_map(|key| {
                text.match_indices(key)
                    .filter_map(|(i, _)| number_after(&text[i..], key))
            })
            .collect();
        Ok(Svg {
            width: attribute(" width=")?,
            height: attribute(" height=")?,
            font_sizes,
        })
    }

    /// The scale at which a slide shows it when asked for `width` pixels.
    pub fn scale(&self, width: f64) -> f64 {
        (width.min(MAX_WIDTH_PX) / self.width).min(MAX_HEIGHT_PX / self.height)
    }

    /// Its smallest text on the slide, in pixels.
    pub fn smallest_text(&self, width: f64) -> Option<f64> {
        let scale = self.scale(width);
        self.font_sizes
            .iter()
            .map(|s| s * scale)
            .min_by(f64::total_cmp)
    }
}

/// Fails when the figure at `path`, shown `width` pixels wide, holds text under [`MIN_TEXT_PX`].
pub fn check(path: &Path, width: f64) -> Result<()> {
    let text = std::fs::read_to_string(path).context("cannot read it: `make figures` draws it")?;
    let svg = Svg::parse(&text)?;
    if let Some(px) = svg.smallest_text(width) {
        if px < MIN_TEXT_PX - 0.05 {
            bail!(
                "its smallest text is {px:.1} px when shown {width} px wide (at most {:.0}×{:.0} px): \
                 under the {MIN_TEXT_PX} px the back of a room reads; draw it with larger text or show it wider",
                svg.width * svg.scale(width),
                svg.height * svg.scale(width)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_from_attributes_and_css() {
        let svg = Svg::parse(
            r#"<?xml?><svg version="1.1" width="1000" height="250" viewBox="0 0 1000 250"><style>text { font-size:16px }</style><text font-size="22.5">a</text></svg>"#,
        )
        .unwrap();
        assert_eq!((svg.width, svg.height), (1000.0, 250.0));
        assert_eq!(svg.font_sizes, [22.5, 16.0]);
        // Shown 1000 wide: 16 px. Shown wider than the slide allows: still the slide's width.
        assert_eq!(svg.smallest_text(1000.0), Some(16.0));
        assert!((svg.smallest_text(2000.0).unwrap() - 16.0 * 1.184).abs() < 1e-9);
    }

    #[test]
    fn a_tall_figure_is_limited_by_the_height_an_image_may_take() {
        let svg =
            Svg::parse(r#"<svg width="1000" height="1080"><text font-size="30">a</text></svg>"#)
                .unwrap();
        assert_eq!(svg.smallest_text(1000.0), Some(15.0));
    }
}
