//! Client-msg-ids of every form a chunk stores them in (hex and UUID ids packed, every
//! other id as given), for the tests of `tests/it/stored_ids.rs` and the RDB fixture's
//! workload (`examples/make_fixture_lifecycle.rs`).

use std::collections::BTreeSet;

/// `n` hex digits, `0123456789abcdef` over and over, in one case.
pub fn hex_digits(n: usize, upper: bool) -> Vec<u8> {
    let digits = b"0123456789abcdef".iter().cycle().take(n).copied();
    digits.map(|c| if upper { c.to_ascii_uppercase() } else { c }).collect()
}

/// Ids of every stored form (`crates/seq-core/src/stored_id.rs`), and next to each the ids
/// a packing could confuse it with.
pub fn every_stored_form() -> Vec<Vec<u8>> {
    let texts = [
        // Lowercase hex, packed: even and odd lengths, digits alone, leading zeros, 1 char.
        "0123456789abcdef",
        "abc",
        "abc0",
        "0abc",
        "f0",
        "1234567890",
        "7",
        "0",
        "00",
        "000",
        "a",
        // Uppercase hex with a letter, packed: even and odd lengths, 1 char.
        "DEADBEEF",
        "ABCDE1F",
        "ABC",
        "F0",
        "A",
        // Mixed-case hex, stored as given.
        "DeadBeef",
        "aB",
        // A lowercase UUID, packed; uppercase or mixed-case ones, and dashes elsewhere, as
        // given; the same 32 digits without dashes, packed as hex.
        "123e4567-e89b-12d3-a456-426614174000",
        "00000000-0000-0000-0000-000000000000",
        "123E4567-E89B-12D3-A456-426614174000",
        "123e4567-E89b-12d3-a456-426614174000",
        "123e4567e-89b-12d3-a456-42661417400",
        "123e4567e89b12d3a456426614174000",
        // Neither hex nor a UUID: 1 char, text, hex with a space or a newline.
        "z",
        "-",
        "msg-1",
        "abc ",
        "abc\n",
        "0x1f",
    ];
    let mut ids: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
    // Hex up to 64 characters packed, 65 as given; ids as given whose stored header takes
    // one byte (31) or two (32, 33), and the longest id allowed by default.
    ids.extend([hex_digits(63, false), hex_digits(64, false), hex_digits(65, false)]);
    ids.extend([hex_digits(64, true), hex_digits(65, true)]);
    ids.extend([31, 32, 33, 256].map(|n| vec![b'x'; n]));
    ids.extend([&b"\x00"[..], b"\xff", b"\x00\xff", b"ab\x00cd", b"\xffabc", b"abc\xff"].map(<[u8]>::to_vec));
    let distinct: BTreeSet<&Vec<u8>> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "every_stored_form lists an id twice");
    ids
}
