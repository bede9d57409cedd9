//! What one value of the text step costs, in one process: the field, the formatter, and the two
//! together as `write_vectorized` runs them (`cargo bench -p gridgen-contract --bench text`, or
//! `make bench-text`). Each benchmark works on one 1000 × 1000 grid of the workshop's own
//! values and counts values, so divan prints the time a value beside the throughput.
//!
//! Rust's exact `{:.18e}` is measured too, as the yardstick the fast path must beat and match.

use std::hint::black_box;
use std::io::Write;

use divan::counter::ItemsCount;
use divan::Bencher;
use gridgen_contract::field::{axes, generate_data, meshgrid};
use gridgen_contract::text::{push_e18, savetxt};
use ndarray::Array2;

const SIZE: usize = 1000;

fn main() {
    divan::main();
}

fn grid() -> (Array2<f64>, Array2<f64>) {
    let (x, y) = axes(SIZE);
    meshgrid(&x, &y)
}

fn values() -> Array2<f64> {
    let (xx, yy) = grid();
    generate_data(&xx, &yy, 1000, 417)
}

#[divan::bench]
fn field(bencher: Bencher) {
    let (xx, yy) = grid();
    bencher
        .counter(ItemsCount::new(SIZE * SIZE))
        .bench(|| generate_data(black_box(&xx), black_box(&yy), 1000, 417));
}

/// Times `format` turning the workshop's values into text in an emptied buffer, counting values.
fn per_value(bencher: Bencher, format: impl Fn(&mut Vec<u8>, &Array2<f64>)) {
    let data = values();
    let mut out = Vec::with_capacity(SIZE * SIZE * 25);
    bencher
        .counter(ItemsCount::new(SIZE * SIZE))
        .bench_local(|| {
            out.clear();
            format(&mut out, black_box(&data));
            out.len()
        });
}

#[divan::bench]
fn formatter(bencher: Bencher) {
    per_value(bencher, |out, data| {
        for &v in data {
            push_e18(out, v);
        }
    });
}

/// The text step's own loop at its benchmark size: 100 files of 100 × 100, each computed and
/// formatted, the text thrown away as it is made (`io::sink`), so what is timed is the code
/// and not the file system.
#[divan::bench]
fn field_and_savetxt(bencher: Bencher) {
    const FILES: usize = 100;
    let (x, y) = axes(100);
    let (xx, yy) = meshgrid(&x, &y);
    bencher
        .counter(ItemsCount::new(FILES * 100 * 100))
        .bench(|| {
            let mut written = 0;
            for file_id in 0..FILES {
                let data = generate_data(black_box(&xx), black_box(&yy), FILES, file_id);
                written += savetxt(std::io::sink(), &data).unwrap_or(0);
            }
            written
        });
}

#[divan::bench(sample_count = 10)]
fn rust_lower_exp(bencher: Bencher) {
    per_value(bencher, |out, data| {
        for &v in data {
            let _ = write!(out, "{v:.18e}");
        }
    });
}
