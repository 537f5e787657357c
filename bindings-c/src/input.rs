//! Reading arguments: images (encoded or raw), strings, output formats.

use std::ffi::{CStr, c_char};

use stylemark_core::image::DynamicImage;
use stylemark_core::io::{DecodeLimits, OutputFormat, decode, from_raw};

use crate::status::Failure;

/// An input image: either encoded bytes (PNG, JPEG, WebP, GIF, BMP, TIFF...) or raw 8-bit
/// pixels. Set `encoded` and `encoded_len` for the first; leave `encoded` NULL and set
/// `pixels`, `width`, `height`, `stride` (bytes per row, 0 for tightly packed) and
/// `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) for the second. The library copies
/// what it needs; the caller keeps ownership.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StylemarkImage {
    /// Encoded image bytes, or NULL for raw pixels.
    pub encoded: *const u8,
    /// Number of encoded bytes.
    pub encoded_len: usize,
    /// Raw pixels, row-major, 8 bits per channel (used when `encoded` is NULL).
    pub pixels: *const u8,
    /// Width in pixels (raw pixels).
    pub width: u32,
    /// Height in pixels (raw pixels).
    pub height: u32,
    /// Bytes from one row to the next; 0 means `width * channels`.
    pub stride: usize,
    /// Channels per pixel: 1, 2, 3 or 4 (raw pixels).
    pub channels: u32,
}

/// Decodes a required image argument.
///
/// # Safety
/// `image` is NULL or points to a valid `StylemarkImage` whose pointers cover their sizes.
pub(crate) unsafe fn required_image(
    image: *const StylemarkImage,
    name: &str,
    limits: &DecodeLimits,
) -> Result<DynamicImage, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { optional_image(image, name, limits) }?.ok_or_else(|| Failure::null(name))
}

/// Decodes an optional image argument (NULL means absent).
///
/// # Safety
/// As [`required_image`].
pub(crate) unsafe fn optional_image(
    image: *const StylemarkImage,
    name: &str,
    limits: &DecodeLimits,
) -> Result<Option<DynamicImage>, Failure> {
    // SAFETY: the caller passes NULL or a valid image description.
    let Some(image) = (unsafe { image.as_ref() }) else {
        return Ok(None);
    };
    if !image.encoded.is_null() {
        // SAFETY: the caller promises `encoded_len` readable bytes at `encoded`.
        let bytes = unsafe { std::slice::from_raw_parts(image.encoded, image.encoded_len) };
        return decode(bytes, limits)
            .map(Some)
            .map_err(|e| prefixed(name, e.into()));
    }
    if image.pixels.is_null() {
        return Err(Failure::null(&format!("{name}.encoded and {name}.pixels")));
    }
    let channels = u8::try_from(image.channels)
        .map_err(|_| Failure::invalid(format!("{name}.channels must be 1, 2, 3 or 4")))?;
    let row = image.width as usize * usize::from(channels);
    let stride = if image.stride == 0 { row } else { image.stride };
    if stride < row {
        return Err(Failure::invalid(format!(
            "{name}.stride {stride} is less than width x channels ({row})"
        )));
    }
    let len = match image.height as usize {
        0 => 0,
        rows => stride
            .checked_mul(rows - 1)
            .and_then(|n| n.checked_add(row))
            .ok_or_else(|| Failure::invalid(format!("{name}: the pixel buffer size overflows")))?,
    };
    // SAFETY: the caller promises `stride * (height - 1) + width * channels` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(image.pixels, len) };
    from_raw(image.width, image.height, channels, stride, bytes, limits)
        .map(Some)
        .map_err(|e| prefixed(name, e.into()))
}

fn prefixed(name: &str, mut failure: Failure) -> Failure {
    failure.message = format!("{name}: {}", failure.message);
    failure
}

/// A required UTF-8 string argument.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
pub(crate) unsafe fn required_str<'a>(text: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { optional_str(text, name) }?.ok_or_else(|| Failure::null(name))
}

/// An optional UTF-8 string argument (NULL means absent).
///
/// # Safety
/// As [`required_str`].
pub(crate) unsafe fn optional_str<'a>(
    text: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if text.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(text) };
    text.to_str()
        .map(Some)
        .map_err(|_| Failure::invalid(format!("`{name}` is not valid UTF-8")))
}

/// An output format: `png` (NULL), `jpeg`, `jpeg:QUALITY`, or `webp`.
pub(crate) fn output_format(format: Option<&str>) -> Result<OutputFormat, Failure> {
    let Some(format) = format else {
        return Ok(OutputFormat::Png);
    };
    let (name, quality) = match format.split_once(':') {
        Some((name, quality)) => {
            let quality: u8 = quality.trim().parse().map_err(|_| {
                Failure::invalid(format!(
                    "`{format}`: the quality after `:` must be 1 to 100"
                ))
            })?;
            (name, Some(quality))
        }
        None => (format, None),
    };
    let parsed: OutputFormat = name.parse().map_err(Failure::from)?;
    match quality {
        Some(q) => parsed.with_quality(q).map_err(Failure::from),
        None => Ok(parsed),
    }
}
