//! What the Gymnasium-style tabular envs share: the transition table `P[s][a]`, its
//! sampling rule, option errors, and the check of a `[s]` state.

use reverie_core::{EnvError, Rng};

/// One outcome of taking an action in a state: an entry of Gymnasium's
/// `P[s][a] = [(prob, next_state, reward, terminated), ...]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    /// Probability of this entry. Entries of one `(s, a)` sum to 1; several entries may
    /// lead to the same next state (e.g. a slippery move into a wall), as in Gymnasium.
    pub prob: f64,
    /// The state reached.
    pub next_state: usize,
    /// The reward received.
    pub reward: f64,
    /// Whether the state reached is terminal.
    pub terminated: bool,
}

/// The full transition model `P[s][a]` of a tabular env, in Gymnasium's entry order.
///
/// Stored flat (one `Vec` of entries plus offsets) so a lookup is two loads, not a walk
/// through nested vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionTable {
    n_states: usize,
    n_actions: usize,
    /// `offsets[s * n_actions + a] .. offsets[s * n_actions + a + 1]` indexes `entries`.
    offsets: Vec<usize>,
    entries: Vec<Transition>,
}

impl TransitionTable {
    /// Builds the table by asking `outcomes(s, a, out)` to push the entries of each pair.
    pub(crate) fn build(
        n_states: usize,
        n_actions: usize,
        mut outcomes: impl FnMut(usize, usize, &mut Vec<Transition>),
    ) -> Self {
        let mut offsets = Vec::with_capacity(n_states * n_actions + 1);
        let mut entries = Vec::new();
        offsets.push(0);
        for s in 0..n_states {
            for a in 0..n_actions {
                outcomes(s, a, &mut entries);
                debug_assert!(
                    entries.len() > *offsets.last().unwrap(),
                    "empty P[{s}][{a}]"
                );
                offsets.push(entries.len());
            }
        }
        Self {
            n_states,
            n_actions,
            offsets,
            entries,
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

    /// The entries of `P[s][a]`. Panics if `s >= n_states` or `a >= n_actions`.
    #[inline]
    pub fn get(&self, s: usize, a: usize) -> &[Transition] {
        assert!(
            s < self.n_states && a < self.n_actions,
            "P[{s}][{a}] is outside a table of {} states and {} actions",
            self.n_states,
            self.n_actions
        );
        let i = s * self.n_actions + a;
        &self.entries[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Draws one entry of `P[s][a]` with Gymnasium's `categorical_sample`: the first entry
    /// whose cumulative probability exceeds a uniform draw (the first entry if rounding
    /// leaves the draw above the total). A single-entry list is returned without a draw:
    /// the outcome could not differ. Panics like [`TransitionTable::get`].
    #[inline]
    pub fn sample(&self, s: usize, a: usize, rng: &mut Rng) -> &Transition {
        let entries = self.get(s, a);
        if entries.len() == 1 {
            return &entries[0];
        }
        let u = rng.uniform();
        let mut cumulative = 0.0;
        for t in entries {
            cumulative += t.prob;
            if cumulative > u {
                return t;
            }
        }
        // numpy's argmax over an all-false mask is 0.
        &entries[0]
    }
}

/// An unusable env parameter, named by its registry option key.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{option}: {reason}")]
pub struct ConfigError {
    /// The option (constructor parameter) at fault, e.g. `desc`.
    pub option: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(option: &'static str, reason: impl Into<String>) -> Self {
        Self {
            option,
            reason: reason.into(),
        }
    }
}

/// Checks that `p` is a probability; `option` names the parameter in the error.
pub(crate) fn check_probability(option: &'static str, p: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(ConfigError::new(
            option,
            format!("expected a probability in [0, 1], got {p}"),
        ))
    }
}

/// Reads a `[s]` state: one finite integer value in `0..n_states`.
pub(crate) fn parse_discrete_state(
    env: &str,
    state: &[f64],
    n_states: usize,
) -> Result<usize, EnvError> {
    let &[s] = state else {
        return Err(EnvError::invalid_state(
            env,
            format!("expected 1 value [s], got {}", state.len()),
        ));
    };
    if s.fract() != 0.0 || s < 0.0 || s >= n_states as f64 {
        // NaN fails `fract() != 0.0` too (NaN != 0.0), so it is refused here.
        return Err(EnvError::invalid_state(
            env,
            format!("expected an integer state in 0..{n_states}, got {s}"),
        ));
    }
    Ok(s as usize)
}
