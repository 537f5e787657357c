//! `stylemark demo`: paint a generated doodle from a generated painting, with no files and
//! no network, and write the inputs and the result as PNG.

use std::path::PathBuf;

use clap::Args;
use stylemark::doodle::{DoodleOptions, Method};
use stylemark::encoder::EncoderSpec;
use stylemark::image::DynamicImage;
use stylemark::io::save;
use stylemark::samples::demo_scene;
use stylemark::{DeviceKind, Error, Limits, Result, Session};

use crate::Common;
use crate::doodle::{Display, paint_with};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory for the inputs and the result.
    #[arg(long, default_value = "demo-output")]
    out: PathBuf,
    /// Width of the generated images (height is 3/4 of it).
    #[arg(long, default_value_t = 256)]
    width: u32,
    /// Loss evaluations per phase.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Find nearest style patches every N evaluations (1 is the reference's, and slowest).
    #[arg(long, default_value_t = 5)]
    rematch_every: usize,
    /// How to paint: `optimize` (the reference algorithm, about a minute), `patch` (patch
    /// synthesis, a second or two) or `hybrid`.
    #[arg(long, default_value = "optimize")]
    method: Method,
    /// Compute device: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: DemoArgs, common: &Common) -> Result<()> {
    let height = args.width * 3 / 4;
    let scene = demo_scene(args.width, height, 1);
    std::fs::create_dir_all(&args.out).map_err(|e| Error::Io {
        action: "cannot create",
        path: args.out.clone(),
        source: e,
    })?;
    let write = |name: &str, image: &stylemark::image::RgbImage| {
        save(
            &DynamicImage::ImageRgb8(image.clone()),
            args.out.join(name),
            None,
        )
    };
    write("style.png", &scene.style)?;
    write("style_sem.png", &scene.style_map)?;
    write("doodle_sem.png", &scene.doodle)?;

    let device = args.device.parse::<DeviceKind>()?;
    let session = Session::new(device, EncoderSpec::Builtin, Limits::default())?;
    let engine = session.engine()?;
    let request = scene.doodle_request();
    let options = DoodleOptions::default()
        .method(args.method)
        .iterations(args.iterations)
        .rematch_every(args.rematch_every)
        .random_seed(Some(1));
    if !args.quiet {
        eprintln!(
            "painting a {}x{height} doodle from a generated painting on {} ({})",
            args.width,
            engine.device().description(),
            match options.method {
                Method::Patch => "patch synthesis".to_string(),
                _ => format!(
                    "{}: {} phases x {} evaluations",
                    options.method.name(),
                    options.phases,
                    options.iterations
                ),
            }
        );
    }
    let outcome = paint_with(
        &session,
        &request,
        &options,
        &Display::new(args.quiet, 25),
        None,
    )?;
    write("result.png", &outcome.image)?;
    let report = serde_json::to_string_pretty(&outcome.report).expect("reports serialise");
    let report_path = args.out.join("report.json");
    std::fs::write(&report_path, report).map_err(|e| Error::Io {
        action: "cannot write",
        path: report_path,
        source: e,
    })?;
    if !args.quiet {
        eprintln!(
            "wrote {}/{{style.png, style_sem.png, doodle_sem.png, result.png, report.json}} in {:.1}s",
            args.out.display(),
            outcome.report.seconds
        );
    }
    common.print_json(serde_json::json!({
        "out": args.out.display().to_string(),
        "status": outcome.status,
        "report": outcome.report,
    }));
    Ok(())
}
