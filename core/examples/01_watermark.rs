//! 01: a visible text watermark, tiled diagonally over a photo.
//!
//! `cargo run -p stylemark --example 01_watermark` writes `out/01_watermark.png`.
//! Every operation runs in a `Session`: the limits it works within, and (for paintings)
//! the device and encoder. The defaults need no file and no network.

use stylemark::Session;
use stylemark::watermark::visible::{Length, Position, TextOptions};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> stylemark::Result<()> {
    let session = Session::default();
    // A generated photo, so the example needs no file; `stylemark::io::load` reads yours.
    let photo = stylemark::samples::photo(640, 480, 1);

    let mut options = TextOptions::default().size(Length::Fraction(0.04));
    options.placement.position = Position::Tile;
    options.placement.rotation = -30.0;
    let marked = session.watermark_text(&photo, "© Ada Lovelace", &options)?;

    std::fs::create_dir_all("out").map_err(|e| stylemark::Error::io("cannot create", "out", e))?;
    stylemark::io::save(&marked.image, "out/01_watermark.png", None)?;
    println!("drew {} marks: out/01_watermark.png", marked.marks);
    Ok(())
}
