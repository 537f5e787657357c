//! Invisible marks: hide up to 8 bytes under a secret key, and read them back blindly
//! (without the original) after JPEG recompression, resizing, cropping, brightness and
//! contrast changes and noise.
//!
//! How it works, in short (the full design and its measurements are in
//! `docs/design/invisible-mark.md`): the image's luma is brought to a canonical resolution
//! (shorter side 512 px), a keyed 64x64 tile of +-1 chips (a sync pilot plus 172 coded
//! bits: 64 payload bits and a CRC-16 under a convolutional code) is repeated over it, scaled by how much texture
//! can hide it and capped at 40 dB PSNR, and added to every colour channel at the image's
//! own size. The detector folds the image's detail onto one tile, finds the pilot at every
//! shift and at scales from 0.97 to 1.13, and reports a mark only when the pilot stands
//! out and the CRC checks.
//!
//! ```
//! use stylemark::watermark::invisible::{self as mark, MarkOptions};
//! use stylemark::samples::photo;
//!
//! let image = photo(512, 384, 7);
//! let marked = mark::embed(&image, b"\x12\x34", "my secret key", &MarkOptions::default())?;
//! assert!(marked.psnr_db >= 40.0);
//!
//! let found = mark::detect(&marked.image, "my secret key")?;
//! assert!(found.found);
//! assert_eq!(found.payload.as_deref(), Some(&b"\x12\x34"[..]));
//! assert!(!mark::detect(&marked.image, "another key")?.found);
//! # Ok::<(), stylemark::Error>(())
//! ```

#[cfg(any(test, feature = "testing"))]
pub mod attacks;
mod canonical;
mod code;
mod detect;
mod embed;
mod layout;
mod payload;
mod plane;
mod search;

use image::DynamicImage;

pub use detect::{Detection, MIN_DETECT_SIDE};
pub use embed::{MIN_MARK_SIDE, MarkOptions, Marked};
pub use payload::MAX_PAYLOAD_BYTES;

use crate::{Error, Limits, Result};

/// Embeds `payload` (1 to 8 bytes) into `image` under `key`.
///
/// The result keeps the input's pixel layout (grey stays grey; alpha is untouched). With
/// [`MarkOptions::verify`] on (the default), an image too flat or too small to hold the
/// mark through a JPEG quality-50 round trip is refused with
/// [`Error::MarkWouldNotSurvive`] rather than marked unreliably. See the
/// [module documentation](self) for an example.
pub fn embed(
    image: &DynamicImage,
    payload: &[u8],
    key: &str,
    options: &MarkOptions,
) -> Result<Marked> {
    embed::embed(image, payload, key, options, &Limits::default())
}

/// [`embed`] within `limits` (`max_mark_plane_pixels`), as a [`Session`](crate::Session)
/// marks.
pub(crate) fn embed_within(
    image: &DynamicImage,
    payload: &[u8],
    key: &str,
    options: &MarkOptions,
    limits: &Limits,
) -> Result<Marked> {
    embed::embed(image, payload, key, options, limits)
}

/// Looks for a mark made with `key`; never needs the original image.
///
/// A wrong key, an unmarked image or a mark destroyed beyond reading all give
/// `found: false` (not an error). See the [module documentation](self) for an example.
pub fn detect(image: &DynamicImage, key: &str) -> Result<Detection> {
    detect::detect(image, key, &Limits::default())
}

/// [`detect`] within `limits` (`max_mark_plane_pixels`), as a [`Session`](crate::Session)
/// and [`detect_each`] read marks.
pub(crate) fn detect_within(image: &DynamicImage, key: &str, limits: &Limits) -> Result<Detection> {
    detect::detect(image, key, limits)
}

/// [`detect_within`] over many images, in parallel (see
/// [`Session::mark_detect_each`](crate::Session::mark_detect_each)).
pub(crate) fn detect_each<T, L, R>(
    items: Vec<T>,
    key: &str,
    limits: &Limits,
    load: L,
    report: R,
) -> Result<()>
where
    T: Send,
    L: Fn(T) -> Result<DynamicImage> + Sync,
    R: Fn(usize, Result<Detection>) + Sync,
{
    use rayon::prelude::*;
    check_key(key)?;
    items.into_par_iter().enumerate().for_each(|(index, item)| {
        let outcome = load(item).and_then(|image| detect_within(&image, key, limits));
        report(index, outcome)
    });
    Ok(())
}

/// [`detect_each`], collecting the outcomes in the order of `items`.
pub(crate) fn detect_all<T, L>(
    items: Vec<T>,
    key: &str,
    limits: &Limits,
    load: L,
) -> Result<Vec<Result<Detection>>>
where
    T: Send,
    L: Fn(T) -> Result<DynamicImage> + Sync,
{
    let outcomes: Vec<std::sync::Mutex<Option<Result<Detection>>>> = (0..items.len())
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    detect_each(items, key, limits, load, |index, outcome| {
        *outcomes[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    })?;
    Ok(outcomes
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Err(Error::Internal("a detection reported nothing".into())))
        })
        .collect())
}

/// Parses a payload written as hex digits (`"c0ffee"`, `"0x00ff"`, spaces allowed).
///
/// ```
/// assert_eq!(stylemark::watermark::invisible::parse_hex("0xC0 ffee").unwrap(), vec![0xc0, 0xff, 0xee]);
/// assert!(stylemark::watermark::invisible::parse_hex("abc").is_err());
/// ```
pub fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bad = |reason: &str| Error::option("payload", format!("`{text}` {reason}"));
    if !digits.len().is_multiple_of(2) {
        return Err(bad(
            "has an odd number of hex digits; write whole bytes, e.g. `0a1b`",
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| bad("is not hexadecimal (0-9, a-f)"))
        })
        .collect()
}

/// Writes bytes as lowercase hex digits.
///
/// ```
/// assert_eq!(stylemark::watermark::invisible::to_hex(&[0xc0, 0xff, 0xee]), "c0ffee");
/// ```
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses images whose shorter side is under `min_side`.
fn check_side(image: &DynamicImage, min_side: u32) -> Result<()> {
    let (width, height) = (image.width(), image.height());
    if width.min(height) < min_side {
        return Err(Error::ImageTooSmallForMark {
            width,
            height,
            min_side,
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::option(
            "key",
            "is empty; the mark needs a secret key (any text) to embed and to detect",
        ));
    }
    Ok(())
}
