//! The machine's parallel capacity: the same fixed CPU work on each of `-w` threads at once.
//! On a machine whose cores are really free, `-w 2` takes as long as `-w 1`; on a shared one it
//! takes longer. The benchmark turns that into "the machine gave k× for W threads" and measures
//! every parallel step's speedup against it, not against W.

use std::time::Instant;

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

/// A few milliseconds of integer work that no compiler can skip or vectorize away.
fn unit(mut x: u64) -> u64 {
    for i in 0..2_000_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i) ^ (x >> 29);
    }
    x
}

fn main() {
    let cli = Cli::parse();
    let start = Instant::now();
    let results: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cli.workers.max(1))
            .map(|w| {
                scope.spawn(move || {
                    (0..cli.units).fold(w as u64, |x, _| std::hint::black_box(unit(x)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    // The summary line the runner reads: the work is "files" of size 0.
    let summary = gridgen::Summary::new(
        "capacity",
        results.len(),
        0,
        0,
        start.elapsed().as_secs_f64(),
    );
    println!("{}", summary.json());
}
