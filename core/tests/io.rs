//! Image input and output: formats, limits, hostile input, orientation, alpha and grey.

use stylemark::image::{
    DynamicImage, GrayAlphaImage, GrayImage, ImageBuffer, Rgb, RgbImage, Rgba, RgbaImage,
};
use stylemark::io::{DecodeLimits, OutputFormat, decode, encode, from_raw, load, save};
use stylemark::{Error, ErrorKind};

fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7) as u8, (y * 11) as u8, ((x + y) * 3) as u8])
    })
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A syntactically valid PNG header announcing `width x height`, with no pixel data.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

#[test]
fn png_round_trip_keeps_every_layout() {
    let layouts = [
        DynamicImage::ImageLuma8(GrayImage::from_fn(5, 4, |x, y| [(x * 40 + y) as u8].into())),
        DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(5, 4, |x, y| {
            [(x * 40) as u8, (y * 60) as u8].into()
        })),
        DynamicImage::ImageRgb8(gradient(5, 4)),
        DynamicImage::ImageRgba8(RgbaImage::from_fn(5, 4, |x, y| {
            Rgba([x as u8, y as u8, 9, (x * 50) as u8])
        })),
    ];
    for original in layouts {
        let decoded = decode(&encode(&original, OutputFormat::Png).unwrap(), &limits()).unwrap();
        assert_eq!(decoded.color(), original.color());
        assert_eq!(decoded.as_bytes(), original.as_bytes());
    }
}

#[test]
fn webp_is_lossless_and_jpeg_is_close() {
    let original = DynamicImage::ImageRgb8(gradient(32, 24));
    let webp = decode(&encode(&original, OutputFormat::WebP).unwrap(), &limits()).unwrap();
    assert_eq!(webp.to_rgb8().as_raw(), original.to_rgb8().as_raw());

    let jpeg = decode(
        &encode(&original, OutputFormat::Jpeg { quality: 95 }).unwrap(),
        &limits(),
    )
    .unwrap();
    let error: f64 = jpeg
        .to_rgb8()
        .as_raw()
        .iter()
        .zip(original.to_rgb8().as_raw())
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .sum::<f64>()
        / (32.0 * 24.0 * 3.0);
    assert!(error < 6.0, "mean JPEG error {error}");
}

#[test]
fn jpeg_flattens_transparency_over_white_not_black() {
    let transparent = DynamicImage::ImageRgba8(RgbaImage::from_pixel(16, 16, Rgba([0, 0, 0, 0])));
    let decoded = decode(
        &encode(&transparent, OutputFormat::Jpeg { quality: 90 }).unwrap(),
        &limits(),
    )
    .unwrap();
    let pixel = decoded.to_rgb8().get_pixel(8, 8).0;
    assert!(
        pixel.iter().all(|&v| v > 245),
        "transparent pixel became {pixel:?}"
    );
}

#[test]
fn sixteen_bit_input_is_reduced_to_eight_bits() {
    let deep: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(3, 3, Rgb([65535, 32768, 0]));
    let mut png = Vec::new();
    DynamicImage::ImageRgb16(deep)
        .write_to(
            &mut std::io::Cursor::new(&mut png),
            stylemark::image::ImageFormat::Png,
        )
        .unwrap();
    let decoded = decode(&png, &limits()).unwrap();
    assert!(matches!(decoded, DynamicImage::ImageRgb8(_)));
    assert_eq!(decoded.to_rgb8().get_pixel(1, 1).0, [255, 128, 0]);
}

#[test]
fn empty_input_is_its_own_error() {
    let error = decode(&[], &limits()).unwrap_err();
    assert!(matches!(error, Error::EmptyInput), "{error}");
    assert_eq!(error.kind(), ErrorKind::InvalidImage);
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let png = encode(
        &DynamicImage::ImageRgb8(gradient(64, 64)),
        OutputFormat::Png,
    )
    .unwrap();
    let small = DecodeLimits {
        max_input_bytes: 100,
        ..limits()
    };
    let error = decode(&png, &small).unwrap_err();
    assert!(
        matches!(error, Error::InputTooLarge { limit: 100, .. }),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn decompression_bomb_is_refused_from_its_header() {
    // 100 bytes claiming 100000 x 100000 pixels (30 GB of RGB).
    let bomb = png_header_only(100_000, 100_000);
    assert!(bomb.len() < 100);
    let error = decode(&bomb, &limits()).unwrap_err();
    match error {
        Error::TooManyPixels {
            width,
            height,
            pixels,
            limit,
        } => {
            assert_eq!((width, height), (100_000, 100_000));
            assert_eq!(pixels, 10_000_000_000);
            assert_eq!(limit, DecodeLimits::DEFAULT_MAX_PIXELS);
        }
        other => panic!("expected TooManyPixels, got {other}"),
    }
}

#[test]
fn a_huge_qoi_header_is_refused_with_its_size() {
    // The QOI decoder refuses sizes past 400 MP itself, with a message naming no size.
    let mut bomb = b"qoif".to_vec();
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&70_000u32.to_be_bytes());
    bomb.extend_from_slice(&[3, 0]);
    bomb.extend_from_slice(&[0u8; 64]);
    let error = decode(&bomb, &limits()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooManyPixels {
                width: 100_000,
                height: 70_000,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn pixel_limit_is_configurable() {
    let png = encode(
        &DynamicImage::ImageRgb8(gradient(100, 100)),
        OutputFormat::Png,
    )
    .unwrap();
    let strict = DecodeLimits {
        max_pixels: 9_999,
        ..limits()
    };
    assert!(matches!(
        decode(&png, &strict),
        Err(Error::TooManyPixels { pixels: 10_000, .. })
    ));
    let exact = DecodeLimits {
        max_pixels: 10_000,
        ..limits()
    };
    assert!(decode(&png, &exact).is_ok());
}

#[test]
fn allocation_limit_is_enforced() {
    let png = encode(
        &DynamicImage::ImageRgb8(gradient(100, 100)),
        OutputFormat::Png,
    )
    .unwrap();
    let tight = DecodeLimits {
        max_alloc_bytes: 10_000,
        ..limits()
    };
    let error = decode(&png, &tight).unwrap_err();
    assert!(
        matches!(error, Error::AllocationLimit { limit: 10_000, .. }),
        "{error}"
    );
}

#[test]
fn zero_sized_image_is_its_own_error() {
    let error = decode(&png_header_only(0, 10), &limits()).unwrap_err();
    assert!(matches!(error, Error::ZeroSizedImage { .. }), "{error}");
}

#[test]
fn truncated_files_are_reported_as_truncated() {
    let original = DynamicImage::ImageRgb8(gradient(64, 64));
    for format in [
        OutputFormat::Png,
        OutputFormat::Jpeg { quality: 90 },
        OutputFormat::WebP,
    ] {
        let bytes = encode(&original, format).unwrap();
        let cut = &bytes[..bytes.len() * 2 / 3];
        let error = decode(cut, &limits()).unwrap_err();
        assert!(
            matches!(error, Error::TruncatedImage { .. }),
            "{format:?}: {error}"
        );
        assert!(error.to_string().contains("truncated"));
    }
}

#[test]
fn garbage_is_unrecognized_and_corrupt_data_is_corrupt() {
    let error = decode(b"definitely not an image, just text", &limits()).unwrap_err();
    assert!(matches!(error, Error::UnrecognizedFormat { .. }), "{error}");

    let mut png = encode(
        &DynamicImage::ImageRgb8(gradient(64, 64)),
        OutputFormat::Png,
    )
    .unwrap();
    let middle = png.len() / 2;
    png[middle..middle + 40].iter_mut().for_each(|b| *b ^= 0x5A);
    let error = decode(&png, &limits()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::CorruptImage { .. } | Error::TruncatedImage { .. }
        ),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::InvalidImage);
}

#[test]
fn files_are_read_by_content_and_a_non_image_names_its_extension() {
    let dir = std::env::temp_dir().join(format!("stylemark-io-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // A JPEG saved under a .png name still loads: the bytes decide.
    let jpeg_named_png = dir.join("photo.png");
    let jpeg = encode(
        &DynamicImage::ImageRgb8(gradient(8, 8)),
        OutputFormat::Jpeg { quality: 90 },
    )
    .unwrap();
    std::fs::write(&jpeg_named_png, jpeg).unwrap();
    assert_eq!(load(&jpeg_named_png, &limits()).unwrap().width(), 8);

    // Text under an image name says what the name claimed.
    let text_named_png = dir.join("notes.png");
    std::fs::write(&text_named_png, "shopping list").unwrap();
    let error = load(&text_named_png, &limits()).unwrap_err();
    assert!(matches!(error, Error::UnrecognizedFormat { .. }));
    assert!(error.to_string().contains(".png"), "{error}");

    // A missing file is an I/O error naming the path.
    let error = load(dir.join("missing.jpg"), &limits()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(error.to_string().contains("missing.jpg"));

    // Saving picks the format from the extension and refuses unknown ones.
    save(
        &DynamicImage::ImageRgb8(gradient(8, 8)),
        dir.join("out.webp"),
        None,
    )
    .unwrap();
    assert_eq!(load(dir.join("out.webp"), &limits()).unwrap().height(), 8);
    let error = save(
        &DynamicImage::ImageRgb8(gradient(8, 8)),
        dir.join("out.xyz"),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(error, Error::UnsupportedOutputFormat { .. }),
        "{error}"
    );
    // The caller's mistake (a 400 over HTTP, INVALID_OPTIONS in C), not an I/O failure.
    assert_eq!(error.kind(), ErrorKind::InvalidOptions);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Inserts an EXIF APP1 segment with the given orientation right after the JPEG's SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend(tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend(payload);
    let mut out = jpeg[..2].to_vec();
    out.extend(segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied_to_jpegs() {
    // A wide image, left half black and right half white, stored with "rotate 90 CW".
    let stored = RgbImage::from_fn(32, 16, |x, _| {
        if x < 16 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    });
    let jpeg = encode(
        &DynamicImage::ImageRgb8(stored),
        OutputFormat::Jpeg { quality: 95 },
    )
    .unwrap();
    let decoded = decode(&with_exif_orientation(&jpeg, 6), &limits())
        .unwrap()
        .to_rgb8();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (16, 32),
        "rotated to portrait"
    );
    // Rotating 90 degrees clockwise puts the stored left (black) half on top.
    assert!(decoded.get_pixel(8, 4).0[0] < 40);
    assert!(decoded.get_pixel(8, 28).0[0] > 215);
}

#[test]
fn raw_pixels_with_padding_and_bad_sizes() {
    // Two rows of 2 RGB pixels, each row padded to 8 bytes.
    let data = [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12];
    let image = from_raw(2, 2, 3, 8, &data, &limits()).unwrap();
    assert_eq!(image.to_rgb8().get_pixel(1, 1).0, [10, 11, 12]);

    let errors = [
        from_raw(2, 2, 3, 5, &data, &limits()).unwrap_err(),
        from_raw(2, 3, 3, 8, &data, &limits()).unwrap_err(),
        from_raw(2, 2, 5, 10, &[0; 40], &limits()).unwrap_err(),
    ];
    for error in errors {
        assert!(matches!(error, Error::InvalidRawImage(_)), "{error}");
    }
    assert!(matches!(
        from_raw(0, 2, 3, 8, &data, &limits()),
        Err(Error::ZeroSizedImage { .. })
    ));
}
