//! The keyed layout of the mark's tile: which chips carry the pilot and which carry each
//! coded bit, and the sign each chip is multiplied by. Without the key the tile looks like
//! noise, and a detector with the wrong key finds nothing.

use crate::rng::SplitMix64;

/// Side of the repeating tile, in canonical pixels.
pub(crate) const TILE: usize = 64;
/// Side of one chip (a block of constant sign), in canonical pixels. Large enough to
/// survive 4:2:0 JPEG and a 0.5x resize, small enough to hide in texture.
pub(crate) const CHIP: usize = 4;
/// Chips per tile side.
pub(crate) const CHIPS_PER_SIDE: usize = TILE / CHIP;
/// Chips in the tile.
pub(crate) const CHIPS: usize = CHIPS_PER_SIDE * CHIPS_PER_SIDE;
/// Information bits: 64 payload bits and a 16-bit CRC.
pub(crate) const PAYLOAD_BITS: usize = 80;
/// Coded bits, one chip each.
pub(crate) const CODED_BITS: usize = super::code::coded_len(PAYLOAD_BITS);
/// Chips of the keyed pilot the detector synchronises on: all the others.
pub(crate) const PILOT_CHIPS: usize = CHIPS - CODED_BITS;

/// One chip of the tile: its position (in chips) and its keyed sign.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Chip {
    pub column: usize,
    pub row: usize,
    pub sign: f32,
}

/// Where the pilot and each coded bit live in the tile, for one key.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub pilot: Vec<Chip>,
    /// The chip of each coded bit, scattered over the tile by the key (which also
    /// interleaves the code: neighbouring coded bits are far apart in the image).
    pub bits: Vec<Chip>,
}

impl Layout {
    /// The layout for `key` (any non-empty string); the same key always gives the same layout.
    pub fn for_key(key: &str) -> Layout {
        let mut rng = SplitMix64::new(key_seed(key));
        let mut order: Vec<usize> = (0..CHIPS).collect();
        for i in (1..CHIPS).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut chips = order.into_iter().map(|index| Chip {
            column: index % CHIPS_PER_SIDE,
            row: index / CHIPS_PER_SIDE,
            sign: if rng.next_u64() & 1 == 0 { -1.0 } else { 1.0 },
        });
        let pilot = chips.by_ref().take(PILOT_CHIPS).collect();
        let bits = chips.collect();
        Layout { pilot, bits }
    }

    /// The tile as chip values (`+1`/`-1`) for the given coded bits, indexed `row * 16 + column`.
    pub fn chip_values(&self, coded: &[bool]) -> [f32; CHIPS] {
        let mut values = [0f32; CHIPS];
        for chip in &self.pilot {
            values[chip.row * CHIPS_PER_SIDE + chip.column] = chip.sign;
        }
        for (bit, chip) in coded.iter().zip(&self.bits) {
            let value = if *bit { 1.0 } else { -1.0 };
            values[chip.row * CHIPS_PER_SIDE + chip.column] = chip.sign * value;
        }
        values
    }
}

/// A stable 64-bit seed from the key (FNV-1a; `std`'s hasher may change between releases,
/// which would orphan every mark made before).
fn key_seed(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"stylemark-mark-v1\0".iter().chain(key.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chip_is_used_once() {
        let layout = Layout::for_key("k");
        let mut seen = [false; CHIPS];
        let all = layout.pilot.iter().chain(&layout.bits);
        for chip in all {
            let index = chip.row * CHIPS_PER_SIDE + chip.column;
            assert!(!seen[index], "chip {index} used twice");
            seen[index] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn keys_give_different_layouts_and_the_same_key_the_same() {
        let a = Layout::for_key("alice");
        assert_eq!(a.pilot, Layout::for_key("alice").pilot);
        assert_ne!(a.pilot, Layout::for_key("alicf").pilot);
    }
}
