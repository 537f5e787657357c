//! `stylemark watermark`: a visible text or logo watermark.

use std::path::PathBuf;

use clap::Args;
use stylemark::io::{load, save};
use stylemark::watermark::visible::{Font, LogoOptions, TextOptions, WatermarkStatus, Watermarked};
use stylemark::{Error, Limits, Result, Session};

use crate::option_flags::{WatermarkFlags, apply_fields};

#[derive(Args, Debug)]
pub struct WatermarkArgs {
    /// The image to watermark.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the result; the format follows the extension (.png, .jpg, .webp).
    #[arg(long)]
    output: PathBuf,
    /// Text to draw (any Unicode; CJK needs a --font that has it).
    #[arg(long, conflicts_with = "logo", required_unless_present = "logo")]
    text: Option<String>,
    /// Font file(s) for the text, tried in order before the built-in DejaVu Sans.
    #[arg(long, requires = "text")]
    font: Vec<PathBuf>,
    /// A logo image (PNG with alpha, JPEG, WebP...).
    #[arg(long)]
    logo: Option<PathBuf>,
    /// JPEG/WebP quality 1-100 when the output is lossy.
    #[arg(long)]
    quality: Option<u8>,
    #[command(flatten)]
    options: WatermarkFlags,
}

pub fn run(args: WatermarkArgs, limits: &Limits) -> Result<()> {
    let session = Session::default().with_limits(*limits);
    let given = &args.options.given;
    // Options are checked before any image is read.
    let outcome = match (&args.text, &args.logo) {
        (Some(text), _) => {
            let mut options =
                apply_fields(TextOptions::default(), TextOptions::fields(), given, "text")?;
            options.fonts = args
                .font
                .iter()
                .map(Font::from_path)
                .collect::<Result<_>>()?;
            session.watermark_text(&load(&args.input, &limits.decode)?, text, &options)?
        }
        (None, Some(logo)) => {
            let options = apply_fields(
                LogoOptions::default(),
                LogoOptions::fields(),
                given,
                "a logo",
            )?;
            let image = load(&args.input, &limits.decode)?;
            session.watermark_logo(&image, &load(logo, &limits.decode)?, &options)?
        }
        (None, None) => return Err(Error::option("text", "give --text or --logo")),
    };
    save(&outcome.image, &args.output, args.quality)?;
    report(&outcome, &args.output);
    Ok(())
}

fn report(outcome: &Watermarked, output: &std::path::Path) {
    match &outcome.status {
        WatermarkStatus::Applied => {
            eprintln!("wrote {} ({} mark(s))", output.display(), outcome.marks)
        }
        WatermarkStatus::Skipped(reason) => eprintln!(
            "skipped: {reason}; wrote the image unchanged to {}",
            output.display()
        ),
    }
    if let Some(note) = &outcome.note {
        eprintln!("note: {note}");
    }
}
