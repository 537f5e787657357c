//! 02: an invisible mark that survives JPEG: hide 8 bytes under a key, save as JPEG,
//! read them back without the original.
//!
//! `cargo run -p stylemark --example 02_invisible_mark`

use stylemark::Session;
use stylemark::image::DynamicImage;
use stylemark::io::{OutputFormat, decode, encode};
use stylemark::watermark::invisible::{MarkOptions, to_hex};

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
    let photo = stylemark::samples::photo(800, 600, 2);

    let marked = session.mark_embed(
        &photo,
        b"order-42",
        "my secret key",
        &MarkOptions::default(),
    )?;
    println!("marked at {:.1} dB PSNR", marked.psnr_db);

    // What a platform does to an upload: a JPEG at quality 75.
    let jpeg = encode(&marked.image, OutputFormat::Jpeg { quality: 75 })?;
    let received: DynamicImage = decode(&jpeg, &session.limits().decode)?;

    let found = session.mark_detect(&received, "my secret key")?;
    let payload = found.payload.unwrap_or_default();
    println!(
        "found: {} (payload {:?} = {}, confidence {:.2})",
        found.found,
        String::from_utf8_lossy(&payload),
        to_hex(&payload),
        found.confidence
    );
    let wrong_key = session.mark_detect(&received, "another key")?;
    println!("with another key: found {}", wrong_key.found);
    Ok(())
}
