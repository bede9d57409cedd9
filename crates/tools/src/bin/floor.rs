//! The file-writing floor: the same number of files with the same bytes as a step writes, made
//! with nothing but `File::create` and one `write_all` each. No step that writes those files can
//! beat it, so a step's time divided by this one says how much is left to gain.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use gridgen_contract::Summary;

/// What the floor writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Floor {
    Npy,
    Txt,
    One,
}

#[derive(Parser)]
#[command(about = "Write n files of the size a step writes, as fast as plain writes go")]
struct Cli {
    #[arg(short = 'n', long = "n-files", default_value_t = 15)]
    n_files: usize,
    #[arg(short, long, default_value_t = 100)]
    size: usize,
    /// Which step's files to imitate: npy (steps 3-7), txt (steps 1-2), or one (all the
    /// arrays' bytes in one file, as the HDF5 steps write them)
    #[arg(long, value_enum, default_value_t = Floor::Npy)]
    format: Floor,
    #[arg(long, default_value = "output/floor")]
    dir: PathBuf,
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let s = cli.size;
    let bytes_per_file = match cli.format {
        // numpy's 128-byte header for a 2-D <f8 array, then 8 bytes a value.
        Floor::Npy => 128 + 8 * s * s,
        // `%.18e` is 24 characters for every value the field takes, plus a space or newline.
        Floor::Txt => 25 * s * s,
        // One file: every array's 8 bytes a value, one array at a time.
        Floor::One => 8 * s * s,
    };
    let content = vec![b'7'; bytes_per_file];
    let start = Instant::now();
    fs::create_dir_all(&cli.dir).with_context(|| format!("cannot create {}", cli.dir.display()))?;
    if cli.format == Floor::One {
        let path = cli.dir.join("data.bin");
        let mut file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        for _ in 0..cli.n_files {
            file.write_all(&content)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let ext = if cli.format == Floor::Txt {
        "txt"
    } else {
        "npy"
    };
    for file_id in (0..cli.n_files).filter(|_| cli.format != Floor::One) {
        let path = cli.dir.join(format!("data{file_id:05}.{ext}"));
        File::create(&path)
            .and_then(|mut f| f.write_all(&content))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let summary = Summary::new(
        "floor",
        cli.n_files,
        s,
        (bytes_per_file * cli.n_files) as u64,
        start.elapsed().as_secs_f64(),
    );
    println!(
        "{}",
        if cli.json {
            summary.json()
        } else {
            summary.line()
        }
    );
    Ok(())
}
