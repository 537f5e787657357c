//! The sizes of a GIF's frames, read from their descriptors without decoding. A GIF's
//! header gives only its logical screen; a frame may be far larger (a 199 KB file with a
//! 1x1 screen decoded to 1.1 GB), so the decode limits are checked against the frames too.

/// The width and height of each frame, in file order, as far as the block structure can be
/// followed (a malformed tail ends the list; the decoder reports it).
pub(crate) fn frame_sizes(bytes: &[u8]) -> Vec<(u32, u32)> {
    let mut sizes = Vec::new();
    let byte = |at: usize| bytes.get(at).copied();
    let word = |at: usize| Some(u32::from(byte(at)?) | u32::from(byte(at + 1)?) << 8);
    // Header (6) and logical screen descriptor (7), then the global colour table.
    let Some(packed) = byte(10) else {
        return sizes;
    };
    let mut at = 13 + colour_table_len(packed);
    while let Some(kind) = byte(at) {
        match kind {
            // Extension: label, then data sub-blocks.
            0x21 => match skip_sub_blocks(bytes, at + 2) {
                Some(next) => at = next,
                None => break,
            },
            // Image descriptor: position (4), size (4), flags (1); local colour table; LZW
            // code size (1); image data sub-blocks.
            0x2C => {
                let (Some(width), Some(height), Some(flags)) =
                    (word(at + 5), word(at + 7), byte(at + 9))
                else {
                    break;
                };
                sizes.push((width, height));
                match skip_sub_blocks(bytes, at + 10 + colour_table_len(flags) + 1) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            _ => break, // the trailer (0x3B) or something unreadable
        }
    }
    sizes
}

/// Bytes of the colour table a packed flags byte announces.
fn colour_table_len(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 0x07) + 1)
    }
}

/// The position after a run of data sub-blocks starting at `at` (each a length byte and
/// that many bytes, ended by a zero length).
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = usize::from(*bytes.get(at)?);
        at += 1;
        if length == 0 {
            return Some(at);
        }
        at += length;
    }
}

#[cfg(test)]
/// A GIF with a `screen` logical screen and one frame of `frame` size (no pixel data
/// beyond a minimal LZW stream: only the descriptors matter here).
pub(super) fn gif(screen: (u16, u16), frame: (u16, u16)) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.extend(screen.0.to_le_bytes());
    bytes.extend(screen.1.to_le_bytes());
    bytes.extend([0x80, 0, 0]); // a global table of 2 colours
    bytes.extend([0, 0, 0, 255, 255, 255]);
    bytes.extend([0x21, 0xF9, 4, 0, 0, 0, 0, 0]); // graphic control extension
    bytes.push(0x2C);
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(frame.0.to_le_bytes());
    bytes.extend(frame.1.to_le_bytes());
    bytes.push(0);
    bytes.extend([2, 2, 0x4C, 0x01, 0]); // LZW code size 2, one tiny sub-block
    bytes.push(0x3B);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_frame_sizes_past_extensions_and_colour_tables() {
        assert_eq!(
            frame_sizes(&gif((1, 1), (60_000, 30_000))),
            vec![(60_000, 30_000)]
        );
        assert_eq!(frame_sizes(&gif((5, 4), (5, 4))), vec![(5, 4)]);
        assert!(frame_sizes(b"GIF89a").is_empty());
        assert!(frame_sizes(&gif((5, 4), (5, 4))[..20]).is_empty());
    }
}
