//! Byte-level mutations, as AFL's "havoc" stage does them: a few stacked edits of a
//! corpus input, with no knowledge of the format beyond integers being little-endian.

use super::rng::Rng;

/// Inputs never grow past this: decoding stays fast and failures small to read.
pub const MAX_INPUT: usize = 64 * 1024;

/// Integers where decoders go wrong: zero, one, sign and width boundaries, the limits
/// this project itself uses (24-bit offsets, 256 entries a chunk, 63-bit seqs).
const INTERESTING: [u64; 20] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x101,
    0x7fff,
    0xffff,
    0xff_ffff,
    0x100_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64 - 1,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX - 1,
    u64::MAX,
];

/// Returns `base` with one to four random edits; `others` supplies splices.
pub fn mutate(base: &[u8], others: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut input = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        edit(&mut input, others, rng);
    }
    input.truncate(MAX_INPUT);
    input
}

fn edit(input: &mut Vec<u8>, others: &[Vec<u8>], rng: &mut Rng) {
    let len = input.len();
    let at = rng.below(len + 1);
    match rng.below(10) {
        0 => {
            if let Some(byte) = input.get_mut(rng.below(len)) {
                *byte ^= 1 << rng.below(8);
            }
        }
        1 => {
            let value = if rng.chance(2) { *rng.pick(&INTERESTING).unwrap_or(&0) as u8 } else { rng.next_u64() as u8 };
            if let Some(byte) = input.get_mut(rng.below(len)) {
                *byte = value;
            }
        }
        2 => write_integer(input, rng, |value, _| value),
        3 => {
            let delta = 1 + rng.below(16) as u64;
            let down = rng.chance(2);
            write_integer(input, rng, |_, old| if down { old.wrapping_sub(delta) } else { old.wrapping_add(delta) });
        }
        4 => input.truncate(at),
        5 => {
            let count = 1 + rng.below(16);
            let fill: Vec<u8> = if rng.chance(2) {
                vec![rng.next_u64() as u8; count]
            } else {
                (0..count).map(|_| rng.next_u64() as u8).collect()
            };
            input.splice(at..at, fill);
        }
        6 => {
            let end = (at + 1 + rng.below(32)).min(len);
            input.drain(at.min(end)..end);
        }
        7 => {
            // Duplicate a run: repeats a record, so counts and orders disagree.
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let run: Vec<u8> = input.get(start..end).unwrap_or(&[]).to_vec();
            input.splice(at..at, run);
        }
        8 => {
            // Splice: this input's head on another's tail.
            if let Some(other) = rng.pick(others) {
                let from = rng.below(other.len() + 1);
                input.truncate(at);
                input.extend_from_slice(other.get(from..).unwrap_or(&[]));
            }
        }
        _ => {
            // Overwrite a stretch with a stretch of another input.
            if let Some(other) = rng.pick(others) {
                let from = rng.below(other.len());
                let piece = other.get(from..(from + 1 + rng.below(32)).min(other.len())).unwrap_or(&[]);
                for (byte, &new) in input.iter_mut().skip(at).zip(piece) {
                    *byte = new;
                }
            }
        }
    }
}

/// Rewrites a little-endian integer of 1, 2, 4 or 8 bytes at a random offset with
/// `new(interesting value, old value)`.
fn write_integer(input: &mut [u8], rng: &mut Rng, new: impl FnOnce(u64, u64) -> u64) {
    let width = 1 << rng.below(4);
    if input.len() < width {
        return;
    }
    let at = rng.below(input.len() - width + 1);
    let Some(field) = input.get_mut(at..at + width) else { return };
    let mut old = [0u8; 8];
    old[..width].copy_from_slice(field);
    let value = new(*rng.pick(&INTERESTING).unwrap_or(&0), u64::from_le_bytes(old));
    field.copy_from_slice(&value.to_le_bytes()[..width]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_reproducible_from_the_seed_and_bounded() {
        let base: Vec<u8> = (0..=255).collect();
        let others = vec![vec![0xaa; MAX_INPUT], Vec::new()];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..2000).map(|_| mutate(&base, &others, &mut rng)).collect::<Vec<_>>()
        };
        let mutants = run(7);
        assert_eq!(mutants, run(7));
        assert!(mutants.iter().all(|m| m.len() <= MAX_INPUT));
        assert!(mutants.iter().filter(|m| **m != base).count() > 1900, "almost every mutant differs");
        let mut empty_rng = Rng::new(1);
        for _ in 0..1000 {
            mutate(&[], &[], &mut empty_rng);
        }
    }
}
