//! A seeded byte mutator for robustness tests: the core's (core/tests/hostile.rs, which
//! includes this file) and the HTTP function's (tests/tests/http_attacks.rs). Every case
//! is replayable from its seed.

/// A small, fast, seeded generator (xorshift64*) with mutations that break careless
/// parsers.
pub struct Mutator(u64);

#[allow(dead_code)] // each including crate uses part of it
impl Mutator {
    /// A mutator for case `seed` (any value; zero is fine).
    pub fn new(seed: u64) -> Self {
        Mutator(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next pseudo-random number.
    pub fn number(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.number() % n.max(1) as u64) as usize
    }

    /// Values that break careless arithmetic, as bytes of every width.
    pub fn nasty_bytes(&mut self) -> Vec<u8> {
        let values: [u64; 8] = [0, 1, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, u64::MAX];
        let value = values[self.below(values.len())];
        let width = [1, 2, 4, 8][self.below(4)];
        let bytes = if self.number() & 1 == 0 {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        };
        bytes[8 - width..].to_vec()
    }

    /// One to four edits of `bytes`: flips, overwrites with extreme values (often in the
    /// header, where sizes live), insertions, deletions and truncation.
    pub fn mutate(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for _ in 0..1 + self.below(4) {
            if out.is_empty() {
                out.push(0);
            }
            // Half the edits land in the first 64 bytes: the header.
            let span = if self.number() & 1 == 0 {
                out.len().min(64)
            } else {
                out.len()
            };
            let at = self.below(span);
            match self.below(5) {
                0 => out[at] ^= 1 << self.below(8),
                1 => {
                    let nasty = self.nasty_bytes();
                    for (i, b) in nasty.into_iter().enumerate() {
                        if let Some(slot) = out.get_mut(at + i) {
                            *slot = b;
                        }
                    }
                }
                2 => {
                    let nasty = self.nasty_bytes();
                    out.splice(at..at, nasty);
                }
                3 => {
                    let end = (at + 1 + self.below(256)).min(out.len());
                    out.drain(at..end);
                }
                _ => out.truncate(at),
            }
        }
        out
    }
}
