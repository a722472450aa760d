//! What an agent is told at the moment of acting besides the observations
//! ([`ActContext`]), and [`Turns`], where the driver keeps the part of it that envs report
//! in their infos: the legal actions (`info["action_mask"]`, Gymnasium's convention of Taxi
//! and the board games) and the player to move (`info["to_play"]`, in two-player games).
//!
//! A board game's legality is not in its observation space: a search that expands an
//! illegal move plans a game that cannot happen, and a self-play learner that does not know
//! whose turn it is cannot turn the first player's rewards into the mover's. Agents that
//! need neither read only [`ActContext::is_first`].

use serde::{Deserialize, Serialize};

use crate::env::{Info, InfoValue};
use crate::space::Space;

/// The context of one [`crate::Agent::act`] call for N envs.
#[derive(Clone, Copy, Debug)]
pub struct ActContext<'a> {
    /// `[N]` env `i` starts an episode with this observation: reset its slot of the carry.
    pub is_first: &'a [bool],
    /// `[N × actions]` which actions are legal now, row by row; `None` when the env
    /// restricts none.
    pub legal: Option<&'a [bool]>,
    /// `[N]` the player to move, 0 for the first and 1 for the second; `None` in a
    /// single-player env.
    pub to_play: Option<&'a [u8]>,
}

impl<'a> ActContext<'a> {
    /// A context with only the episode starts: every action legal, one player.
    pub fn new(is_first: &'a [bool]) -> Self {
        Self {
            is_first,
            legal: None,
            to_play: None,
        }
    }

    /// Env `i`'s legal actions (`actions` of them), `None` when all are legal.
    pub fn legal_row(&self, i: usize, actions: usize) -> Option<&'a [bool]> {
        self.legal.map(|l| &l[i * actions..(i + 1) * actions])
    }
}

/// The legal actions and players to move of N envs, read from their infos after every reset
/// and step (see [`Turns::record`]); serialisable, so a checkpoint resumes mid-game.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Turns {
    actions: usize,
    /// `[N × actions]`; meaningful once `masked`.
    legal: Vec<bool>,
    /// `[N]`; meaningful once `two_player`.
    to_play: Vec<u8>,
    masked: bool,
    two_player: bool,
}

impl Turns {
    /// No information yet for `envs` envs with `actions` discrete actions (0 for other action
    /// spaces: their masks are ignored).
    pub fn new(envs: usize, actions: usize) -> Self {
        Self {
            actions,
            legal: vec![true; envs * actions],
            to_play: vec![0; envs],
            masked: false,
            two_player: false,
        }
    }

    /// No information yet for `envs` envs acting in `action_space` (masks are read only for
    /// `Discrete` actions).
    pub fn for_space(envs: usize, action_space: &Space) -> Self {
        match action_space {
            Space::Discrete { n, .. } => Self::new(envs, *n as usize),
            Space::Box(_) => Self::new(envs, 0),
        }
    }

    /// Reads env `i`'s `info["action_mask"]` (see [`read_action_mask`]) and
    /// `info["to_play"]`.
    pub fn record(&mut self, i: usize, info: &Info) {
        let a = self.actions;
        self.masked |= read_action_mask(info, &mut self.legal[i * a..(i + 1) * a]);
        if let Some(player) = player_to_move(info) {
            self.to_play[i] = player;
            self.two_player = true;
        }
    }

    /// The player to move in env `i` (0 first, 1 second), `None` in a single-player env.
    pub fn player(&self, i: usize) -> Option<u8> {
        self.two_player.then(|| self.to_play[i])
    }

    /// The context for an `act` call on these envs.
    pub fn context<'a>(&'a self, is_first: &'a [bool]) -> ActContext<'a> {
        ActContext {
            is_first,
            legal: self.masked.then_some(&self.legal[..]),
            to_play: self.two_player.then_some(&self.to_play[..]),
        }
    }
}

/// Writes `info["action_mask"]` into `row`, one entry per action (nonzero: legal), and
/// returns whether there was a mask; a missing mask, or one of another length than `row`,
/// leaves every action legal.
pub fn read_action_mask(info: &Info, row: &mut [bool]) -> bool {
    match info.action_mask() {
        Some(mask) if mask.len() == row.len() && !row.is_empty() => {
            for (slot, &m) in row.iter_mut().zip(mask) {
                *slot = m != 0;
            }
            true
        }
        _ => {
            row.fill(true);
            false
        }
    }
}

/// `info["to_play"]` as 0 (the first player) or 1, `None` when the env names no player.
fn player_to_move(info: &Info) -> Option<u8> {
    match info.get("to_play") {
        Some(InfoValue::Int(player)) => Some(u8::from(*player != 0)),
        _ => None,
    }
}

/// A two-player env's reward (from the first player's view, the convention of reverie's
/// board games) from the view of `mover`, the player who made the move (0 first, 1
/// second): what a self-play learner that values positions for the player to move stores.
pub fn mover_reward(first_player_reward: f64, mover: u8) -> f64 {
    if mover == 0 {
        first_player_reward
    } else {
        -first_player_reward
    }
}

/// The player who made the move that led to an observation whose info says `to_play` is
/// next: the other one (the board games name the next player even once the game is over).
pub fn mover_before(to_play_after: &Info) -> Option<u8> {
    player_to_move(to_play_after).map(|next| 1 - next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_players_reach_the_context_only_once_an_env_reports_them() {
        let mut turns = Turns::new(2, 3);
        let first = [true, false];
        let ctx = turns.context(&first);
        assert!(ctx.legal.is_none() && ctx.to_play.is_none());
        turns.record(
            1,
            &Info::new()
                .with("action_mask", InfoValue::Ints(vec![1, 0, 1]))
                .with("to_play", InfoValue::Int(1)),
        );
        let ctx = turns.context(&first);
        assert_eq!(ctx.legal_row(0, 3), Some(&[true; 3][..]));
        assert_eq!(ctx.legal_row(1, 3), Some(&[true, false, true][..]));
        assert_eq!(ctx.to_play, Some(&[0, 1][..]));
        // A mask of the wrong length is no mask.
        turns.record(
            1,
            &Info::new().with("action_mask", InfoValue::Ints(vec![0])),
        );
        assert_eq!(turns.context(&first).legal_row(1, 3), Some(&[true; 3][..]));
    }
}
