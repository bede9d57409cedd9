//! The machine's parallel capacity right now: the same fixed CPU work on each of `threads`
//! threads at once. On free cores two threads take as long as one; on a shared machine they
//! take longer. The benchmark and the exercise grader judge parallel speedups against it, not
//! against the thread count.

use std::time::Instant;

/// A few milliseconds of integer work that no compiler can skip or vectorize away.
fn unit(mut x: u64) -> u64 {
    for i in 0..2_000_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i) ^ (x >> 29);
    }
    x
}

/// Seconds for `threads` threads to do `units` units of work each, all at once.
pub fn seconds(threads: usize, units: u64) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|w| {
                scope.spawn(move || (0..units).fold(w as u64, |x, _| std::hint::black_box(unit(x))))
            })
            .collect();
        for handle in handles {
            let _ = handle.join();
        }
    });
    start.elapsed().as_secs_f64()
}

/// What `threads` threads get from the machine, as a speedup over one: `threads` on free
/// cores, less on a busy machine.
pub fn speedup(one: f64, many: f64, threads: usize) -> f64 {
    threads as f64 * one / many
}
