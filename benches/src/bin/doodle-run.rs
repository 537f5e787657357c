//! Times one full doodle run on the generated demo scene and prints a JSON line: the
//! report (seconds and matching seconds per phase), seconds per evaluation at full size,
//! and the process's peak memory. One configuration per process, so peak memory is the
//! run's own.
//!
//! ```sh
//! cargo run --release -p stylemark-benches --bin doodle-run -- --size 256
//! cargo run --release -p stylemark-benches --bin doodle-run -- --size 512 --encoder vgg19-random --iterations 5 --phases 1
//! ```
//!
//! Options: `--size W` (height is 3/4 of it; default 256), `--encoder builtin|vgg19-random`,
//! `--phases N` (default 3), `--iterations N` (default 100), `--rematch-every N` (default 1),
//! `--device cpu|wgpu|ndarray`, `--method optimize|patch|hybrid`, `--patch-size N`,
//! `--save PATH` (writes the painting). The JSON also holds the painting's region scores
//! against the style (label accuracy, colour distance, detail ratios; see
//! `stylemark::doodle::quality`).

use stylemark::burn_0_22::{self as with_burn, BuiltinEncoder, Encoder, Vgg19};
use stylemark::doodle::quality::score_regions;
use stylemark::doodle::{DoodleOptions, Method, Observer};
use stylemark::encoder::Vgg19Options;
use stylemark::image::DynamicImage;
use stylemark::samples::demo_scene;
use stylemark::{DeviceKind, Error};
use stylemark_benches::peak_memory_mib;

struct Config {
    size: u32,
    encoder: String,
    phases: usize,
    iterations: usize,
    rematch_every: usize,
    device: DeviceKind,
    method: Method,
    patch_size: usize,
    save: Option<String>,
}

fn parse_args() -> Result<Config, Error> {
    let mut config = Config {
        size: 256,
        encoder: "builtin".into(),
        phases: 3,
        iterations: 100,
        rematch_every: 1,
        device: DeviceKind::Cpu,
        method: Method::Optimize,
        patch_size: 5,
        save: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            return Err(Error::option("arguments", "every flag needs a value"));
        };
        let number = |name: &'static str| {
            value
                .parse::<usize>()
                .map_err(|_| Error::option(name, "must be a whole number"))
        };
        match flag.as_str() {
            "--size" => config.size = number("size")? as u32,
            "--encoder" => config.encoder = value.clone(),
            "--phases" => config.phases = number("phases")?,
            "--iterations" => config.iterations = number("iterations")?,
            "--rematch-every" => config.rematch_every = number("rematch-every")?,
            "--device" => config.device = value.parse()?,
            "--method" => config.method = value.parse()?,
            "--patch-size" => config.patch_size = number("patch-size")?,
            "--save" => config.save = Some(value.clone()),
            other => {
                return Err(Error::option(
                    "arguments",
                    format!("unknown flag `{other}`"),
                ));
            }
        }
    }
    Ok(config)
}

/// Peak resident memory of this process in MiB (Linux; `None` elsewhere).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = parse_args()?;
    let device = config.device.open()?;
    let autodiff = with_burn::autodiff_device(&device);
    let encoder: Box<dyn Encoder> = match config.encoder.as_str() {
        "builtin" => Box::new(BuiltinEncoder::new(0, &autodiff)),
        "vgg19-random" => Box::new(Vgg19::random(0, Vgg19Options::default(), &autodiff)),
        other => return Err(format!("unknown encoder `{other}`").into()),
    };
    let engine = with_burn::engine_with_encoder(device, encoder);
    let scene = demo_scene(config.size, config.size * 3 / 4, 1);
    let request = scene.doodle_request();
    let options = DoodleOptions::default()
        .method(config.method)
        .patch_size(config.patch_size)
        .phases(config.phases)
        .iterations(config.iterations)
        .rematch_every(config.rematch_every)
        .random_seed(Some(1));
    let outcome = engine.doodle(&request, &options, Observer::default())?;
    let last = outcome.report.phases.last().ok_or("no phase ran")?;
    let painted = DynamicImage::ImageRgb8(outcome.image.clone());
    let rgb = |i: &stylemark::image::RgbImage| DynamicImage::ImageRgb8(i.clone());
    let scores = score_regions(
        &rgb(&scene.style),
        &rgb(&scene.style_map),
        &painted,
        &rgb(&scene.doodle),
    );
    if let Some(path) = &config.save {
        stylemark::io::save(&painted, path, None)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "size": [outcome.report.width, outcome.report.height],
            "encoder": config.encoder,
            "rematch_every": config.rematch_every,
            "device": outcome.report.device,
            "total_seconds": outcome.report.seconds,
            "seconds_per_evaluation_at_full_size": last.seconds / last.evaluations.max(1) as f64,
            "matching_share_at_full_size": last.matching_seconds / last.seconds.max(1e-9),
            "peak_memory_mib": peak_memory_mib(),
            "method": config.method.name(),
            "scores": {
                "label_accuracy": scores.label_accuracy,
                "colour_distance": scores.colour_distance,
                "detail_ratio_range": scores.detail_range(),
            },
            "report": outcome.report,
        })
    );
    Ok(())
}
