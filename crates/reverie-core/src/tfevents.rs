//! TensorBoard event files (`events.out.tfevents.<unix_secs>.<host>`), written by hand so
//! that a run's scalar metrics show in TensorBoard under the same names as `metrics.csv`
//! (`charts/episodic_return`, `losses/td_loss`, ...) without a protobuf or TensorFlow
//! dependency.
//!
//! The format has two layers:
//!
//! - **TFRecord framing** (`tensorflow/core/lib/io/record_writer.cc`): each record is
//!   `u64 LE length`, `u32 LE masked CRC32C of the 8 length bytes`, `data`,
//!   `u32 LE masked CRC32C of data`, where
//!   `mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8` (`tensorflow/core/lib/hash/crc32c.h`).
//! - **Data**: one protobuf `tensorflow.Event` per record
//!   (`tensorflow/core/util/event.proto`): field 1 `wall_time` (double), field 2 `step`
//!   (int64), field 3 `file_version` (string; the first record of a file carries
//!   `"brain.Event:2"`), field 5 `summary` (`tensorflow.Summary`, `summary.proto`: repeated
//!   field 1 `Value { 1: tag string, 2: simple_value float }`).
//!
//! [`TfEventsWriter`] buffers records and appends them at [`TfEventsWriter::flush`], which
//! returns the file length; a checkpoint can store that length and
//! [`TfEventsWriter::reopen`] truncates back to it on resume, so records logged after the
//! checkpoint (and replayed after the resume) are not shown twice. [`read_scalars`] reads a
//! file back, checking every CRC.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Version string TensorBoard expects in the first record of an event file
/// (`tensorflow/core/util/events_writer.cc`, `kVersionPrefix` + 2).
const FILE_VERSION: &str = "brain.Event:2";

/// Bytes of framing before a record's data: the u64 length and its masked CRC.
const HEADER_LEN: usize = 12;
/// Bytes of framing after a record's data: its masked CRC.
const FOOTER_LEN: usize = 4;

// ---------------------------------------------------------------------------------------
// CRC32C (Castagnoli), as TFRecord uses it.
// ---------------------------------------------------------------------------------------

/// Lookup table for the reflected Castagnoli polynomial 0x82F63B78, built at compile time.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC32C of `data` (initial value and final xor 0xFFFFFFFF, as in RFC 3720 / TensorFlow).
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC32C_TABLE[((crc ^ byte as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TFRecord's masked CRC: TensorFlow masks stored CRCs because a CRC of data that itself
/// contains CRCs is weak (`crc32c.h`, `Mask`).
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    // (crc >> 15) | (crc << 17) in TensorFlow's spelling.
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one TFRecord (length, its CRC, data, data CRC) to `out`.
fn frame_record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

// ---------------------------------------------------------------------------------------
// Protobuf encoding (https://protobuf.dev/programming-guides/encoding/).
// ---------------------------------------------------------------------------------------

/// Wire type of varint fields (int64 `step`).
const WIRE_VARINT: u8 = 0;
/// Wire type of 8-byte fields (double `wall_time`).
const WIRE_FIXED64: u8 = 1;
/// Wire type of length-delimited fields (strings, nested messages).
const WIRE_LEN: u8 = 2;
/// Wire type of 4-byte fields (float `simple_value`).
const WIRE_FIXED32: u8 = 5;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, WIRE_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The `Event` fields every record has: wall_time (1) and step (2).
fn event_head(wall_time: f64, step: u64) -> Vec<u8> {
    let mut ev = Vec::with_capacity(64);
    put_key(&mut ev, 1, WIRE_FIXED64);
    ev.extend_from_slice(&wall_time.to_le_bytes());
    // int64 is encoded as the varint of its two's-complement u64, so a u64 step below
    // 2^63 reads back unchanged as int64.
    put_key(&mut ev, 2, WIRE_VARINT);
    put_varint(&mut ev, step);
    ev
}

/// An `Event { wall_time, step, summary { value { tag, simple_value } } }`.
fn scalar_event(step: u64, tag: &str, value: f32, wall_time: f64) -> Vec<u8> {
    let mut val = Vec::with_capacity(tag.len() + 8);
    put_bytes(&mut val, 1, tag.as_bytes());
    // simple_value sits in a oneof, so it is written even when 0.0 (proto3 would otherwise
    // omit a default) and a reader can tell a scalar from an image or histogram value.
    put_key(&mut val, 2, WIRE_FIXED32);
    val.extend_from_slice(&value.to_le_bytes());
    let mut summary = Vec::with_capacity(val.len() + 4);
    put_bytes(&mut summary, 1, &val);
    let mut ev = event_head(wall_time, step);
    put_bytes(&mut ev, 5, &summary);
    ev
}

/// The first event of a file: `Event { wall_time, step: 0, file_version: "brain.Event:2" }`.
fn version_event(wall_time: f64) -> Vec<u8> {
    let mut ev = event_head(wall_time, 0);
    put_bytes(&mut ev, 3, FILE_VERSION.as_bytes());
    ev
}

// ---------------------------------------------------------------------------------------
// Writer.
// ---------------------------------------------------------------------------------------

/// Appends scalar summaries to a TensorBoard event file.
///
/// Records are buffered in memory and written at [`flush`](Self::flush) (and, best effort,
/// when the writer is dropped).
#[derive(Debug)]
pub struct TfEventsWriter {
    path: PathBuf,
    file: File,
    /// Framed records not yet written.
    pending: Vec<u8>,
    /// Length of the file as of the last successful flush.
    len: u64,
}

impl TfEventsWriter {
    /// Creates `dir/events.out.tfevents.<secs>.<host>` and writes the file_version record.
    ///
    /// `dir` must exist. An existing file is never overwritten: if a file of that name is
    /// already there (two writers in the same second), `.1`, `.2`, ... is appended to the
    /// name; TensorBoard picks up any file whose name contains `tfevents`.
    pub fn create(dir: &Path) -> io::Result<Self> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let base = format!("events.out.tfevents.{}.{}", now.as_secs(), hostname());
        let mut suffix = 0u32;
        let (path, file) = loop {
            let name = if suffix == 0 {
                base.clone()
            } else {
                format!("{base}.{suffix}")
            };
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && suffix < 1000 => suffix += 1,
                Err(e) => return Err(e),
            }
        };
        let mut writer = Self {
            path,
            file,
            pending: Vec::new(),
            len: 0,
        };
        frame_record(&mut writer.pending, &version_event(now.as_secs_f64()));
        writer.flush()?;
        Ok(writer)
    }

    /// Reopens an existing event file for appending after truncating it to `len` bytes
    /// (resume after a crash: records written after the last checkpoint are dropped).
    ///
    /// `len` is normally a value [`flush`](Self::flush) returned. It is checked: the file
    /// must be at least `len` bytes long and its first `len` bytes must be whole records
    /// with valid CRCs, so a wrong length cannot leave a torn record in the middle of the
    /// file. `len == 0` starts the file over with a new file_version record.
    pub fn reopen(path: &Path, len: u64) -> io::Result<Self> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        let actual = file.metadata()?.len();
        if actual < len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: cannot resume at byte {len}, the file has only {actual} bytes",
                    path.display()
                ),
            ));
        }
        let mut prefix = Vec::with_capacity(len as usize);
        (&mut file).take(len).read_to_end(&mut prefix)?;
        for record in Records::new(&prefix) {
            record.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: cannot resume at byte {len}, it is not a record boundary \
                         of a valid file: {e}",
                        path.display()
                    ),
                )
            })?;
        }
        file.set_len(len)?;
        file.seek(SeekFrom::Start(len))?;
        let mut writer = Self {
            path: path.to_path_buf(),
            file,
            pending: Vec::new(),
            len,
        };
        if len == 0 {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            frame_record(&mut writer.pending, &version_event(now.as_secs_f64()));
            writer.flush()?;
        }
        Ok(writer)
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one scalar (buffered).
    ///
    /// `wall_time` is seconds since the Unix epoch (TensorBoard's "wall" and "relative"
    /// axes use it). The value is stored as f32, the type of `Summary.Value.simple_value`;
    /// non-finite values are written as they are, and TensorBoard shows them as NaN/inf.
    pub fn scalar(&mut self, step: u64, tag: &str, value: f64, wall_time: f64) -> io::Result<()> {
        frame_record(
            &mut self.pending,
            &scalar_event(step, tag, value as f32, wall_time),
        );
        Ok(())
    }

    /// Flushes buffered records to the file; returns the file's length after the flush.
    ///
    /// The data is synced to disk (`sync_data`), so a length stored in a checkpoint after
    /// this returns is still valid after a power loss. If the write fails, the file is cut
    /// back to its previous length and the records stay buffered, so a retry does not
    /// leave a partial record behind.
    pub fn flush(&mut self) -> io::Result<u64> {
        if self.pending.is_empty() {
            return Ok(self.len);
        }
        let result = self
            .file
            .write_all(&self.pending)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = result {
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += self.pending.len() as u64;
        self.pending.clear();
        Ok(self.len)
    }
}

impl Drop for TfEventsWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// This machine's name for the file name: `/etc/hostname`, else `$HOSTNAME`, else
/// `localhost`; path separators and other awkward characters become `_`, so the name
/// stays one path component.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_string());
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Reader.
// ---------------------------------------------------------------------------------------

/// Iterates over the records of an event file held in memory, checking framing and CRCs.
/// Yields `(offset, data)`; after an error it stops.
struct Records<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            failed: false,
        }
    }

    fn next_record(&mut self) -> io::Result<(usize, &'a [u8])> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let torn = |what: String| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated record at offset {start} (torn write?): {what}"),
            )
        };
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("damaged record at offset {start}: {what}"),
            )
        };
        if rest.len() < HEADER_LEN {
            return Err(torn(format!(
                "{} bytes left, a record header is {HEADER_LEN}",
                rest.len()
            )));
        }
        let len_bytes = &rest[..8];
        let stored = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes"));
        if stored != masked_crc(len_bytes) {
            return Err(bad("length CRC mismatch"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
        let needed = (HEADER_LEN + FOOTER_LEN) as u64 + len;
        if (rest.len() as u64) < needed {
            return Err(torn(format!(
                "the record needs {needed} bytes, the file has {} left",
                rest.len()
            )));
        }
        let len = len as usize;
        let data = &rest[HEADER_LEN..HEADER_LEN + len];
        let stored = u32::from_le_bytes(
            rest[HEADER_LEN + len..HEADER_LEN + len + FOOTER_LEN]
                .try_into()
                .expect("4 bytes"),
        );
        if stored != masked_crc(data) {
            return Err(bad("data CRC mismatch"));
        }
        self.pos = start + HEADER_LEN + len + FOOTER_LEN;
        Ok((start, data))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = io::Result<(usize, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos == self.bytes.len() {
            return None;
        }
        let item = self.next_record();
        self.failed = item.is_err();
        Some(item)
    }
}

/// A protobuf field value as read off the wire.
enum Field<'a> {
    Varint(u64),
    /// Only `Event.wall_time` has this wire type, and [`read_scalars`] does not return it.
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// Reads the fields of one protobuf message; `Err` carries a short reason.
fn parse_message(mut buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, &'static str> {
    fn varint(buf: &mut &[u8]) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first().ok_or("truncated varint")?;
            *buf = rest;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes")
    }
    fn take<'b>(buf: &mut &'b [u8], n: usize) -> Result<&'b [u8], &'static str> {
        if buf.len() < n {
            return Err("field runs past the end of its message");
        }
        let (head, rest) = buf.split_at(n);
        *buf = rest;
        Ok(head)
    }
    let mut fields = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let field = match (key & 7) as u8 {
            WIRE_VARINT => Field::Varint(varint(&mut buf)?),
            WIRE_FIXED64 => {
                take(&mut buf, 8)?;
                Field::Fixed64
            }
            WIRE_LEN => {
                let n = varint(&mut buf)?;
                let n = usize::try_from(n).map_err(|_| "length too large")?;
                Field::Bytes(take(&mut buf, n)?)
            }
            WIRE_FIXED32 => Field::Fixed32(take(&mut buf, 4)?.try_into().expect("4 bytes")),
            _ => return Err("unsupported wire type"),
        };
        fields.push((key >> 3, field));
    }
    Ok(fields)
}

/// The scalars of one `Event`: `(step, tag, simple_value)` for every summary value that
/// has a `simple_value`; other summary kinds (images, histograms) are skipped.
fn event_scalars(data: &[u8]) -> Result<Vec<(u64, String, f32)>, &'static str> {
    let mut step = 0u64;
    let mut values = Vec::new();
    for (field, value) in parse_message(data)? {
        match (field, value) {
            (2, Field::Varint(v)) => step = v,
            (5, Field::Bytes(summary)) => {
                for (field, value) in parse_message(summary)? {
                    if let (1, Field::Bytes(val)) = (field, value) {
                        let mut tag = None;
                        let mut simple = None;
                        for (field, value) in parse_message(val)? {
                            match (field, value) {
                                (1, Field::Bytes(t)) => {
                                    tag = Some(
                                        String::from_utf8(t.to_vec())
                                            .map_err(|_| "tag is not UTF-8")?,
                                    )
                                }
                                (2, Field::Fixed32(f)) => simple = Some(f32::from_le_bytes(f)),
                                _ => {}
                            }
                        }
                        if let (Some(tag), Some(simple)) = (tag, simple) {
                            values.push((tag, simple));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(values.into_iter().map(|(tag, v)| (step, tag, v)).collect())
}

/// Reads back the scalars of an event file: (step, tag, value) (for tests and for tools).
///
/// Every record's length CRC and data CRC are checked. A damaged record is refused with an
/// error of kind [`io::ErrorKind::InvalidData`] naming its byte offset; a file that ends in
/// the middle of a record (a torn write) is refused with kind
/// [`io::ErrorKind::UnexpectedEof`], also naming the offset where the record starts.
pub fn read_scalars(path: &Path) -> io::Result<Vec<(u64, String, f32)>> {
    let bytes = std::fs::read(path)?;
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let mut scalars = Vec::new();
    for record in Records::new(&bytes) {
        let (offset, data) = record.map_err(with_path)?;
        let found = event_scalars(data).map_err(|why| {
            with_path(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("record at offset {offset} is not a valid Event: {why}"),
            ))
        })?;
        scalars.extend(found);
    }
    Ok(scalars)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty folder under the system temp dir for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("reverie-tfevents-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn crc32c_known_vector() {
        // The check value of CRC-32C (RFC 3720, B.4; the "123456789" catalogue vector).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // 32 zero bytes, RFC 3720 B.4.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn varint_encoding() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
        out.clear();
        put_varint(&mut out, u64::MAX);
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn write_and_read_back() {
        let dir = temp_dir("roundtrip");
        let mut w = TfEventsWriter::create(&dir).unwrap();
        let name = w.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("events.out.tfevents."), "{name}");
        w.scalar(10, "charts/episodic_return", 1.5, 1.0e9).unwrap();
        w.scalar(20, "losses/td_loss", 0.0, 1.0e9 + 1.0).unwrap();
        w.scalar(30, "losses/td_loss", f64::NAN, 1.0e9 + 2.0)
            .unwrap();
        w.scalar(u64::from(u32::MAX) + 7, "charts/SPS", -2.25, 1.0e9 + 3.0)
            .unwrap();
        let len = w.flush().unwrap();
        assert_eq!(len, std::fs::metadata(w.path()).unwrap().len());
        let back = read_scalars(w.path()).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[0], (10, "charts/episodic_return".to_string(), 1.5));
        assert_eq!(back[1], (20, "losses/td_loss".to_string(), 0.0));
        assert_eq!((back[2].0, back[2].1.as_str()), (30, "losses/td_loss"));
        assert!(back[2].2.is_nan());
        assert_eq!(
            back[3],
            (u64::from(u32::MAX) + 7, "charts/SPS".to_string(), -2.25)
        );
        // A second writer in the same folder (possibly the same second) gets its own file.
        let w2 = TfEventsWriter::create(&dir).unwrap();
        assert_ne!(w2.path(), w.path());
        assert!(read_scalars(w2.path()).unwrap().is_empty());
        drop((w, w2));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopen_truncates_later_records() {
        let dir = temp_dir("reopen");
        let mut w = TfEventsWriter::create(&dir).unwrap();
        w.scalar(1, "charts/episodic_return", 1.0, 1.0).unwrap();
        let checkpoint = w.flush().unwrap();
        w.scalar(2, "charts/episodic_return", 2.0, 2.0).unwrap();
        w.scalar(3, "charts/episodic_return", 3.0, 3.0).unwrap();
        w.flush().unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        assert_eq!(read_scalars(&path).unwrap().len(), 3);

        // A length in the middle of a record is refused and leaves the file alone.
        let err = TfEventsWriter::reopen(&path, checkpoint + 5).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        let err = TfEventsWriter::reopen(&path, 1 << 40).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert_eq!(read_scalars(&path).unwrap().len(), 3);

        let mut w = TfEventsWriter::reopen(&path, checkpoint).unwrap();
        assert_eq!(w.path(), path);
        w.scalar(2, "charts/episodic_return", 20.0, 2.0).unwrap();
        let len = w.flush().unwrap();
        drop(w);
        assert_eq!(len, std::fs::metadata(&path).unwrap().len());
        let back = read_scalars(&path).unwrap();
        let steps: Vec<(u64, f32)> = back.iter().map(|(s, _, v)| (*s, *v)).collect();
        assert_eq!(steps, [(1, 1.0), (2, 20.0)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_and_torn_files_are_refused() {
        let dir = temp_dir("damaged");
        let mut w = TfEventsWriter::create(&dir).unwrap();
        let first = w.flush().unwrap() as usize;
        w.scalar(1, "charts/episodic_return", 1.0, 1.0).unwrap();
        w.scalar(2, "charts/episodic_return", 2.0, 2.0).unwrap();
        w.flush().unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let good = std::fs::read(&path).unwrap();

        // Every single flipped byte is caught, by one CRC or the other.
        for i in 0..good.len() {
            let mut bytes = good.clone();
            bytes[i] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            let err = read_scalars(&path).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                ),
                "byte {i}: {err}"
            );
        }
        // A flipped byte in the second record's data names that record's offset.
        let mut bytes = good.clone();
        bytes[first + HEADER_LEN + 3] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_scalars(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let msg = err.to_string();
        assert!(msg.contains(&format!("offset {first}")), "{msg}");
        assert!(msg.contains("data CRC"), "{msg}");

        // A torn final record is reported as such.
        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let err = read_scalars(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("truncated record"), "{err}");
        std::fs::write(&path, &good[..good.len() - 1 - FOOTER_LEN - 20]).unwrap();
        assert_eq!(
            read_scalars(&path).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostname_is_one_path_component() {
        let host = hostname();
        assert!(!host.is_empty());
        assert!(!host.contains('/') && !host.contains('\\'), "{host}");
    }

    /// Writes a sample file for checking with TensorBoard itself:
    /// `TFEVENTS_SAMPLE_DIR=/some/dir cargo test -p reverie-core tfevents -- --ignored`.
    #[test]
    #[ignore = "writes a sample file for an external TensorBoard check"]
    fn write_sample_for_tensorboard() {
        let dir = PathBuf::from(std::env::var("TFEVENTS_SAMPLE_DIR").expect("set the folder"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = TfEventsWriter::create(&dir).unwrap();
        let t0 = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        for i in 0..5u64 {
            let t = t0 + i as f64;
            w.scalar(i * 100, "charts/episodic_return", 10.0 * i as f64 + 0.5, t)
                .unwrap();
            w.scalar(i * 100, "losses/td_loss", 1.0 / (i + 1) as f64, t)
                .unwrap();
        }
        w.scalar(500, "losses/td_loss", f64::NAN, t0 + 5.0).unwrap();
        w.flush().unwrap();
        println!("{}", w.path().display());
    }
}
