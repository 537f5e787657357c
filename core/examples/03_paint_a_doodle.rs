//! 03: neural doodle: paint a two-colour sketch in the style of a painting, region by
//! region (the painting's map says which region is which).
//!
//! `cargo run -p stylemark --example 03_paint_a_doodle` writes `out/03_doodle.png`.
//! The painting, its map and the doodle are generated here; with files, load them with
//! `stylemark::io::load` and build the request the same way.

use stylemark::Session;
use stylemark::doodle::{DoodleOptions, Observer, Progress};
use stylemark::image::DynamicImage;

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
    let session = Session::default(); // the CPU, the built-in encoder (no weights file)
    let scene = stylemark::samples::demo_scene(256, 192, 1);
    let request = scene.doodle_request(); // style + style map + the doodle to paint

    let options = DoodleOptions::default().random_seed(Some(7)); // same seed, same pixels
    let mut show = |p: &Progress| {
        println!(
            "level {}/{} round {}/{}",
            p.phase, p.phases, p.evaluation, p.evaluations
        );
        true // false would stop early with the best image so far
    };
    let outcome = session.doodle(&request, &options, Observer::default().progress(&mut show))?;

    std::fs::create_dir_all("out").map_err(|e| stylemark::Error::io("cannot create", "out", e))?;
    stylemark::io::save(
        &DynamicImage::ImageRgb8(outcome.image),
        "out/03_doodle.png",
        None,
    )?;
    println!(
        "{} in {:.1} s: out/03_doodle.png",
        outcome.status.name(),
        outcome.report.seconds
    );
    Ok(())
}
