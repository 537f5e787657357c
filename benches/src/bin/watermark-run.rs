//! Times one watermark operation on a generated square photo and prints a JSON line: the
//! median seconds over `--repeat` runs, and the memory the operation itself needed (peak
//! resident memory during the runs minus the resident memory before them).
//!
//! ```sh
//! cargo run --release -p stylemark-benches --bin watermark-run -- --op embed --size 4096
//! ```
//!
//! Options: `--op text|logo|embed|detect|detect-unmarked` (default embed; `detect` reads
//! a marked photo, `detect-unmarked` an unmarked one, which costs the whole search), `--size N` (default 1024),
//! `--repeat N` (default 5), `--write-photo FILE` (write the generated photo, to time a
//! peer on the same pixels, and stop), `--input FILE` (time on this image instead of a
//! generated photo; `--size` is then ignored).

use std::time::Instant;

use stylemark::Error;
use stylemark::image::{DynamicImage, Rgba, RgbaImage};
use stylemark::samples::photo;
use stylemark::watermark::invisible::{self as mark, MarkOptions};
use stylemark::watermark::visible::{self as watermark, LogoOptions, Position, TextOptions};
use stylemark_benches::{peak_memory_mib, reset_peak_memory, resident_memory_mib};

fn main() -> Result<(), Error> {
    let (mut op, mut size, mut repeat) = ("embed".to_string(), 1024u32, 5usize);
    let mut write_photo = None;
    let mut input = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let bad = || Error::option(pair[0].trim_start_matches('-'), "needs a value");
        let value = pair.get(1).ok_or_else(bad)?;
        match pair[0].as_str() {
            "--op" => op = value.clone(),
            "--size" => size = value.parse().map_err(|_| bad())?,
            "--repeat" => repeat = value.parse().map_err(|_| bad())?,
            "--write-photo" => write_photo = Some(value.clone()),
            "--input" => input = Some(value.clone()),
            other => return Err(Error::option(other, "unknown; see the file's doc comment")),
        }
    }
    let image = match &input {
        Some(path) => stylemark::io::load(path, &stylemark::io::DecodeLimits::default())?,
        None => photo(size, size, 1),
    };
    if let Some(path) = write_photo {
        return stylemark::io::save(&image, path, None);
    }
    let key = "benchmark key";
    let marked = if op == "detect" {
        mark::embed(
            &image,
            b"\x01\x02\x03\x04\x05\x06\x07\x08",
            key,
            &MarkOptions::default(),
        )?
        .image
    } else {
        image.clone()
    };
    let logo = DynamicImage::ImageRgba8(RgbaImage::from_fn(400, 200, |x, y| {
        Rgba([200, (x % 256) as u8, (y % 256) as u8, 180])
    }));
    let mut tiled = TextOptions::default();
    tiled.placement.position = Position::Tile;
    tiled.placement.rotation = -30.0;

    let before = resident_memory_mib();
    reset_peak_memory();
    let mut seconds = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        match op.as_str() {
            "text" => drop(watermark::text(&image, "© stylemark 2026", &tiled)?),
            "logo" => drop(watermark::logo(&image, &logo, &LogoOptions::default())?),
            "embed" => drop(mark::embed(
                &image,
                b"\x01\x02\x03\x04\x05\x06\x07\x08",
                key,
                &MarkOptions::default(),
            )?),
            "detect-unmarked" => assert!(
                !mark::detect(&image, key)?.found,
                "an unmarked photo reads as unmarked"
            ),
            "detect" => assert!(
                mark::detect(&marked, key)?.found,
                "the benchmark's own mark reads back"
            ),
            other => {
                return Err(Error::option(
                    "op",
                    format!("`{other}`: use text, logo, embed or detect"),
                ));
            }
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let peak = peak_memory_mib();
    println!(
        "{}",
        serde_json::json!({
            "op": op,
            "size": [image.width(), image.height()],
            "median_seconds": seconds[seconds.len() / 2],
            "runs": repeat,
            "op_memory_mib": peak.zip(before).map(|(p, b)| p - b),
            "peak_memory_mib": peak,
        })
    );
    Ok(())
}
