//! The canonical resolution the mark lives at: the image scaled so its shorter side is
//! 512 px. Embedding and detection both work there, so a resized copy of a marked image is
//! brought back to the scale it was marked at before it is read.

use super::plane::Plane;

/// The shorter side of the canonical resolution, in pixels.
pub(crate) const CANONICAL_SHORT_SIDE: usize = 512;

/// The size of an image at the canonical resolution, and the factor from image pixels to
/// canonical pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Canonical {
    pub width: usize,
    pub height: usize,
    pub scale: f32,
}

impl Canonical {
    /// The canonical frame of an image of `width` x `height`.
    pub fn of(width: u32, height: u32) -> Canonical {
        let scale = CANONICAL_SHORT_SIDE as f32 / width.min(height) as f32;
        Canonical {
            width: ((width as f32 * scale).round() as usize).max(1),
            height: ((height as f32 * scale).round() as usize).max(1),
            scale,
        }
    }

    /// A plane of the image's size brought to the canonical resolution.
    pub fn resample(&self, plane: &Plane) -> Plane {
        plane.resized(self.width, self.height)
    }
}

/// The detail a detector reads the mark from: luma minus its 9x9 local mean, divided by
/// the local detail's strength. Busy texture hides the mark but also drowns it, so it is
/// weighted down; smooth areas, where the faint mark is nearly alone, count fully.
pub(crate) fn detail(plane: &Plane) -> Plane {
    /// Keeps flat areas (JPEG rounding noise only) from being weighted up without bound.
    const FLOOR: f32 = 3.0;
    let mut detail = plane.high_pass(4);
    let energy = Plane {
        data: detail.data.iter().map(|v| v * v).collect(),
        ..detail.clone()
    };
    let strength = energy.box_mean(4);
    for (value, energy) in detail.data.iter_mut().zip(&strength.data) {
        *value /= energy.sqrt() + FLOOR;
    }
    detail
}
