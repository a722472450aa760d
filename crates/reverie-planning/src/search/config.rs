//! Settings of the tree search: the budget and the game on top, the selection rule (pUCT or
//! Gumbel) with its own settings below, so no setting is silently ignored by the other rule.

use serde::{Deserialize, Serialize};

/// Settings of [`crate::Mcts`]. Defaults are MuZero's (Schrittwieser et al. 2020, Atari:
/// 50 simulations, γ = 0.997, pUCT with Dirichlet root noise).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MctsConfig {
    /// Simulations per search: each expands one leaf (or revisits a terminal state).
    pub simulations: usize,
    /// Discount γ of rewards and values along a path (1 for board games).
    pub discount: f32,
    /// Two players alternate: a node's value is for the player to move there, so returns
    /// change sign from one ply to the next.
    pub two_player: bool,
    /// How actions are chosen: `kind = "puct"` (MuZero) or `kind = "gumbel"` (Gumbel MuZero),
    /// with that rule's settings.
    pub selection: Selection,
}

impl Default for MctsConfig {
    fn default() -> Self {
        Self {
            simulations: 50,
            discount: 0.997,
            two_player: false,
            selection: Selection::default(),
        }
    }
}

/// How actions are chosen during the search, with that rule's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Selection {
    /// MuZero's pUCT at every node with Dirichlet noise on the root's priors; the improved
    /// policy is the root's visit distribution.
    Puct(PuctConfig),
    /// Gumbel MuZero (Danihelka et al. 2022): Gumbel-top-m root actions and sequential
    /// halving at the root, the deterministic improved-policy rule inside the tree; the
    /// improved policy is softmax(logits + σ(completed Q)).
    Gumbel(GumbelConfig),
}

impl Default for Selection {
    fn default() -> Self {
        Selection::Puct(PuctConfig::default())
    }
}

/// What an unvisited child's Q is in the pUCT score (before normalisation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnvisitedQ {
    /// MuZero's pseudocode (and mctx's): the normalised Q of an unvisited child is 0, the
    /// lowest value seen in the tree, so only its prior draws the search to it.
    #[default]
    Zero,
    /// EfficientZero and LightZero's spirit: the parent's own current value estimate, so an
    /// unvisited child counts as average rather than worst.
    ParentValue,
}

/// Settings of pUCT selection (MuZero, appendix B):
/// `score = Q̂ + P · √N(parent) / (1 + N(child)) · (c1 + ln((N(parent) + c2 + 1) / c2))`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct PuctConfig {
    /// c1: the weight of the prior term.
    pub c1: f32,
    /// c2: the visit count at which the prior's weight starts to grow (logarithmically).
    pub c2: f32,
    /// Mix Dirichlet noise into the root's priors while exploring (never in evaluation).
    pub root_noise: bool,
    /// Dirichlet concentration α of the root noise (0.25 in MuZero's Atari, 0.3 in chess).
    pub dirichlet_alpha: f32,
    /// Fraction ε of noise in the root priors: P = (1 − ε) P + ε · Dir(α).
    pub exploration_fraction: f32,
    /// The Q of a child not visited yet: "zero" (MuZero) or "parent-value".
    pub unvisited_q: UnvisitedQ,
    /// Known `[min, max]` of Q (e.g. `[-1, 1]` for a board game) to start the min–max
    /// normalisation from; without them it uses the Q values seen in the tree only.
    pub known_bounds: Option<[f32; 2]>,
}

impl Default for PuctConfig {
    fn default() -> Self {
        Self {
            c1: 1.25,
            c2: 19652.0,
            root_noise: true,
            dirichlet_alpha: 0.25,
            exploration_fraction: 0.25,
            unvisited_q: UnvisitedQ::Zero,
            known_bounds: None,
        }
    }
}

/// Settings of Gumbel MuZero's selection (Danihelka et al. 2022; defaults as the paper's):
/// `σ(q̂) = (c_visit + max_b N(b)) · c_scale · q̂`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct GumbelConfig {
    /// m: root actions sampled without replacement (Gumbel-top-m) and then halved.
    pub max_considered_actions: usize,
    /// Scale of the root Gumbel noise while exploring (0 considers the top-m logits; there
    /// is none in evaluation).
    pub gumbel_scale: f32,
    /// c_visit in σ.
    pub c_visit: f32,
    /// c_scale in σ.
    pub c_scale: f32,
}

impl Default for GumbelConfig {
    fn default() -> Self {
        Self {
            max_considered_actions: 16,
            gumbel_scale: 1.0,
            c_visit: 50.0,
            c_scale: 1.0,
        }
    }
}

impl MctsConfig {
    /// The factor from a child's value to its parent's: γ, negated in a two-player game
    /// (the child's value is the opponent's). Learners' n-step targets use it too, so a
    /// two-player return changes sign with the mover.
    pub fn discount_sign(&self) -> f32 {
        if self.two_player {
            -self.discount
        } else {
            self.discount
        }
    }

    /// Checks the settings, saying which is wrong and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if self.simulations == 0 || self.simulations > u32::MAX as usize / 2 {
            return Err(format!(
                "mcts simulations must be ≥ 1 (and fit in 31 bits), got {}",
                self.simulations
            ));
        }
        if !(self.discount > 0.0 && self.discount <= 1.0) {
            return Err(format!(
                "mcts discount must be in (0, 1], got {}",
                self.discount
            ));
        }
        match &self.selection {
            Selection::Puct(p) => p.validate(),
            Selection::Gumbel(g) => g.validate(),
        }
    }
}

impl PuctConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !positive(self.c1) || !positive(self.c2) {
            return Err(format!(
                "puct needs finite c1 > 0 and c2 > 0, got c1 = {}, c2 = {}",
                self.c1, self.c2
            ));
        }
        if !positive(self.dirichlet_alpha) {
            return Err(format!(
                "puct dirichlet_alpha must be finite and > 0, got {}",
                self.dirichlet_alpha
            ));
        }
        if !(0.0..=1.0).contains(&self.exploration_fraction) {
            return Err(format!(
                "puct exploration_fraction must be in [0, 1], got {} (set root_noise = false to turn the noise off)",
                self.exploration_fraction
            ));
        }
        if let Some([lo, hi]) = self.known_bounds {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(format!(
                    "puct known_bounds must be finite [min, max] with min < max, got [{lo}, {hi}]"
                ));
            }
        }
        Ok(())
    }
}

impl GumbelConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_considered_actions == 0 {
            return Err("gumbel max_considered_actions must be ≥ 1".into());
        }
        if !(self.gumbel_scale.is_finite() && self.gumbel_scale >= 0.0) {
            return Err(format!(
                "gumbel gumbel_scale must be finite and ≥ 0, got {}",
                self.gumbel_scale
            ));
        }
        if !(self.c_visit.is_finite() && self.c_visit >= 0.0) {
            return Err(format!(
                "gumbel c_visit must be finite and ≥ 0, got {}",
                self.c_visit
            ));
        }
        if !(self.c_scale.is_finite() && self.c_scale > 0.0) {
            return Err(format!(
                "gumbel c_scale must be finite and > 0, got {}",
                self.c_scale
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_refused() {
        MctsConfig::default().validate().unwrap();
        let gumbel = MctsConfig {
            selection: Selection::Gumbel(GumbelConfig::default()),
            ..Default::default()
        };
        gumbel.validate().unwrap();
        let bad = [
            MctsConfig {
                simulations: 0,
                ..Default::default()
            },
            MctsConfig {
                discount: 1.5,
                ..Default::default()
            },
            MctsConfig {
                discount: f32::NAN,
                ..Default::default()
            },
            MctsConfig {
                selection: Selection::Puct(PuctConfig {
                    exploration_fraction: 2.0,
                    ..Default::default()
                }),
                ..Default::default()
            },
            MctsConfig {
                selection: Selection::Puct(PuctConfig {
                    known_bounds: Some([1.0, -1.0]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            MctsConfig {
                selection: Selection::Gumbel(GumbelConfig {
                    max_considered_actions: 0,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?} was accepted");
        }
    }

    #[test]
    fn documents_every_field() {
        use documented::DocumentedFields;
        for name in ["simulations", "discount", "two_player", "selection"] {
            assert!(MctsConfig::get_field_docs(name).is_ok(), "{name}");
        }
        assert!(PuctConfig::get_field_docs("dirichlet_alpha").is_ok());
        assert!(GumbelConfig::get_field_docs("c_visit").is_ok());
    }
}
