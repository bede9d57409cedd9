//! Checks that a run's output folder holds exactly the arrays every step must write for its
//! parameters, bit for bit (used by `make slurm-test` on the jobs' output).

use std::path::PathBuf;

use anyhow::{ensure, Result};
use clap::Parser;
use tools::{compare_runs, load_run, reference, Format};

#[derive(Parser)]
#[command(about = "Check a run's output against the data contract, bit for bit")]
struct Cli {
    /// The output folder (.txt, .npy or one .h5 file, found by looking)
    dir: PathBuf,
    #[arg(short = 'n', long = "n-files")]
    n_files: usize,
    #[arg(short, long)]
    size: usize,
    #[arg(short, long, default_value = "data")]
    output: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let (prefix, dir) = (&cli.output, &cli.dir);
    let format = if dir.join(format!("{prefix}.h5")).is_file() {
        Format::H5
    } else if dir.join(format!("{prefix}00000.npy")).is_file() {
        Format::Npy
    } else {
        Format::Txt
    };
    let arrays = load_run(dir, prefix, format, cli.n_files)?;
    compare_runs(&reference(cli.n_files, cli.size), &arrays)?;
    if format == Format::H5 {
        let root = tools::read::load_h5(&dir.join(format!("{prefix}.h5")))?.root_attributes;
        let want = [
            ("n_files", cli.n_files as f64),
            ("size", cli.size as f64),
            ("x_origin", 0.0),
            ("y_origin", 500.0),
        ];
        for (key, value) in want {
            ensure!(
                root.get(key) == Some(&value),
                "root attribute {key} is {:?}, expected {value}",
                root.get(key)
            );
        }
    }
    println!(
        "compare: {} holds the {} expected arrays of {}×{} ({format:?}), bit for bit",
        dir.display(),
        cli.n_files,
        cli.size,
        cli.size
    );
    Ok(())
}
