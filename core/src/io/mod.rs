//! Reading and writing images safely.
//!
//! Everything that enters stylemark as encoded bytes goes through [`decode`] or [`load`],
//! which refuse hostile input (decompression bombs, truncated or corrupt files, oversized
//! uploads) with a clear [`Error`](crate::Error) before allocating pixel memory. Decoded
//! images are [`DynamicImage`](image::DynamicImage)s in one of four 8-bit layouts:
//! grey, grey + alpha, RGB, RGBA. [`from_raw`] wraps pixels that are already in memory.
//!
//! ```
//! use stylemark::io::{decode, encode, DecodeLimits, OutputFormat};
//! use stylemark::image::{DynamicImage, RgbImage};
//!
//! let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 48, [200, 120, 40].into()));
//! let jpeg = encode(&photo, OutputFormat::Jpeg { quality: 85 })?;
//! let back = decode(&jpeg, &DecodeLimits::default())?;
//! assert_eq!((back.width(), back.height()), (64, 48));
//! # Ok::<(), stylemark::Error>(())
//! ```

mod decode;
mod encode;
mod gif;
mod limits;
mod raw;

pub use decode::{decode, load, probe, read_file};
pub(crate) use encode::over_white;
pub use encode::{OutputFormat, encode, save};
pub use limits::DecodeLimits;
pub use raw::from_raw;
