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

    /// Refuses a saved table of another shape than this one (a checkpoint of another env).
    pub(crate) fn check_same_shape(&self, saved: &QTable) -> Result<(), String> {
        if (saved.n_states, saved.n_actions) == (self.n_states, self.n_actions) {
            return Ok(());
        }
        Err(format!(
            "the saved Q-table is {}×{}, this env needs {}×{}",
            saved.n_states, saved.n_actions, self.n_states, self.n_actions
        ))
    }
}
