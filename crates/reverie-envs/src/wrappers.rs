//! Env wrappers that need the envs' own capabilities (rendering): [`Pixels`].

pub mod pixels;

pub use pixels::{Pixels, PixelsConfig};
