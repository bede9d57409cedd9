//! What a run said on stderr, read as a tutor reads it: each line with the rank that wrote it
//! (`mpirun` tags them, see [`tag_ranks`]), the launcher's banners, MPI's own teardown noise and
//! Rust's backtraces folded away, and a panic found and named — `rank 1 panicked at
//! src/main.rs:127:5: …` — whether the program's own hook or Rust's default one printed it.

use std::fmt;

/// The `mpirun` options that tag every line of output with the rank that wrote it.
pub fn tag_ranks(flavour: tools::Flavour) -> &'static [&'static str] {
    match flavour {
        tools::Flavour::OpenMpi => &["--tag-output"],
        tools::Flavour::Mpich => &["-prepend-rank"],
        tools::Flavour::Other => &[],
    }
}

/// One line of stderr, and the rank that wrote it when the launcher said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub rank: Option<usize>,
    pub text: String,
}

/// A panic, as the run reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub rank: Option<usize>,
    /// `src/main.rs:127:5`, when the report had one.
    pub place: Option<String>,
    pub message: String,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rank {
            Some(rank) => write!(f, "rank {rank} panicked")?,
            None => f.write_str("it panicked")?,
        }
        if let Some(place) = &self.place {
            write!(f, " at {place}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// `text` without Open MPI's `[1,3]<stderr>:` tags (it puts one before every piece it
/// forwards, so several can sit inside one line), and the rank of the first.
fn untag_open_mpi(text: &str) -> (Option<usize>, String) {
    let (mut rank, mut out, mut rest) = (None, String::new(), text);
    while let Some(at) = rest.find('[') {
        let tail = &rest[at..];
        let tag = tail
            .find("]<stderr>:")
            .map(|end| (end, "]<stderr>:"))
            .or_else(|| tail.find("]<stdout>:").map(|end| (end, "]<stdout>:")));
        match tag.filter(|(end, _)| is_tag(&tail[1..*end])) {
            Some((end, close)) => {
                out.push_str(&rest[..at]);
                if rank.is_none() {
                    rank = tail[1..end].split(',').nth(1).and_then(|r| r.parse().ok());
                }
                rest = &tail[end + close.len()..];
            }
            None => {
                out.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    (rank, out)
}

/// `1,3`: a job and a rank.
fn is_tag(inner: &str) -> bool {
    let parts: Vec<&str> = inner.split(',').collect();
    parts.len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The rank and text of a raw line: Open MPI's tags, or MPICH's `[3] ` before the line.
fn untag(raw: &str) -> (Option<usize>, String) {
    if raw.contains("]<stderr>:") || raw.contains("]<stdout>:") {
        return untag_open_mpi(raw);
    }
    if let Some(rest) = raw.strip_prefix('[') {
        if let Some((rank, text)) = rest.split_once("] ") {
            if let Ok(rank) = rank.parse() {
                return (Some(rank), text.to_owned());
            }
        }
    }
    (None, raw.to_owned())
}

/// Lines MPI prints about itself while a job ends: its daemons' `[host:pid]` reports
/// (`ORTE_ERROR_LOG: Data unpack would read past end of buffer`), MPICH's abort notice.
fn mpi_noise(text: &str) -> bool {
    let daemon = text.starts_with('[')
        && text.split_once("] ").is_some_and(|(head, _)| {
            head.contains(':')
                && head[1..]
                    .split(':')
                    .nth(1)
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        });
    // An Open MPI component's own report (`mca_fbtl_posix_pwritev: error in (p)write(v):…`):
    // the program's line says what failed.
    let component = text.starts_with("mca_") && text.contains(": ");
    daemon
        || component
        || text.contains("ORTE_ERROR_LOG")
        || text.contains("PMIX ERROR")
        || text.contains("application called MPI_Abort")
}

/// A line of Rust's backtrace, or its notes: the panic's message and place are enough here.
fn backtrace(text: &str) -> bool {
    let t = text.trim_start();
    t == "stack backtrace:"
        || t.starts_with("note: run with `RUST_BACKTRACE")
        || t.starts_with("note: Some details are omitted")
        || t.starts_with("at ") && text.starts_with(' ')
        || t.split_once(": ").is_some_and(|(n, _)| {
            !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && text.starts_with(' ')
        })
}

/// The program's own lines: untagged, without the banners MPI launchers print around theirs
/// (Open MPI's between lines of dashes, MPICH's between lines of `=`), MPI's noise, Rust's
/// backtraces and blank lines.
pub fn lines(stderr: &str) -> Vec<Line> {
    let rule =
        |l: &str| l.len() >= 10 && (l.chars().all(|c| c == '-') || l.chars().all(|c| c == '='));
    let mut in_banner = false;
    let mut out = Vec::new();
    for raw in stderr.lines() {
        let (rank, text) = untag(raw.trim_end());
        let text = text.trim_end().to_owned();
        if rule(&text) {
            in_banner = !in_banner;
            continue;
        }
        if in_banner || text.trim().is_empty() || mpi_noise(&text) || backtrace(&text) {
            continue;
        }
        out.push(Line { rank, text });
    }
    out
}

/// The texts of [`lines`].
pub fn program_lines(stderr: &str) -> Vec<String> {
    lines(stderr).into_iter().map(|l| l.text).collect()
}

/// The first panic in the run's lines: Rust's own report (`thread 'main' (123) panicked at
/// src/main.rs:12:5:` then the message) or a one-line hook's (`step: rank 1 panicked at
/// src/main.rs:12: message`).
pub fn first_panic(lines: &[Line]) -> Option<Panic> {
    let at = lines
        .iter()
        .position(|l| l.text.contains("panicked at") || l.text.contains(" panicked"))?;
    let line = &lines[at];
    let after = line
        .text
        .split_once("panicked")
        .map_or("", |(_, a)| a)
        .trim_start();
    let (place, inline) = match after.strip_prefix("at ") {
        Some(rest) => match rest.split_once(": ") {
            Some((place, message)) => (
                Some(place.trim_end_matches(':').to_owned()),
                message.to_owned(),
            ),
            None => (Some(rest.trim_end_matches(':').to_owned()), String::new()),
        },
        None => (None, after.trim_start_matches(':').trim().to_owned()),
    };
    // Rust's own report puts the message on the lines after, from the same rank.
    let message = if inline.is_empty() {
        lines[at + 1..]
            .iter()
            .filter(|l| l.rank == line.rank)
            .take_while(|l| !l.text.contains("panicked"))
            .take(3)
            .map(|l| l.text.trim())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        inline
    };
    let rank = line.rank.or_else(|| rank_in(&line.text));
    Some(Panic {
        rank,
        place,
        message,
    })
}

/// `rank 3` named in a line (`write_final: rank 3 panicked …`).
fn rank_in(text: &str) -> Option<usize> {
    let rest = &text[text.find("rank ")? + 5..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Each rank's last `k` lines (or the run's, untagged), the ranks in order.
pub fn last_lines(lines: &[Line], k: usize) -> Vec<(Option<usize>, Vec<String>)> {
    let mut ranks: Vec<Option<usize>> = lines.iter().map(|l| l.rank).collect();
    ranks.sort();
    ranks.dedup();
    ranks
        .into_iter()
        .map(|rank| {
            let mine: Vec<String> = lines
                .iter()
                .filter(|l| l.rank == rank)
                .map(|l| l.text.clone())
                .collect();
            (rank, mine[mine.len().saturating_sub(k)..].to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_banners_noise_and_backtraces_are_not_the_programs_lines() {
        let stderr = "step: cannot write x: Is a directory\nmca_fbtl_posix_pwritev: error in (p)write(v):No space left on device\n-----------\nPrimary job terminated\n-----------\n\n===================\nBAD TERMINATION\n===================\n[vm:01234] [[123,0],0] ORTE_ERROR_LOG: Data unpack would read past end of buffer in file x.c at line 3\nstack backtrace:\n   0: __rustc::rust_begin_unwind\n             at /rustc/library/std/src/panicking.rs:689:5\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            program_lines(stderr),
            vec!["step: cannot write x: Is a directory"]
        );
    }

    #[test]
    fn open_mpi_and_mpich_tags_give_the_rank() {
        let open = "[1,1]<stderr>:\n[1,1]<stderr>:thread 'main' (15616) panicked at capstone_mpi/src/main.rs:96:20:\n[1,1]<stderr>:rank 1 trips [1,1]<stderr>:over something\n[1,0]<stderr>:waiting\n";
        let lines = lines(open);
        assert_eq!(
            lines[0],
            Line {
                rank: Some(1),
                text: "thread 'main' (15616) panicked at capstone_mpi/src/main.rs:96:20:".into()
            }
        );
        assert_eq!(lines[1].text, "rank 1 trips over something");
        let panic = first_panic(&lines).unwrap();
        assert_eq!(
            panic.to_string(),
            "rank 1 panicked at capstone_mpi/src/main.rs:96:20: rank 1 trips over something"
        );
        assert_eq!(
            last_lines(&lines, 1)[0],
            (Some(0), vec!["waiting".to_string()])
        );
        let mpich = lines_of("[2] write_mpi: rank 2 panicked at src/main.rs:7: no file\n");
        assert_eq!(
            first_panic(&mpich).unwrap().to_string(),
            "rank 2 panicked at src/main.rs:7: no file"
        );
    }

    fn lines_of(text: &str) -> Vec<Line> {
        lines(text)
    }

    #[test]
    fn a_hooks_one_line_panic_names_its_rank_without_tags() {
        let lines = lines("write_final: rank 1 panicked at write_final/src/main.rs:127: trips\n");
        let panic = first_panic(&lines).unwrap();
        assert_eq!(panic.rank, Some(1));
        assert_eq!(panic.place.as_deref(), Some("write_final/src/main.rs:127"));
        assert_eq!(panic.message, "trips");
        assert!(first_panic(&[]).is_none());
        assert_eq!(tag_ranks(tools::Flavour::Other), &[] as &[&str]);
    }
}
