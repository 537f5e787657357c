//! `stylemark watermark`: a visible text or logo watermark.

use std::path::{Path, PathBuf};

use clap::Args;
use stylemark::watermark::visible::{Font, LogoOptions, TextOptions, WatermarkStatus, Watermarked};
use stylemark::{Error, Result, Session};

use crate::Common;
use crate::files::{
    ImagePaths, OutputFlags, check_streams, described, read_image, shown, write_image,
};
use crate::option_flags::{WatermarkFlags, apply_fields};

#[derive(Args, Debug)]
pub struct WatermarkArgs {
    #[command(flatten)]
    paths: ImagePaths,
    /// Text to draw (any Unicode; CJK needs a --font that has it).
    #[arg(
        long,
        conflicts_with = "logo",
        required_unless_present = "logo",
        help_heading = "Text or logo"
    )]
    text: Option<String>,
    /// Font file(s) for the text, tried in order before the built-in DejaVu Sans.
    #[arg(long, requires = "text", help_heading = "Text or logo")]
    font: Vec<PathBuf>,
    /// A logo image (PNG with alpha, JPEG, WebP...).
    #[arg(long, help_heading = "Text or logo")]
    logo: Option<PathBuf>,
    #[command(flatten)]
    output_format: OutputFlags,
    #[command(flatten)]
    options: WatermarkFlags,
}

pub fn run(args: WatermarkArgs, common: &Common) -> Result<()> {
    let limits = &common.limits;
    let session = Session::default().with_limits(*limits);
    let (input, output) = args.paths.resolve()?;
    let logo_path = args.logo.as_deref();
    args.output_format.check(&output)?;
    check_streams(
        [input.as_path()].into_iter().chain(logo_path),
        Some(&output),
        common.json,
    )?;
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
            session.watermark_text(&read_image(&input, &limits.decode)?, text, &options)?
        }
        (None, Some(logo)) => {
            let options = apply_fields(
                LogoOptions::default(),
                LogoOptions::fields(),
                given,
                "a logo",
            )?;
            let image = read_image(&input, &limits.decode)?;
            session.watermark_logo(&image, &read_image(logo, &limits.decode)?, &options)?
        }
        (None, None) => return Err(Error::option("text", "give --text or --logo")),
    };
    write_image(&outcome.image, &output, &args.output_format)?;
    report(&outcome, &output);
    let mut json = outcome.report_json();
    json["output"] = shown(&output).into();
    json["width"] = outcome.image.width().into();
    json["height"] = outcome.image.height().into();
    common.print_json(json);
    Ok(())
}

fn report(outcome: &Watermarked, output: &Path) {
    match &outcome.status {
        WatermarkStatus::Applied => {
            eprintln!("wrote {} ({} mark(s))", described(output), outcome.marks)
        }
        WatermarkStatus::Skipped(reason) => eprintln!(
            "skipped: {reason}; wrote the image unchanged to {}",
            described(output)
        ),
    }
    if let Some(note) = &outcome.note {
        eprintln!("note: {note}");
    }
}
