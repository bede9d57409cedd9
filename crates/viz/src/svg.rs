//! A small SVG writer for the workshop's diagrams: boxes, text, lines and arrows in user units,
//! sized for a projector (the diagrams are 1200 units wide and meant to be shown at about that
//! many pixels, and no text under 24 units, so that a slide can show them down to 20 px).

use std::fmt::Write;

/// The diagrams' colours: Okabe and Ito's palette, which colour-blind readers tell apart.
pub mod colour {
    pub const BLUE: &str = "#0072B2";
    pub const ORANGE: &str = "#E69F00";
    pub const GREEN: &str = "#009E73";
    pub const RED: &str = "#D55E00";
    pub const PURPLE: &str = "#CC79A7";
    pub const SKY: &str = "#56B4E9";
    pub const YELLOW: &str = "#F0E442";
    pub const INK: &str = "#222222";
    pub const GREY: &str = "#777777";
    pub const PAPER: &str = "#FFFFFF";
    pub const PALE: &str = "#EEEEEE";
    /// One colour per rank, worker or chunk, in order.
    pub const SERIES: [&str; 6] = [BLUE, ORANGE, GREEN, RED, PURPLE, SKY];

    /// The colour of the `i`th rank, worker or chunk.
    pub fn series(i: usize) -> &'static str {
        SERIES[i % SERIES.len()]
    }
}

/// Where a text's `x` is: its start, middle or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a text looks.
#[derive(Debug, Clone, Copy)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
    pub mono: bool,
    pub fill: &'static str,
    pub anchor: Anchor,
}

impl Font {
    /// A label: 26 units, ink, centred.
    pub const LABEL: Font = Font {
        size: 26.0,
        bold: false,
        mono: false,
        fill: colour::INK,
        anchor: Anchor::Middle,
    };

    pub fn size(self, size: f64) -> Font {
        Font { size, ..self }
    }
    pub fn bold(self) -> Font {
        Font { bold: true, ..self }
    }
    pub fn mono(self) -> Font {
        Font { mono: true, ..self }
    }
    pub fn fill(self, fill: &'static str) -> Font {
        Font { fill, ..self }
    }
    pub fn at(self, anchor: Anchor) -> Font {
        Font { anchor, ..self }
    }
}

/// An SVG document being drawn.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// A white canvas of `width` × `height` units, described by `title` (what a screen reader
    /// says, and what a browser shows on hover).
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut body = String::new();
        let _ = writeln!(body, "<title>{}</title>", escape(title));
        let _ = writeln!(
            body,
            r#"<rect x="0" y="0" width="{width}" height="{height}" fill="{}"/>"#,
            colour::PAPER
        );
        Svg {
            width,
            height,
            body,
        }
    }

    /// A box, filled, with a border when `stroke` is given; `radius` rounds its corners.
    pub fn rect(
        &mut self,
        (x, y): (f64, f64),
        (w, h): (f64, f64),
        fill: &str,
        stroke: Option<&str>,
        radius: f64,
    ) {
        let stroke = stroke.map_or(String::new(), |s| {
            format!(r#" stroke="{s}" stroke-width="2""#)
        });
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}"{stroke}/>"#,
            n(x),
            n(y),
            n(w),
            n(h),
            n(radius)
        );
    }

    /// One line of text with its baseline at `y`.
    pub fn text(&mut self, (x, y): (f64, f64), font: Font, text: &str) {
        let family = if font.mono {
            "DejaVu Sans Mono, Menlo, Consolas, monospace"
        } else {
            "DejaVu Sans, Verdana, Arial, sans-serif"
        };
        let weight = if font.bold {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" font-family="{family}" font-size="{}"{weight} fill="{}" text-anchor="{}">{}</text>"#,
            n(x),
            n(y),
            n(font.size),
            font.fill,
            font.anchor.name(),
            escape(text)
        );
    }

    /// A straight line; `dashed` for what is a bound or a guide rather than a thing.
    pub fn line(
        &mut self,
        from: (f64, f64),
        to: (f64, f64),
        stroke: &str,
        width: f64,
        dashed: bool,
    ) {
        let dash = if dashed {
            r#" stroke-dasharray="10 8""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="{}"{dash}/>"#,
            n(from.0),
            n(from.1),
            n(to.0),
            n(to.1),
            n(width)
        );
    }

    /// A line through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dashed: bool) {
        let dash = if dashed {
            r#" stroke-dasharray="10 8""#
        } else {
            ""
        };
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{}"{dash}/>"#,
            pts.join(" "),
            n(width)
        );
    }

    /// A line from `from` to `to` with an arrowhead at `to`.
    pub fn arrow(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, width: f64) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let head = 8.0 + 3.0 * width;
        // The shaft stops where the head begins, so a thick line does not poke through its tip.
        let base = (to.0 - ux * head, to.1 - uy * head);
        self.line(from, base, stroke, width, false);
        let (px, py) = (-uy * head * 0.55, ux * head * 0.55);
        let _ = writeln!(
            self.body,
            r#"<polygon points="{},{} {},{} {},{}" fill="{stroke}"/>"#,
            n(to.0),
            n(to.1),
            n(base.0 + px),
            n(base.1 + py),
            n(base.0 - px),
            n(base.1 - py)
        );
    }

    /// A box with a centred label in it.
    pub fn labelled(
        &mut self,
        at: (f64, f64),
        size: (f64, f64),
        fill: &str,
        font: Font,
        label: &str,
    ) {
        self.rect(at, size, fill, Some(colour::INK), 6.0);
        let baseline = at.1 + size.1 / 2.0 + font.size * 0.35;
        self.text(
            (at.0 + size.0 / 2.0, baseline),
            font.at(Anchor::Middle),
            label,
        );
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = n(self.width),
            h = n(self.height)
        )
    }
}

/// A number as SVG wants it: no trailing zeros, at most two decimals.
fn n(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Text made safe for XML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_valid_svg_with_its_title_and_escaped_text() {
        let mut svg = Svg::new(100.0, 50.0, "a < b");
        svg.labelled(
            (10.0, 10.0),
            (80.0, 30.0),
            colour::PALE,
            Font::LABEL,
            "x & y",
        );
        svg.arrow((0.0, 0.0), (50.0, 0.0), colour::INK, 2.0);
        let text = svg.finish();
        assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(text.contains("<title>a &lt; b</title>"));
        assert!(text.contains(">x &amp; y</text>"));
        assert!(text.contains("<polygon points=\"50,0 "));
        assert_eq!(n(1.50), "1.5");
        assert_eq!(n(2.0), "2");
        assert_eq!(n(-0.001), "0");
    }
}
