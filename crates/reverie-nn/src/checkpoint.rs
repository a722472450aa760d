//! Checkpoints: tensors in safetensors format plus a JSON file of metadata (shapes,
//! normalisers, hyperparameters), both written atomically. Loading refuses missing, corrupt
//! or mismatched files with an error that says which.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use reverie_core::atomic::write_atomic;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Writing failed.
    #[error("cannot write checkpoint {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The files are missing, unreadable or damaged.
    #[error("checkpoint {path} is unreadable or corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The checkpoint does not belong to this model.
    #[error("checkpoint {path} does not match this model: {reason}")]
    Mismatch {
        /// The file.
        path: String,
        /// What differs.
        reason: String,
    },
}

/// The metadata file beside `tensors_path` (`x.safetensors` → `x.json`).
pub fn metadata_path(tensors_path: &Path) -> PathBuf {
    tensors_path.with_extension("json")
}

/// Saves `tensors` to `path` (safetensors) and `metadata` plus every tensor's shape to the
/// JSON file beside it. Both are written to temporary files first and renamed into place.
pub fn save(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    metadata: &serde_json::Value,
) -> Result<(), CheckpointError> {
    let err = |reason: String| CheckpointError::Write {
        path: path.display().to_string(),
        reason,
    };
    let tmp = path.with_extension(format!("safetensors.tmp-{}", std::process::id()));
    candle_core::safetensors::save(tensors, &tmp).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e.to_string())
    })?;
    let shapes: BTreeMap<&String, Vec<usize>> = tensors
        .iter()
        .map(|(k, t)| (k, t.dims().to_vec()))
        .collect();
    let meta = serde_json::json!({ "format": "reverie-checkpoint-1", "shapes": shapes, "metadata": metadata });
    let text = serde_json::to_string_pretty(&meta).map_err(|e| err(e.to_string()))?;
    write_atomic(&metadata_path(path), text.as_bytes()).map_err(|e| err(e.to_string()))
}

/// Loads a checkpoint written by [`save`]: returns the tensors and the metadata. Every
/// tensor listed in the JSON must be present with the listed shape.
pub fn load(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, serde_json::Value), CheckpointError> {
    let corrupt = |reason: String| CheckpointError::Corrupt {
        path: path.display().to_string(),
        reason,
    };
    let meta_text = std::fs::read_to_string(metadata_path(path))
        .map_err(|e| corrupt(format!("metadata: {e}")))?;
    let meta: serde_json::Value =
        serde_json::from_str(&meta_text).map_err(|e| corrupt(format!("metadata: {e}")))?;
    if meta["format"] != "reverie-checkpoint-1" {
        return Err(corrupt("metadata is not a reverie checkpoint".into()));
    }
    let tensors =
        candle_core::safetensors::load(path, device).map_err(|e| corrupt(e.to_string()))?;
    let shapes = meta["shapes"]
        .as_object()
        .ok_or_else(|| corrupt("metadata has no shapes".into()))?;
    for (name, shape) in shapes {
        let want: Vec<usize> = shape
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_u64().map(|d| d as usize))
                    .collect()
            })
            .unwrap_or_default();
        match tensors.get(name) {
            Some(t) if t.dims() == want.as_slice() => {}
            Some(t) => {
                return Err(corrupt(format!(
                    "tensor `{name}` has shape {:?}, metadata says {want:?}",
                    t.dims()
                )))
            }
            None => return Err(corrupt(format!("tensor `{name}` is missing"))),
        }
    }
    Ok((tensors, meta["metadata"].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_detection() {
        let dir = std::env::temp_dir().join(format!("reverie-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        let t = Tensor::arange(0f32, 6., &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap();
        let tensors = HashMap::from([("w".to_string(), t)]);
        save(&path, &tensors, &serde_json::json!({"obs_dim": 3})).unwrap();
        let (back, meta) = load(&path, &Device::Cpu).unwrap();
        assert_eq!(
            back["w"].to_vec2::<f32>().unwrap(),
            vec![vec![0., 1., 2.], vec![3., 4., 5.]]
        );
        assert_eq!(meta["obs_dim"], 3);

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert!(matches!(
            load(&path, &Device::Cpu),
            Err(CheckpointError::Corrupt { .. })
        ));
        std::fs::write(&path, b"not a checkpoint at all").unwrap();
        assert!(load(&path, &Device::Cpu).is_err());
        std::fs::remove_file(metadata_path(&path)).unwrap();
        let err = load(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("metadata"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

const BYTES_MAGIC: &[u8; 8] = b"RVRPAR01";

/// Serialises named f32 tensors and metadata into one byte string (for an agent's
/// checkpoint, which the run directory writes atomically): magic, a JSON header of names,
/// shapes and metadata, little-endian f32 data, and an FNV-1a checksum of all of it.
pub fn to_bytes(
    tensors: &HashMap<String, Tensor>,
    metadata: &serde_json::Value,
) -> crate::Result<Vec<u8>> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let shapes: Vec<(&String, Vec<usize>)> = names
        .iter()
        .map(|n| (*n, tensors[*n].dims().to_vec()))
        .collect();
    let header = serde_json::json!({ "tensors": shapes, "metadata": metadata }).to_string();
    let mut out = Vec::new();
    out.extend_from_slice(BYTES_MAGIC);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for name in names {
        for v in tensors[name].flatten_all()?.to_vec1::<f32>()? {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Reads [`to_bytes`] output; refuses truncated, corrupt or foreign data with a reason.
pub fn from_bytes(
    bytes: &[u8],
    device: &Device,
) -> Result<(HashMap<String, Tensor>, serde_json::Value), String> {
    if bytes.len() < 24 || &bytes[..8] != BYTES_MAGIC {
        return Err("not a reverie parameter file (bad magic or too short)".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if fnv1a(body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err("checksum mismatch: the file is truncated or corrupt".into());
    }
    let header_len = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes")) as usize;
    let header = body
        .get(16..16 + header_len)
        .ok_or("header runs past the end")?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("bad header: {e}"))?;
    let shapes: Vec<(String, Vec<usize>)> = serde_json::from_value(header["tensors"].clone())
        .map_err(|e| format!("bad tensor list: {e}"))?;
    let mut data = &body[16 + header_len..];
    let mut tensors = HashMap::new();
    for (name, shape) in shapes {
        let n: usize = shape.iter().product();
        if data.len() < 4 * n {
            return Err(format!("data for {name} runs past the end"));
        }
        let values: Vec<f32> = data[..4 * n]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        data = &data[4 * n..];
        let t = Tensor::from_vec(values, shape, device).map_err(|e| e.to_string())?;
        tensors.insert(name, t);
    }
    if !data.is_empty() {
        return Err(format!("{} unexpected trailing bytes", data.len()));
    }
    Ok((tensors, header["metadata"].clone()))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod bytes_tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_refused() {
        let dev = Device::Cpu;
        let mut t = HashMap::new();
        t.insert(
            "a".to_string(),
            Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0]], &dev).unwrap(),
        );
        t.insert("b".to_string(), Tensor::new(&[5.0f32], &dev).unwrap());
        let meta = serde_json::json!({"steps": 7});
        let bytes = to_bytes(&t, &meta).unwrap();
        let (back, m) = from_bytes(&bytes, &dev).unwrap();
        assert_eq!(m, meta);
        assert_eq!(
            back["a"].to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
        let mut bad = bytes.clone();
        bad[30] ^= 1;
        assert!(from_bytes(&bad, &dev).unwrap_err().contains("checksum"));
        assert!(from_bytes(&bytes[..bytes.len() - 3], &dev).is_err());
    }
}
