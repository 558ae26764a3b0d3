//! Blocking a client on keys (Redis' blocking-on-keys API, as XREAD BLOCK uses): the
//! callbacks Redis runs when one of the keys is signalled, when the timeout passes and
//! when the wait ends, each under the guard, around what the blocked command answers.
//!
//! A waiter also remembers which logs it waits on. If one of them is deleted, expired,
//! evicted, flushed or replaced while it waits, a new log under the same key would issue
//! seqs 1, 2, ... again, which the waiter would take for news: instead it is woken
//! (`resets.rs` watches for those events) and answered `CmdError::LogReset`. Each log is
//! found again by its key's index in the blocked command's arguments.

use std::os::raw::{c_int, c_void};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleString};

use super::args::{Args, KeyName};
use super::context::Ctx;
use super::errors::CmdError;
use super::guard::guard;
use super::{resets, stats};

/// What a blocked call keeps while it waits, and how it answers.
pub trait Waiter: Sized + 'static {
    /// The key was signalled: reply and return `true`, or return `false` to keep waiting.
    fn on_ready(&self, ctx: &Ctx, args: &Args) -> Result<bool, CmdError>;
    /// The timeout passed first.
    fn on_timeout(&self, ctx: &Ctx, args: &Args) -> Result<(), CmdError>;
}

/// A blocked call's private data: its waiter, the logs it waits on and their registrations.
struct Blocked<W> {
    waiter: W,
    /// Per watched key: its index in the blocked command's arguments and its log's
    /// `LogKey::identity` when the client blocked (0: the key was missing, so any log that
    /// appears is one it waits for).
    logs: Vec<(usize, usize)>,
    registrations: Vec<resets::Registration>,
}

impl<W> Blocked<W> {
    /// Whether a log the call waits on is gone or replaced.
    fn log_was_reset(&self, ctx: &Ctx, args: &Args) -> bool {
        self.logs.iter().any(|&(index, log)| log != 0 && ctx.read_key(args.key(index)).identity() != log)
    }
}

impl Ctx {
    /// Blocks the client until its argument `key_index` (a key) is signalled or `timeout_ms`
    /// passes (0: no timeout); hands `waiter` back if Redis did not block the client.
    pub fn block_on_key<W: Waiter>(&self, args: &Args, key_index: usize, timeout_ms: u64, waiter: W) -> Result<(), W> {
        self.block_on_keys(args, &[key_index], timeout_ms, waiter)
    }

    /// Blocks the client until any of its arguments at `key_indexes` (keys) is signalled
    /// or `timeout_ms` passes (0: no timeout); hands `waiter` back if Redis did not block
    /// the client.
    pub fn block_on_keys<W: Waiter>(
        &self,
        args: &Args,
        key_indexes: &[usize],
        timeout_ms: u64,
        waiter: W,
    ) -> Result<(), W> {
        let keys: Vec<KeyName> = key_indexes.iter().map(|&index| args.key(index)).collect();
        let logs: Vec<(usize, usize)> =
            key_indexes.iter().zip(&keys).map(|(&index, &key)| (index, self.read_key(key).identity())).collect();
        let mut raw_keys: Vec<*mut RedisModuleString> = keys.iter().map(|key| key.raw()).collect();
        let Ok(numkeys) = c_int::try_from(raw_keys.len()) else { return Err(waiter) };
        let blocked = Box::new(Blocked { waiter, logs, registrations: Vec::new() });
        let privdata = Box::into_raw(blocked);
        // SAFETY: Redis keeps `privdata` until it calls `free_waiter` exactly once, and
        // copies the key list.
        let client = unsafe {
            api!(RedisModule_BlockClientOnKeys)(
                self.raw(),
                Some(on_ready::<W>),
                Some(on_timeout::<W>),
                Some(free_waiter::<W>),
                i64::try_from(timeout_ms).unwrap_or(i64::MAX),
                raw_keys.as_mut_ptr(),
                numkeys,
                privdata.cast::<c_void>(),
            )
        };
        if client.is_null() {
            // SAFETY: Redis did not take privdata.
            return Err(unsafe { Box::from_raw(privdata) }.waiter);
        }
        // SAFETY: Redis owns privdata now but calls nothing on it before this returns.
        if let Some(blocked) = unsafe { privdata.as_mut() } {
            blocked.registrations = keys
                .iter()
                .zip(&blocked.logs)
                .map(|(&key, &(_, log))| resets::register(self, key, client, log))
                .collect();
        }
        stats::client_blocked();
        Ok(())
    }
}

/// Runs `body` with the blocked call's context, arguments and private data.
///
/// # Safety
/// The arguments must be those Redis passes to a blocked client's reply callback.
unsafe fn with_waiter<W: Waiter, R>(
    ctx: *mut RedisModuleCtx,
    argv: *mut *mut RedisModuleString,
    argc: c_int,
    body: impl FnOnce(&Ctx, &Args, &Blocked<W>) -> R,
) -> Option<R> {
    // SAFETY: the private data of this blocked client is the `Blocked<W>` of `block_on_key`.
    let blocked = unsafe { api!(RedisModule_GetBlockedClientPrivateData)(ctx).cast::<Blocked<W>>().as_ref() }?;
    // SAFETY: the callback's context and the blocked command's argv.
    let (ctx, args) = unsafe { (Ctx::from_raw(ctx), Args::from_raw(argv, argc)) };
    Some(body(&ctx, &args, blocked))
}

extern "C" fn on_ready<W: Waiter>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    // SAFETY: Redis calls this as the blocked client's reply callback.
    let answered = guard(c"the wake-up of a blocked call", None, || unsafe {
        with_waiter(ctx, argv, argc, |ctx: &Ctx, args: &Args, blocked: &Blocked<W>| {
            let answer = match blocked.log_was_reset(ctx, args) {
                true => Err(CmdError::LogReset),
                false => blocked.waiter.on_ready(ctx, args),
            };
            match answer {
                Ok(answered) => answered,
                Err(error) => {
                    ctx.reply().refusal(&error);
                    true
                }
            }
        })
    });
    match answered {
        Some(true) => raw::REDISMODULE_OK as c_int,
        Some(false) => raw::REDISMODULE_ERR as c_int,
        None => {
            // SAFETY: the callback's context.
            unsafe { Ctx::from_raw(ctx) }.reply().internal_error();
            raw::REDISMODULE_OK as c_int
        }
    }
}

/// The timeout passed, or `resets` ended the wait because the log went away.
extern "C" fn on_timeout<W: Waiter>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    // SAFETY: Redis calls this as the blocked client's timeout callback.
    let answered = guard(c"the timeout of a blocked call", None, || unsafe {
        with_waiter(ctx, argv, argc, |ctx: &Ctx, args: &Args, blocked: &Blocked<W>| {
            let answer = match blocked.log_was_reset(ctx, args) {
                true => Err(CmdError::LogReset),
                false => blocked.waiter.on_timeout(ctx, args),
            };
            if let Err(error) = answer {
                ctx.reply().refusal(&error);
            }
        })
    });
    if answered.is_none() {
        // SAFETY: the callback's context.
        unsafe { Ctx::from_raw(ctx) }.reply().internal_error();
    }
    raw::REDISMODULE_OK as c_int
}

/// Runs once per blocked call however it ends: answered, timed out or disconnected.
unsafe extern "C" fn free_waiter<W: Waiter>(_ctx: *mut RedisModuleCtx, privdata: *mut c_void) {
    guard(c"the end of a blocked call", (), || {
        if !privdata.is_null() {
            // SAFETY: the `Blocked<W>` boxed in `block_on_key`, freed only here.
            let blocked = unsafe { Box::from_raw(privdata.cast::<Blocked<W>>()) };
            blocked.registrations.iter().for_each(resets::unregister);
            stats::client_unblocked();
        }
    });
}
