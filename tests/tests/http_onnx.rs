//! The HTTP function with a trained ONNX network as its encoder (`STYLEMARK_WEIGHTS`):
//! the MobileNetV2 that `tests/onnx/make_reference.py` writes, which `scripts/test-all`
//! makes in its virtualenv and points `STYLEMARK_ONNX_REFERENCE` at.

use std::path::PathBuf;

use stylemark::encoder::EncoderSpec;
use stylemark::image::DynamicImage;
use stylemark::io::{OutputFormat, encode};
use stylemark::job::{Job, JobInputs};
use stylemark::samples::photo;
use stylemark::{DeviceKind, Limits, Session};
use stylemark_e2e::http::{Server, field, file};

fn model() -> PathBuf {
    let reference = std::env::var("STYLEMARK_ONNX_REFERENCE")
        .expect("set STYLEMARK_ONNX_REFERENCE to the output of tests/onnx/make_reference.py");
    let model = PathBuf::from(reference).join("mobilenet_v2/quantised.onnx");
    assert!(model.exists(), "{} is missing", model.display());
    model
}

fn png(image: &DynamicImage) -> Vec<u8> {
    encode(image, OutputFormat::Png).unwrap()
}

/// What the core paints for `job` in this process, with `photo` and `style` as its images.
fn paint_in_process(
    encoder: EncoderSpec,
    job: &str,
    photo: &DynamicImage,
    style: &DynamicImage,
) -> Vec<u8> {
    let mut inputs = JobInputs::default();
    inputs.images.insert("photo".into(), photo.clone());
    inputs.images.insert("style".into(), style.clone());
    let session = Session::new(DeviceKind::Cpu, encoder, Limits::default()).unwrap();
    session
        .run_job(&Job::from_json(job).unwrap(), &inputs)
        .unwrap()
        .encoded()
        .unwrap()
}

/// `job` sent to the function with `photo` and `style`; the reply must be 200.
fn post_job(
    server: &Server,
    job: &str,
    photo: &DynamicImage,
    style: &DynamicImage,
) -> stylemark_e2e::http::Reply {
    let reply = server.post(
        "/v1/jobs",
        &[
            field("job", job),
            file("photo", png(photo)),
            file("style", png(style)),
        ],
    );
    reply.expect_status(200);
    reply
}

const JOB: &str = r#"{"input": "photo", "steps": [{"op": "doodle", "style": "style",
    "options": {"method": "optimize", "phases": 1, "iterations": 4, "random_seed": 7}}]}"#;

#[test]
#[ignore = "needs STYLEMARK_ONNX_REFERENCE (scripts/test-all runs it)"]
fn the_function_paints_with_an_onnx_network_as_the_core_does() {
    let model = model();
    // A slow debug build must not hit the request deadline (it returns the best image so far).
    let server = Server::start(&[
        ("STYLEMARK_WEIGHTS", model.to_str().unwrap()),
        ("STYLEMARK_TIMEOUT_S", "600"),
    ]);
    let listening = server
        .logs()
        .into_iter()
        .find(|line| line["event"] == "listening")
        .expect("a start-up line");
    assert!(
        listening["encoder"].as_str().unwrap().contains("onnx"),
        "{listening}"
    );
    let (style, content) = (photo(64, 64, 1), photo(64, 48, 2));
    let reply = post_job(&server, JOB, &content, &style);
    assert_eq!(reply.header("x-stylemark-status"), Some("completed"));

    let run_with = |encoder: EncoderSpec| paint_in_process(encoder, JOB, &content, &style);
    let in_process = run_with(EncoderSpec::onnx(model));
    assert_eq!(reply.body, in_process, "the function and the core agree");
    assert_ne!(
        in_process,
        run_with(EncoderSpec::Builtin),
        "the network, not the built-in encoder, painted it"
    );
}

#[test]
#[ignore = "needs STYLEMARK_ONNX_REFERENCE (scripts/test-all runs it)"]
fn a_cut_onnx_file_stops_the_start_with_the_reason() {
    let bytes = std::fs::read(model()).unwrap();
    let dir = std::env::temp_dir().join(format!("stylemark-onnx-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let mut child = std::process::Command::new(stylemark_e2e::binary_dir().join("stylemark-faas"))
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("STYLEMARK_WEIGHTS", &cut)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server runs");
    // It must stop by itself; one that loaded the cut file would listen forever.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().ok();
            panic!("the server started with a cut ONNX file");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(status.code(), Some(1));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let line: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("could not be read") && error.contains("not a readable ONNX model"),
        "{error}"
    );
}

#[test]
#[ignore = "needs STYLEMARK_ONNX_REFERENCE (scripts/test-all runs it)"]
fn the_function_takes_the_files_layer_names_and_an_input_convention() {
    use stylemark::encoder::InputConvention;

    // conv3_1 and conv4_1 by the file's output and node names (`stylemark info --encoder`).
    const NAMED: &str = r#"{"input": "photo", "steps": [{"op": "doodle", "style": "style",
        "options": {"method": "optimize", "phases": 1, "iterations": 4, "random_seed": 7,
                    "style_layers": "Relu6__12:0,Relu6__22"}}]}"#;
    let model = model();
    let server = Server::start(&[
        ("STYLEMARK_WEIGHTS", model.to_str().unwrap()),
        ("STYLEMARK_WEIGHTS_FORMAT", "symmetric"),
        ("STYLEMARK_TIMEOUT_S", "600"),
    ]);
    let (style, content) = (photo(64, 64, 1), photo(64, 48, 2));
    let reply = post_job(&server, NAMED, &content, &style);

    let run_with =
        |encoder: EncoderSpec, job: &str| paint_in_process(encoder, job, &content, &style);
    let symmetric = EncoderSpec::onnx(&model).with_convention(Some(InputConvention::Symmetric));
    let by_stylemark_names = run_with(symmetric, JOB);
    assert_eq!(reply.body, by_stylemark_names, "the same layers, fed -1..1");
    assert_ne!(
        reply.body,
        run_with(EncoderSpec::onnx(&model), JOB),
        "fed 0..1 it paints otherwise"
    );
}
