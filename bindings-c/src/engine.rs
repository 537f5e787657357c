//! The engine handle: one core [`Session`] (a device, an encoder and the limits), created
//! once and shared by every call (and thread).

use std::ffi::{CStr, c_char};

use stylemark_core::encoder::{EncoderSpec, InputConvention};
use stylemark_core::{DeviceKind, Limits, Session};

use crate::input::optional_str;
use crate::status::{Failure, StylemarkStatus, guard, no_unwind};

/// Options for `stylemark_engine_new`. Always fill it with
/// `STYLEMARK_ENGINE_OPTIONS_INIT(&options)` first, then change what you need: fields added
/// in later versions then keep their defaults, and `struct_size` tells the library which
/// fields your program knows.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StylemarkEngineOptions {
    /// `sizeof(StylemarkEngineOptions)` as the caller was compiled with.
    pub struct_size: usize,
    /// `cpu` (default), `wgpu` (GPU) or `ndarray`.
    pub device: *const c_char,
    /// `builtin` (default; no file), an ONNX model (.onnx) or VGG19 weights (.safetensors, .pth).
    pub encoder: *const c_char,
    /// The network's input convention: NULL (what the file records or declares, else caffe
    /// for VGG19 and unit for ONNX), `caffe`, `torchvision`, `unit` (RGB 0..1),
    /// `symmetric` (-1..1), `bytes` (0..255) or `mean=R,G,B std=R,G,B` in 0-1 units (add
    /// ` bgr` for BGR networks).
    pub weights_format: *const c_char,
    /// A model in memory (the bytes of a .onnx, .safetensors or .pth file), used instead of
    /// `encoder` when not NULL. Copied; they are read on the first doodle.
    pub weights: *const u8,
    /// Number of bytes at `weights`.
    pub weights_len: usize,
    /// Largest image accepted, in pixels (default 40,000,000).
    pub max_pixels: u64,
    /// Largest encoded image accepted, in bytes (default 64 MiB).
    pub max_input_bytes: u64,
    /// More resource limits by name, NULL (default) or `NAME=VALUE` pairs separated by
    /// commas, for example `"max_stamp_pixels=4000000,max_job_steps=4"` (every limit
    /// `stylemark info` lists; `max_pixels` here overrides the field above). The struct's
    /// third layout added it; callers compiled against the first two still work.
    pub limits: *const c_char,
}

/// The engine: create it once with `stylemark_engine_new`, use it from any number of
/// threads at once, free it with `stylemark_engine_free`.
///
/// The device and the encoder are opened on the first doodle, not at creation: a process
/// that only watermarks never pays for a neural network. `stylemark_engine_new` still
/// checks the device name, the encoder and that a weights file exists.
pub struct StylemarkEngine {
    pub(crate) session: Session,
}

/// The sizes `StylemarkEngineOptions` has had, oldest first: a program compiled against an
/// older header passes a smaller `struct_size`, and the fields it does not know keep their
/// defaults. The first version ends before the decoding limits, the second before the
/// named limits.
const OPTIONS_SIZES: [usize; 3] = [
    std::mem::offset_of!(StylemarkEngineOptions, max_pixels),
    std::mem::offset_of!(StylemarkEngineOptions, limits),
    std::mem::size_of::<StylemarkEngineOptions>(),
];

/// The defaults, with `struct_size` set to `size`.
fn default_options(size: usize) -> StylemarkEngineOptions {
    let limits = Limits::default().decode;
    StylemarkEngineOptions {
        struct_size: size,
        device: c"cpu".as_ptr(),
        encoder: c"builtin".as_ptr(),
        weights_format: std::ptr::null(),
        weights: std::ptr::null(),
        weights_len: 0,
        max_pixels: limits.max_pixels,
        max_input_bytes: limits.max_input_bytes,
        limits: std::ptr::null(),
    }
}

/// The largest version of the struct that fits in `size` bytes, if any.
fn known_size(size: usize) -> Option<usize> {
    OPTIONS_SIZES
        .iter()
        .rev()
        .copied()
        .find(|&known| known <= size)
}

/// Fills `options` with the defaults, writing no more than `struct_size` bytes: pass
/// `sizeof(StylemarkEngineOptions)` as your program was compiled (the macro
/// `STYLEMARK_ENGINE_OPTIONS_INIT(&options)` does), so a program built against an older,
/// smaller header is never written past its struct.
///
/// # Safety
/// `options` is NULL (ignored) or points to `struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_options_init(
    options: *mut StylemarkEngineOptions,
    struct_size: usize,
) {
    no_unwind((), || {
        let Some(size) = known_size(struct_size) else {
            return; // smaller than any version: `stylemark_engine_new` will say so
        };
        if options.is_null() {
            return;
        }
        let defaults = default_options(size);
        // SAFETY: the caller passes `struct_size` writable bytes, and `size <= struct_size`;
        // the struct's fields are plain data, so its first `size` bytes are whole fields.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&defaults as *const StylemarkEngineOptions).cast::<u8>(),
                options.cast::<u8>(),
                size,
            );
        }
    })
}

/// Creates an engine; `options` NULL means all defaults. On success `*engine` holds it.
///
/// # Safety
/// `options` is NULL or initialised by `stylemark_engine_options_init` (its first
/// `struct_size` bytes are read); `engine` points to writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_new(
    options: *const StylemarkEngineOptions,
    engine: *mut *mut StylemarkEngine,
) -> StylemarkStatus {
    guard(|| {
        if engine.is_null() {
            return Err(Failure::null("engine"));
        }
        let mut settings = default_options(std::mem::size_of::<StylemarkEngineOptions>());
        if !options.is_null() {
            // SAFETY: `struct_size` is the first field of any version of the struct.
            let given = unsafe { options.cast::<usize>().read_unaligned() };
            if known_size(given) != Some(given) {
                return Err(Failure::invalid(format!(
                    "options.struct_size is {given}; this library knows the sizes {OPTIONS_SIZES:?}: \
                     fill the options with STYLEMARK_ENGINE_OPTIONS_INIT(&options) first{}",
                    if given > OPTIONS_SIZES[OPTIONS_SIZES.len() - 1] {
                        " (your header is newer than this library)"
                    } else {
                        ""
                    }
                )));
            }
            // SAFETY: the caller's struct has `given` bytes, a known version's size, so
            // they are whole fields; the fields after them keep their defaults.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    options.cast::<u8>(),
                    (&mut settings as *mut StylemarkEngineOptions).cast::<u8>(),
                    given,
                );
            }
        }
        // SAFETY: the strings are NULL or NUL-terminated, as documented.
        let (device, encoder, convention, named_limits) = unsafe {
            (
                optional_str(settings.device, "options.device")?.unwrap_or("cpu"),
                optional_str(settings.encoder, "options.encoder")?.unwrap_or("builtin"),
                optional_str(settings.weights_format, "options.weights_format")?,
                optional_str(settings.limits, "options.limits")?,
            )
        };
        let device: DeviceKind = device.parse()?;
        let convention = convention.map(str::parse::<InputConvention>).transpose()?;
        let weights = (!settings.weights.is_null()).then(|| {
            // SAFETY: the caller promises `weights_len` readable bytes at `weights`.
            unsafe { std::slice::from_raw_parts(settings.weights, settings.weights_len) }
        });
        let encoder = EncoderSpec::from_settings(encoder, weights, convention)?;
        let mut limits = Limits::default();
        limits.set("max_pixels", &settings.max_pixels.to_string())?;
        limits.set("max_input_bytes", &settings.max_input_bytes.to_string())?;
        for assignment in named_limits.unwrap_or_default().split(',') {
            if !assignment.trim().is_empty() {
                limits.assign(assignment)?;
            }
        }
        let created = StylemarkEngine {
            session: Session::new(device, encoder, limits)?,
        };
        // SAFETY: checked non-NULL above.
        unsafe { engine.write(Box::into_raw(Box::new(created))) };
        Ok(())
    })
}

/// Frees an engine. NULL is fine. No call may be using it.
///
/// # Safety
/// `engine` is NULL or came from `stylemark_engine_new` and was not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stylemark_engine_free(engine: *mut StylemarkEngine) {
    no_unwind((), || {
        if !engine.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` in `stylemark_engine_new`.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// The library's version, e.g. `"0.1.0"` (static; do not free).
#[unsafe(no_mangle)]
pub extern "C" fn stylemark_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => c"unknown",
        };
    no_unwind(c"unknown".as_ptr(), || VERSION.as_ptr())
}

/// The engine behind a pointer argument.
///
/// # Safety
/// `engine` is NULL or a live engine.
pub(crate) unsafe fn engine_ref<'a>(
    engine: *const StylemarkEngine,
) -> Result<&'a StylemarkEngine, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))
}
