//! Scores a painted doodle against its style, region by region (see
//! `stylemark::doodle::quality`), and prints the scores as JSON.
//!
//! `cargo run -p stylemark-benches --bin score-doodle -- STYLE STYLE_MAP OUTPUT TARGET_MAP`

use stylemark::doodle::quality::score_regions;
use stylemark::io::{DecodeLimits, load};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let [style, style_map, output, target_map] = paths.as_slice() else {
        eprintln!("usage: score-doodle STYLE STYLE_MAP OUTPUT TARGET_MAP");
        std::process::exit(2);
    };
    let read = |p: &String| load(p, &DecodeLimits::default());
    let (style, style_map, target_map) = (read(style)?, read(style_map)?, read(target_map)?);
    // The output may be at a different resolution than the maps: score at the output's.
    let output = read(output)?;
    let (w, h) = (output.width(), output.height());
    let nearest = stylemark::image::imageops::FilterType::Nearest;
    let target_map = target_map.resize_exact(w, h, nearest);
    let scores = score_regions(&style, &style_map, &output, &target_map);
    let (low, high) = scores.detail_range();
    println!(
        "{}",
        serde_json::json!({
            "label_accuracy": scores.label_accuracy,
            "colour_distance": scores.colour_distance,
            "detail_ratio_min": low,
            "detail_ratio_max": high,
            "detail_ratios": scores.detail_ratios,
        })
    );
    Ok(())
}
