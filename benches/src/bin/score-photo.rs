//! Scores a painted photo: does it keep the photo's shapes and take the painting's
//! colours and strokes (see `stylemark::doodle::quality::score_photo`)? Prints JSON with
//! the fields of `shared/tools/photo_score.py`.
//!
//! `cargo run -p stylemark-benches --bin score-photo -- STYLE PHOTO RESULT`

use stylemark::doodle::quality::score_photo;
use stylemark::io::{DecodeLimits, load};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let [style, photo, result] = paths.as_slice() else {
        eprintln!("usage: score-photo STYLE PHOTO RESULT");
        std::process::exit(2);
    };
    let read = |p: &String| load(p, &DecodeLimits::default());
    let scores = score_photo(&read(style)?, &read(photo)?, &read(result)?);
    println!("{}", serde_json::to_string(&scores)?);
    Ok(())
}
