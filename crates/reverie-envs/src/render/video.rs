//! Animated GIFs of an env: [`GifRecorder`] encodes [`Frame`]s, [`record_episode`] plays
//! one episode with a policy and writes it.
//!
//! ```no_run
//! use reverie_core::Action;
//! use reverie_envs::render::video::record_episode;
//!
//! let mut env = reverie_envs::make("CartPole-v1").unwrap();
//! let video = record_episode(&mut *env, |_, _| Action::Discrete(1), 0, 500, "cartpole.gif", 0.5)
//!     .unwrap();
//! println!("{} frames, {} bytes", video.frames, video.bytes);
//! ```
//!
//! # Palette
//!
//! Env pictures are a few flat colours plus their anti-aliased blends, so a fixed palette
//! is fast and looks right: one global 256-colour palette per file made of the 6×6×6 RGB
//! cube (216 colours, levels 0, 51, …, 255) and 40 more entries that are the first frame's
//! most frequent colours not in the cube, exactly (then greys if it has fewer). The flat
//! colours of a scene (CartPole's pole, axle, cart and background) are thus reproduced
//! exactly and the blends at shape edges go to the nearest entry. Mapping a pixel is a
//! rounding per channel plus a scan of the 40 extra entries, done once per run of equal
//! pixels, with no dithering (which would speckle flat areas). The gif crate's NeuQuant was
//! not used: it costs tens of milliseconds per 600×400 frame and blurs flat colours.
//!
//! # Size
//!
//! After the first frame each frame stores only the rectangle of pixels that changed since
//! the one before (disposal "keep"), so a moving cart costs a strip, not a screen.
//! The file is written atomically: to a temporary file in the same folder, then renamed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use reverie_core::atomic::write_atomic;
use reverie_core::{Action, DynEnv, EnvError, Frame, Info, Observation};

/// Frame delay [`record_episode`] uses: 2/100 s, i.e. 50 frames per second (Gymnasium's
/// classic-control `render_fps`, and the shortest delay browsers honour).
pub const DEFAULT_DELAY_CS: u16 = 2;

/// Palette entries besides the 6×6×6 cube.
const EXTRA: usize = 256 - 216;

/// Why a video could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The env has no picture (`render_size` is `None`).
    #[error("this env does not render, so it cannot be recorded")]
    NoRender,
    /// A frame size the GIF format or the recorder cannot take.
    #[error("{0}")]
    Size(String),
    /// The env refused a reset, a step or a render.
    #[error("env error while recording: {0}")]
    Env(#[from] EnvError),
    /// GIF encoding failed.
    #[error("GIF encoding failed: {0}")]
    Encoding(#[from] gif::EncodingError),
    /// Writing the file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The 256 colours of a file: the 6×6×6 cube, then [`EXTRA`] exact colours.
struct Palette {
    extra: Vec<[u8; 3]>,
}

impl Palette {
    /// The cube plus the most frequent non-cube colours of `first` (greys if too few).
    fn seeded(first: Option<&Frame>) -> Self {
        let mut extra: Vec<[u8; 3]> = Vec::with_capacity(EXTRA);
        if let Some(frame) = first {
            let mut counts: HashMap<[u8; 3], u64> = HashMap::new();
            let mut run: Option<([u8; 3], u64)> = None;
            for px in frame.data().chunks_exact(3) {
                let c = [px[0], px[1], px[2]];
                match &mut run {
                    Some((rc, n)) if *rc == c => *n += 1,
                    _ => {
                        if let Some((rc, n)) = run {
                            *counts.entry(rc).or_default() += n;
                        }
                        run = Some((c, 1));
                    }
                }
            }
            if let Some((rc, n)) = run {
                *counts.entry(rc).or_default() += n;
            }
            let mut by_count: Vec<([u8; 3], u64)> = counts
                .into_iter()
                .filter(|(c, _)| !c.iter().all(|v| v % 51 == 0))
                .collect();
            // Most frequent first; ties by colour, so the palette is deterministic.
            by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            extra.extend(by_count.iter().take(EXTRA).map(|(c, _)| *c));
        }
        let missing = EXTRA - extra.len();
        for i in 0..missing {
            let v = ((i + 1) * 255 / (missing + 1)) as u8;
            extra.push([v, v, v]);
        }
        Self { extra }
    }

    /// The palette as `r, g, b` bytes for the GIF header.
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 * 3);
        for r in 0..6u8 {
            for g in 0..6u8 {
                for b in 0..6u8 {
                    out.extend_from_slice(&[r * 51, g * 51, b * 51]);
                }
            }
        }
        for c in &self.extra {
            out.extend_from_slice(c);
        }
        out
    }

    /// The index of the entry nearest to `c` (squared RGB distance).
    fn index(&self, c: [u8; 3]) -> u8 {
        let level = |v: u8| (u32::from(v) * 5 + 127) / 255;
        let (r, g, b) = (level(c[0]), level(c[1]), level(c[2]));
        let mut best = (r * 36 + g * 6 + b) as usize;
        let mut best_d = dist(c, [(r * 51) as u8, (g * 51) as u8, (b * 51) as u8]);
        for (k, e) in self.extra.iter().enumerate() {
            let d = dist(c, *e);
            if d < best_d {
                best_d = d;
                best = 216 + k;
            }
        }
        best as u8
    }
}

fn dist(a: [u8; 3], b: [u8; 3]) -> u32 {
    a.iter()
        .zip(b)
        .map(|(&x, y)| {
            let d = i32::from(x) - i32::from(y);
            (d * d) as u32
        })
        .sum()
}

/// Encodes frames of one size into an animated GIF (looping), in memory until
/// [`GifRecorder::finish`]. See the [module docs](self) for the palette.
pub struct GifRecorder {
    width: usize,
    height: usize,
    delay_cs: u16,
    palette: Option<Palette>,
    encoder: Option<gif::Encoder<Vec<u8>>>,
    /// The previous frame's palette indices (empty before the first frame).
    prev: Vec<u8>,
    cur: Vec<u8>,
    sub: Vec<u8>,
    frames: usize,
}

impl GifRecorder {
    /// A recorder for `width × height` frames shown `delay_cs` hundredths of a second each.
    /// Refuses sizes of 0 or over 65,535 pixels a side (the format's limit).
    pub fn new(width: usize, height: usize, delay_cs: u16) -> Result<Self, VideoError> {
        if width == 0 || height == 0 || width > 65_535 || height > 65_535 {
            return Err(VideoError::Size(format!(
                "a GIF frame must be 1 to 65535 pixels a side, not {width}×{height}"
            )));
        }
        Ok(Self {
            width,
            height,
            delay_cs,
            palette: None,
            encoder: None,
            prev: Vec::new(),
            cur: vec![0; width * height],
            sub: Vec::new(),
            frames: 0,
        })
    }

    /// Frame width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Frame height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Appends `frame` (same size as the recorder). The first frame fixes the palette.
    pub fn push(&mut self, frame: &Frame) -> Result<(), VideoError> {
        if frame.width() != self.width || frame.height() != self.height {
            return Err(VideoError::Size(format!(
                "frame is {}×{}, the recording is {}×{}",
                frame.width(),
                frame.height(),
                self.width,
                self.height
            )));
        }
        if self.encoder.is_none() {
            self.start(Some(frame))?;
        }
        let palette = self.palette.as_ref().expect("started");
        let mut last: Option<([u8; 3], u8)> = None;
        for (dst, px) in self.cur.iter_mut().zip(frame.data().chunks_exact(3)) {
            let c = [px[0], px[1], px[2]];
            *dst = match last {
                Some((lc, li)) if lc == c => li,
                _ => {
                    let i = palette.index(c);
                    last = Some((c, i));
                    i
                }
            };
        }
        let (w, h) = (self.width, self.height);
        // The rectangle that changed since the previous frame (all of the first).
        let (left, top, right, bottom) = if self.prev.is_empty() {
            (0, 0, w, h)
        } else {
            let mut rect: Option<(usize, usize, usize, usize)> = None;
            for y in 0..h {
                let a = &self.prev[y * w..(y + 1) * w];
                let b = &self.cur[y * w..(y + 1) * w];
                if a == b {
                    continue;
                }
                let x0 = a.iter().zip(b).position(|(p, q)| p != q).unwrap_or(0);
                let x1 = w - a.iter().zip(b).rev().position(|(p, q)| p != q).unwrap_or(0);
                rect = Some(match rect {
                    None => (x0, y, x1, y + 1),
                    Some((l, t, r, _)) => (l.min(x0), t, r.max(x1), y + 1),
                });
            }
            // Nothing changed: one unchanged pixel keeps the frame (and its delay).
            rect.unwrap_or((0, 0, 1, 1))
        };
        self.sub.clear();
        for y in top..bottom {
            self.sub
                .extend_from_slice(&self.cur[y * w + left..y * w + right]);
        }
        let gif_frame = gif::Frame {
            delay: self.delay_cs,
            dispose: gif::DisposalMethod::Keep,
            left: left as u16,
            top: top as u16,
            width: (right - left) as u16,
            height: (bottom - top) as u16,
            buffer: Cow::Borrowed(&self.sub),
            ..gif::Frame::default()
        };
        self.encoder
            .as_mut()
            .expect("started")
            .write_frame(&gif_frame)?;
        std::mem::swap(&mut self.prev, &mut self.cur);
        if self.cur.len() != w * h {
            self.cur = vec![0; w * h];
        }
        self.frames += 1;
        Ok(())
    }

    /// The finished GIF's bytes.
    pub fn finish_to_bytes(mut self) -> Result<Vec<u8>, VideoError> {
        if self.encoder.is_none() {
            self.start(None)?;
        }
        Ok(self.encoder.take().expect("started").into_inner()?)
    }

    /// Writes the GIF to `path` atomically (temporary file beside it, then renamed) and
    /// returns its size in bytes.
    pub fn finish(self, path: impl AsRef<Path>) -> Result<u64, VideoError> {
        let path = path.as_ref();
        let bytes = self.finish_to_bytes()?;
        write_atomic(path, &bytes).map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(bytes.len() as u64)
    }

    fn start(&mut self, first: Option<&Frame>) -> Result<(), VideoError> {
        let palette = Palette::seeded(first);
        let mut encoder = gif::Encoder::new(
            Vec::new(),
            self.width as u16,
            self.height as u16,
            &palette.bytes(),
        )?;
        encoder.set_repeat(gif::Repeat::Infinite)?;
        self.palette = Some(palette);
        self.encoder = Some(encoder);
        Ok(())
    }
}

/// How [`record_episode_with`] records.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoOptions {
    /// At most this many env steps (the reset frame comes on top).
    pub max_steps: usize,
    /// Frame size relative to the env's `render_size` (1.0: natural size, 0.5: half).
    pub scale: f64,
    /// Delay per frame in hundredths of a second.
    pub delay_cs: u16,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            scale: 1.0,
            delay_cs: DEFAULT_DELAY_CS,
        }
    }
}

/// What [`record_episode`] recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeVideo {
    /// Frames written: the reset frame plus one per step.
    pub frames: usize,
    /// Env steps taken.
    pub steps: usize,
    /// Sum of rewards.
    pub episode_return: f64,
    /// The episode ended by termination.
    pub terminated: bool,
    /// The episode was cut by the env's time limit.
    pub truncated: bool,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Size of the file.
    pub bytes: u64,
}

/// Plays one episode of `env` from `reset(seed)` with `policy` (until it terminates, is
/// truncated, or `max_steps` steps) and writes it to `path` as a GIF: the reset frame and
/// one frame after each step, at the env's `render_size` times `scale` (rounded; e.g. 0.5
/// turns CartPole's 600×400 into 300×200), 50 frames per second. The file is only written
/// once the whole episode is recorded. A boxed env is passed as `&mut *env`.
pub fn record_episode(
    env: &mut dyn DynEnv,
    policy: impl FnMut(&Observation, &Info) -> Action,
    seed: u64,
    max_steps: usize,
    path: impl AsRef<Path>,
    scale: f64,
) -> Result<EpisodeVideo, VideoError> {
    let options = VideoOptions {
        max_steps,
        scale,
        ..VideoOptions::default()
    };
    record_episode_with(env, policy, seed, &options, path)
}

/// [`record_episode`] with every option.
pub fn record_episode_with(
    env: &mut dyn DynEnv,
    mut policy: impl FnMut(&Observation, &Info) -> Action,
    seed: u64,
    options: &VideoOptions,
    path: impl AsRef<Path>,
) -> Result<EpisodeVideo, VideoError> {
    let (w, h) = env.render_size().ok_or(VideoError::NoRender)?;
    let scale = options.scale;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(VideoError::Size(format!(
            "the scale must be a positive number, not {scale}"
        )));
    }
    let width = ((w as f64 * scale).round() as usize).max(1);
    let height = ((h as f64 * scale).round() as usize).max(1);
    let mut recorder = GifRecorder::new(width, height, options.delay_cs)?;
    let mut frame = Frame::new(width, height);
    let (mut obs, mut info) = env.reset(Some(seed));
    env.render(&mut frame)?;
    recorder.push(&frame)?;
    let mut video = EpisodeVideo {
        frames: 0,
        steps: 0,
        episode_return: 0.0,
        terminated: false,
        truncated: false,
        width,
        height,
        bytes: 0,
    };
    while video.steps < options.max_steps {
        let action = policy(&obs, &info);
        let step = env.step(&action)?;
        video.steps += 1;
        video.episode_return += step.reward;
        env.render(&mut frame)?;
        recorder.push(&frame)?;
        obs = step.obs;
        info = step.info;
        if step.terminated || step.truncated {
            video.terminated = step.terminated;
            video.truncated = step.truncated;
            break;
        }
    }
    video.frames = recorder.frames();
    video.bytes = recorder.finish(path)?;
    Ok(video)
}

#[cfg(test)]
mod tests;
