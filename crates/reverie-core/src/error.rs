//! Errors raised by environments. Every message says what was wrong and what to do.

/// What can go wrong when driving an environment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// The action is not in the action space (out of range, wrong shape, NaN/inf, wrong kind).
    #[error("invalid action {action}: {reason}")]
    InvalidAction {
        /// The offending action, formatted.
        action: String,
        /// Why it was refused and what the space expects.
        reason: String,
    },
    /// `step` was called before the first `reset`.
    #[error("step() called before reset(): call reset(seed) first")]
    ResetNeeded,
    /// A state given to `set_state` does not fit the environment.
    #[error("invalid state for {env}: {reason}")]
    InvalidState {
        /// The environment id.
        env: String,
        /// Why the state was refused.
        reason: String,
    },
    /// The operation is not supported by this environment.
    #[error("{0}")]
    Unsupported(String),
}

impl EnvError {
    /// Shorthand for [`EnvError::InvalidAction`].
    pub fn invalid_action(action: impl std::fmt::Debug, reason: impl Into<String>) -> Self {
        EnvError::InvalidAction {
            action: format!("{action:?}"),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`EnvError::InvalidState`].
    pub fn invalid_state(env: impl Into<String>, reason: impl Into<String>) -> Self {
        EnvError::InvalidState {
            env: env.into(),
            reason: reason.into(),
        }
    }
}
