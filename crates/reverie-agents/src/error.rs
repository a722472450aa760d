//! Errors raised when building agents.

/// Why an agent could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// A hyperparameter is out of its valid range.
    #[error("invalid hyperparameter `{key}` = {value}: {expected}")]
    InvalidConfig {
        /// The config key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The agent cannot work with this env's spaces.
    #[error("{agent} needs {needs}, but the env has {found}")]
    UnsupportedSpace {
        /// The agent's name.
        agent: &'static str,
        /// What it needs.
        needs: &'static str,
        /// What the env has.
        found: String,
    },
    /// A size setting asks for more memory than the machine has (checked before allocating).
    #[error("`{key}` = {value}: {reason}; lower it")]
    TooLarge {
        /// The config key.
        key: &'static str,
        /// The value given.
        value: String,
        /// How much it needs and how much there is.
        reason: String,
    },
    /// The env the agent is built for could not be made (for its known functions or an
    /// oracle simulator).
    #[error("cannot build the env for the agent: {0}")]
    Env(String),
    /// The tensor backend failed while building the agent's networks.
    #[error("cannot build the agent's networks: {0}")]
    Backend(String),
}

/// The replay buffer `config` describes, refused with [`AgentError::TooLarge`] naming `key`
/// when the machine does not have its memory.
pub(crate) fn replay_buffer(
    config: reverie_core::ReplayBufferConfig,
    key: &'static str,
) -> Result<reverie_core::ReplayBuffer, AgentError> {
    fits(config.check_memory(), key, config.capacity)?;
    Ok(reverie_core::ReplayBuffer::new(config))
}

/// A sequence buffer of `config`'s capacity, or [`AgentError::TooLarge`] naming `key` when
/// the machine's memory cannot hold it.
pub(crate) fn sequence_buffer(
    config: reverie_core::SequenceBufferConfig,
    key: &'static str,
) -> Result<reverie_core::SequenceBuffer, AgentError> {
    fits(config.check_memory(), key, config.capacity)?;
    Ok(reverie_core::SequenceBuffer::new(config))
}

/// A buffer's memory check as [`AgentError::TooLarge`] naming `key` and its `capacity`.
fn fits(check: Result<(), String>, key: &'static str, capacity: usize) -> Result<(), AgentError> {
    check.map_err(|reason| AgentError::TooLarge {
        key,
        value: capacity.to_string(),
        reason,
    })
}

/// A tensor-backend failure (building networks, opening the device) as an [`AgentError`].
pub(crate) fn backend(e: impl std::fmt::Display) -> AgentError {
    AgentError::Backend(e.to_string())
}

/// Fails with [`AgentError::InvalidConfig`] unless `ok`.
pub(crate) fn require(
    ok: bool,
    key: &'static str,
    value: impl std::fmt::Display,
    expected: &'static str,
) -> Result<(), AgentError> {
    if ok {
        Ok(())
    } else {
        Err(AgentError::InvalidConfig {
            key,
            value: value.to_string(),
            expected,
        })
    }
}

/// Refuses a learning rate outside (0, 1]: Adam moves every parameter by about the rate each
/// step, so a larger one diverges at once (`learning_rate=1e30` used to train on, skipping
/// every update).
pub(crate) fn learning_rate(lr: f64) -> Result<(), AgentError> {
    require(
        lr > 0.0 && lr <= 1.0,
        "learning_rate",
        lr,
        "in (0, 1] (Adam moves each parameter by about this much per step)",
    )
}
