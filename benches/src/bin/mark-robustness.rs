//! Measures the invisible mark on generated photos: for each attack, how often the exact
//! payload comes back, the bit accuracy and the sync score; then the false-positive rate
//! on unmarked images and with wrong keys; and the PSNR of the marks. Prints a Markdown
//! table (the one in `docs/PERFORMANCE.md`).
//!
//! ```sh
//! cargo run --release -p stylemark-benches --bin mark-robustness -- --images 20 --unmarked 200
//! ```
//!
//! Options: `--images N` marked images (default 20), `--size WxH` (default 1024x768),
//! `--unmarked N` images for the false-positive rate (default 200, at 512x384),
//! `--strength S` the marks' strength (default 1; below 1 shows how much margin is left),
//! `--no-verify` to keep marks the embedder would refuse as too weak,
//! `--files a.jpg,b.png` to measure on your own images instead of generated ones.

use stylemark::Error;
use stylemark::image::DynamicImage;
use stylemark::io::OutputFormat;
use stylemark::samples::photo;
use stylemark::watermark::invisible::{self as mark, MarkOptions, attacks};

type Attack = (
    &'static str,
    Box<dyn Fn(&DynamicImage) -> Result<DynamicImage, Error>>,
);

fn attacks() -> Vec<Attack> {
    fn a(
        name: &'static str,
        f: impl Fn(&DynamicImage) -> Result<DynamicImage, Error> + 'static,
    ) -> Attack {
        (name, Box::new(f))
    }
    vec![
        a("none", |i| Ok(i.clone())),
        a("PNG round trip", |i| {
            attacks::round_trip(i, OutputFormat::Png)
        }),
        a("WebP (lossless) round trip", |i| {
            attacks::round_trip(i, OutputFormat::WebP)
        }),
        a("JPEG 4:2:0 q90", |i| attacks::jpeg_420(i, 90)),
        a("JPEG 4:2:0 q75", |i| attacks::jpeg_420(i, 75)),
        a("JPEG 4:2:0 q50", |i| attacks::jpeg_420(i, 50)),
        a("JPEG 4:2:0 q30", |i| attacks::jpeg_420(i, 30)),
        a("resize 0.5x", |i| Ok(attacks::resize(i, 0.5))),
        a("resize 2x", |i| Ok(attacks::resize(i, 2.0))),
        a("resize 0.75x + JPEG q75", |i| {
            attacks::jpeg_420(&attacks::resize(i, 0.75), 75)
        }),
        a("crop 10% left", |i| {
            Ok(attacks::crop(i, 0.1, 0.0, 0.0, 0.0))
        }),
        a("crop 10% top", |i| Ok(attacks::crop(i, 0.0, 0.1, 0.0, 0.0))),
        a("crop 10% right", |i| {
            Ok(attacks::crop(i, 0.0, 0.0, 0.1, 0.0))
        }),
        a("crop 10% bottom", |i| {
            Ok(attacks::crop(i, 0.0, 0.0, 0.0, 0.1))
        }),
        a("crop 5% every side", |i| {
            Ok(attacks::crop(i, 0.05, 0.05, 0.05, 0.05))
        }),
        a("crop 7% left+top + JPEG q75", |i| {
            attacks::jpeg_420(&attacks::crop(i, 0.07, 0.07, 0.0, 0.0), 75)
        }),
        a("brightness +20%", |i| Ok(attacks::brightness(i, 1.2))),
        a("brightness -20%", |i| Ok(attacks::brightness(i, 0.8))),
        a("contrast +20%", |i| Ok(attacks::contrast(i, 1.2))),
        a("contrast -20%", |i| Ok(attacks::contrast(i, 0.8))),
        a("Gaussian noise sigma 5", |i| Ok(attacks::noise(i, 5.0, 9))),
        a("rotate 1 degree", |i| Ok(attacks::rotate(i, 1.0))),
        a("rotate 2 degrees", |i| Ok(attacks::rotate(i, 2.0))),
        a("rotate -1.5 degrees + JPEG q75", |i| {
            attacks::jpeg_420(&attacks::rotate(i, -1.5), 75)
        }),
        a("rotate 1 degree + crop 5% left+top", |i| {
            Ok(attacks::crop(
                &attacks::rotate(i, 1.0),
                0.05,
                0.05,
                0.0,
                0.0,
            ))
        }),
        a("rotate 2 degrees + JPEG q50", |i| {
            attacks::jpeg_420(&attacks::rotate(i, 2.0), 50)
        }),
        a("rotate -1 degree + resize 0.75x", |i| {
            Ok(attacks::resize(&attacks::rotate(i, -1.0), 0.75))
        }),
    ]
}

fn main() -> Result<(), Error> {
    let mut images = 20u64;
    let mut unmarked = 200u64;
    let (mut width, mut height) = (1024u32, 768u32);
    let mut files: Vec<String> = Vec::new();
    let mut options = MarkOptions::default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<String> = args
        .into_iter()
        .filter(|a| {
            let flag = a == "--no-verify";
            options.verify &= !flag;
            !flag
        })
        .collect();
    for pair in args.chunks(2) {
        let bad = || Error::option(pair[0].trim_start_matches('-'), "needs a number");
        match (pair[0].as_str(), pair.get(1)) {
            ("--images", Some(v)) => images = v.parse().map_err(|_| bad())?,
            ("--unmarked", Some(v)) => unmarked = v.parse().map_err(|_| bad())?,
            ("--size", Some(v)) => {
                let (w, h) = v.split_once('x').ok_or_else(bad)?;
                (width, height) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
            }
            ("--files", Some(v)) => files = v.split(',').map(String::from).collect(),
            ("--strength", Some(v)) => options.strength = v.parse().map_err(|_| bad())?,
            _ => {
                return Err(Error::option(
                    &pair[0],
                    "unknown; see the file's doc comment",
                ));
            }
        }
    }

    let key = "robustness-table";
    let mut marked = Vec::new();
    let mut psnr = Vec::new();
    let mut refused = 0;
    let inputs: Vec<DynamicImage> = if files.is_empty() {
        (0..images).map(|seed| photo(width, height, seed)).collect()
    } else {
        let limits = stylemark::io::DecodeLimits::default();
        files
            .iter()
            .map(|f| stylemark::io::load(f, &limits))
            .collect::<Result<_, _>>()?
    };
    for (seed, input) in inputs.iter().enumerate() {
        let payload = ((seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5).to_be_bytes();
        match mark::embed(input, &payload, key, &options) {
            Ok(m) => {
                psnr.push(m.psnr_db);
                marked.push((m.image, payload));
            }
            Err(e @ Error::MarkWouldNotSurvive { .. }) => {
                eprintln!("image {seed} refused: {e}");
                refused += 1
            }
            Err(e) => return Err(e),
        }
    }
    let (min_psnr, mean_psnr) = (
        psnr.iter().cloned().fold(f32::INFINITY, f32::min),
        psnr.iter().sum::<f32>() / psnr.len().max(1) as f32,
    );
    println!(
        "{} {}, 64-bit payloads; {refused} refused as unable to hold the mark; PSNR mean {mean_psnr:.1} dB, min {min_psnr:.1} dB\n",
        marked.len(),
        if files.is_empty() {
            format!("generated photos of {width}x{height}")
        } else {
            "images from files".into()
        }
    );
    println!("| attack | exact payload | bit accuracy | sync score (mean) |");
    println!("|---|---|---|---|");
    for (name, attack) in attacks() {
        let (mut exact, mut bits, mut score) = (0, 0.0, 0.0);
        for (image, payload) in &marked {
            let detection = mark::detect(&attack(image)?, key)?;
            if detection.found && detection.payload.as_deref() == Some(&payload[..]) {
                exact += 1;
            }
            let right = detection
                .raw_bits
                .iter()
                .enumerate()
                .filter(|(i, b)| **b == (payload[i / 8] >> (7 - i % 8) & 1 == 1))
                .count();
            bits += right as f64 / 64.0;
            score += f64::from(detection.sync_score);
        }
        let n = marked.len() as f64;
        println!(
            "| {name} | {exact}/{} | {:.3} | {:.1} |",
            marked.len(),
            bits / n,
            score / n
        );
    }

    let mut false_found = 0;
    let mut max_score = 0f32;
    for seed in 0..unmarked {
        let detection = mark::detect(&photo(512, 384, 10_000 + seed), key)?;
        false_found += usize::from(detection.found);
        max_score = max_score.max(detection.sync_score);
    }
    let mut wrong_key_found = 0;
    for (image, _) in &marked {
        wrong_key_found += usize::from(mark::detect(image, "not-the-key")?.found);
    }
    println!(
        "\nFalse positives: {false_found} of {unmarked} unmarked images (highest sync score {max_score:.2}); \
         {wrong_key_found} of {} marked images read with a wrong key.",
        marked.len()
    );
    Ok(())
}
