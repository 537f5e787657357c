//! Encoding images to PNG, JPEG and WebP.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;
use std::str::FromStr;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The formats stylemark writes.
///
/// ```
/// use stylemark::io::OutputFormat;
///
/// assert_eq!(OutputFormat::from_path("out.JPG")?, OutputFormat::Jpeg { quality: 90 });
/// assert_eq!("webp".parse::<OutputFormat>()?, OutputFormat::WebP);
/// assert!(OutputFormat::from_path("out.gif").is_err());
/// # Ok::<(), stylemark::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "format")]
pub enum OutputFormat {
    /// Lossless PNG, keeping alpha and greyscale as they are.
    Png,
    /// Baseline JPEG with full-resolution (4:4:4) chroma. JPEG has no alpha: a transparent image
    /// is flattened over white first, so transparency never turns black.
    Jpeg {
        /// 1 (smallest) to 100 (best); 90 by default.
        quality: u8,
    },
    /// Lossless WebP (the encoder built into stylemark writes lossless WebP only).
    #[serde(rename = "webp")]
    WebP,
}

impl OutputFormat {
    /// The JPEG quality used when none is given.
    pub const DEFAULT_JPEG_QUALITY: u8 = 90;

    /// The format a file name asks for, from its extension (`.png`, `.jpg`, `.jpeg`, `.webp`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_string())
            .unwrap_or_default();
        if extension.is_empty() {
            return Err(Error::UnsupportedOutputFormat {
                requested: format!("{} (no extension)", path.display()),
            });
        }
        extension.parse()
    }

    /// The same format with a JPEG quality applied (ignored by lossless formats).
    ///
    /// ```
    /// use stylemark::io::OutputFormat;
    /// assert_eq!(OutputFormat::from_path("a.jpg")?.with_quality(75)?, OutputFormat::Jpeg { quality: 75 });
    /// # Ok::<(), stylemark::Error>(())
    /// ```
    pub fn with_quality(self, quality: u8) -> Result<Self> {
        if !(1..=100).contains(&quality) {
            return Err(Error::option(
                "quality",
                format!("{quality} is not between 1 and 100"),
            ));
        }
        Ok(match self {
            OutputFormat::Jpeg { .. } => OutputFormat::Jpeg { quality },
            other => other,
        })
    }

    /// The MIME type, for HTTP responses.
    pub fn mime_type(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg { .. } => "image/jpeg",
            OutputFormat::WebP => "image/webp",
        }
    }

    /// The usual file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpg",
            OutputFormat::WebP => "webp",
        }
    }
}

impl FromStr for OutputFormat {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Ok(OutputFormat::Png),
            "jpg" | "jpeg" => Ok(OutputFormat::Jpeg {
                quality: Self::DEFAULT_JPEG_QUALITY,
            }),
            "webp" => Ok(OutputFormat::WebP),
            _ => Err(Error::UnsupportedOutputFormat {
                requested: name.to_string(),
            }),
        }
    }
}

/// Encodes an image in the given format.
///
/// ```
/// use stylemark::io::{encode, OutputFormat};
/// use stylemark::image::{DynamicImage, RgbaImage};
///
/// let bytes = encode(&DynamicImage::ImageRgba8(RgbaImage::new(8, 8)), OutputFormat::Jpeg { quality: 80 })?;
/// assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn encode(image: &DynamicImage, format: OutputFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let failed = |e: image::ImageError| Error::EncodeFailed {
        format: format!("{format:?}"),
        detail: e.to_string(),
    };
    match format {
        OutputFormat::Png => write_with(PngEncoder::new(&mut out), image).map_err(failed)?,
        OutputFormat::Jpeg { quality } => {
            let quality = OutputFormat::Jpeg { quality }
                .with_quality(quality)
                .map(|_| quality)?;
            let flat = flatten_for_jpeg(image);
            write_with(JpegEncoder::new_with_quality(&mut out, quality), &flat).map_err(failed)?
        }
        OutputFormat::WebP => {
            let image = webp_compatible(image);
            write_with(WebPEncoder::new_lossless(&mut out), &image).map_err(failed)?
        }
    }
    Ok(out.into_inner())
}

/// Encodes an image in the format its file name asks for and writes it.
///
/// `quality` applies to JPEG only (default 90).
///
/// ```no_run
/// use stylemark::image::{DynamicImage, RgbImage};
/// stylemark::io::save(&DynamicImage::ImageRgb8(RgbImage::new(4, 4)), "out.jpg", Some(85))?;
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn save(image: &DynamicImage, path: impl AsRef<Path>, quality: Option<u8>) -> Result<()> {
    let path = path.as_ref();
    let mut format = OutputFormat::from_path(path)?;
    if let Some(quality) = quality {
        format = format.with_quality(quality)?;
    }
    let bytes = encode(image, format)?;
    std::fs::write(path, bytes).map_err(|e| Error::io("cannot write", path, e))
}

fn write_with(encoder: impl ImageEncoder, image: &DynamicImage) -> image::ImageResult<()> {
    encoder.write_image(
        image.as_bytes(),
        image.width(),
        image.height(),
        image.color().into(),
    )
}

/// JPEG stores no alpha. Compositing over white (rather than dropping the channel, which
/// reveals whatever colour transparent pixels happen to hold, often black) keeps the look
/// of the image on a web page.
fn flatten_for_jpeg(image: &DynamicImage) -> Cow<'_, DynamicImage> {
    match image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => Cow::Borrowed(image),
        DynamicImage::ImageLumaA8(grey) => {
            let flat = image::GrayImage::from_fn(grey.width(), grey.height(), |x, y| {
                let [v, a] = grey.get_pixel(x, y).0;
                image::Luma([over_white(v, a)])
            });
            Cow::Owned(DynamicImage::ImageLuma8(flat))
        }
        other => {
            let rgba = other.to_rgba8();
            let flat = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                let [r, g, b, a] = rgba.get_pixel(x, y).0;
                image::Rgb([over_white(r, a), over_white(g, a), over_white(b, a)])
            });
            Cow::Owned(DynamicImage::ImageRgb8(flat))
        }
    }
}

/// A colour value with alpha composited over white.
pub(crate) fn over_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(value), u32::from(alpha));
    ((v * a + 255 * (255 - a) + 127) / 255) as u8
}

/// The WebP encoder takes 8-bit RGB or RGBA (and grey); other layouts are converted.
fn webp_compatible(image: &DynamicImage) -> Cow<'_, DynamicImage> {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) | DynamicImage::ImageLuma8(_) => {
            Cow::Borrowed(image)
        }
        other if other.color().has_alpha() => {
            Cow::Owned(DynamicImage::ImageRgba8(other.to_rgba8()))
        }
        other => Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}
