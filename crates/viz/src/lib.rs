//! The workshop's figures: profiles, timelines and diagrams.
//!
//! At the root, folded stacks, as `--flamegraph` writes them beside its SVG: one line per
//! distinct stack, `frame;frame;frame count` — what `flamegraph` (several runs drawn as one) and
//! `flamegraph-diff` (two steps compared) both need. [`trace`] reads a `--trace` file back,
//! [`svg`] draws, and [`diagrams`] are the explanatory pictures of the book and the deck.

pub mod diagrams;
pub mod svg;
pub mod trace;

use std::collections::{BTreeMap, BTreeSet};

/// inferno's drawing options for a flamegraph that a page or a slide shows scaled to its
/// width: 1000 pixels wide with 16-pixel text, so that it stays legible at about 750.
pub fn page_options(title: &str, subtitle: String) -> inferno::flamegraph::Options<'static> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.subtitle = Some(subtitle);
    options.image_width = Some(1000);
    options.font_size = 16;
    options.frame_height = 22;
    options.count_name = "samples".to_owned();
    options
}

/// inferno's drawing options for a flamegraph shown on a slide, 1200 pixels wide across the
/// 1280-pixel slide: 24-pixel text in 30-pixel frames, legible from the back of a room, and
/// no frame narrower than [`SLIDE_MIN_WIDTH`] (its samples stay in its caller's width), so that
/// the boxes left are the ones with room for a name.
pub fn slide_options(title: &str, subtitle: String) -> inferno::flamegraph::Options<'static> {
    let mut options = page_options(title, subtitle);
    options.image_width = Some(1200);
    options.font_size = 24;
    options.frame_height = 30;
    options.min_width = SLIDE_MIN_WIDTH;
    options
}

/// The narrowest frame a slide's flamegraph draws, as inferno takes it: a percentage of the
/// samples (2%: 24 pixels of the 1200).
pub const SLIDE_MIN_WIDTH: f64 = 2.0;

/// What stands for the library frames a slide's flamegraph leaves out between a call into a
/// library and the function the time went to.
pub const ELIDED: &str = "…";

/// `stacks` cut to what a slide can show: the frames of the workshop's own code, the first
/// frame of a library each calls (where our code hands over), and the stack's leaf (where the
/// time went), with [`ELIDED`] for the library frames in between. Library frames between two of
/// our functions (closures, iterator adapters) are left out. The roots (thread, rank) stay.
pub fn hot_path(stacks: &Folded) -> Folded {
    let mut out = Folded::new();
    for (frames, count) in stacks {
        let roots = frames.iter().take_while(|f| !f.contains("::")).count();
        let mut kept: Vec<String> = frames[..roots].to_vec();
        let body = &frames[roots..];
        let last_ours = body.iter().rposition(|f| is_ours(f));
        for (i, frame) in body.iter().enumerate() {
            let after_ours = last_ours.is_some_and(|l| i > l);
            let entry = last_ours.map_or(i == 0, |l| i == l + 1);
            let leaf = i + 1 == body.len();
            if is_ours(frame) && !after_ours || entry || leaf {
                if leaf && !entry && kept.last().is_some_and(|k| k != ELIDED) && after_ours {
                    let entry_at = last_ours.map_or(0, |l| l + 1);
                    if i > entry_at + 1 {
                        kept.push(ELIDED.to_owned());
                    }
                }
                kept.push(frame.clone());
            }
        }
        *out.entry(kept).or_default() += count;
    }
    out
}

/// A frame's name as a slide can show it: no generic arguments, no `as Trait` qualification,
/// and only the last two parts of its path (`gridgen_contract::text::savetxt` is
/// `text::savetxt`; `<std::io::BufWriter<W> as std::io::Write>::write_all` is
/// `BufWriter::write_all`).
pub fn short_name(frame: &str) -> String {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in frame.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    // `<A as B>::f` lost its brackets with the generics: keep A's last part and f.
    let qualified = frame
        .strip_prefix('<')
        .and_then(|inner| inner.split_once(" as "))
        .map(|(ty, _)| without_generics(ty));
    let path: Vec<&str> = match &qualified {
        Some(ty) => {
            let f = frame.rsplit("::").next().unwrap_or("");
            vec![ty.rsplit("::").next().unwrap_or(ty), f]
        }
        None => plain.split("::").filter(|p| !p.is_empty()).collect(),
    };
    let keep = path.len().saturating_sub(2);
    let short = path[keep..].join("::");
    if short.is_empty() {
        frame.to_owned()
    } else {
        short
    }
}

fn without_generics(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `stacks` with every frame's name shortened for a slide ([`short_name`]); stacks that become
/// the same add up.
pub fn short_names(stacks: &Folded) -> Folded {
    let mut out = Folded::new();
    for (frames, count) in stacks {
        let short = frames.iter().map(|f| short_name(f)).collect();
        *out.entry(short).or_default() += count;
    }
    out
}

/// Stacks (frames root first) and their sample counts.
pub type Folded = BTreeMap<Vec<String>, u64>;

/// Parses folded text, adding up the counts of stacks that occur more than once; a line
/// without a count is an error naming it.
pub fn parse(text: &str) -> Result<Folded, String> {
    let mut stacks = Folded::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, count) = line
            .rsplit_once(' ')
            .and_then(|(s, c)| Some((s, c.trim().parse::<u64>().ok()?)))
            .ok_or_else(|| format!("not a folded line: {line}"))?;
        let frames = stack.split(';').map(str::to_string).collect();
        *stacks.entry(frames).or_default() += count;
    }
    Ok(stacks)
}

/// Adds `more` into `into`.
pub fn add(into: &mut Folded, more: Folded) {
    for (stack, count) in more {
        *into.entry(stack).or_default() += count;
    }
}

/// The folded text of `stacks`.
pub fn render(stacks: &Folded) -> String {
    stacks
        .iter()
        .map(|(frames, count)| format!("{} {count}\n", frames.join(";")))
        .collect()
}

/// Every frame name in `stacks`.
pub fn frames(stacks: &Folded) -> BTreeSet<&str> {
    stacks.keys().flatten().map(String::as_str).collect()
}

/// `stacks` with every frame not in `keep` left out, its samples counted for its caller.
///
/// Two builds of the same code inline differently: a function that is a frame of its own in
/// one profile is part of its caller in the other, and a stack-by-stack comparison paints the
/// caller as grown although nothing changed. Keeping only the frames both profiles have compares
/// each function with everything it calls, in both.
pub fn keep_only(stacks: &Folded, keep: &BTreeSet<&str>) -> Folded {
    let mut out = Folded::new();
    for (frames, count) in stacks {
        let kept: Vec<String> = frames
            .iter()
            .filter(|f| keep.contains(f.as_str()))
            .cloned()
            .collect();
        if !kept.is_empty() {
            *out.entry(kept).or_default() += count;
        }
    }
    out
}

/// True for a frame of the workshop's own code: a step's crate or one of gridgen's.
fn is_ours(frame: &str) -> bool {
    let path = frame.trim_start_matches('<');
    let krate = path.split("::").next().unwrap_or("");
    path.contains("::") && (krate.starts_with("gridgen") || steps::find(krate).is_some())
}

/// The frames that start a process or a thread before any code runs.
const STARTUP: [&str; 6] = [
    "_start",
    "__libc_start_main_impl",
    "__libc_start_call_main",
    "main",
    "clone3",
    "start_thread",
];

/// What a stack is labelled with when none of its frames is the workshop's code.
pub const OUTSIDE: &str = "(start-up, runtime and kernel: not the workshop's code)";

/// `stacks` with the frames between a stack's roots (its rank and thread) and its first frame of
/// the workshop's code left out: Rust's start-up, `catch_unwind`, a thread's spawning, rayon's
/// scheduler. They are a third of a flamegraph's height and say nothing about the lesson. A
/// stack with no frame of the workshop's code is counted under [`OUTSIDE`].
pub fn from_our_code(stacks: &Folded) -> Folded {
    let mut out = Folded::new();
    for (frames, count) in stacks {
        let roots = frames
            .iter()
            .take_while(|f| !f.contains("::") && !STARTUP.contains(&f.as_str()))
            .count();
        let mut kept: Vec<String> = frames[..roots].to_vec();
        match frames[roots..].iter().position(|f| is_ours(f)) {
            Some(first) => kept.extend(frames[roots + first..].iter().cloned()),
            None => kept.push(OUTSIDE.to_owned()),
        }
        *out.entry(kept).or_default() += count;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_below_the_workshops_code_is_left_out() {
        let stacks = parse(
            "write;_start;main;std::rt::lang_start;write::main;gridgen_contract::text::savetxt 5\n\
             rank 0;write_mpi;_start;main;std::rt::lang_start 2\n\
             worker-0;clone3;start_thread;rayon_core::registry::main_loop;<gridgen::driver::output::Output>::create 1\n",
        )
        .unwrap();
        let trimmed = render(&from_our_code(&stacks));
        assert!(
            trimmed.contains("write;write::main;gridgen_contract::text::savetxt 5\n"),
            "{trimmed}"
        );
        assert!(
            trimmed.contains(&format!("rank 0;write_mpi;{OUTSIDE} 2\n")),
            "{trimmed}"
        );
        assert!(
            trimmed.contains("worker-0;<gridgen::driver::output::Output>::create 1\n"),
            "{trimmed}"
        );
    }

    #[test]
    fn the_hot_path_keeps_our_frames_the_call_into_a_library_and_the_leaf() {
        let stacks = parse(
            "write;write::main;core::ops::call_once;write::write_data;tempfile::persist;rustix::a;rustix::b;rustix::syscall 5\n\
             write;write::main;write::write_data;gridgen::text::savetxt 3\n\
             write;write::main;write::write_data;std::io::write_all;libc_write 2\n",
        )
        .unwrap();
        assert_eq!(
            render(&hot_path(&stacks)),
            "write;write::main;write::write_data;gridgen::text::savetxt 3\n\
             write;write::main;write::write_data;std::io::write_all;libc_write 2\n\
             write;write::main;write::write_data;tempfile::persist;…;rustix::syscall 5\n"
        );
    }

    #[test]
    fn slide_names_are_short() {
        assert_eq!(
            short_name("gridgen_contract::text::savetxt"),
            "text::savetxt"
        );
        assert_eq!(
            short_name("<std::io::buffered::bufwriter::BufWriter<W> as std::io::Write>::write_all"),
            "BufWriter::write_all"
        );
        assert_eq!(short_name("write::main::{{closure}}"), "main::{{closure}}");
        assert_eq!(short_name("__libc_write"), "__libc_write");
        assert_eq!(short_name("worker-0"), "worker-0");
        let stacks = parse("w;a::b::f 2\nw;c::b::f 3\n").unwrap();
        assert_eq!(render(&short_names(&stacks)), "w;b::f 5\n");
    }

    #[test]
    fn runs_add_up_and_inlined_frames_fold_into_their_caller() {
        let mut a = parse("main;write;format 3\nmain;write 1\n").unwrap();
        add(&mut a, parse("main;write;format 2\n").unwrap());
        assert_eq!(render(&a), "main;write 1\nmain;write;format 5\n");
        // In the other build `format` was inlined: compared on the frames both have, `write`
        // holds all six samples in both.
        let b = parse("main;write 6\n").unwrap();
        let both: BTreeSet<&str> = frames(&a).intersection(&frames(&b)).copied().collect();
        assert_eq!(render(&keep_only(&a, &both)), "main;write 6\n");
        assert!(parse("main;write\n").is_err());
    }
}
