//! Watermarks: [`visible`] text and logos drawn on an image, and [`invisible`] marks
//! hidden in it that survive recompression, resizing and cropping.

pub mod invisible;
pub mod visible;
