//! The invisible mark against the attacks it must survive, its quality, its false-positive
//! behaviour and its errors. Images are generated photos of 683x512 (the smallest
//! "ordinary photo" size the mark targets).

use stylemark::image::{DynamicImage, GrayImage, Luma, Rgba, RgbaImage};
use stylemark::io::OutputFormat;
use stylemark::samples::photo;
use stylemark::watermark::invisible::{self as mark, MarkOptions, attacks};
use stylemark::{Error, ErrorKind};

const KEY: &str = "test key";
const PAYLOAD: &[u8] = &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67];

fn marked(seed: u64) -> DynamicImage {
    let original = photo(683, 512, seed);
    let marked = mark::embed(&original, PAYLOAD, KEY, &MarkOptions::default()).unwrap();
    assert!(
        marked.psnr_db >= 40.0,
        "PSNR {} below 40 dB",
        marked.psnr_db
    );
    marked.image
}

fn assert_reads(image: &DynamicImage, what: &str) {
    let detection = mark::detect(image, KEY).unwrap();
    assert!(detection.found, "{what}: not found ({detection:?})");
    assert_eq!(detection.payload.as_deref(), Some(PAYLOAD), "{what}");
}

type Attack = (&'static str, fn(&DynamicImage) -> DynamicImage);

/// Runs attacks on two threads (the suite runs on 2-core machines).
fn assert_survives(image: &DynamicImage, attacks: &[Attack]) {
    std::thread::scope(|scope| {
        let (first, second) = attacks.split_at(attacks.len() / 2);
        for half in [first, second] {
            scope.spawn(move || {
                for (name, attack) in half {
                    assert_reads(&attack(image), name);
                }
            });
        }
    });
}

#[test]
fn survives_recompression_and_lossless_round_trips() {
    let image = marked(1);
    assert_reads(&image, "no attack");
    assert_survives(
        &image,
        &[
            ("PNG", |i| {
                attacks::round_trip(i, OutputFormat::Png).unwrap()
            }),
            ("WebP", |i| {
                attacks::round_trip(i, OutputFormat::WebP).unwrap()
            }),
            ("JPEG 4:2:0 q50", |i| attacks::jpeg_420(i, 50).unwrap()),
            ("JPEG 4:2:0 q30", |i| attacks::jpeg_420(i, 30).unwrap()),
        ],
    );
}

#[test]
fn survives_resizing_and_cropping() {
    let image = marked(2);
    assert_survives(
        &image,
        &[
            ("resize 0.5x", |i| attacks::resize(i, 0.5)),
            ("resize 2x", |i| attacks::resize(i, 2.0)),
            ("resize 0.75x + JPEG 75", |i| {
                attacks::jpeg_420(&attacks::resize(i, 0.75), 75).unwrap()
            }),
            ("crop 10% left", |i| attacks::crop(i, 0.1, 0.0, 0.0, 0.0)),
            ("crop 10% top", |i| attacks::crop(i, 0.0, 0.1, 0.0, 0.0)),
            ("crop 10% right", |i| attacks::crop(i, 0.0, 0.0, 0.1, 0.0)),
            ("crop 10% bottom", |i| attacks::crop(i, 0.0, 0.0, 0.0, 0.1)),
            ("crop 5% all sides", |i| {
                attacks::crop(i, 0.05, 0.05, 0.05, 0.05)
            }),
        ],
    );
}

#[test]
fn survives_tone_changes_and_noise() {
    let image = marked(3);
    assert_survives(
        &image,
        &[
            ("brightness +20%", |i| attacks::brightness(i, 1.2)),
            ("brightness -20%", |i| attacks::brightness(i, 0.8)),
            ("contrast +20%", |i| attacks::contrast(i, 1.2)),
            ("contrast -20%", |i| attacks::contrast(i, 0.8)),
            ("noise sigma 5", |i| attacks::noise(i, 5.0, 1)),
        ],
    );
}

#[test]
fn survives_small_rotations() {
    let image = marked(9);
    assert_survives(
        &image,
        &[
            ("rotate 1 degree", |i| attacks::rotate(i, 1.0)),
            ("rotate -2 degrees", |i| attacks::rotate(i, -2.0)),
        ],
    );
}

#[test]
fn unmarked_images_and_wrong_keys_are_not_found() {
    let image = marked(4);
    let wrong = mark::detect(&image, "test kez").unwrap();
    assert!(!wrong.found && wrong.payload.is_none(), "{wrong:?}");
    // 20 here keeps the suite fast; the benchmark measures 200 (docs/PERFORMANCE.md).
    std::thread::scope(|scope| {
        for half in 0..2u64 {
            scope.spawn(move || {
                for seed in (0..10).map(|i| 100 + 2 * i + half) {
                    let detection = mark::detect(&photo(512, 384, seed), KEY).unwrap();
                    assert!(
                        !detection.found,
                        "false positive on unmarked image {seed}: {detection:?}"
                    );
                    assert!(detection.sync_score < 5.5);
                }
            });
        }
    });
}

#[test]
fn marks_are_deterministic_and_keep_alpha_and_grey() {
    let original = photo(600, 520, 5);
    let options = MarkOptions::default();
    let a = mark::embed(&original, b"hi", KEY, &options).unwrap();
    let b = mark::embed(&original, b"hi", KEY, &options).unwrap();
    assert_eq!(a.image, b.image);

    let mut rgba = RgbaImage::from_fn(600, 520, |x, y| {
        let [r, g, b] = original.as_rgb8().unwrap().get_pixel(x, y).0;
        Rgba([r, g, b, ((x * 7 + y * 3) % 256) as u8])
    });
    rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
    let marked_rgba = mark::embed(
        &DynamicImage::ImageRgba8(rgba.clone()),
        b"hi",
        KEY,
        &options,
    )
    .unwrap();
    let out = marked_rgba.image.as_rgba8().expect("RGBA stays RGBA");
    assert!(
        rgba.pixels()
            .zip(out.pixels())
            .all(|(a, b)| a.0[3] == b.0[3]),
        "alpha changed"
    );

    let grey = DynamicImage::ImageLuma8(original.to_luma8());
    let marked_grey = mark::embed(&grey, b"hi", KEY, &options).unwrap();
    assert!(marked_grey.image.as_luma8().is_some(), "grey stays grey");
    let detection = mark::detect(&marked_grey.image, KEY).unwrap();
    assert_eq!(detection.payload.as_deref(), Some(&b"hi"[..]));
}

#[test]
fn refuses_images_that_cannot_hold_a_mark() {
    let small = photo(300, 200, 6);
    let err = mark::embed(&small, b"x", KEY, &MarkOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::ImageTooSmallForMark { min_side: 256, .. }),
        "{err}"
    );

    let flat = DynamicImage::ImageLuma8(GrayImage::from_pixel(600, 600, Luma([128])));
    let err = mark::embed(&flat, b"x", KEY, &MarkOptions::default()).unwrap_err();
    assert!(matches!(err, Error::MarkWouldNotSurvive { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidImage);
    assert!(
        err.to_string().contains("strength"),
        "says what to do: {err}"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let image = photo(512, 512, 7);
    let options = MarkOptions::default();
    let too_long = mark::embed(&image, &[0; 9], KEY, &options).unwrap_err();
    assert!(too_long.to_string().contains("1 to 8 bytes"), "{too_long}");
    let empty_key = mark::embed(&image, b"x", "", &options).unwrap_err();
    assert!(empty_key.to_string().contains("`key`"), "{empty_key}");
    assert!(mark::detect(&image, "").is_err());
    let weak = options.strength(0.0);
    assert!(
        mark::embed(&image, b"x", KEY, &weak)
            .unwrap_err()
            .to_string()
            .contains("strength")
    );
    assert!(mark::parse_hex("xyz1").is_err());
    let tiny = photo(100, 90, 1);
    assert!(matches!(
        mark::detect(&tiny, KEY),
        Err(Error::ImageTooSmallForMark { .. })
    ));
}

#[test]
fn every_key_gives_a_readable_layout() {
    // The prototype once failed on some keys' layouts; check a dozen keys through JPEG q50.
    let original = photo(683, 512, 8);
    std::thread::scope(|scope| {
        for half in 0..2 {
            let original = &original;
            scope.spawn(move || {
                for i in (0..12).filter(|i| i % 2 == half) {
                    let key = format!("key number {i}");
                    let marked =
                        mark::embed(original, &[i as u8, 0x5a], &key, &MarkOptions::default())
                            .unwrap();
                    let detection =
                        mark::detect(&attacks::jpeg_420(&marked.image, 50).unwrap(), &key).unwrap();
                    assert_eq!(
                        detection.payload.as_deref(),
                        Some(&[i as u8, 0x5a][..]),
                        "key {key}: {detection:?}"
                    );
                }
            });
        }
    });
}

#[test]
fn batch_detection_reports_every_image_in_place_and_goes_on_past_bad_ones() {
    let items: Vec<Option<DynamicImage>> = vec![
        Some(marked(11)),
        None, // stands for a file that cannot be read
        Some(photo(512, 384, 12)),
        Some(attacks::rotate(&marked(13), -1.5)),
    ];
    let session = stylemark::Session::default();
    let outcomes = session
        .mark_detect_all(items, KEY, |item| {
            item.ok_or_else(|| Error::option("image", "could not be read"))
        })
        .unwrap();
    assert_eq!(outcomes.len(), 4);
    let found = |i: usize| outcomes[i].as_ref().unwrap();
    assert!(found(0).found && found(0).payload.as_deref() == Some(PAYLOAD));
    assert!(matches!(&outcomes[1], Err(e) if e.kind() == ErrorKind::InvalidOptions));
    assert!(!found(2).found);
    assert!(found(3).found && found(3).payload.as_deref() == Some(PAYLOAD));
    // The same outcomes as one detection at a time.
    assert_eq!(found(2), &mark::detect(&photo(512, 384, 12), KEY).unwrap());

    let bad_key = session.mark_detect_all(vec![photo(512, 384, 1)], "", Ok);
    assert!(matches!(bad_key, Err(e) if e.kind() == ErrorKind::InvalidOptions));
}
