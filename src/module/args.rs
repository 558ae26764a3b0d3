//! Command arguments, read in place (no copies) from Redis' argv.

use std::marker::PhantomData;
use std::os::raw::c_int;

use redis_module::raw::RedisModuleString;

use super::errors::CmdError;

/// One argument: the client's own Redis string (handed on as is to keys, replication and
/// signalling) and its bytes, looked up once.
#[derive(Clone, Copy)]
pub struct Arg<'a> {
    raw: *mut RedisModuleString,
    bytes: &'a [u8],
}

impl<'a> Arg<'a> {
    /// # Safety
    /// `raw` must be NULL or a Redis string alive for `'a`.
    unsafe fn from_raw(raw: *mut RedisModuleString) -> Arg<'a> {
        Arg { raw, bytes: string_bytes(raw) }
    }

    pub fn bytes(self) -> &'a [u8] {
        self.bytes
    }

    pub(super) fn raw(self) -> *mut RedisModuleString {
        self.raw
    }
}

/// A key argument, only ever handed on to Redis (OpenKey, notifications, signals), so
/// its bytes are not looked up.
#[derive(Clone, Copy)]
pub struct KeyName<'a> {
    raw: *mut RedisModuleString,
    _string: PhantomData<&'a RedisModuleString>,
}

impl<'a> KeyName<'a> {
    /// # Safety
    /// `raw` must be NULL or a Redis string alive for `'a`.
    pub(super) unsafe fn from_raw(raw: *mut RedisModuleString) -> KeyName<'a> {
        KeyName { raw, _string: PhantomData }
    }

    pub(super) fn raw(self) -> *mut RedisModuleString {
        self.raw
    }

    /// The name's bytes, looked up on demand: for error texts and log lines only.
    pub fn bytes(self) -> &'a [u8] {
        // SAFETY: the key argument lives for `'a` (see `Args::from_raw`).
        unsafe { string_bytes(self.raw) }
    }
}

pub struct Args<'a> {
    argv: &'a [*mut RedisModuleString],
    _strings: PhantomData<&'a RedisModuleString>,
}

impl<'a> Args<'a> {
    /// # Safety
    /// `argv` must point to `argc` strings that outlive the returned value (Redis keeps
    /// a command's argv alive for the whole call).
    pub unsafe fn from_raw(argv: *mut *mut RedisModuleString, argc: c_int) -> Args<'a> {
        let len = usize::try_from(argc).unwrap_or(0);
        let argv = if argv.is_null() || len == 0 { &[][..] } else { std::slice::from_raw_parts(argv, len) };
        Args { argv, _strings: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.argv.len()
    }

    /// Argument `index` (empty when out of range; Redis checks each command's arity).
    pub fn arg(&self, index: usize) -> Arg<'a> {
        let raw = self.argv.get(index).copied().unwrap_or(std::ptr::null_mut());
        // SAFETY: argv's strings live for `'a` (see `from_raw`).
        unsafe { Arg::from_raw(raw) }
    }

    /// Argument `index` as a key name.
    pub fn key(&self, index: usize) -> KeyName<'a> {
        KeyName { raw: self.argv.get(index).copied().unwrap_or(std::ptr::null_mut()), _string: PhantomData }
    }

    /// The bytes of argument `index`.
    pub fn bytes(&self, index: usize) -> &'a [u8] {
        self.arg(index).bytes
    }

    /// A non-negative integer argument named `what` in errors.
    pub fn u64(&self, index: usize, what: &'static str) -> Result<u64, CmdError> {
        parse_u64(self.bytes(index), what)
    }

    /// A range bound: an integer >= 0, or `-` (lowest) / `+` (highest).
    pub fn bound(&self, index: usize, what: &'static str) -> Result<u64, CmdError> {
        match self.bytes(index) {
            b"-" => Ok(0),
            b"+" => Ok(u64::MAX),
            text => parse_u64(text, what),
        }
    }

    /// Whether argument `index` is the option `name` (case-insensitive).
    pub fn is(&self, index: usize, name: &str) -> bool {
        self.bytes(index).eq_ignore_ascii_case(name.as_bytes())
    }
}

/// The bytes of a Redis string, borrowed.
///
/// # Safety
/// `s` must be NULL or a Redis string alive for `'a`.
unsafe fn string_bytes<'a>(s: *const RedisModuleString) -> &'a [u8] {
    if s.is_null() {
        return &[];
    }
    let mut len = 0;
    // SAFETY: `s` is a live Redis string; StringPtrLen returns its buffer and length.
    let ptr = unsafe { api!(RedisModule_StringPtrLen)(s, &mut len) };
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: the buffer holds `len` bytes and lives as long as the string.
    unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }
}

/// Parses a decimal integer >= 0 that fits a signed 64-bit integer, as Redis does.
pub fn parse_u64(text: &[u8], what: &'static str) -> Result<u64, CmdError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CmdError::NotAnInteger(what));
    }
    let value = digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    if value > i64::MAX as u64 {
        return Err(CmdError::NotAnInteger(what));
    }
    if negative && value != 0 {
        return Err(CmdError::Negative(what));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        assert_eq!(parse_u64(b"0", "n"), Ok(0));
        assert_eq!(parse_u64(b"9223372036854775807", "n"), Ok(i64::MAX as u64));
        assert!(matches!(parse_u64(b"9223372036854775808", "n"), Err(CmdError::NotAnInteger(_))));
        assert!(matches!(parse_u64(b"-3", "n"), Err(CmdError::Negative(_))));
        assert!(matches!(parse_u64(b"1x", "n"), Err(CmdError::NotAnInteger(_))));
        assert!(matches!(parse_u64(b"", "n"), Err(CmdError::NotAnInteger(_))));
        assert!(matches!(parse_u64(b"\xff", "n"), Err(CmdError::NotAnInteger(_))));
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
    /// Parses `args[from..]` as options among `allowed` (upper-case names); the last of a
    /// repeated option wins.
    pub fn parse(args: &Args, from: usize, allowed: &'static [&'static str]) -> Result<Options, CmdError> {
        let mut options = Options::default();
        let mut index = from;
        while index < args.len() {
            let name = args.bytes(index);
            let Some(&option) = allowed.iter().find(|o| name.eq_ignore_ascii_case(o.as_bytes())) else {
                return Err(CmdError::unknown_option(name, allowed));
            };
            if index + 1 >= args.len() {
                return Err(CmdError::MissingValue(option));
            }
            let value = args.u64(index + 1, option)?;
            match option {
                "COUNT" if value == 0 => return Err(CmdError::ZeroCount),
                "COUNT" => options.count = Some(value),
                "AFTER" => options.after = Some(value),
                _ => options.block_ms = Some(value),
            }
            index += 2;
        }
        Ok(options)
    }
}
