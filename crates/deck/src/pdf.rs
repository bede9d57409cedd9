//! The deck's PDF read back as a room sees it: the height of every word's box on every page
//! (`pdftotext -bbox`, from poppler), so that a test can fail on text too small to read from the
//! back of the room — in a figure, a plot's legend or a code block, not only the body text the
//! browser test measures.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Marp's PDF page is 960×540 points for the 1280×720-pixel slide, and text of 20 px
/// ([`crate::figure::MIN_TEXT_PX`], the page number's size) comes out in a 17.5-point box
/// (pdftotext's box is a little taller than the font): a box under this holds text under about
/// 19.5 px.
pub const MIN_BOX_PT: f64 = 17.0;

/// One page's smallest word.
#[derive(Debug, Clone, PartialEq)]
pub struct Smallest {
    pub page: usize,
    pub height: f64,
    pub word: String,
}

/// The value of attribute `name` in a tag's text.
fn attribute(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let tag = format!(" {tag}");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()?.parse().ok()
}

/// A word's text size from its box: the box's height, or for text turned on its side (a plot's
/// y axis) its width. A word lies on its side when its box is far narrower than its letters
/// would be side by side (letters are about half as wide as the box is tall, never less than a
/// sixth); a single character's box is its larger side either way.
fn text_size(word: &str, width: f64, height: f64) -> f64 {
    let letters = word.chars().count() as f64;
    if letters <= 1.0 {
        width.max(height)
    } else if width * 6.0 < letters * height {
        width
    } else {
        height
    }
}

/// Each page's smallest word, from `pdftotext -bbox`'s XHTML.
pub fn smallest_words(bbox: &str) -> Vec<Smallest> {
    let mut pages = Vec::new();
    for (i, page) in bbox.split("<page ").skip(1).enumerate() {
        let mut smallest: Option<Smallest> = None;
        for word in page.split("<word ").skip(1) {
            let Some((tag, rest)) = word.split_once('>') else {
                continue;
            };
            let box_of = |a: &str, b: &str| Some(attribute(tag, b)? - attribute(tag, a)?);
            let (Some(width), Some(height)) = (box_of("xMin", "xMax"), box_of("yMin", "yMax"))
            else {
                continue;
            };
            let text = rest.split("</word>").next().unwrap_or("").trim();
            let text = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            let size = text_size(&text, width, height);
            if smallest.as_ref().is_none_or(|s| size < s.height) {
                smallest = Some(Smallest {
                    page: i + 1,
                    height: size,
                    word: text,
                });
            }
        }
        pages.extend(smallest);
    }
    pages
}

/// Runs `pdftotext -bbox` on `pdf` and fails on any page whose smallest word is under
/// [`MIN_BOX_PT`]; returns the pages' smallest words.
pub fn check(pdf: &Path) -> Result<Vec<Smallest>> {
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .context(
            "cannot run pdftotext (Debian: poppler-utils; `make setup-browser` installs it)",
        )?;
    if !out.status.success() {
        bail!(
            "pdftotext {} failed: {}",
            pdf.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pages = smallest_words(&String::from_utf8_lossy(&out.stdout));
    if pages.is_empty() {
        bail!("{} has no text pdftotext can read", pdf.display());
    }
    let small: Vec<String> = pages
        .iter()
        .filter(|p| p.height < MIN_BOX_PT)
        .map(|p| {
            format!(
                "page {}: \"{}\" in a {:.1}-pt box",
                p.page, p.word, p.height
            )
        })
        .collect();
    if !small.is_empty() {
        bail!(
            "text in boxes under {MIN_BOX_PT} pt (under 20 px on the slide) in {}:\n{}",
            pdf.display(),
            small.join("\n")
        );
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pages_smallest_word_is_found() {
        let bbox = r#"<doc><page width="960" height="540"><word xMin="1" yMin="10.0" xMax="60" yMax="27.5">Big</word><word xMin="1" yMin="30" xMax="60" yMax="45.5">code</word></page>
<page width="960" height="540"><word xMin="1" yMin="0" xMax="40" yMax="6.25">legend</word></page></doc>"#;
        let pages = smallest_words(bbox);
        assert_eq!(pages.len(), 2);
        assert_eq!(
            (pages[0].page, pages[0].height, pages[0].word.as_str()),
            (1, 15.5, "code")
        );
        assert_eq!((pages[1].height, pages[1].word.as_str()), (6.25, "legend"));
        // A word turned on its side (a y axis' label) is as tall as its box is wide.
        let turned = r#"<page width="960"><word xMin="0" yMin="0" xMax="18.9" yMax="65">speedup</word><word xMin="0" yMin="70" xMax="18.9" yMax="79.4">1</word></page>"#;
        assert_eq!(smallest_words(turned)[0].height, 18.9);
        // Narrow letters side by side are not a word on its side.
        assert_eq!(text_size("it", 14.1, 24.4), 24.4);
        assert_eq!(text_size("&", 10.7, 24.4), 24.4);
    }
}
