//! Many calls in one process (as a long-lived server or app makes them) leave memory
//! where it was: 50 photos painted and 500 watermarks, resident memory measured by the
//! test itself (VmRSS) after a warm-up and at the end.

mod support;

use stylemark::DeviceKind;
use stylemark::doodle::{DoodleOptions, DoodleRequest, Engine, Observer};
use stylemark::encoder::EncoderSpec;
use stylemark::samples::photo;
use stylemark::watermark::visible::{self as watermark, TextOptions};

fn rss_mib() -> f64 {
    support::memory_mib("VmRSS")
}

#[test]
fn fifty_paintings_and_five_hundred_watermarks_keep_memory_flat() {
    let engine = Engine::new(DeviceKind::Cpu, EncoderSpec::Builtin).unwrap();
    let paint = |seed: u64| {
        let mut request = DoodleRequest::new(photo(96, 72, 100 + seed % 3));
        request.content = Some(photo(128, 96, seed));
        let outcome = engine
            .doodle(&request, &DoodleOptions::default(), Observer::default())
            .unwrap();
        assert_eq!(outcome.image.dimensions(), (128, 96));
    };
    for seed in 0..10 {
        paint(seed);
    }
    let after_warm_up = rss_mib();
    for seed in 10..50 {
        paint(seed);
    }
    let after_paintings = rss_mib();
    eprintln!("paintings: {after_warm_up:.1} MiB after 10, {after_paintings:.1} MiB after 50");
    assert!(
        after_paintings - after_warm_up < 6.0,
        "{after_warm_up:.1} -> {after_paintings:.1} MiB over 40 paintings"
    );

    let image = photo(256, 192, 7);
    let options = TextOptions::default();
    let mark = |i: usize| {
        let marked = watermark::text(&image, &format!("© soak {i}"), &options).unwrap();
        assert_eq!(marked.image.width(), 256);
    };
    for i in 0..50 {
        mark(i);
    }
    let after_warm_up = rss_mib();
    for i in 50..500 {
        mark(i);
    }
    let after_marks = rss_mib();
    eprintln!("watermarks: {after_warm_up:.1} MiB after 50, {after_marks:.1} MiB after 500");
    assert!(
        after_marks - after_warm_up < 6.0,
        "{after_warm_up:.1} -> {after_marks:.1} MiB over 450 watermarks"
    );
}
