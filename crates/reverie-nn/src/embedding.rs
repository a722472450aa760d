//! [`Embedding`]: a lookup table from integer ids to learned vectors (discrete actions,
//! tokens, categorical latents).

use candle_core::{Device, Module, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::module::Parameters;
use crate::Result;

/// `count` vectors of width `dim`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Number of ids (rows of the table).
    pub count: usize,
    /// Width of each vector.
    pub dim: usize,
}

impl EmbeddingConfig {
    /// A table drawn from N(0, 1) (PyTorch's `nn.Embedding` default).
    pub fn init(&self, rng: &mut reverie_core::Rng, device: &Device) -> Result<Embedding> {
        let mut table = vec![0.0f32; self.count * self.dim];
        reverie_core::rng::fill_normal(rng, &mut table);
        Ok(Embedding {
            table: Var::from_tensor(&Tensor::from_vec(table, (self.count, self.dim), device)?)?,
        })
    }
}

/// Row lookup; gradients flow to the rows that were read, summed over repeated ids
/// (candle's `index_select` backward is an `index_add`).
///
/// # Shapes
/// `[...]` u32 ids → `[..., dim]`; the table is `[count, dim]`.
#[derive(Clone, Debug)]
pub struct Embedding {
    table: Var,
}

impl Module for Embedding {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut shape = ids.dims().to_vec();
        shape.push(self.table.dim(1)?);
        let count = self.table.dim(0)? as u32;
        // index_select on the CPU reads out of bounds silently (as zeros on some backends):
        // refuse bad ids with the reason instead.
        if let Some(bad) = ids
            .flatten_all()?
            .to_vec1::<u32>()?
            .into_iter()
            .find(|&i| i >= count)
        {
            candle_core::bail!("embedding: id {bad} out of range for {count} rows");
        }
        self.table
            .as_tensor()
            .index_select(&ids.flatten_all()?, 0)?
            .reshape(shape)
    }
}

impl Embedding {
    /// The table, `[count, dim]`.
    pub fn table(&self) -> &Tensor {
        self.table.as_tensor()
    }
}

impl Parameters for Embedding {
    /// `weight` (`[count, dim]`), PyTorch's name and layout.
    fn named_vars(&self) -> Vec<(String, Var)> {
        vec![("weight".to_string(), self.table.clone())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_gradients;
    use reverie_core::Rng;

    fn ids(v: &[u32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn gathers_rows_and_accumulates_repeated_ids() {
        let emb = EmbeddingConfig { count: 5, dim: 3 }
            .init(&mut Rng::seed_from_u64(0), &Device::Cpu)
            .unwrap();
        let table = emb.table().to_vec2::<f32>().unwrap();
        let out = emb.forward(&ids(&[4, 0, 4, 2], &[2, 2])).unwrap();
        assert_eq!(out.dims(), &[2, 2, 3]);
        let rows = out.reshape((4, 3)).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(
            rows,
            vec![
                table[4].clone(),
                table[0].clone(),
                table[4].clone(),
                table[2].clone()
            ]
        );

        let grads = out.sum_all().unwrap().backward().unwrap();
        let g = grads.get(emb.table()).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(g[4], vec![2.0; 3], "id 4 was read twice");
        assert_eq!(g[0], vec![1.0; 3]);
        assert_eq!(g[1], vec![0.0; 3], "id 1 was never read");
        check_gradients("embedding", &[&emb.table], 15, || {
            emb.forward(&ids(&[1, 3, 3], &[3]))
        });
        assert!(emb.forward(&ids(&[5], &[1])).is_err());
    }

    #[test]
    fn init_is_reproducible_and_round_trips() {
        let config = EmbeddingConfig { count: 4, dim: 6 };
        let a = config
            .init(&mut Rng::seed_from_u64(3), &Device::Cpu)
            .unwrap();
        let b = config
            .init(&mut Rng::seed_from_u64(3), &Device::Cpu)
            .unwrap();
        assert_eq!(
            a.table().to_vec2::<f32>().unwrap(),
            b.table().to_vec2::<f32>().unwrap()
        );
        let c = config
            .init(&mut Rng::seed_from_u64(4), &Device::Cpu)
            .unwrap();
        c.load_named("e", &a.named_tensors("e")).unwrap();
        assert_eq!(
            a.table().to_vec2::<f32>().unwrap(),
            c.table().to_vec2::<f32>().unwrap()
        );
        let other = EmbeddingConfig { count: 3, dim: 6 }
            .init(&mut Rng::seed_from_u64(4), &Device::Cpu)
            .unwrap();
        assert!(other.load_named("e", &a.named_tensors("e")).is_err());
    }
}
