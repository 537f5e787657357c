//! 04: a job: the one JSON description every entry point runs (the CLI's `stylemark run`,
//! Python's `Engine.run`, C's `stylemark_run_job`, the HTTP function's `POST /v1/jobs`).
//! Here a photo is painted, watermarked and marked invisibly in one call.
//!
//! `cargo run -p stylemark --example 04_job` writes `out/04_job.jpg`.

use stylemark::Session;
use stylemark::image::DynamicImage;
use stylemark::job::{Job, JobInputs};

const JOB: &str = r#"{
    "input": "photo",
    "steps": [
        {"op": "doodle", "style": "painting", "options": {"random_seed": 1, "strength": 0.8}},
        {"op": "watermark_text", "text": "painted by stylemark", "options": {"size": "3%"}},
        {"op": "mark_embed", "payload": "c0ffee", "key": "secret"}
    ],
    "output": {"format": "jpeg", "quality": 88}
}"#;

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
    let job = Job::from_json(JOB)?; // a mistake is an error naming the field

    let mut inputs = JobInputs::default();
    inputs
        .images
        .insert("photo".into(), stylemark::samples::photo(512, 384, 3));
    let painting = stylemark::samples::demo_scene(192, 144, 2).style;
    inputs
        .images
        .insert("painting".into(), DynamicImage::ImageRgb8(painting));

    let outcome = session.run_job(&job, &inputs)?;
    for step in &outcome.steps {
        println!("{:<15} {:.2} s", step.op, step.seconds);
    }
    std::fs::create_dir_all("out").map_err(|e| stylemark::Error::io("cannot create", "out", e))?;
    std::fs::write("out/04_job.jpg", outcome.encoded()?)
        .map_err(|e| stylemark::Error::io("cannot write", "out/04_job.jpg", e))?;
    println!("wrote out/04_job.jpg");
    Ok(())
}
