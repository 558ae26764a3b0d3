//! SEQ.SYNC key consumer [AFTER seq] [COUNT n] [BLOCK ms]: the page-by-page pull in which
//! fetching the next page acknowledges the previous one. With BLOCK and nothing to return,
//! the client waits (Redis' blocking-on-keys API, as XREAD BLOCK) for an append to the key.

use std::ffi::CStr;

use crate::module::acknowledge::acknowledge;
use crate::module::args::{Args, Options};
use crate::module::blocking::Waiter;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, ACCESS_UPDATES};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;
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
    const ARITY: i32 = -3;
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
    const BLOCKING: bool = true;

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let options = Options::parse(args, 3, &["AFTER", "COUNT", "BLOCK"])?;
        let consumer = args.bytes(2);
        let mut key = ctx.write_key(args.key(1));
        let position = match options.after {
            Some(after) => {
                acknowledge(ctx, &mut key, consumer, after)?;
                after
            }
            None => key.log()?.and_then(|log| log.cursor(consumer)).unwrap_or(0),
        };
        let pending = Pending { position, count: options.count.unwrap_or(DEFAULT_COUNT) };
        let log = key.log()?;
        match options.block_ms {
            Some(timeout_ms) if ctx.may_block() && !has_news(log, &pending) => {
                drop(key);
                if let Err(pending) = ctx.block_on_key(args, 1, timeout_ms, pending) {
                    reply_page(ctx, None, &pending);
                }
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
fn reply_page(ctx: &Ctx, log: Option<&SeqLog>, pending: &Pending) {
    let reply = ctx.reply();
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

impl Waiter for Pending {
    /// Answers if entries arrived, else keeps waiting.
    fn on_ready(&self, ctx: &Ctx, args: &Args) -> Result<bool, CmdError> {
        let key = ctx.read_key(args.key(1));
        let log = key.log()?;
        if !has_news(log, self) {
            return Ok(false);
        }
        reply_page(ctx, log, self);
        Ok(true)
    }

    /// Nothing new before the timeout: `[last, []]`.
    fn on_timeout(&self, ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let key = ctx.read_key(args.key(1));
        let last = key.log()?.map_or(0, SeqLog::last);
        let reply = ctx.reply();
        reply.array(2);
        reply.int(last);
        reply.array(0);
        Ok(())
    }
}
