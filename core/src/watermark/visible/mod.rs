//! Visible watermarks: text (any script, given a font that has it) and logos, anchored at
//! one of nine positions or tiled, rotated, with opacity, outline and shadow.
//!
//! Compositing is premultiplied "source over" in sRGB, as browsers do, so a mark looks as
//! it would in a web page. Alpha is handled on both sides: the mark's opacity is never
//! multiplied by the base's alpha, a translucent mark never makes an opaque base
//! transparent, and transparent areas never turn black. The result is 8-bit RGB, or RGBA
//! when the input had alpha (grey inputs become colour, since marks may be coloured).
//!
//! ```
//! use stylemark::watermark::visible::{self as watermark, Position, TextOptions};
//!
//! let photo = stylemark::samples::photo(640, 480, 1);
//! let mut options = TextOptions::default();
//! options.placement.position = Position::Tile;
//! options.placement.rotation = -30.0;
//! let marked = watermark::text(&photo, "© Ada Lovelace", &options)?;
//! assert!(marked.marks > 1);
//! assert_ne!(marked.image, photo);
//! # Ok::<(), stylemark::Error>(())
//! ```

mod color;
mod composite;
mod font;
mod logo;
mod placement;
mod stamp;
mod text;

use image::DynamicImage;
use serde::Serialize;

pub use color::Color;
pub use font::Font;
pub use logo::LogoOptions;
pub use placement::{Length, Placement, Position, Tiling};
pub use text::{Outline, Shadow, TextOptions};

use composite::Canvas;
use stamp::Stamp;

use crate::{Limits, Result};

/// A watermarked image and what was done.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Watermarked {
    /// The result.
    pub image: DynamicImage,
    /// Whether the mark was drawn.
    pub status: WatermarkStatus,
    /// How many copies of the mark were drawn (1, more when tiled, 0 when skipped).
    pub marks: usize,
    /// Something the caller may want to know (for example that a logo was not enlarged).
    pub note: Option<String>,
}

impl Watermarked {
    /// What was done, as every entry point reports it (job steps, the C API):
    /// `{"status": {...}, "marks": n, "note": ...}`.
    pub fn report_json(&self) -> serde_json::Value {
        serde_json::json!({"status": self.status, "marks": self.marks, "note": self.note})
    }
}

/// Whether a watermark was drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum WatermarkStatus {
    /// The mark is on the image.
    Applied,
    /// The mark was not drawn, and why (the image is returned unchanged).
    Skipped(String),
}

/// Draws `text` on `image`.
///
/// Errors: empty text, a size that comes to under 4 or over 4096 px, a character no
/// font has ([`Error::MissingGlyphs`](crate::Error::MissingGlyphs)), bad colours or
/// ranges. See the [module documentation](self) for an example.
pub fn text(image: &DynamicImage, text: &str, options: &TextOptions) -> Result<Watermarked> {
    text_within(image, text, options, &Limits::default())
}

/// [`text`] within `limits` (`max_stamp_pixels`, `max_tiled_marks`), as a
/// [`Session`](crate::Session) draws it.
pub(crate) fn text_within(
    image: &DynamicImage,
    text: &str,
    options: &TextOptions,
    limits: &Limits,
) -> Result<Watermarked> {
    options.validate()?;
    let stamp = text::text_stamp(text, options, image.width(), limits)?;
    place(image, &stamp, &options.placement, limits, None)
}

/// Draws `logo` on `image`; skips it (returning the image unchanged, with
/// [`WatermarkStatus::Skipped`]) when the image is below the minimum size.
///
/// ```
/// use stylemark::image::{DynamicImage, RgbaImage};
/// use stylemark::watermark::visible::{self as watermark, LogoOptions, WatermarkStatus};
///
/// let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 20, [255, 0, 0, 255].into()));
/// let photo = stylemark::samples::photo(320, 240, 2);
/// let marked = watermark::logo(&photo, &logo, &LogoOptions::default())?;
/// assert_eq!(marked.status, WatermarkStatus::Applied);
///
/// let options = LogoOptions::default().min_width(1000);
/// let skipped = watermark::logo(&photo, &logo, &options)?;
/// assert!(matches!(skipped.status, WatermarkStatus::Skipped(_)));
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn logo(
    image: &DynamicImage,
    logo: &DynamicImage,
    options: &LogoOptions,
) -> Result<Watermarked> {
    logo_within(image, logo, options, &Limits::default())
}

/// [`logo`] within `limits` (`max_stamp_pixels`, `max_tiled_marks`), as a
/// [`Session`](crate::Session) draws it.
pub(crate) fn logo_within(
    image: &DynamicImage,
    logo: &DynamicImage,
    options: &LogoOptions,
    limits: &Limits,
) -> Result<Watermarked> {
    options.validate()?;
    if image.width() < options.min_width || image.height() < options.min_height {
        return Ok(Watermarked {
            image: image.clone(),
            status: WatermarkStatus::Skipped(format!(
                "the image is {}x{}, smaller than the minimum {}x{} set for this logo",
                image.width(),
                image.height(),
                options.min_width,
                options.min_height
            )),
            marks: 0,
            note: None,
        });
    }
    let (stamp, note) = logo::logo_stamp(logo, options, image.width(), limits)?;
    place(image, &stamp, &options.placement, limits, note)
}

/// Rotates the stamp and draws it at every origin the placement gives.
fn place(
    image: &DynamicImage,
    stamp: &Stamp,
    placement: &Placement,
    limits: &Limits,
    note: Option<String>,
) -> Result<Watermarked> {
    let stamp = stamp.rotated(placement.rotation, limits.max_stamp_pixels)?;
    let size = (stamp.width, stamp.height);
    let origins = placement.origins(
        (image.width(), image.height()),
        size,
        limits.max_tiled_marks,
    )?;
    let mut canvas = Canvas::from_image(image);
    for &(x, y) in &origins {
        canvas.draw(&stamp, x, y);
    }
    Ok(Watermarked {
        image: canvas.into_image(),
        status: WatermarkStatus::Applied,
        marks: origins.len(),
        note,
    })
}
