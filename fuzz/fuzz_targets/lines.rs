//! Line breaks as the readers count them, for the properties that check reported line numbers:
//! shared by the fuzz targets and by tests/properties.rs (which includes this file), so the
//! oracle is written once and stays independent of the readers' own counting.

/// `\n`, or a lone `\r` (old-Mac files), plus one.
pub fn line_count(data: &[u8]) -> u64 {
    data.iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count() as u64
        + 1
}
