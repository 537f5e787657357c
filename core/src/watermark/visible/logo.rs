//! Logo watermarks: an image (PNG with alpha, JPEG, WebP...) scaled, rotated and placed.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use super::stamp::Stamp;
use super::text::opacity_range;
use super::{Length, Placement};
use crate::field::{Field, declare_options, field_table};
use crate::{Error, Limits, Result};

declare_options! {
    /// How to place a logo watermark.
    ///
    /// ```
    /// use stylemark::watermark::visible::{Length, LogoOptions};
    /// let options = LogoOptions::default().size(Length::Pixels(120.0)).min_width(400);
    /// assert!(!options.upscale);
    /// ```
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct LogoOptions {
        /// The logo's width: pixels, or a percentage of the image's width (its height
        /// follows the logo's aspect ratio).
        size: Length = Length::Fraction(0.2), valid |size| size.in_range(false);
        /// Allow enlarging the logo past its own resolution (which blurs it). Off: a logo
        /// smaller than `size` is drawn at its own size, and the outcome says so.
        upscale: bool = false;
        /// Opacity, 0 to 1 (multiplies the logo's own alpha).
        opacity: f32 = 0.8, valid opacity_range;
        /// Skip images narrower than this many pixels (the image is returned unchanged and
        /// the outcome says it was skipped).
        min_width: u32 = 0;
        /// Skip images shorter than this many pixels.
        min_height: u32 = 0;
        carried {
            /// Where the logo goes.
            placement: Placement = Placement::default();
        }
    }
}

impl LogoOptions {
    /// The logo options' text fields, placement included, as forms and the CLI spell
    /// them (see [`Field`]).
    pub fn fields() -> &'static [Field<LogoOptions>] {
        field_table!(LogoOptions, || {
            let mut fields = Self::declared_fields();
            fields.extend(Placement::fields().iter().cloned().map(|field| {
                field.lift(
                    |options: &LogoOptions| &options.placement,
                    |options: &mut LogoOptions| &mut options.placement,
                )
            }));
            fields
        })
    }
}

impl LogoOptions {
    /// Checks every option, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        // The placement's fields are among them.
        Self::fields()
            .iter()
            .try_for_each(|field| field.check(self))
    }
}

/// The logo as a stamp for an image `image_width` wide, and a note when it was kept
/// smaller than asked.
pub(crate) fn logo_stamp(
    logo: &DynamicImage,
    options: &LogoOptions,
    image_width: u32,
    limits: &Limits,
) -> Result<(Stamp, Option<String>)> {
    let wanted = options.size.resolve(image_width).round();
    if wanted < 1.0 {
        return Err(Error::option(
            "size",
            format!("{} comes to less than a pixel on this image", options.size),
        ));
    }
    let mut note = None;
    let width = if wanted > logo.width() as f32 && !options.upscale {
        note = Some(format!(
            "the logo is {} px wide, less than the {wanted} px asked for; drawn at its own size (set `upscale` to enlarge it)",
            logo.width()
        ));
        logo.width()
    } else {
        wanted as u32
    };
    let height =
        ((logo.height() as f32 * width as f32 / logo.width() as f32).round() as u32).max(1);
    // The logo as given becomes a stamp of floats before it is resized: both count.
    for (w, h) in [(width, height), (logo.width(), logo.height())] {
        super::stamp::check_size(u64::from(w), u64::from(h), limits.max_stamp_pixels)?;
    }
    let mut stamp = Stamp::from_image(logo).resized(width, height);
    let opacity = options.opacity;
    stamp
        .pixels
        .iter_mut()
        .for_each(|p| *p = p.map(|v| v * opacity));
    Ok((stamp, note))
}
