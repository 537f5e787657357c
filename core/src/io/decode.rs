//! Decoding untrusted images: format sniffing, limits, orientation, pixel normalisation.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::error::ImageError;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::DecodeLimits;
use crate::{Error, Result};

/// Decodes an encoded image (PNG, JPEG, WebP, GIF, BMP, TIFF, QOI, PNM, TGA) from memory.
///
/// The format is recognised from the bytes themselves. The image is checked against
/// `limits` before any pixel memory is allocated, EXIF orientation is applied (so a
/// portrait photo comes out upright), and the pixels are normalised to 8 bits per channel
/// in one of four layouts: grey ([`DynamicImage::ImageLuma8`]), grey with alpha
/// (`ImageLumaA8`), RGB (`ImageRgb8`) or RGBA (`ImageRgba8`). 16-bit and float images are
/// reduced to 8 bits; animated images give their first frame.
///
/// Every failure is an [`Error`] of kind [`InvalidImage`](crate::ErrorKind::InvalidImage)
/// or [`LimitExceeded`](crate::ErrorKind::LimitExceeded); a malicious file can not make
/// this function panic or allocate beyond the limits.
///
/// ```
/// use stylemark::io::{decode, encode, DecodeLimits, OutputFormat};
/// use stylemark::image::{DynamicImage, RgbImage};
///
/// let png = encode(&DynamicImage::ImageRgb8(RgbImage::new(4, 3)), OutputFormat::Png)?;
/// let image = decode(&png, &DecodeLimits::default())?;
/// assert_eq!((image.width(), image.height()), (4, 3));
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<DynamicImage> {
    decode_named(bytes, limits, "the input", None)
}

/// Reads and decodes an image file, with the same checks as [`decode`].
///
/// The format is taken from the file's contents, not its name: a JPEG saved as
/// `photo.png` still loads. A file whose contents are no image at all gets
/// [`Error::UnrecognizedFormat`], naming what its extension claimed.
///
/// ```no_run
/// use stylemark::io::{load, DecodeLimits};
/// let style = load("monet.jpg", &DecodeLimits::default())?;
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<DynamicImage> {
    let path = path.as_ref();
    let bytes = read_file(path, limits)?;
    let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    decode_named(
        &bytes,
        limits,
        &path.display().to_string(),
        extension.as_deref(),
    )
}

/// Reads a file of at most `limits.max_input_bytes`, refusing a larger one
/// ([`Error::InputTooLarge`]) without reading past the limit: the size a file reports is
/// not trusted (`/dev/zero`, a pipe or a growing file report less than they hold).
///
/// ```
/// use stylemark::io::{read_file, DecodeLimits};
/// let limits = DecodeLimits { max_input_bytes: 1000, ..DecodeLimits::default() };
/// # #[cfg(unix)]
/// assert!(matches!(
///     read_file("/dev/zero", &limits),
///     Err(stylemark::Error::InputTooLarge { limit: 1000, .. })
/// ));
/// ```
pub fn read_file(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<Vec<u8>> {
    use std::io::Read;
    let path = path.as_ref();
    let cannot_read = |e| Error::io("cannot read", path, e);
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let reported = file.metadata().map_err(cannot_read)?.len();
    check_input_size(reported, limits)?;
    let mut bytes = Vec::with_capacity(reported as usize);
    file.take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    check_input_size(bytes.len() as u64, limits)?;
    Ok(bytes)
}

/// Reads only the header: the format and the dimensions, without decoding pixels.
///
/// ```
/// use stylemark::io::{encode, probe, OutputFormat};
/// use stylemark::image::{DynamicImage, GrayImage};
///
/// let png = encode(&DynamicImage::ImageLuma8(GrayImage::new(7, 5)), OutputFormat::Png)?;
/// assert_eq!(probe(&png)?, (stylemark::image::ImageFormat::Png, 7, 5));
/// # Ok::<(), stylemark::Error>(())
/// ```
pub fn probe(bytes: &[u8]) -> Result<(ImageFormat, u32, u32)> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    let format = sniff_format(bytes, "the input", None)?;
    let reader = reader_for(bytes, format, &DecodeLimits::default());
    let decoder = reader
        .into_decoder()
        .map_err(|e| classify(e, format, bytes, &DecodeLimits::default()))?;
    let (width, height) = decoder.dimensions();
    Ok((format, width, height))
}

fn check_input_size(size: u64, limits: &DecodeLimits) -> Result<()> {
    if size > limits.max_input_bytes {
        return Err(Error::InputTooLarge {
            size,
            limit: limits.max_input_bytes,
        });
    }
    Ok(())
}

fn decode_named(
    bytes: &[u8],
    limits: &DecodeLimits,
    what: &str,
    extension: Option<&str>,
) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    check_input_size(bytes.len() as u64, limits)?;
    let format = sniff_format(bytes, what, extension)?;
    // Image decoders are written defensively, but this is the boundary where hostile
    // bytes enter: a decoder bug must become an error, never a crashed service.
    let decoded = catch_unwind(AssertUnwindSafe(|| decode_checked(bytes, format, limits)));
    let image = decoded.unwrap_or_else(|_| {
        Err(Error::CorruptImage {
            format: format_name(format),
            detail: "the decoder failed on malformed data".into(),
        })
    })?;
    Ok(normalise_pixels(image))
}

fn sniff_format(bytes: &[u8], what: &str, extension: Option<&str>) -> Result<ImageFormat> {
    image::guess_format(bytes).map_err(|_| Error::UnrecognizedFormat {
        what: what.to_string(),
        hint: match extension {
            Some(ext) => {
                format!(" (its name ends in .{ext}, but its bytes are not in that format)")
            }
            None => String::new(),
        },
    })
}

fn reader_for<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    reader
}

fn decode_checked(
    bytes: &[u8],
    format: ImageFormat,
    limits: &DecodeLimits,
) -> Result<DynamicImage> {
    let fail = |e| classify(e, format, bytes, limits);
    let mut decoder = reader_for(bytes, format, limits)
        .into_decoder()
        .map_err(fail)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    if format == ImageFormat::Gif {
        // The header's size is the logical screen; a frame may be far larger.
        for (width, height) in super::gif::frame_sizes(bytes) {
            check_pixels(width, height, limits)?;
        }
    }
    if decoder.total_bytes() > limits.max_alloc_bytes {
        return Err(Error::AllocationLimit {
            format: format_name(format),
            limit: limits.max_alloc_bytes,
        });
    }
    // A missing or unreadable EXIF block is not worth failing over: keep the pixels as stored.
    let orientation = decoder.orientation().ok();
    if format == ImageFormat::Jpeg && !has_jpeg_end_marker(bytes) {
        // The JPEG decoder fills a cut-off scan with grey instead of failing; without the
        // end-of-image marker the file is known to be incomplete.
        return Err(Error::TruncatedImage {
            format: format_name(format),
        });
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(fail)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

/// Refuses an empty image, or one over `limits.max_pixels`.
pub(super) fn check_dimensions(width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::ZeroSizedImage { width, height });
    }
    check_pixels(width, height, limits)
}

/// Refuses an image over `limits.max_pixels`.
fn check_pixels(width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(Error::TooManyPixels {
            width,
            height,
            pixels,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

/// JPEG files end with the EOI marker `FF D9`, possibly followed by padding or trailing data
/// that some cameras append; look for it near the end.
fn has_jpeg_end_marker(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Turns an `image` crate error into the variant that tells the caller what happened.
fn classify(error: ImageError, format: ImageFormat, bytes: &[u8], limits: &DecodeLimits) -> Error {
    let format_label = format_name(format);
    match error {
        // We set no dimension limits on the decoder (pixels are checked from the header
        // first), so any limit it reports is about memory.
        ImageError::Limits(_) => Error::AllocationLimit {
            format: format_label,
            limit: limits.max_alloc_bytes,
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::TruncatedImage {
                format: format_label,
            }
        }
        other => {
            let detail = other.to_string();
            if let Some(Err(refused)) = header_dimensions(bytes, format)
                .map(|(width, height)| check_dimensions(width, height, limits))
            {
                refused
            } else if container_is_cut_short(bytes, format)
                || looks_truncated(&detail)
                || bytes.len() < 32
            {
                Error::TruncatedImage {
                    format: format_label,
                }
            } else if looks_zero_sized(&detail) {
                Error::ZeroSizedImage {
                    width: 0,
                    height: 0,
                }
            } else {
                Error::CorruptImage {
                    format: format_label,
                    detail,
                }
            }
        }
    }
}

/// The size a header declares, for formats whose decoder refuses a huge size itself with
/// a message that names no size (QOI: "qoif", then width and height as big-endian u32).
fn header_dimensions(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    match format {
        ImageFormat::Qoi if bytes.len() >= 12 && bytes.starts_with(b"qoif") => {
            let word = |at: usize| {
                u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            Some((word(4), word(8)))
        }
        _ => None,
    }
}

/// Whether the container's own framing shows that bytes are missing at the end.
fn container_is_cut_short(bytes: &[u8], format: ImageFormat) -> bool {
    match format {
        // RIFF header: "RIFF", then the size of everything after these 8 bytes.
        ImageFormat::WebP if bytes.len() >= 8 => {
            let declared = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
            bytes.len() < declared.saturating_add(8)
        }
        // Every complete PNG ends with an IEND chunk.
        ImageFormat::Png => !bytes[bytes.len().saturating_sub(12)..]
            .windows(4)
            .any(|w| w == b"IEND"),
        ImageFormat::Jpeg => !has_jpeg_end_marker(bytes),
        _ => false,
    }
}

fn looks_truncated(detail: &str) -> bool {
    let detail = detail.to_lowercase();
    [
        "eof",
        "end of file",
        "unexpected end",
        "truncated",
        "not enough data",
        "no more data",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

fn looks_zero_sized(detail: &str) -> bool {
    let detail = detail.to_lowercase();
    detail.contains("invalid image dimensions")
        || (detail.contains("zero")
            && (detail.contains("width")
                || detail.contains("height")
                || detail.contains("dimension")))
}

/// A short, human name for a format (`PNG`, `JPEG`, `WebP`...).
pub(crate) fn format_name(format: ImageFormat) -> String {
    match format {
        ImageFormat::Png => "PNG".into(),
        ImageFormat::Jpeg => "JPEG".into(),
        ImageFormat::WebP => "WebP".into(),
        ImageFormat::Gif => "GIF".into(),
        ImageFormat::Bmp => "BMP".into(),
        ImageFormat::Tiff => "TIFF".into(),
        ImageFormat::Qoi => "QOI".into(),
        ImageFormat::Pnm => "PNM".into(),
        ImageFormat::Tga => "TGA".into(),
        other => format!("{other:?}"),
    }
}

/// Brings any decoded layout to one of the four 8-bit layouts the rest of stylemark handles.
fn normalise_pixels(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgb32F(_) => {
            DynamicImage::ImageRgb8(image.to_rgb8())
        }
        _ => DynamicImage::ImageRgba8(image.to_rgba8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::gif::gif;

    #[test]
    fn a_frame_larger_than_its_screen_is_held_to_the_pixel_limit() {
        let err = decode(&gif((1, 1), (20_000, 20_000)), &DecodeLimits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::TooManyPixels {
                    width: 20_000,
                    height: 20_000,
                    ..
                }
            ),
            "{err}"
        );
        // An ordinary GIF still decodes, its one frame found.
        let mut ordinary = Vec::new();
        let frame = image::RgbaImage::from_pixel(3, 2, image::Rgba([200, 10, 10, 255]));
        image::codecs::gif::GifEncoder::new(&mut ordinary)
            .encode_frame(image::Frame::new(frame))
            .unwrap();
        assert_eq!(crate::io::gif::frame_sizes(&ordinary), vec![(3, 2)]);
        let image = decode(&ordinary, &DecodeLimits::default()).unwrap();
        assert_eq!((image.width(), image.height()), (3, 2));
    }
}
