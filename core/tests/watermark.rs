//! Visible watermarks at the pixel level: placement, opacity, alpha on both sides, text in
//! several scripts, rotation, tiling, and the errors.

use stylemark::Error;
use stylemark::image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use stylemark::watermark::visible::{
    self as watermark, Color, Font, Length, LogoOptions, Placement, Position, TextOptions,
    WatermarkStatus,
};

fn grey_base(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([100, 100, 100])))
}

fn red_logo(width: u32, height: u32, alpha: u8) -> DynamicImage {
    DynamicImage::ImageRgba8(RgbaImage::from_pixel(
        width,
        height,
        Rgba([255, 0, 0, alpha]),
    ))
}

fn logo_at(position: Position, opacity: f32) -> LogoOptions {
    LogoOptions::default()
        .size(Length::Pixels(20.0))
        .opacity(opacity)
        .placement(
            Placement::default()
                .position(position)
                .margin(Length::Pixels(5.0)),
        )
}

/// The bounding box `(x0, y0, x1, y1)` of pixels that differ from the base.
fn changed_box(base: &DynamicImage, marked: &DynamicImage) -> Option<(u32, u32, u32, u32)> {
    let (a, b) = (base.to_rgba8(), marked.to_rgba8());
    let mut bbox: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in a.enumerate_pixels() {
        if p != b.get_pixel(x, y) {
            bbox = Some(match bbox {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    bbox
}

#[test]
fn logos_land_at_their_anchor_with_margins() {
    let base = grey_base(100, 80);
    let logo = red_logo(20, 10, 255);
    let cases = [
        (Position::NorthWest, (5, 5, 24, 14)),
        (Position::SouthEast, (75, 65, 94, 74)),
        (Position::Center, (40, 35, 59, 44)),
        (Position::South, (40, 65, 59, 74)),
        (Position::East, (75, 35, 94, 44)),
    ];
    for (position, expected) in cases {
        let marked = watermark::logo(&base, &logo, &logo_at(position, 1.0)).unwrap();
        assert_eq!(marked.status, WatermarkStatus::Applied);
        assert_eq!(
            changed_box(&base, &marked.image),
            Some(expected),
            "{position:?}"
        );
        assert_eq!(
            marked.image.to_rgb8().get_pixel(expected.0, expected.1).0,
            [255, 0, 0]
        );
    }
}

#[test]
fn opacity_blends_and_never_touches_the_base_alpha() {
    let logo = red_logo(20, 10, 255);
    // Opaque base, half opacity: halfway between red and grey, still opaque.
    let marked = watermark::logo(
        &grey_base(100, 80),
        &logo,
        &logo_at(Position::NorthWest, 0.5),
    )
    .unwrap();
    assert_eq!(marked.image.to_rgb8().get_pixel(10, 10).0, [178, 50, 50]);

    let opaque_rgba =
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(100, 80, Rgba([100, 100, 100, 255])));
    let marked = watermark::logo(&opaque_rgba, &logo, &logo_at(Position::NorthWest, 0.5)).unwrap();
    assert_eq!(
        marked.image.as_rgba8().unwrap().get_pixel(10, 10).0,
        [178, 50, 50, 255],
        "opaque base stays opaque"
    );

    // Fully transparent base (its colour bytes black): the mark keeps its own colour.
    let clear = DynamicImage::ImageRgba8(RgbaImage::from_pixel(100, 80, Rgba([0, 0, 0, 0])));
    let marked = watermark::logo(&clear, &logo, &logo_at(Position::NorthWest, 0.5)).unwrap();
    let out = marked.image.as_rgba8().unwrap();
    assert_eq!(
        out.get_pixel(10, 10).0,
        [255, 0, 0, 128],
        "transparency never turns black"
    );
    assert_eq!(
        out.get_pixel(50, 50).0[3],
        0,
        "untouched areas stay transparent"
    );

    // Half-transparent base, opaque mark: the mark is fully there, not halved.
    let half = DynamicImage::ImageRgba8(RgbaImage::from_pixel(100, 80, Rgba([0, 0, 255, 128])));
    let marked = watermark::logo(&half, &logo, &logo_at(Position::NorthWest, 1.0)).unwrap();
    assert_eq!(
        marked.image.as_rgba8().unwrap().get_pixel(10, 10).0,
        [255, 0, 0, 255]
    );
}

#[test]
fn transparent_logo_pixels_leave_the_base_alone_and_logos_are_not_upscaled() {
    // A logo whose transparent half has black colour bytes.
    let mut logo = RgbaImage::from_pixel(20, 10, Rgba([0, 0, 0, 0]));
    for x in 0..10 {
        for y in 0..10 {
            logo.put_pixel(x, y, Rgba([255, 0, 0, 255]));
        }
    }
    let base = grey_base(100, 80);
    let marked = watermark::logo(
        &base,
        &DynamicImage::ImageRgba8(logo),
        &logo_at(Position::NorthWest, 1.0),
    )
    .unwrap();
    assert_eq!(marked.image.to_rgb8().get_pixel(20, 10).0, [100, 100, 100]);

    let options = (logo_at(Position::NorthWest, 1.0)).size(Length::Fraction(0.5));
    let small = watermark::logo(&base, &red_logo(20, 10, 255), &options).unwrap();
    assert_eq!(
        changed_box(&base, &small.image),
        Some((5, 5, 24, 14)),
        "kept at 20 px"
    );
    assert!(small.note.unwrap().contains("upscale"));
    let enlarged = options.upscale(true);
    let big = watermark::logo(&base, &red_logo(20, 10, 255), &enlarged).unwrap();
    let (x0, _, x1, _) = changed_box(&base, &big.image).unwrap();
    assert_eq!(x1 - x0 + 1, 50);
}

#[test]
fn logos_are_skipped_below_the_minimum_size() {
    let base = grey_base(100, 80);
    let options = LogoOptions::default().min_width(200);
    let outcome = watermark::logo(&base, &red_logo(20, 10, 255), &options).unwrap();
    assert!(matches!(outcome.status, WatermarkStatus::Skipped(ref why) if why.contains("100x80")));
    assert_eq!(outcome.image, base);
    assert_eq!(outcome.marks, 0);
}

fn plain_text(position: Position) -> TextOptions {
    TextOptions::default()
        .size(Length::Pixels(24.0))
        .opacity(1.0)
        .shadow(None)
        .placement(
            Placement::default()
                .position(position)
                .margin(Length::Pixels(4.0)),
        )
}

#[test]
fn text_is_drawn_in_its_colour_at_its_anchor() {
    let base = grey_base(320, 120);
    let marked = watermark::text(&base, "Stylemark", &plain_text(Position::NorthWest)).unwrap();
    let (x0, y0, x1, y1) = changed_box(&base, &marked.image).expect("text drawn");
    assert!(
        x0 >= 4 && y0 >= 4 && x0 <= 8 && y0 <= 12,
        "near the top-left margin: {x0},{y0}"
    );
    assert!(
        (90..200).contains(&(x1 - x0)),
        "width of 9 letters at 24 px: {}",
        x1 - x0
    );
    assert!(
        (14..30).contains(&(y1 - y0)),
        "height of a line at 24 px: {}",
        y1 - y0
    );
    let rgb = marked.image.to_rgb8();
    let white = rgb.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(
        white > 200,
        "solid glyph interiors in the text colour: {white}"
    );

    // Kerning and shaping: "AV" is narrower than "A" and "V" drawn apart.
    let width = |text: &str| {
        let m = watermark::text(&base, text, &plain_text(Position::NorthWest)).unwrap();
        let (x0, _, x1, _) = changed_box(&base, &m.image).unwrap();
        x1 - x0
    };
    assert!(width("AV") < width("A") + width("V"));
}

#[test]
fn outline_and_shadow_make_white_text_visible_on_white() {
    let white = DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 80, Rgb([255, 255, 255])));
    let mut options = plain_text(Position::Center);
    assert!(
        changed_box(
            &white,
            &watermark::text(&white, "Hi", &options).unwrap().image
        )
        .is_none()
    );
    options.shadow = Some(Default::default());
    assert!(
        changed_box(
            &white,
            &watermark::text(&white, "Hi", &options).unwrap().image
        )
        .is_some()
    );
    options.shadow = None;
    options.outline = Some(Default::default());
    let outlined = watermark::text(&white, "Hi", &options)
        .unwrap()
        .image
        .to_rgb8();
    assert!(
        outlined.pixels().any(|p| p.0 == [0, 0, 0]),
        "a black outline"
    );
}

fn cjk_font() -> Font {
    let path = std::env::var("STYLEMARK_TEST_CJK_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".into());
    Font::from_path(&path).unwrap_or_else(|e| {
        panic!("{e}: the CJK test needs a CJK font (scripts/test-all installs fonts-wqy-microhei)")
    })
}

#[test]
fn cjk_needs_a_font_that_has_it_and_arabic_renders_with_the_built_in_one() {
    let base = grey_base(320, 120);
    let err = watermark::text(&base, "漢字 and かな", &plain_text(Position::Center)).unwrap_err();
    match &err {
        Error::MissingGlyphs { characters, fonts } => {
            assert!(
                characters.contains('漢') && characters.contains('か'),
                "{characters}"
            );
            assert!(fonts.contains("DejaVu Sans"));
        }
        other => panic!("expected MissingGlyphs, got {other}"),
    }

    let options = plain_text(Position::Center).fonts(vec![cjk_font()]);
    let marked = watermark::text(&base, "漢字 and かな 한국어", &options).unwrap();
    let (x0, _, x1, _) = changed_box(&base, &marked.image).unwrap();
    assert!(x1 - x0 > 150, "all glyphs drawn: {}", x1 - x0);

    let arabic = watermark::text(&base, "مرحبا بالعالم", &plain_text(Position::Center)).unwrap();
    assert!(changed_box(&base, &arabic.image).is_some());
}

#[test]
fn rotation_and_tiling() {
    let base = grey_base(300, 300);
    let mut options = plain_text(Position::Center);
    options.placement.rotation = 90.0;
    let turned = watermark::text(&base, "Stylemark", &options).unwrap();
    let (x0, y0, x1, y1) = changed_box(&base, &turned.image).unwrap();
    assert!(y1 - y0 > 2 * (x1 - x0), "a quarter turn stands the text up");

    options.placement.rotation = -30.0;
    options.placement.position = Position::Tile;
    let tiled = watermark::text(&base, "Stylemark", &options).unwrap();
    assert!(tiled.marks >= 6, "{} marks", tiled.marks);
    let rgb = tiled.image.to_rgb8();
    for (qx, qy) in [(0, 0), (150, 0), (0, 150), (150, 150)] {
        let inked = (qy..qy + 150)
            .flat_map(|y| (qx..qx + 150).map(move |x| (x, y)))
            .any(|(x, y)| rgb.get_pixel(x, y).0 != [100, 100, 100]);
        assert!(inked, "quadrant at {qx},{qy} has marks");
    }
}

#[test]
fn grey_images_come_back_in_colour() {
    let grey = DynamicImage::ImageLuma8(GrayImage::from_pixel(100, 80, Luma([100])));
    let marked = watermark::logo(
        &grey,
        &red_logo(20, 10, 255),
        &logo_at(Position::NorthWest, 1.0),
    )
    .unwrap();
    assert_eq!(marked.image.to_rgb8().get_pixel(10, 10).0, [255, 0, 0]);
}

#[test]
fn bad_options_are_clear_errors() {
    let base = grey_base(200, 100);
    let text = |t: &str, options: &TextOptions| {
        watermark::text(&base, t, options).unwrap_err().to_string()
    };
    let options = plain_text(Position::Center);
    assert!(text("   ", &options).contains("empty"));
    let tiny = options.clone().size(Length::Pixels(1.0));
    assert!(text("x", &tiny).contains("4 to 4096 px"));
    let huge = options.clone().size(Length::Pixels(50_000.0));
    assert!(text("x", &huge).contains("4 to 4096 px"));
    let opaque = options.clone().opacity(1.5);
    assert!(text("x", &opaque).contains("opacity"));
    assert!(
        "#12"
            .parse::<Color>()
            .unwrap_err()
            .to_string()
            .contains("#RRGGBB")
    );
    assert!(matches!(
        Font::from_path("/missing/font.ttf"),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        Font::from_bytes(vec![0; 100]),
        Err(Error::UnreadableFont { .. })
    ));
    let bad_logo = LogoOptions::default().opacity(-0.1);
    assert!(watermark::logo(&base, &red_logo(4, 4, 255), &bad_logo).is_err());
}

#[test]
fn marks_too_large_to_draw_are_refused_before_allocation() {
    use stylemark::ErrorKind;
    let base = grey_base(200, 100);
    // 20 wide letters at 4096 px (once a 2.7 GB stamp) and 120 (once a u32 size that
    // wrapped and drew out of bounds).
    for letters in [20, 120] {
        let options = TextOptions::default().size(Length::Pixels(4096.0));
        let err = watermark::text(&base, &"W".repeat(letters), &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    }
    // A 100x1 logo enlarged to 100,000 px and turned (once 29 GB).
    let mut options = LogoOptions::default()
        .size(Length::Pixels(100_000.0))
        .upscale(true);
    options.placement.rotation = 10.0;
    let err = watermark::logo(&base, &red_logo(100, 1, 255), &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("smaller"), "{err}");
}
