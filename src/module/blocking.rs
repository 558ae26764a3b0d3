//! Blocking a client on keys (Redis' blocking-on-keys API, as XREAD BLOCK uses): the
//! callbacks Redis runs when one of the keys is signalled, when the timeout passes and
//! when the wait ends, each under the guard, around what the blocked command answers.

use std::os::raw::{c_int, c_void};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleString};

use super::args::{Args, KeyName};
use super::context::Ctx;
use super::errors::CmdError;
use super::guard::guard;
use super::stats;

/// What a blocked call keeps while it waits, and how it answers.
pub trait Waiter: Sized + 'static {
    /// A key was signalled: reply and return `true`, or return `false` to keep waiting.
    fn on_ready(&self, ctx: &Ctx, args: &Args) -> Result<bool, CmdError>;
    /// The timeout passed first.
    fn on_timeout(&self, ctx: &Ctx, args: &Args) -> Result<(), CmdError>;
}

impl Ctx {
    /// Blocks the client until `key` is signalled or `timeout_ms` passes (0: no timeout);
    /// hands `waiter` back if Redis did not block the client.
    pub fn block_on_key<W: Waiter>(&self, key: KeyName<'_>, timeout_ms: u64, waiter: W) -> Result<(), W> {
        self.block_on_keys(&[key], timeout_ms, waiter)
    }

    /// Blocks the client until any of `keys` is signalled or `timeout_ms` passes (0: no
    /// timeout); hands `waiter` back if Redis did not block the client.
    pub fn block_on_keys<W: Waiter>(&self, keys: &[KeyName<'_>], timeout_ms: u64, waiter: W) -> Result<(), W> {
        let mut keys: Vec<*mut RedisModuleString> = keys.iter().map(|key| key.raw()).collect();
        let Ok(numkeys) = c_int::try_from(keys.len()) else { return Err(waiter) };
        let privdata = Box::into_raw(Box::new(waiter)).cast::<c_void>();
        // SAFETY: Redis keeps `privdata` until it calls `free_waiter` exactly once, and
        // copies the key list.
        let client = unsafe {
            api!(RedisModule_BlockClientOnKeys)(
                self.raw(),
                Some(on_ready::<W>),
                Some(on_timeout::<W>),
                Some(free_waiter::<W>),
                i64::try_from(timeout_ms).unwrap_or(i64::MAX),
                keys.as_mut_ptr(),
                numkeys,
                privdata,
            )
        };
        if client.is_null() {
            // SAFETY: Redis did not take privdata.
            return Err(*unsafe { Box::from_raw(privdata.cast::<W>()) });
        }
        stats::client_blocked();
        Ok(())
    }
}

/// Runs `body` with the blocked call's context, arguments and waiter.
///
/// # Safety
/// The arguments must be those Redis passes to a blocked client's reply callback.
unsafe fn with_waiter<W: Waiter, R>(
    ctx: *mut RedisModuleCtx,
    argv: *mut *mut RedisModuleString,
    argc: c_int,
    body: impl FnOnce(&Ctx, &Args, &W) -> R,
) -> Option<R> {
    // SAFETY: the private data of this blocked client is the `W` boxed in `block_on_key`.
    let waiter = unsafe { api!(RedisModule_GetBlockedClientPrivateData)(ctx).cast::<W>().as_ref() }?;
    // SAFETY: the callback's context and the blocked command's argv.
    let (ctx, args) = unsafe { (Ctx::from_raw(ctx), Args::from_raw(argv, argc)) };
    Some(body(&ctx, &args, waiter))
}

extern "C" fn on_ready<W: Waiter>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    // SAFETY: Redis calls this as the blocked client's reply callback.
    let answered = guard(c"the wake-up of a blocked call", None, || unsafe {
        with_waiter(ctx, argv, argc, |ctx: &Ctx, args: &Args, waiter: &W| match waiter.on_ready(ctx, args) {
            Ok(answered) => answered,
            Err(error) => {
                ctx.reply().refusal(&error);
                true
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

extern "C" fn on_timeout<W: Waiter>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    // SAFETY: Redis calls this as the blocked client's timeout callback.
    let answered = guard(c"the timeout of a blocked call", None, || unsafe {
        with_waiter(ctx, argv, argc, |ctx: &Ctx, args: &Args, waiter: &W| {
            if let Err(error) = waiter.on_timeout(ctx, args) {
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
            // SAFETY: the `W` boxed in `block_on_key`, freed only here.
            drop(unsafe { Box::from_raw(privdata.cast::<W>()) });
            stats::client_unblocked();
        }
    });
}
