//! `stylemark doodle`: the reference's command line, on the stylemark engine.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use stylemark::doodle::{
    DoodleOptions, DoodleOutcome, DoodleRequest, Frame, Observer, Progress, Seed,
};
use stylemark::encoder::{EncoderSpec, InputConvention};
use stylemark::image::DynamicImage;
use stylemark::io::save;
use stylemark::{DeviceKind, Error, Limits, Result, Session};

use crate::Common;
use crate::files::{
    OutputFlags, check_streams, described, is_stdio, read_image, shown, write_image,
};
use crate::option_flags::OptionFlags;

/// Flags follow the reference `doodle.py`, so its users feel at home.
#[derive(Args, Debug)]
pub struct DoodleArgs {
    /// The painting whose style to use. Its map is picked up from `<name>_sem.png`. `-`
    /// reads standard input (one input at most can).
    #[arg(long, help_heading = "Input and output")]
    style: PathBuf,
    /// The image to repaint; omit it to paint a doodle (a target map) or a texture. `-`
    /// reads standard input.
    #[arg(long, help_heading = "Input and output")]
    content: Option<PathBuf>,
    /// Where to write the result (.png, .jpg, .webp); `-` writes standard output (the
    /// format from --format, PNG by default).
    #[arg(long, help_heading = "Input and output", default_value = "output.png")]
    output: PathBuf,
    #[command(flatten)]
    output_format: OutputFlags,
    /// Output size WxH (textures; or to resize the content).
    #[arg(long, help_heading = "Input and output", value_parser = parse_size)]
    output_size: Option<(u32, u32)>,
    /// The style's semantic map (default: `<style>_sem.png` if it exists).
    #[arg(long, help_heading = "Input and output")]
    style_map: Option<PathBuf>,
    /// The target's semantic map (default: `<content>_sem.png`, or `<output>_sem.png` without content).
    #[arg(long, help_heading = "Input and output")]
    content_map: Option<PathBuf>,
    /// Suffix of automatically found semantic maps.
    #[arg(long, help_heading = "Input and output", default_value = "_sem.png")]
    semantic_ext: String,
    /// Encoder: `builtin`, the path of an ONNX model (.onnx; `stylemark info --encoder
    /// PATH` lists its layers), or the path of VGG19 weights (.safetensors or .pth).
    #[arg(long, help_heading = "Device and encoder", default_value = "builtin")]
    encoder: String,
    /// How the network takes its input: `caffe`, `torchvision`, `unit` (RGB 0..1),
    /// `symmetric` (-1..1), `bytes` (0..255) or "mean=R,G,B std=R,G,B [bgr]" in 0-1 units
    /// (default: what the file records or declares, else caffe for VGG19 and unit for ONNX).
    #[arg(long, help_heading = "Device and encoder")]
    weights_format: Option<String>,
    /// Compute device: cpu, ndarray or wgpu.
    #[arg(long, help_heading = "Device and encoder", default_value = "cpu")]
    device: String,
    /// Print the losses every N evaluations (plain output).
    #[arg(long, help_heading = "Progress and reports", default_value_t = 10)]
    print_every: usize,
    /// Save an intermediate image every N evaluations into --frames.
    #[arg(long, help_heading = "Progress and reports")]
    save_every: Option<usize>,
    /// Directory for intermediate images.
    #[arg(long, help_heading = "Progress and reports", default_value = "frames")]
    frames: PathBuf,
    /// Write the run's report as JSON here.
    #[arg(long, help_heading = "Progress and reports")]
    report: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, help_heading = "Progress and reports")]
    quiet: bool,
    /// Every doodle option, one flag each (`--patch-size 7`; `--seed` also takes the
    /// path of a starting image).
    #[command(flatten)]
    options: OptionFlags,
}

fn parse_size(text: &str) -> std::result::Result<(u32, u32), String> {
    stylemark::job::parse_size(text).map_err(|e| e.to_string())
}

/// `<dir>/<stem><ext>` beside `path`.
fn beside(path: &Path, ext: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}{ext}"))
}

/// An explicit map, or the automatic `<name>_sem.png` when it exists.
fn find_map(explicit: &Option<PathBuf>, image: Option<&Path>, ext: &str) -> Option<PathBuf> {
    explicit
        .clone()
        .or_else(|| image.map(|p| beside(p, ext)).filter(|p| p.exists()))
}

impl DoodleArgs {
    fn options(&self) -> Result<(DoodleOptions, Option<PathBuf>)> {
        let mut options = DoodleOptions::default();
        let mut seed_path = None;
        for (name, value) in &self.options.given {
            match (*name, value.as_str()) {
                // `--seed PATH` starts from an image.
                ("seed", path) if !["noise", "content"].contains(&path) => {
                    options.seed = Seed::Image;
                    seed_path = Some(PathBuf::from(path));
                }
                _ => {
                    let spec = DoodleOptions::field(name)
                        .ok_or_else(|| Error::option(*name, "is not a doodle option"))?;
                    spec.set_from_text(&mut options, value)?
                }
            }
        }
        options.validate()?;
        Ok((options, seed_path))
    }

    fn request(&self, seed_path: Option<PathBuf>, limits: &Limits) -> Result<DoodleRequest> {
        let read = |path: &Path| read_image(path, &limits.decode);
        let mut request = DoodleRequest::new(read(&self.style)?);
        let map_owner = self.content.as_deref().unwrap_or(&self.output);
        let content_map = find_map(&self.content_map, Some(map_owner), &self.semantic_ext);
        let style_map = find_map(&self.style_map, Some(&self.style), &self.semantic_ext);
        match (&style_map, &content_map, &self.style_map) {
            // A painting's map found beside it but none for the photo: the photo is
            // painted without maps. (Without a photo, or with --style-map given, the
            // missing target map stays an error: a doodle needs it.)
            (Some(path), None, None) if self.content.is_some() => {
                if !self.quiet {
                    eprintln!(
                        "note: {} lies beside the painting, but there is no map of the target \
                         ({}); painting without maps (give --content-map to use both)",
                        path.display(),
                        beside(map_owner, &self.semantic_ext).display()
                    );
                }
            }
            (Some(path), _, _) => request = request.style_map(read(path)?),
            (None, _, _) => {}
        }
        if let Some(content) = &self.content {
            request = request.content(read(content)?);
        }
        if let Some(path) = content_map {
            request = request.content_map(read(&path)?);
        }
        if let Some((w, h)) = self.output_size {
            request = request.output_size(w, h);
        }
        if let Some(path) = seed_path {
            request = request.seed_image(read(&path)?);
        }
        Ok(request)
    }

    fn encoder(&self) -> Result<EncoderSpec> {
        let spec: EncoderSpec = self.encoder.parse()?;
        let convention = self
            .weights_format
            .as_deref()
            .map(str::parse::<InputConvention>)
            .transpose()?;
        Ok(spec.with_convention(convention))
    }
}

pub fn run(args: DoodleArgs, common: &Common) -> Result<()> {
    let limits = &common.limits;
    let (options, seed_path) = args.options()?;
    let inputs = [
        Some(&args.style),
        args.content.as_ref(),
        args.style_map.as_ref(),
    ]
    .into_iter()
    .chain([args.content_map.as_ref(), seed_path.as_ref()])
    .flatten()
    .map(PathBuf::as_path);
    args.output_format.check(&args.output)?;
    check_streams(inputs, Some(&args.output), common.json)?;
    if args.report.as_deref().is_some_and(is_stdio) {
        return Err(Error::option(
            "report",
            "is a file; use --json to print the report on standard output",
        ));
    }
    let request = args.request(seed_path, limits)?;
    // Refused before the encoder (perhaps weights) is read.
    request.check_limits(limits)?;
    let mode = request.mode()?;
    let session = Session::new(args.device.parse::<DeviceKind>()?, args.encoder()?, *limits)?;
    let engine = session.engine()?;
    if !args.quiet {
        eprintln!(
            "painting ({}) on {} with {}",
            mode.name(),
            engine.device().description(),
            engine.encoder_description()
        );
    }
    let outcome = paint(&session, &request, &options, &args)?;
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&outcome.report).expect("reports serialise");
        std::fs::write(path, json).map_err(|e| Error::Io {
            action: "cannot write",
            path: path.clone(),
            source: e,
        })?;
    }
    // The image last: once it is written, the command has succeeded.
    write_image(
        &DynamicImage::ImageRgb8(outcome.image.clone()),
        &args.output,
        &args.output_format,
    )?;
    if !args.quiet {
        for warning in &outcome.report.warnings {
            eprintln!("warning: {warning}");
        }
        eprintln!(
            "{} {} in {:.1}s ({}, random seed {})",
            if outcome.status.stopped_early() {
                "stopped early, wrote"
            } else {
                "wrote"
            },
            described(&args.output),
            outcome.report.seconds,
            outcome.status.name(),
            outcome.report.random_seed
        );
    }
    let mut json = outcome.report_json();
    json["output"] = shown(&args.output).into();
    common.print_json(json);
    Ok(())
}

/// Paints in `session` with a progress display and frame saving as the flags ask.
pub fn paint(
    session: &Session,
    request: &DoodleRequest,
    options: &DoodleOptions,
    args: &DoodleArgs,
) -> Result<DoodleOutcome> {
    let frames = match args.save_every {
        Some(every) => {
            std::fs::create_dir_all(&args.frames).map_err(|e| Error::Io {
                action: "cannot create",
                path: args.frames.clone(),
                source: e,
            })?;
            Some((every, args.frames.clone()))
        }
        None => None,
    };
    paint_with(
        session,
        request,
        options,
        &Display::new(args.quiet, args.print_every),
        frames,
    )
}

/// Paints in `session`, showing progress on `display` and saving every N-th frame into a
/// directory.
pub fn paint_with(
    session: &Session,
    request: &DoodleRequest,
    options: &DoodleOptions,
    display: &Display,
    frames: Option<(usize, PathBuf)>,
) -> Result<DoodleOutcome> {
    let mut on_progress = |progress: &Progress| {
        display.show(progress);
        true
    };
    let mut frame_error = None;
    let frames_dir = frames
        .as_ref()
        .map(|(_, dir)| dir.clone())
        .unwrap_or_default();
    let mut on_frame = |frame: &Frame| {
        let path = frames_dir.join(format!("frame-{}-{:04}.png", frame.phase, frame.evaluation));
        if let Err(e) = save(&DynamicImage::ImageRgb8(frame.image.clone()), &path, None) {
            frame_error.get_or_insert(e);
        }
    };
    let mut observer = Observer::default().progress(&mut on_progress);
    if let Some((every, _)) = &frames {
        observer = observer.frames(*every, &mut on_frame);
    }
    let outcome = session.doodle(request, options, observer);
    display.finish();
    if let Some(error) = frame_error {
        return Err(error);
    }
    outcome
}

/// A progress bar on a terminal, plain lines every N evaluations otherwise.
pub struct Display {
    quiet: bool,
    terminal: bool,
    every: usize,
}

impl Display {
    pub fn new(quiet: bool, every: usize) -> Self {
        Display {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            every: every.max(1),
        }
    }

    fn show(&self, p: &Progress) {
        if self.quiet {
            return;
        }
        let losses = &p.losses;
        let figures = format!(
            "phase {}/{} {}x{} eval {:>3}/{}  total {:.4e}  style {:.3e}  content {:.3e}  smooth {:.3e}  {:.1}s",
            p.phase,
            p.phases,
            p.width,
            p.height,
            p.evaluation,
            p.evaluations,
            losses.total,
            losses.style,
            losses.content,
            losses.smoothness,
            p.elapsed.as_secs_f64()
        );
        if self.terminal {
            let filled = (p.fraction() * 30.0).round() as usize;
            eprint!(
                "\r[{}{}] {figures}",
                "#".repeat(filled),
                " ".repeat(30 - filled.min(30))
            );
            let _ = std::io::stderr().flush();
        } else if p.evaluation.is_multiple_of(self.every) || p.evaluation == 1 {
            eprintln!("{figures}");
        }
    }

    fn finish(&self) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}
