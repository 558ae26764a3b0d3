//! Parsing command arguments, as pure functions over byte strings: integers as Redis
//! parses them, range bounds, the `NAME value` options and the trim strategies. The
//! adapter reads its arguments in place from Redis and hands them here (through `Words`),
//! so the fuzz crate can call the very parsers the commands use, without a server.

use super::TrimBy;

/// Why an argument was refused; the adapter words each as its `ERR` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// The named argument is not a decimal integer in 0..=i64::MAX.
    NotAnInteger(&'static str),
    Negative(&'static str),
    UnknownOption {
        given: Vec<u8>,
        one_of: &'static [&'static str],
    },
    UnknownTrimStrategy(Vec<u8>),
    MissingValue(&'static str),
    ZeroCount,
    /// The keyword that starts a command's list (SEQ.READ's `LOGS`) is absent.
    MissingKeyword(&'static str),
}

/// A command's arguments as byte strings (`[&[u8]]` here, Redis' argv in the adapter).
pub trait Words<'a> {
    fn count(&self) -> usize;
    /// Word `index` (empty when out of range).
    fn word(&self, index: usize) -> &'a [u8];
}

impl<'a> Words<'a> for [&'a [u8]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn word(&self, index: usize) -> &'a [u8] {
        self.get(index).copied().unwrap_or_default()
    }
}

/// Parses a decimal integer >= 0 that fits a signed 64-bit integer: an optional sign
/// (`-` only with 0), then 1 to 19 digits.
pub fn parse_u64(text: &[u8], what: &'static str) -> Result<u64, ArgError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ArgError::NotAnInteger(what));
    }
    let value = digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    if value > i64::MAX as u64 {
        return Err(ArgError::NotAnInteger(what));
    }
    if negative && value != 0 {
        return Err(ArgError::Negative(what));
    }
    Ok(value)
}

/// A range bound: an integer >= 0, or `-` (lowest) / `+` (highest, `u64::MAX`).
pub fn parse_bound(text: &[u8], what: &'static str) -> Result<u64, ArgError> {
    match text {
        b"-" => Ok(0),
        b"+" => Ok(u64::MAX),
        text => parse_u64(text, what),
    }
}

/// The optional `NAME value` pairs after a command's fixed arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub count: Option<u64>,
    pub after: Option<u64>,
    pub block_ms: Option<u64>,
}

impl Options {
    /// Parses `words[from..]` as options among `allowed` (upper-case names, each of
    /// `COUNT`, `AFTER`, `BLOCK`; case-insensitive on input); the last of a repeated
    /// option wins.
    pub fn parse<'a, W: Words<'a> + ?Sized>(
        words: &W,
        from: usize,
        allowed: &'static [&'static str],
    ) -> Result<Options, ArgError> {
        let mut options = Options::default();
        let mut index = from;
        while index < words.count() {
            options.take(words, index, allowed)?;
            index += 2;
        }
        Ok(options)
    }

    /// Parses `words[from..]` as options among `allowed` up to the word `keyword`, which
    /// must follow them (SEQ.READ's `LOGS`); returns the options and the keyword's index.
    pub fn parse_before<'a, W: Words<'a> + ?Sized>(
        words: &W,
        from: usize,
        allowed: &'static [&'static str],
        keyword: &'static str,
    ) -> Result<(Options, usize), ArgError> {
        let mut options = Options::default();
        let mut index = from;
        while index < words.count() {
            if words.word(index).eq_ignore_ascii_case(keyword.as_bytes()) {
                return Ok((options, index));
            }
            options.take(words, index, allowed)?;
            index += 2;
        }
        Err(ArgError::MissingKeyword(keyword))
    }

    /// Takes the option named at `words[index]` and its value at `index + 1`.
    fn take<'a, W: Words<'a> + ?Sized>(
        &mut self,
        words: &W,
        index: usize,
        allowed: &'static [&'static str],
    ) -> Result<(), ArgError> {
        let name = words.word(index);
        let Some(&option) = allowed.iter().find(|o| name.eq_ignore_ascii_case(o.as_bytes())) else {
            return Err(ArgError::UnknownOption { given: name.to_vec(), one_of: allowed });
        };
        if index + 1 >= words.count() {
            return Err(ArgError::MissingValue(option));
        }
        let value = parse_u64(words.word(index + 1), option)?;
        match option {
            "COUNT" if value == 0 => return Err(ArgError::ZeroCount),
            "COUNT" => self.count = Some(value),
            "AFTER" => self.after = Some(value),
            _ => self.block_ms = Some(value),
        }
        Ok(())
    }
}

/// SEQ.ALLOC's one option after the payload, `ACK consumer`, in `words[from..]`: the
/// consumer's index, or `None` when nothing follows the payload.
pub fn alloc_ack_at<'a, W: Words<'a> + ?Sized>(words: &W, from: usize) -> Result<Option<usize>, ArgError> {
    const OPTIONS: &[&str] = &["ACK"];
    let unknown = |index: usize| ArgError::UnknownOption { given: words.word(index).to_vec(), one_of: OPTIONS };
    if words.count() <= from {
        return Ok(None);
    }
    if !words.word(from).eq_ignore_ascii_case(b"ACK") {
        return Err(unknown(from));
    }
    match words.count() - from {
        1 => Err(ArgError::MissingValue("ACK")),
        2 => Ok(Some(from + 1)),
        _ => Err(unknown(from + 2)),
    }
}

impl TrimBy {
    /// SEQ.TRIM's `MAXLEN n | MINSEQ seq | MAXAGE ms` (names case-insensitive).
    pub fn parse(strategy: &[u8], value: &[u8]) -> Result<TrimBy, ArgError> {
        let named = |name: &str| strategy.eq_ignore_ascii_case(name.as_bytes());
        if named("MAXLEN") {
            parse_u64(value, "MAXLEN").map(TrimBy::MaxLen)
        } else if named("MINSEQ") {
            parse_u64(value, "MINSEQ").map(TrimBy::MinSeq)
        } else if named("MAXAGE") {
            parse_u64(value, "MAXAGE").map(TrimBy::MaxAge)
        } else {
            Err(ArgError::UnknownTrimStrategy(strategy.to_vec()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        assert_eq!(parse_u64(b"0", "n"), Ok(0));
        assert_eq!(parse_u64(b"9223372036854775807", "n"), Ok(i64::MAX as u64));
        assert_eq!(parse_u64(b"9223372036854775808", "n"), Err(ArgError::NotAnInteger("n")));
        assert_eq!(parse_u64(b"-3", "n"), Err(ArgError::Negative("n")));
        assert_eq!(parse_u64(b"1x", "n"), Err(ArgError::NotAnInteger("n")));
        assert_eq!(parse_u64(b"", "n"), Err(ArgError::NotAnInteger("n")));
        assert_eq!(parse_u64(b"\xff", "n"), Err(ArgError::NotAnInteger("n")));
        assert_eq!(parse_bound(b"+", "end"), Ok(u64::MAX));
    }

    #[test]
    fn options_in_any_case_and_order_the_last_wins() {
        let words: &[&[u8]] = &[b"key", b"count", b"5", b"After", b"7", b"COUNT", b"2"];
        assert_eq!(
            Options::parse(words, 1, &["AFTER", "COUNT"]),
            Ok(Options { count: Some(2), after: Some(7), block_ms: None })
        );
        assert_eq!(
            Options::parse(words, 1, &["COUNT"]).map_err(|e| matches!(e, ArgError::UnknownOption { .. })),
            Err(true)
        );
        let dangling: &[&[u8]] = &[b"COUNT"];
        assert_eq!(Options::parse(dangling, 0, &["COUNT"]), Err(ArgError::MissingValue("COUNT")));
        assert_eq!(TrimBy::parse(b"minSeq", b"4"), Ok(TrimBy::MinSeq(4)));
    }
}
