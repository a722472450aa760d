//! RGB frames: what an env's `render` draws into and what pixel observations are made of.

/// An 8-bit RGB image, row-major `[height, width, 3]` (Gymnasium's `rgb_array` layout).
///
/// A frame is drawn into in place, so rendering every step allocates nothing once the
/// frame exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Frame {
    /// A black frame of `width × height` pixels.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0; width * height * 3],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, `[height, width, 3]` row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Takes the pixels out of the frame.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Sets every pixel to `rgb`.
    pub fn fill(&mut self, rgb: [u8; 3]) {
        for px in self.data.chunks_exact_mut(3) {
            px.copy_from_slice(&rgb);
        }
    }

    /// The pixel at column `x`, row `y` (row 0 at the top).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}
