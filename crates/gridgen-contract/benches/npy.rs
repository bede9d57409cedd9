//! The binary step's writer against the npyz crate's two ways of writing a .npy file, in one
//! process and into memory, so that only the writers' own code is timed, not the filesystem
//! (`cargo bench -p gridgen-contract --bench npy`, or `make bench-text`). Each benchmark writes one
//! 100 × 100 array of the workshop's values and counts values, as the binary chapter's table does.

use std::hint::black_box;
use std::io::Write;

use divan::counter::ItemsCount;
use divan::Bencher;
use gridgen_contract::field::{axes, generate_data, meshgrid};
use ndarray::Array2;
use npyz::WriterBuilder;

const SIZE: usize = 100;

fn main() {
    divan::main();
}

fn values() -> Array2<f64> {
    let (x, y) = axes(SIZE);
    let (xx, yy) = meshgrid(&x, &y);
    generate_data(&xx, &yy, 1000, 417)
}

/// Times `write` writing the workshop's values into an emptied buffer, counting values.
fn per_value(bencher: Bencher, write: impl Fn(&mut Vec<u8>, &[f64]) -> std::io::Result<()>) {
    let data = values();
    let mut out = Vec::with_capacity(SIZE * SIZE * 8 + 128);
    bencher
        .counter(ItemsCount::new(SIZE * SIZE))
        .bench_local(|| {
            out.clear();
            let values = black_box(&data)
                .as_slice()
                .expect("a standard-layout array");
            write(&mut out, values).map(|()| out.len())
        });
}

/// What `write_vectorized_binary` does: gridgen's header, then the values in one write.
#[divan::bench]
fn header_and_one_write(bencher: Bencher) {
    per_value(bencher, |out, values| {
        out.write_all(&gridgen_contract::npy::header(&[SIZE, SIZE]))?;
        out.write_all(bytemuck::cast_slice(values))
    });
}

/// npyz's header only (its shape is spelled `(100, 100, )`), then the values in one write.
#[divan::bench]
fn npyz_header_only_and_one_write(bencher: Bencher) {
    per_value(bencher, |out, values| {
        npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&[SIZE as u64, SIZE as u64])
            .writer(&mut *out)
            .write_header_only()?;
        out.write_all(bytemuck::cast_slice(values))
    });
}

/// npyz's writer, fed the values one at a time (numpy's header bytes).
#[divan::bench]
fn npyz_value_by_value(bencher: Bencher) {
    per_value(bencher, |out, values| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .writer(std::io::Cursor::new(out))
            .begin_2d(SIZE as u64)?;
        writer.extend(values.iter().copied())?;
        writer.finish()
    });
}
