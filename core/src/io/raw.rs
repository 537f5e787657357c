//! Images handed over as raw pixels (from numpy, C callers, other libraries).

use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, RgbaImage};

use super::DecodeLimits;
use crate::{Error, Result};

/// Builds an image from raw 8-bit pixels.
///
/// `channels` is 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). `stride` is the number
/// of bytes from the start of one row to the next (at least `width * channels`; rows may
/// be padded). The pixel count is checked against `limits.max_pixels`, as for encoded input.
///
/// ```
/// use stylemark::io::{from_raw, DecodeLimits};
///
/// let pixels = [255u8, 0, 0, 0, 255, 0]; // one red and one green pixel
/// let image = from_raw(2, 1, 3, 6, &pixels, &DecodeLimits::default())?;
/// assert_eq!(image.to_rgb8().get_pixel(1, 0).0, [0, 255, 0]);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn from_raw(
    width: u32,
    height: u32,
    channels: u8,
    stride: usize,
    data: &[u8],
    limits: &DecodeLimits,
) -> Result<DynamicImage> {
    super::decode::check_dimensions(width, height, limits)?;
    if !(1..=4).contains(&channels) {
        return Err(Error::InvalidRawImage(format!(
            "{channels} channels per pixel; use 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)"
        )));
    }
    let row_bytes = width as usize * channels as usize;
    if stride < row_bytes {
        return Err(Error::InvalidRawImage(format!(
            "the row stride is {stride} bytes but a row of {width} pixels x {channels} channels needs {row_bytes}"
        )));
    }
    let needed = stride * (height as usize - 1) + row_bytes;
    if data.len() < needed {
        return Err(Error::InvalidRawImage(format!(
            "{} bytes given but a {width}x{height} image with {channels} channels and stride {stride} needs {needed}",
            data.len()
        )));
    }
    let mut packed = Vec::with_capacity(row_bytes * height as usize);
    for row in data.chunks(stride).take(height as usize) {
        packed.extend_from_slice(&row[..row_bytes]);
    }
    let wrong_size = || Error::Internal("raw buffer size mismatch after packing".into());
    Ok(match channels {
        1 => DynamicImage::ImageLuma8(
            GrayImage::from_raw(width, height, packed).ok_or_else(wrong_size)?,
        ),
        2 => DynamicImage::ImageLumaA8(
            GrayAlphaImage::from_raw(width, height, packed).ok_or_else(wrong_size)?,
        ),
        3 => DynamicImage::ImageRgb8(
            RgbImage::from_raw(width, height, packed).ok_or_else(wrong_size)?,
        ),
        _ => DynamicImage::ImageRgba8(
            RgbaImage::from_raw(width, height, packed).ok_or_else(wrong_size)?,
        ),
    })
}
