//! Writes the project's generated sample images for the photo gallery: the demo
//! painting with its map (`painting.png`, `painting_sem.png`) and a few generated photos
//! with theirs (`photo-SEED.png`, `photo-SEED_sem.png`, in the painting map's colours).
//!
//! `cargo run --release -p stylemark-benches --bin sample-images -- DIR [WIDTH HEIGHT]`

use stylemark::image::DynamicImage;
use stylemark::io::save;
use stylemark::samples::{demo_scene, photo, photo_map};

/// The seeds of the photos in the gallery.
const SEEDS: [u64; 3] = [5, 12, 21];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: sample-images DIR [WIDTH HEIGHT]");
        std::process::exit(2);
    };
    let number = |i: usize, default: u32| -> Result<u32, std::num::ParseIntError> {
        args.get(i).map_or(Ok(default), |v| v.parse())
    };
    let (width, height) = (number(1, 512)?, number(2, 384)?);
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir)?;
    let scene = demo_scene(width, height, 4);
    save(
        &DynamicImage::ImageRgb8(scene.style),
        dir.join("painting.png"),
        None,
    )?;
    save(
        &DynamicImage::ImageRgb8(scene.style_map),
        dir.join("painting_sem.png"),
        None,
    )?;
    for seed in SEEDS {
        save(
            &photo(width, height, seed),
            dir.join(format!("photo-{seed}.png")),
            None,
        )?;
        let map = DynamicImage::ImageRgb8(photo_map(width, height, seed));
        save(&map, dir.join(format!("photo-{seed}_sem.png")), None)?;
    }
    Ok(())
}
