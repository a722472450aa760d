//! Wrappers that change an env's episode structure or record it, as Gymnasium's do.

mod episode_stats;
mod time_limit;

pub use episode_stats::{EpisodeStats, RecordEpisodeStats};
pub use time_limit::TimeLimit;
