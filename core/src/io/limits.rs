//! Limits that keep decoding untrusted images bounded.

use serde::{Deserialize, Serialize};

/// Bounds applied whenever stylemark decodes an image it did not make.
///
/// The defaults suit a web service taking user uploads: about 40 megapixels (a 7700x5200
/// photo), 64 MiB of encoded input and 1 GiB of decoder memory. A decompression bomb
/// (a tiny file whose header claims huge dimensions) is refused from its header, before
/// any pixel memory is allocated.
///
/// ```
/// use stylemark::io::DecodeLimits;
///
/// let strict = DecodeLimits { max_pixels: 4_000_000, ..DecodeLimits::default() };
/// assert!(strict.max_pixels < DecodeLimits::default().max_pixels);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Largest `width * height` accepted.
    pub max_pixels: u64,
    /// Largest encoded input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Largest single allocation the decoder may make, in bytes.
    pub max_alloc_bytes: u64,
}

impl DecodeLimits {
    /// The default pixel limit: 40 megapixels.
    pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;
    /// The default encoded-size limit: 64 MiB.
    pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 << 20;
    /// The default decoder allocation limit: 1 GiB.
    pub const DEFAULT_MAX_ALLOC_BYTES: u64 = 1 << 30;
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_input_bytes: Self::DEFAULT_MAX_INPUT_BYTES,
            max_alloc_bytes: Self::DEFAULT_MAX_ALLOC_BYTES,
        }
    }
}
