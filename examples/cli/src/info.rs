//! `stylemark info`: what this build contains and what works here.

use clap::Args;
use stylemark::{DeviceKind, Limits};

#[derive(Args)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InfoArgs, limits: &Limits) -> stylemark::Result<()> {
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
    if args.json {
        let report = serde_json::json!({
            "version": stylemark::VERSION,
            "devices": devices,
            "encoders": ["builtin", "vgg19 (weights file)"],
            "limits": Limits::describe()
                .map(|(name, _, _)| (name.to_string(), serde_json::json!(limits.get(name))))
                .collect::<serde_json::Map<_, _>>(),
        });
        println!("{report:#}");
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
    println!("limits (change with --limit NAME=VALUE):");
    for (name, bounds, default) in Limits::describe() {
        let value = limits.get(name).unwrap_or(default);
        let changed = if value == default { "" } else { " (changed)" };
        println!("  {name:<22} {value:>12}{changed}  {bounds}");
    }
    Ok(())
}
