//! SEQ.SYNC key consumer [AFTER seq] [COUNT n] [BLOCK ms]: the page-by-page pull in which
//! fetching the next page acknowledges the previous one. With BLOCK and nothing to return,
//! the client waits (Redis' blocking-on-keys API, as XREAD BLOCK) for an append to the key.

use std::ffi::CStr;
use std::os::raw::{c_int, c_void};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleString};

use super::ack::acknowledge;
use crate::module::args::{Args, Options};
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, ACCESS_UPDATES};
use crate::module::errors::CmdError;
use crate::module::guard::guard;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::{context_flags, stats, Command, INTERNAL_ERROR};
use seq_core::SeqLog;

pub struct Sync;

const DEFAULT_COUNT: u64 = 100;

/// What a blocked SEQ.SYNC waits to answer: entries after `position`, at most `count`.
struct Pending {
    position: u64,
    count: u64,
}

impl Command for Sync {
    const NAME: &'static CStr = c"SEQ.SYNC";
    const FLAGS: &'static CStr = c"write";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(ACCESS_UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Acknowledges AFTER seq for a consumer, then returns last and the next entries after it (after the stored cursor without AFTER); BLOCK waits for an append",
        complexity: c"O(log N + M) with N chunks and M the entries returned",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"consumer", ArgKind::String),
            ArgDoc::new(c"seq", ArgKind::Integer).token(c"AFTER").optional(),
            ArgDoc::new(c"count", ArgKind::Integer).token(c"COUNT").optional(),
            ArgDoc::new(c"milliseconds", ArgKind::Integer).token(c"BLOCK").optional(),
        ],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() < 3 {
            return Err(CmdError::WrongArity);
        }
        let options = Options::parse(args, 3, &["AFTER", "COUNT", "BLOCK"])?;
        let (key_name, consumer) = (args.raw(1), args.bytes(2));
        let mut key = LogKey::write(ctx, key_name);
        let position = match options.after {
            Some(after) => {
                acknowledge(ctx, &mut key, key_name, consumer, after)?;
                after
            }
            None => key.log()?.and_then(|log| log.cursor(consumer)).unwrap_or(0),
        };
        let pending = Pending { position, count: options.count.unwrap_or(DEFAULT_COUNT) };
        let log = key.log()?;
        let may_block = context_flags(ctx) & raw::REDISMODULE_CTX_FLAGS_DENY_BLOCKING == 0;
        match options.block_ms {
            Some(timeout_ms) if may_block && !has_news(log, &pending) => {
                drop(key);
                block(ctx, key_name, timeout_ms, pending);
            }
            _ => reply_page(ctx, log, &pending),
        }
        Ok(())
    }
}

fn has_news(log: Option<&SeqLog>, pending: &Pending) -> bool {
    log.is_some_and(|log| log.range(pending.position + 1, u64::MAX).next().is_some())
}

/// `[last, [entries after position, at most count]]`.
fn reply_page(ctx: *mut RedisModuleCtx, log: Option<&SeqLog>, pending: &Pending) {
    let reply = Reply::new(ctx);
    reply.array(2);
    match log {
        Some(log) => {
            reply.int(log.last());
            let count = usize::try_from(pending.count).unwrap_or(usize::MAX);
            reply.entries(log.range(pending.position + 1, u64::MAX).take(count));
        }
        None => {
            reply.int(0);
            reply.array(0);
        }
    }
}

fn block(ctx: *mut RedisModuleCtx, key_name: *mut RedisModuleString, timeout_ms: u64, pending: Pending) {
    let mut keys = [key_name];
    let privdata = Box::into_raw(Box::new(pending)).cast::<c_void>();
    // SAFETY: Redis keeps `privdata` until it calls `free_pending` exactly once, and
    // copies the key list.
    let blocked = unsafe {
        raw::RedisModule_BlockClientOnKeys.map(|block_on_keys| {
            block_on_keys(
                ctx,
                Some(on_key_ready),
                Some(on_timeout),
                Some(free_pending),
                i64::try_from(timeout_ms).unwrap_or(i64::MAX),
                keys.as_mut_ptr(),
                1,
                privdata,
            )
        })
    };
    match blocked {
        Some(client) if !client.is_null() => stats::client_blocked(),
        _ => {
            // SAFETY: Redis did not take privdata.
            let pending = unsafe { Box::from_raw(privdata.cast::<Pending>()) };
            reply_page(ctx, None, &pending);
        }
    }
}

fn pending_of<'a>(ctx: *mut RedisModuleCtx) -> Option<&'a Pending> {
    // SAFETY: the private data of this blocked client is the `Pending` boxed in `block`.
    unsafe { raw::RedisModule_GetBlockedClientPrivateData.and_then(|get| get(ctx).cast::<Pending>().as_ref()) }
}

/// Called when the key was signalled: answers if entries arrived, else keeps waiting.
extern "C" fn on_key_ready(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    let answered = guard(c"SEQ.SYNC wake-up", None, || {
        // SAFETY: the blocked command's argv.
        let args = unsafe { Args::from_raw(argv, argc) };
        let pending = pending_of(ctx)?;
        let key = LogKey::read(ctx, args.raw(1));
        match key.log() {
            Ok(log) if has_news(log, pending) => reply_page(ctx, log, pending),
            Ok(_) => return Some(false),
            Err(error) => Reply::new(ctx).error(&error.to_string()),
        }
        Some(true)
    });
    match answered {
        Some(true) => raw::REDISMODULE_OK as c_int,
        Some(false) => raw::REDISMODULE_ERR as c_int,
        None => {
            Reply::new(ctx).error(INTERNAL_ERROR);
            raw::REDISMODULE_OK as c_int
        }
    }
}

/// The timeout passed with nothing new: `[last, []]`.
extern "C" fn on_timeout(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    let answered = guard(c"SEQ.SYNC timeout", false, || {
        // SAFETY: the blocked command's argv.
        let args = unsafe { Args::from_raw(argv, argc) };
        let key = LogKey::read(ctx, args.raw(1));
        let reply = Reply::new(ctx);
        match key.log() {
            Ok(log) => {
                reply.array(2);
                reply.int(log.map_or(0, SeqLog::last));
                reply.array(0);
            }
            Err(error) => reply.error(&error.to_string()),
        }
        true
    });
    if !answered {
        Reply::new(ctx).error(INTERNAL_ERROR);
    }
    raw::REDISMODULE_OK as c_int
}

/// Runs once per blocked call however it ends: answered, timed out or disconnected.
unsafe extern "C" fn free_pending(_ctx: *mut RedisModuleCtx, privdata: *mut c_void) {
    guard(c"SEQ.SYNC cleanup", (), || {
        if !privdata.is_null() {
            drop(Box::from_raw(privdata.cast::<Pending>()));
            stats::client_unblocked();
        }
    });
}
