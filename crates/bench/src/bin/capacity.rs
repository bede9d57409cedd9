//! The machine's parallel capacity: the same fixed CPU work on each of `-w` threads at once.
//! On a machine whose cores are really free, `-w 2` takes as long as `-w 1`; on a shared one it
//! takes longer. The benchmark turns that into "the machine gave k× for W threads" and measures
//! every parallel step's speedup against it, not against W.

use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Fixed CPU work on W threads at once: what the machine gives W threads right now"
)]
struct Cli {
    /// Threads, each doing the whole work
    #[arg(short, long, default_value_t = 1)]
    workers: usize,
    /// Units of work per thread (one unit is a few milliseconds)
    #[arg(long, default_value_t = 40)]
    units: u64,
}

fn main() {
    let cli = Cli::parse();
    let workers = cli.workers.max(1);
    let seconds = tools::capacity::seconds(workers, cli.units);
    // The summary line the runner reads: the work is "files" of size 0.
    let summary = gridgen_contract::Summary::new("capacity", workers, 0, 0, seconds);
    println!("{}", summary.json());
}
