//! Checkpoint files: any state, sealed behind a versioned header and a checksum.
//!
//! A snapshot is `magic · version · kind · payload length · CRC-32 · payload`, where the
//! payload is the state encoded with bincode (fixed-width little-endian numbers, so f32 and
//! f64 values come back bit for bit). Opening checks each part and says which one failed:
//! a file that is not a reverie checkpoint, one from a newer format, one of another kind
//! (a DQN checkpoint loaded into SAC) or one whose bytes were damaged (flipped, truncated).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The first bytes of every reverie checkpoint.
pub const MAGIC: &[u8; 8] = b"REVERIE\0";

/// The format version written; older versions are read, newer ones refused.
pub const VERSION: u32 = 1;

/// Why a snapshot could not be opened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start with [`MAGIC`].
    #[error("not a reverie checkpoint (no REVERIE header)")]
    NotACheckpoint,
    /// Written by a newer reverie.
    #[error("checkpoint format {0} is newer than this reverie reads ({VERSION}); upgrade reverie")]
    NewerVersion(u32),
    /// Of another kind than asked for.
    #[error("this is a {found} checkpoint, not a {expected} one")]
    WrongKind {
        /// The kind asked for.
        expected: String,
        /// The kind in the file.
        found: String,
    },
    /// Truncated, or the checksum does not match: the file was damaged.
    #[error("checkpoint is damaged: {0}")]
    Damaged(String),
    /// The payload does not decode as the state asked for.
    #[error("checkpoint of kind {kind} does not decode: {reason}")]
    Decode {
        /// The kind.
        kind: String,
        /// The decoder's message.
        reason: String,
    },
}

/// Encodes `value` with bincode (no header: for states nested inside another snapshot).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    bincode::serialize(value).expect("in-memory states always encode")
}

/// Decodes bytes written by [`encode`]; `kind` names the state in the error.
pub fn decode<T: DeserializeOwned>(kind: &str, bytes: &[u8]) -> Result<T, SnapshotError> {
    bincode::deserialize(bytes).map_err(|e| SnapshotError::Decode {
        kind: kind.to_string(),
        reason: e.to_string(),
    })
}

/// [`crate::Agent::save_carry`] for an agent whose carry holds one serialisable `T` (or
/// nothing yet, saved as no bytes); `None` for a carry of another type.
pub fn save_carry<T: Serialize + 'static>(carry: &crate::Carry) -> Option<Vec<u8>> {
    if carry.is_none() {
        return Some(Vec::new());
    }
    carry.get::<T>().map(encode)
}

/// [`crate::Agent::load_carry`] for [`save_carry`]'s bytes: no bytes give an empty carry.
pub fn load_carry<T: DeserializeOwned + Send + 'static>(
    kind: &str,
    bytes: &[u8],
) -> Result<crate::Carry, String> {
    if bytes.is_empty() {
        return Ok(crate::Carry::none());
    }
    let state: T = decode(kind, bytes).map_err(|e| e.to_string())?;
    Ok(crate::Carry::new(state))
}

/// Seals `payload` as a checkpoint of `kind` (e.g. `dqn`, `run`).
pub fn seal(kind: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 32 + kind.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(kind.len() as u16).to_le_bytes());
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(kind, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// CRC-32 over the kind and the payload, so a damaged kind is caught as well.
fn checksum(kind: &str, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind.as_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// The kind and payload of a sealed checkpoint, after checking its header and checksum.
pub fn unseal(bytes: &[u8]) -> Result<(&str, &[u8]), SnapshotError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::NotACheckpoint);
    }
    let short = || SnapshotError::Damaged(format!("truncated at {} bytes", bytes.len()));
    let mut at = MAGIC.len();
    let mut take = |n: usize| -> Result<&[u8], SnapshotError> {
        let part = bytes.get(at..at + n).ok_or_else(short)?;
        at += n;
        Ok(part)
    };
    let version = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    if version > VERSION {
        return Err(SnapshotError::NewerVersion(version));
    }
    let kind_len = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes")) as usize;
    let kind = std::str::from_utf8(take(kind_len)?)
        .map_err(|_| SnapshotError::Damaged("the kind is not text".into()))?;
    let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    let payload = &bytes[at..];
    if payload.len() as u64 != len {
        return Err(SnapshotError::Damaged(format!(
            "{} bytes of payload, the header says {len}",
            payload.len()
        )));
    }
    if checksum(kind, payload) != crc {
        return Err(SnapshotError::Damaged("checksum mismatch".into()));
    }
    Ok((kind, payload))
}

/// The payload of a sealed checkpoint of `kind`.
pub fn open<'a>(kind: &str, bytes: &'a [u8]) -> Result<&'a [u8], SnapshotError> {
    let (found, payload) = unseal(bytes)?;
    if found != kind {
        return Err(SnapshotError::WrongKind {
            expected: kind.to_string(),
            found: found.to_string(),
        });
    }
    Ok(payload)
}

/// [`encode`] then [`seal`].
pub fn save<T: Serialize + ?Sized>(kind: &str, value: &T) -> Vec<u8> {
    seal(kind, &encode(value))
}

/// [`open`] then [`decode`].
pub fn load<T: DeserializeOwned>(kind: &str, bytes: &[u8]) -> Result<T, SnapshotError> {
    decode(kind, open(kind, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_bit_for_bit() {
        let value = (
            vec![0.1f32, f32::MIN_POSITIVE, -0.0],
            1e-300f64,
            "x".to_string(),
        );
        let bytes = save("test", &value);
        let back: (Vec<f32>, f64, String) = load("test", &bytes).unwrap();
        assert_eq!(
            back.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            value.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(back.1.to_bits(), value.1.to_bits());
    }

    #[test]
    fn every_damage_is_named() {
        let bytes = save("dqn", &vec![1u64, 2, 3]);
        assert_eq!(
            load::<Vec<u64>>("sac", &bytes).unwrap_err(),
            SnapshotError::WrongKind {
                expected: "sac".into(),
                found: "dqn".into()
            }
        );
        assert_eq!(
            open("dqn", b"{\"algo\":1}").unwrap_err(),
            SnapshotError::NotACheckpoint
        );
        for i in MAGIC.len() + 4..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x10;
            assert!(
                load::<Vec<u64>>("dqn", &flipped).is_err(),
                "flip at {i} went unnoticed"
            );
        }
        let err = open("dqn", &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, SnapshotError::Damaged(_)), "{err}");
        let mut newer = bytes.clone();
        newer[MAGIC.len()] = 9;
        assert_eq!(
            open("dqn", &newer).unwrap_err(),
            SnapshotError::NewerVersion(9)
        );
    }
}
