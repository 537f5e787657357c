//! `stylemark info`: what this build contains and what works here.

use clap::Args;
use stylemark::doodle::Engine;
use stylemark::encoder::{EncoderSpec, WeightsSource};
use stylemark::encoder::{InputConvention, OnnxEncoder};
use stylemark::{DeviceKind, Limits};

use crate::Common;

#[derive(Args)]
pub struct InfoArgs {
    /// Describe this encoder instead: `builtin`, VGG19 weights, or an ONNX model (whose
    /// usable layers are listed with the nodes they stand for, channels and stride).
    #[arg(long, value_name = "ENCODER")]
    encoder: Option<String>,
    /// With `--encoder`: the network's input convention, as `stylemark doodle` takes it
    /// (the layers' scales depend on it).
    #[arg(long, requires = "encoder")]
    weights_format: Option<String>,
}

pub fn run(args: InfoArgs, common: &Common) -> stylemark::Result<()> {
    let limits = &common.limits;
    if let Some(encoder) = &args.encoder {
        return describe_encoder(encoder, args.weights_format.as_deref(), common.json);
    }
    let devices: Vec<serde_json::Value> = DeviceKind::ALL
        .into_iter()
        .map(|kind| {
            let (works, detail) = if !kind.is_compiled() {
                (
                    false,
                    format!("not compiled in (cargo feature `{}`)", kind.cargo_feature()),
                )
            } else {
                match kind.open() {
                    Ok(device) => (true, device.description().to_string()),
                    Err(error) => (false, error.to_string()),
                }
            };
            serde_json::json!({
                "device": kind.name(),
                "compiled": kind.is_compiled(),
                "works": works,
                "detail": detail,
            })
        })
        .collect();
    if common.json {
        let report = serde_json::json!({
            "version": stylemark::VERSION,
            "devices": devices,
            "encoders": ["builtin", "vgg19 (weights file)", "onnx (model file)"],
            "limits": Limits::describe()
                .map(|(name, _, _)| (name.to_string(), serde_json::json!(limits.get(name))))
                .collect::<serde_json::Map<_, _>>(),
        });
        println!("{report}");
        return Ok(());
    }
    println!("stylemark {}", stylemark::VERSION);
    println!("devices:");
    for device in &devices {
        let status = match (device["compiled"].as_bool(), device["works"].as_bool()) {
            (Some(true), Some(true)) => "works",
            (Some(true), _) => "compiled, not working here",
            _ => "not compiled",
        };
        println!(
            "  {:<8} {:<27} {}",
            device["device"].as_str().unwrap_or_default(),
            status,
            device["detail"].as_str().unwrap_or_default()
        );
    }
    println!("encoders:");
    println!("  builtin  always available, needs no file (the default)");
    println!("  vgg19    from a .safetensors or .pth file: --encoder PATH");
    println!("  onnx     a convolutional network from a .onnx file: --encoder PATH");
    println!("           (`stylemark info --encoder PATH` lists its layers)");
    println!("limits (change with --limit NAME=VALUE):");
    for (name, bounds, default) in Limits::describe() {
        let value = limits.get(name).unwrap_or(default);
        let changed = if value == default { "" } else { " (changed)" };
        println!("  {name:<22} {value:>12}{changed}  {bounds}");
    }
    Ok(())
}

/// `stylemark info --encoder E`: what the encoder is and, for an ONNX model, its layers.
fn describe_encoder(encoder: &str, format: Option<&str>, json: bool) -> stylemark::Result<()> {
    let device = DeviceKind::Cpu.open()?;
    let convention = format.map(str::parse::<InputConvention>).transpose()?;
    let spec = encoder.parse::<EncoderSpec>()?.with_convention(convention);
    let EncoderSpec::Onnx {
        model: WeightsSource::File(model),
        convention,
    } = spec
    else {
        let engine = Engine::new(DeviceKind::Cpu, spec)?;
        match json {
            true => println!(
                "{}",
                serde_json::json!({"encoder": engine.encoder_description()})
            ),
            false => println!("{}", engine.encoder_description()),
        }
        return Ok(());
    };
    let onnx = OnnxEncoder::from_file_with_input(&model, convention, &device)?;
    let (input, origin) = onnx.input_convention();
    if json {
        let layers: Vec<serde_json::Value> = onnx
            .layers()
            .map(|l| {
                serde_json::json!({"layer": l.layer.to_string(), "node": l.node,
                    "file_node": l.file_node, "file_output": l.file_output,
                    "operator": l.operator, "channels": l.channels, "stride": l.stride,
                    "scale": l.scale})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"encoder": model, "layers": layers,
                "input": input.to_string(), "input_origin": origin.describe()})
        );
        return Ok(());
    }
    println!(
        "{}: layers in the graph's order (use any of the names with --style-layers and \
         --content-layers; VGG19's names, convB_1 to convB_4, are spread over each stride)",
        model.display()
    );
    println!("  input: {input} ({})", origin.describe());
    println!(
        "  {:<8} {:<24} {:>8}  {:>6}  {:>7}  node in the file (its output)",
        "layer", "node (operator)", "channels", "stride", "scale"
    );
    for l in onnx.layers() {
        let in_file = match (l.file_node.as_str(), l.file_output.as_str()) {
            ("", output) => output.to_string(),
            (node, output) => format!("{node} ({output})"),
        };
        println!(
            "  {:<8} {:<24} {:>8}  {:>6}  {:>7.2}  {in_file}",
            l.layer.to_string(),
            format!("{} ({})", l.node, l.operator),
            l.channels,
            l.stride,
            l.scale,
        );
    }
    Ok(())
}
