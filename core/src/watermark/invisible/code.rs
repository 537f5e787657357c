//! The error-correcting code: a rate-1/2 convolutional code (constraint length 7, the
//! 171/133 generators of Voyager and 802.11) with a zero tail, decoded by soft-decision
//! Viterbi. Against the repetition code it replaced it corrects the scattered chip errors
//! heavy JPEG and resizing leave (free distance 10 instead of 2).

/// Memory of the encoder (constraint length minus one).
const MEMORY: usize = 6;
const STATES: usize = 1 << MEMORY;
const GENERATORS: [u32; 2] = [0o171, 0o133];

/// Coded bits for `bits` information bits (two per bit, plus the zero tail's).
pub(crate) const fn coded_len(bits: usize) -> usize {
    2 * (bits + MEMORY)
}

/// The coded bits of `bits`.
pub(crate) fn encode(bits: &[bool]) -> Vec<bool> {
    let mut state = 0usize;
    let mut coded = Vec::with_capacity(coded_len(bits.len()));
    for &bit in bits.iter().chain([false; MEMORY].iter()) {
        let (outputs, next) = step(state, bit);
        coded.extend(outputs);
        state = next;
    }
    coded
}

/// The most likely information bits given soft values (positive means 1, magnitude is
/// confidence), one per coded bit.
pub(crate) fn decode(soft: &[f32]) -> Vec<bool> {
    let steps = soft.len() / 2;
    let mut metric = vec![f32::NEG_INFINITY; STATES];
    metric[0] = 0.0;
    let mut survivors = vec![[0u8; STATES]; steps];
    for (t, pair) in soft.chunks_exact(2).enumerate() {
        let mut next_metric = vec![f32::NEG_INFINITY; STATES];
        for (state, &so_far) in metric.iter().enumerate() {
            if so_far == f32::NEG_INFINITY {
                continue;
            }
            for bit in [false, true] {
                let (outputs, next) = step(state, bit);
                let gain: f32 = outputs
                    .iter()
                    .zip(pair)
                    .map(|(o, s)| if *o { *s } else { -*s })
                    .sum();
                let candidate = so_far + gain;
                if candidate > next_metric[next] {
                    next_metric[next] = candidate;
                    survivors[t][next] = state as u8;
                }
            }
        }
        metric = next_metric;
    }
    // The zero tail brings the encoder back to state 0: trace back from there.
    let mut state = 0usize;
    let mut bits = vec![false; steps];
    for t in (0..steps).rev() {
        let previous = usize::from(survivors[t][state]);
        bits[t] = state >> (MEMORY - 1) & 1 == 1;
        state = previous;
    }
    bits.truncate(steps.saturating_sub(MEMORY));
    bits
}

/// One encoder step: the two output bits and the next state. The newest bit enters at
/// the top of the 7-bit register.
fn step(state: usize, bit: bool) -> ([bool; 2], usize) {
    let register = (usize::from(bit) << MEMORY | state) as u32;
    let outputs = GENERATORS.map(|g| (register & g).count_ones() % 2 == 1);
    (outputs, (register >> 1) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft(coded: &[bool]) -> Vec<f32> {
        coded.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect()
    }

    #[test]
    fn decodes_what_it_encodes() {
        let bits: Vec<bool> = (0..80).map(|i| (i * 7 + i / 3) % 5 < 2).collect();
        let coded = encode(&bits);
        assert_eq!(coded.len(), coded_len(80));
        assert_eq!(decode(&soft(&coded)), bits);
    }

    #[test]
    fn corrects_scattered_errors() {
        let bits: Vec<bool> = (0..80).map(|i| i % 3 == 0).collect();
        let mut received = soft(&encode(&bits));
        // Eight flipped coded bits, spread out: repetition would lose some of these.
        for i in [3, 30, 51, 77, 99, 120, 140, 166] {
            received[i] = -received[i];
        }
        assert_eq!(decode(&received), bits);
    }
}
