//! Command arguments, read in place (no copies) from Redis' argv, and parsed by the pure
//! parsers of `seq_core::args` (which the fuzz crate drives too).

use std::marker::PhantomData;
use std::os::raw::c_int;

use redis_module::raw::RedisModuleString;

use super::errors::CmdError;
pub use seq_core::args::Options;
use seq_core::args::{self as parse, Words};

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
        Ok(parse::parse_u64(self.bytes(index), what)?)
    }

    /// A range bound: an integer >= 0, or `-` (lowest) / `+` (highest).
    pub fn bound(&self, index: usize, what: &'static str) -> Result<u64, CmdError> {
        Ok(parse::parse_bound(self.bytes(index), what)?)
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

impl<'a> Words<'a> for Args<'a> {
    fn count(&self) -> usize {
        self.len()
    }
    fn word(&self, index: usize) -> &'a [u8] {
        self.bytes(index)
    }
}
