//! Learned tabular models of an MDP: the last outcome of each `(s, a)` (deterministic
//! environments) and outcome counts (stochastic environments).

use reverie_core::Rng;

/// One observed outcome of `(s, a)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Next state.
    pub next: usize,
    /// Reward.
    pub reward: f64,
    /// Whether `next` is terminal.
    pub terminated: bool,
}

/// Remembers the last outcome of every `(s, a)` tried, and which states and actions were
/// tried, so planning can sample "a previously observed state and an action previously
/// taken in it" (Sutton & Barto, Tabular Dyna-Q).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeterministicModel {
    n_actions: usize,
    outcomes: Vec<Option<Outcome>>,
    /// Observed states, in first-visit order.
    states: Vec<usize>,
    /// Actions tried in each state, in first-try order.
    actions: Vec<Vec<usize>>,
}

impl DeterministicModel {
    /// An empty model.
    pub fn new(n_states: usize, n_actions: usize) -> Self {
        Self {
            n_actions,
            outcomes: vec![None; n_states * n_actions],
            states: Vec::new(),
            actions: vec![Vec::new(); n_states],
        }
    }

    /// Records that `(s, a)` led to `outcome` (replacing an earlier outcome).
    pub fn record(&mut self, s: usize, a: usize, outcome: Outcome) {
        let slot = &mut self.outcomes[s * self.n_actions + a];
        if slot.is_none() {
            if self.actions[s].is_empty() {
                self.states.push(s);
            }
            self.actions[s].push(a);
        }
        *slot = Some(outcome);
    }

    /// The last outcome of `(s, a)`, if tried.
    #[inline]
    pub fn outcome(&self, s: usize, a: usize) -> Option<Outcome> {
        self.outcomes[s * self.n_actions + a]
    }

    /// States observed so far.
    pub fn observed_states(&self) -> &[usize] {
        &self.states
    }

    /// Actions tried in `s`.
    pub fn tried_actions(&self, s: usize) -> &[usize] {
        &self.actions[s]
    }

    /// A uniformly random previously observed state. Panics when nothing was observed.
    #[inline]
    pub fn sample_state(&self, rng: &mut Rng) -> usize {
        self.states[rng.index(self.states.len())]
    }

    /// A random observed state and an action previously taken in it, with its outcome.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> (usize, usize, Outcome) {
        let s = self.sample_state(rng);
        let tried = &self.actions[s];
        let a = tried[rng.index(tried.len())];
        (s, a, self.outcomes[s * self.n_actions + a].expect("tried"))
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// Outcome counts of every `(s, a)`: the maximum-likelihood distribution model
/// `p̂(s', terminated | s, a)` and mean rewards `r̂(s, a, s')`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CountModel {
    n_actions: usize,
    /// Per `(s, a)`: `(next, terminated, count, reward_sum)`.
    table: Vec<Vec<(usize, bool, u64, f64)>>,
    totals: Vec<u64>,
    states: Vec<usize>,
    actions: Vec<Vec<usize>>,
}

impl CountModel {
    /// An empty model.
    pub fn new(n_states: usize, n_actions: usize) -> Self {
        Self {
            n_actions,
            table: vec![Vec::new(); n_states * n_actions],
            totals: vec![0; n_states * n_actions],
            states: Vec::new(),
            actions: vec![Vec::new(); n_states],
        }
    }

    /// Counts one observed transition.
    pub fn record(&mut self, s: usize, a: usize, outcome: Outcome) {
        let i = s * self.n_actions + a;
        if self.totals[i] == 0 {
            if self.actions[s].is_empty() {
                self.states.push(s);
            }
            self.actions[s].push(a);
        }
        self.totals[i] += 1;
        let entries = &mut self.table[i];
        match entries
            .iter_mut()
            .find(|e| e.0 == outcome.next && e.1 == outcome.terminated)
        {
            Some(e) => {
                e.2 += 1;
                e.3 += outcome.reward;
            }
            None => entries.push((outcome.next, outcome.terminated, 1, outcome.reward)),
        }
    }

    /// Times `(s, a)` was tried.
    pub fn count(&self, s: usize, a: usize) -> u64 {
        self.totals[s * self.n_actions + a]
    }

    /// `p̂(s' | s, a)` summed over the terminated flag.
    pub fn probability(&self, s: usize, a: usize, next: usize) -> f64 {
        let i = s * self.n_actions + a;
        if self.totals[i] == 0 {
            return 0.0;
        }
        let hits: u64 = self.table[i]
            .iter()
            .filter(|e| e.0 == next)
            .map(|e| e.2)
            .sum();
        hits as f64 / self.totals[i] as f64
    }

    /// `Σ p̂(s', t | s, a) [r̂ + γ (1 − t) value(s')]`: the expected one-step target.
    #[inline]
    pub fn expected_target(
        &self,
        s: usize,
        a: usize,
        gamma: f64,
        value: impl Fn(usize) -> f64,
    ) -> f64 {
        let i = s * self.n_actions + a;
        let total = self.totals[i] as f64;
        self.table[i]
            .iter()
            .map(|&(next, terminated, count, reward_sum)| {
                let bootstrap = if terminated { 0.0 } else { gamma * value(next) };
                (reward_sum + count as f64 * bootstrap) / total
            })
            .sum()
    }

    /// A random observed state and an action tried in it.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> (usize, usize) {
        let s = self.states[rng.index(self.states.len())];
        let tried = &self.actions[s];
        (s, tried[rng.index(tried.len())])
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}
