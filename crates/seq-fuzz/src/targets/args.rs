//! The command argument parsers (`seq_core::args`) the adapter runs on every call: integers,
//! range bounds, the `NAME value` options of SEQ.RANGE/SEQ.REVRANGE and SEQ.SYNC, and
//! SEQ.TRIM's strategies. Never a panic; a refusal names a cause the input has; a parsed
//! value agrees with the standard library and parses back from its canonical form.
//!
//! Input: one byte choosing the parser, then the arguments separated by NUL bytes.

use seq_core::args::{parse_bound, parse_u64, ArgError, Options};
use seq_core::TrimBy;

use crate::harness::Target;

pub const TARGET: Target = Target { name: "args", default_seconds: 10, generate, budget, check };

/// Words, an error and its label: a few times the input.
fn budget(len: usize) -> usize {
    64 * 1024 + 8 * len
}

const RANGE_OPTIONS: &[&str] = &["COUNT"];
const SYNC_OPTIONS: &[&str] = &["AFTER", "COUNT", "BLOCK"];

fn check(input: &[u8]) -> Result<String, String> {
    let Some((&selector, rest)) = input.split_first() else { return Ok("empty".into()) };
    let words: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    let first = words.first().copied().unwrap_or_default();
    match selector % 5 {
        0 => check_u64(first),
        1 => check_bound(first),
        2 => check_options(&words, RANGE_OPTIONS),
        3 => check_options(&words, SYNC_OPTIONS),
        _ => check_trim(first, words.get(1).copied().unwrap_or_default()),
    }
}

/// What `parse_u64` must answer, from the definition: a sign, then 1..=19 ASCII digits
/// whose value (read by the standard library) is at most i64::MAX; `-` only with 0.
fn expected_u64(text: &[u8]) -> Result<u64, ArgError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let value = (!digits.is_empty() && digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
        .flatten()
        .filter(|&v| v <= i64::MAX as u64)
        .ok_or(ArgError::NotAnInteger("n"))?;
    if negative && value != 0 {
        return Err(ArgError::Negative("n"));
    }
    Ok(value)
}

fn check_u64(text: &[u8]) -> Result<String, String> {
    let got = parse_u64(text, "n");
    if got != expected_u64(text) {
        return Err(format!("parse_u64({text:?}) = {got:?}, expected {:?}", expected_u64(text)));
    }
    if let Ok(value) = got {
        if parse_u64(value.to_string().as_bytes(), "n") != Ok(value) {
            return Err(format!("{value} does not parse back"));
        }
    }
    Ok(label("u64", &got))
}

fn check_bound(text: &[u8]) -> Result<String, String> {
    let got = parse_bound(text, "n");
    let expected = match text {
        b"-" => Ok(0),
        b"+" => Ok(u64::MAX),
        _ => parse_u64(text, "n"),
    };
    if got != expected {
        return Err(format!("parse_bound({text:?}) = {got:?}, expected {expected:?}"));
    }
    Ok(label("bound", &got))
}

fn named(word: &[u8], option: &str) -> bool {
    word.eq_ignore_ascii_case(option.as_bytes())
}

fn check_options(words: &[&[u8]], allowed: &'static [&'static str]) -> Result<String, String> {
    let got = Options::parse(words, 0, allowed);
    match &got {
        Ok(options) => {
            let present = [("AFTER", options.after), ("COUNT", options.count), ("BLOCK", options.block_ms)];
            let mut canonical: Vec<Vec<u8>> = Vec::new();
            for (name, value) in present {
                let Some(value) = value else { continue };
                if !allowed.contains(&name) || value > i64::MAX as u64 || (name == "COUNT" && value == 0) {
                    return Err(format!("{words:?} parsed to {options:?} (allowed: {allowed:?})"));
                }
                canonical.push(name.as_bytes().to_vec());
                canonical.push(value.to_string().into_bytes());
            }
            let canonical: Vec<&[u8]> = canonical.iter().map(Vec::as_slice).collect();
            if Options::parse(canonical.as_slice(), 0, allowed).as_ref() != Ok(options) {
                return Err(format!("{options:?} does not parse back from {canonical:?}"));
            }
        }
        Err(ArgError::UnknownOption { given, .. }) => {
            if allowed.iter().any(|o| named(given, o)) || !words.contains(&given.as_slice()) {
                return Err(format!("{words:?}: unknown option {given:?}"));
            }
        }
        Err(ArgError::MissingValue(option)) => {
            if !words.last().is_some_and(|last| named(last, option)) {
                return Err(format!("{words:?}: {option} said to have no value"));
            }
        }
        Err(ArgError::NotAnInteger(option) | ArgError::Negative(option)) => {
            if !allowed.contains(option) {
                return Err(format!("{words:?}: a bad value for {option}, which is not allowed"));
            }
        }
        Err(ArgError::ZeroCount) if allowed.contains(&"COUNT") => {}
        Err(other) => return Err(format!("{words:?}: refused with {other:?}")),
    }
    Ok(label("options", &got))
}

fn check_trim(strategy: &[u8], value: &[u8]) -> Result<String, String> {
    let got = TrimBy::parse(strategy, value);
    let expected = if named(strategy, "MAXLEN") {
        parse_u64(value, "MAXLEN").map(TrimBy::MaxLen)
    } else if named(strategy, "MINSEQ") {
        parse_u64(value, "MINSEQ").map(TrimBy::MinSeq)
    } else if named(strategy, "MAXAGE") {
        parse_u64(value, "MAXAGE").map(TrimBy::MaxAge)
    } else {
        Err(ArgError::UnknownTrimStrategy(strategy.to_vec()))
    };
    if got != expected {
        return Err(format!("TrimBy::parse({strategy:?}, {value:?}) = {got:?}, expected {expected:?}"));
    }
    Ok(label("trim", &got))
}

/// The outcome kind, without the input's values.
fn label<T>(parser: &str, result: &Result<T, ArgError>) -> String {
    let kind = match result {
        Ok(_) => "ok",
        Err(ArgError::NotAnInteger(_)) => "not an integer",
        Err(ArgError::Negative(_)) => "negative",
        Err(ArgError::UnknownOption { .. }) => "unknown option",
        Err(ArgError::UnknownTrimStrategy(_)) => "unknown strategy",
        Err(ArgError::MissingValue(_)) => "missing value",
        Err(ArgError::ZeroCount) => "zero count",
        Err(ArgError::MissingKeyword(_)) => "missing keyword",
    };
    format!("{parser}: {kind}")
}

fn generate() -> Vec<(String, Vec<u8>)> {
    let inputs: [(&str, u8, &[&[u8]]); 12] = [
        ("u64-max", 0, &[b"9223372036854775807"]),
        ("u64-over", 0, &[b"9223372036854775808"]),
        ("u64-signs", 0, &[b"-0"]),
        ("bound-plus", 1, &[b"+"]),
        ("bound-digits", 1, &[b"00042"]),
        ("range-count", 2, &[b"count", b"10"]),
        ("range-dangling", 2, &[b"COUNT"]),
        ("sync-all", 3, &[b"AFTER", b"5", b"Count", b"100", b"block", b"0"]),
        ("sync-repeated", 3, &[b"AFTER", b"1", b"AFTER", b"2", b"COUNT", b"0"]),
        ("sync-unknown", 3, &[b"LIMIT", b"1"]),
        ("trim-maxlen", 4, &[b"maxlen", b"1000"]),
        ("trim-unknown", 4, &[b"MAXCOUNT", b"-1"]),
    ];
    inputs
        .iter()
        .map(|(name, selector, words)| {
            let mut bytes = vec![*selector];
            bytes.extend_from_slice(&words.join(&0u8));
            (name.to_string(), bytes)
        })
        .collect()
}
