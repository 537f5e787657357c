//! The payload's coding: up to 8 bytes, padded to 64 bits, plus a 16-bit CRC over the
//! length and the bytes. The CRC is what makes a detection trustworthy: random bits pass
//! it once in 65,536 tries.

use super::layout::PAYLOAD_BITS;
use crate::{Error, Result};

/// The most payload bytes a mark carries.
pub const MAX_PAYLOAD_BYTES: usize = 8;

/// The information bits for `payload` (1 to 8 bytes): the bytes padded to 8, then the CRC.
pub(crate) fn encode(payload: &[u8]) -> Result<[bool; PAYLOAD_BITS]> {
    check_length(payload)?;
    let mut bytes = [0u8; MAX_PAYLOAD_BYTES + 2];
    bytes[..payload.len()].copy_from_slice(payload);
    let crc = crc16(payload.len() as u8, payload);
    bytes[MAX_PAYLOAD_BYTES..].copy_from_slice(&crc.to_be_bytes());
    Ok(std::array::from_fn(|i| {
        bytes[i / 8] >> (7 - i % 8) & 1 == 1
    }))
}

/// The payload the information bits carry, or `None` when no length makes the CRC check.
pub(crate) fn decode(bits: &[bool; PAYLOAD_BITS]) -> Option<Vec<u8>> {
    let mut bytes = [0u8; MAX_PAYLOAD_BYTES + 2];
    for (i, bit) in bits.iter().enumerate() {
        bytes[i / 8] |= u8::from(*bit) << (7 - i % 8);
    }
    let crc = u16::from_be_bytes([bytes[MAX_PAYLOAD_BYTES], bytes[MAX_PAYLOAD_BYTES + 1]]);
    (1..=MAX_PAYLOAD_BYTES)
        .filter(|&len| bytes[len..MAX_PAYLOAD_BYTES].iter().all(|&b| b == 0))
        .find(|&len| crc16(len as u8, &bytes[..len]) == crc)
        .map(|len| bytes[..len].to_vec())
}

/// Checks that a payload fits.
pub(crate) fn check_length(payload: &[u8]) -> Result<()> {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::option(
            "payload",
            format!(
                "is {} bytes; a mark carries 1 to {MAX_PAYLOAD_BYTES} bytes (up to 16 hex digits)",
                payload.len()
            ),
        ));
    }
    Ok(())
}

/// CRC-16/CCITT-FALSE over the length byte and the payload.
fn crc16(length: u8, payload: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &byte in std::iter::once(&length).chain(payload) {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 1..=8 {
            let payload: Vec<u8> = (0..len as u8)
                .map(|i| i.wrapping_mul(37).wrapping_add(1))
                .collect();
            assert_eq!(decode(&encode(&payload).unwrap()), Some(payload));
        }
        // Trailing zero bytes are part of the payload, not padding.
        assert_eq!(decode(&encode(&[7, 0, 0]).unwrap()), Some(vec![7, 0, 0]));
    }

    #[test]
    fn a_flipped_bit_fails_the_check() {
        let mut bits = encode(b"stylemrk").unwrap();
        bits[13] = !bits[13];
        assert_eq!(decode(&bits), None);
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(encode(&[]).is_err());
        assert!(
            encode(&[0; 9])
                .unwrap_err()
                .to_string()
                .contains("1 to 8 bytes")
        );
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-16/CCITT-FALSE of "123456789" is 0x29B1; here the first byte plays the length.
        assert_eq!(crc16(b'1', b"23456789"), 0x29B1);
    }
}
