use reverie_core::Rng;

/// An action-value table `Q[s, a]`, row-major, with greedy selection that breaks ties
/// uniformly at random (a fixed tie-break order biases early exploration).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QTable {
    n_states: usize,
    n_actions: usize,
    values: Vec<f64>,
}

impl QTable {
    /// A table filled with `initial`.
    pub fn new(n_states: usize, n_actions: usize, initial: f64) -> Self {
        Self {
            n_states,
            n_actions,
            values: vec![initial; n_states * n_actions],
        }
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// `Q[s, a]`.
    #[inline]
    pub fn get(&self, s: usize, a: usize) -> f64 {
        self.values[s * self.n_actions + a]
    }

    /// Mutable `Q[s, a]`.
    #[inline]
    pub fn get_mut(&mut self, s: usize, a: usize) -> &mut f64 {
        &mut self.values[s * self.n_actions + a]
    }

    /// The action values of state `s`.
    #[inline]
    pub fn row(&self, s: usize) -> &[f64] {
        &self.values[s * self.n_actions..(s + 1) * self.n_actions]
    }

    /// `max_a Q[s, a]`.
    #[inline]
    pub fn max(&self, s: usize) -> f64 {
        self.row(s)
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// A greedy action in `s`, ties broken uniformly at random.
    #[inline]
    pub fn greedy(&self, s: usize, rng: &mut Rng) -> usize {
        let row = self.row(s);
        let best = self.max(s);
        let ties = row.iter().filter(|&&q| q == best).count();
        let mut pick = if ties > 1 { rng.index(ties) } else { 0 };
        for (a, &q) in row.iter().enumerate() {
            if q == best {
                if pick == 0 {
                    return a;
                }
                pick -= 1;
            }
        }
        unreachable!("a row always holds its maximum")
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Serialises as little-endian `n_states, n_actions` (u64) then the f64 values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 8 * self.values.len());
        out.extend_from_slice(&(self.n_states as u64).to_le_bytes());
        out.extend_from_slice(&(self.n_actions as u64).to_le_bytes());
        for v in &self.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Restores values written by [`QTable::to_bytes`]; the shape must match this table's.
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() < 16 {
            return Err("Q-table checkpoint is too short".into());
        }
        let states = u64::from_le_bytes(bytes[0..8].try_into().unwrap()) as usize;
        let actions = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
        if (states, actions) != (self.n_states, self.n_actions) {
            return Err(format!(
                "Q-table checkpoint has shape {states}x{actions}, this env needs {}x{}",
                self.n_states, self.n_actions
            ));
        }
        if bytes.len() != 16 + 8 * states * actions {
            return Err("Q-table checkpoint has the wrong length (truncated?)".into());
        }
        let values: Vec<f64> = bytes[16..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err("Q-table checkpoint holds NaN or infinite values".into());
        }
        self.values = values;
        Ok(())
    }
}
