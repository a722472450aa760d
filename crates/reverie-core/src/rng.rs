//! Seeded random numbers: a small, fast, portable generator and named seed streams.
//!
//! reverie does not use numpy's generator, so a seed gives the same results on every
//! platform reverie runs on, but not the same numbers as Gymnasium. (Conformance tests
//! therefore load recorded start states instead of reproducing Gymnasium's reset RNG.)

/// xoshiro256++ (Blackman & Vigna): 256-bit state, ~1 ns per draw, passes BigCrush.
///
/// Always passed explicitly (`&mut Rng`), never global, so every random decision in a run
/// can be traced to a seed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rng {
    state: [u64; 4],
}

/// SplitMix64 step: used to expand a 64-bit seed into a full xoshiro state and to derive
/// stream seeds, as recommended by the xoshiro authors.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = seed;
        let state = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { state }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    #[inline]
    pub fn uniform_range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    /// Uniform in `[0, 1)` as f32 with 24 random bits.
    #[inline]
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's method). `n` must be > 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "Rng::below needs n > 0");
        let mut m = (self.next_u64() as u128) * (n as u128);
        let mut low = m as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                m = (self.next_u64() as u128) * (n as u128);
                low = m as u64;
            }
        }
        (m >> 64) as u64
    }

    /// Uniform index in `0..n`. `n` must be > 0.
    #[inline]
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `p`.
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal draw (Box–Muller; one of the pair is discarded so the stream
    /// position depends only on the number of calls).
    pub fn normal(&mut self) -> f64 {
        // 1 - u keeps the argument of ln in (0, 1].
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential draw with rate 1.
    pub fn exponential(&mut self) -> f64 {
        -(1.0 - self.uniform()).ln()
    }

    /// An independent generator split off this one (advances this one by one draw).
    pub fn fork(&mut self) -> Rng {
        Rng::seed_from_u64(self.next_u64())
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// One root seed split into independent, named streams (`"env"`, `"agent"`, `"model"`,
/// `"planner"`, ...), so adding randomness to one component never shifts another's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedStreams {
    root: u64,
}

impl SeedStreams {
    /// Streams derived from `root`.
    pub fn new(root: u64) -> Self {
        Self { root }
    }

    /// The root seed.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// A 64-bit seed for the stream called `name` (stable across versions and platforms).
    pub fn seed(&self, name: &str) -> u64 {
        // FNV-1a of the name, mixed with the root through SplitMix64.
        let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
        for byte in name.bytes() {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
        let mut x = self.root ^ hash.rotate_left(17);
        splitmix64(&mut x)
    }

    /// A generator for the stream called `name`.
    pub fn rng(&self, name: &str) -> Rng {
        Rng::seed_from_u64(self.seed(name))
    }
}

/// Fills `out` with standard normal draws (Box–Muller, both values of each pair used).
pub fn fill_normal(rng: &mut Rng, out: &mut [f32]) {
    let mut chunks = out.chunks_exact_mut(2);
    for pair in &mut chunks {
        let u1 = 1.0 - rng.uniform_f32();
        let u2 = rng.uniform_f32();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f32::consts::TAU * u2).sin_cos();
        pair[0] = r * c;
        pair[1] = r * s;
    }
    if let [last] = chunks.into_remainder() {
        *last = rng.normal() as f32;
    }
}

#[cfg(test)]
mod tests;
