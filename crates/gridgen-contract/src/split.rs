//! Which file indices each MPI rank writes: `numpy.array_split`'s chunks of `0..n`, the split
//! the Python original makes and every MPI step (and the diagrams that show it) uses.

use std::ops::Range;

/// Splits the file indices `0..n_files` into `parts` contiguous chunks like
/// `numpy.array_split`: sizes differ by at most one, the larger chunks first. Some chunks are
/// empty when there are more parts than files.
pub fn array_split(n_files: usize, parts: usize) -> Vec<Range<usize>> {
    let (base, extra) = (n_files / parts, n_files % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let len = base + usize::from(p < extra);
            start += len;
            start - len..start
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::array_split;

    #[test]
    fn chunks_are_sized_like_numpy_array_split() {
        assert_eq!(array_split(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(array_split(12, 4), vec![0..3, 3..6, 6..9, 9..12]);
        assert_eq!(array_split(3, 5), vec![0..1, 1..2, 2..3, 3..3, 3..3]);
        assert_eq!(array_split(7, 1), vec![0..7]);
        for (n, parts) in [(1, 1), (7, 3), (100, 7), (5, 64)] {
            let chunks = array_split(n, parts);
            assert_eq!(chunks.len(), parts);
            assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), n);
            assert!(chunks
                .windows(2)
                .all(|w| w[0].end == w[1].start && w[0].len() >= w[1].len()));
            assert!(chunks[0].len() - chunks[parts - 1].len() <= 1);
        }
    }
}
