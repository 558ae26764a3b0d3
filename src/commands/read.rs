//! SEQ.READ [COUNT n] [BLOCK ms] LOGS key [key ...] seq [seq ...]: XREAD for logs, so a
//! push gateway watches many inboxes on one connection. Reads only: no cursor moves. With
//! BLOCK and nothing to return, the client waits for an append to any of the keys.

use std::ffi::CStr;

use crate::module::args::{Args, Options};
use crate::module::blocking::Waiter;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use seq_core::args::parse_u64;
use seq_core::SeqLog;

pub struct Read;

const DEFAULT_COUNT: u64 = 100;
const LOGS: &str = "LOGS";

/// What a call answers, and what a blocked one keeps while it waits: for the `i`-th key
/// (argument `first_key + i`) the entries after `positions[i]`, at most `count` per key.
struct Pending {
    first_key: usize,
    positions: Vec<u64>,
    count: usize,
}

impl Command for Read {
    const NAME: &'static CStr = c"SEQ.READ";
    const FLAGS: &'static CStr = c"readonly";
    const BLOCKING: bool = true;
    const ARITY: i32 = -4;
    const KEYS: Option<KeyUse> = KeyUse::half_after(c"LOGS", READS);
    const DOCS: Docs = Docs {
        summary: c"Returns, for each log with entries after its position ($: its last now), [key, last, entries]; nil when none; BLOCK waits for an append to any of them",
        complexity: c"O(K log N + M) for K keys and M the entries returned",
        args: &[
            ArgDoc::new(c"count", ArgKind::Integer).token(c"COUNT").optional(),
            ArgDoc::new(c"milliseconds", ArgKind::Integer).token(c"BLOCK").optional(),
            ArgDoc::new(c"logs", ArgKind::Block).token(c"LOGS").sub(&[
                ArgDoc::new(c"key", ArgKind::Key).multiple(),
                ArgDoc::new(c"seq", ArgKind::String).multiple(),
            ]),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let (options, logs_at) = Options::parse_before(args, 1, &["COUNT", "BLOCK"], LOGS)?;
        let first_key = logs_at + 1;
        let listed = args.len() - first_key;
        if listed == 0 || !listed.is_multiple_of(2) {
            return Err(CmdError::UnpairedKeys(LOGS));
        }
        let n = listed / 2;
        let keys: Vec<LogKey> = (0..n).map(|i| ctx.read_key(args.key(first_key + i))).collect();
        let mut positions = Vec::with_capacity(n);
        for (i, key) in keys.iter().enumerate() {
            let position = match args.bytes(first_key + n + i) {
                b"$" => key.log()?.map_or(0, SeqLog::last),
                text => parse_u64(text, "position")?,
            };
            positions.push(position);
        }
        let count = usize::try_from(options.count.unwrap_or(DEFAULT_COUNT)).unwrap_or(usize::MAX);
        let pending = Pending { first_key, positions, count };
        if pending.reply_news(ctx, args, &keys)? {
            return Ok(());
        }
        drop(keys);
        match options.block_ms {
            Some(timeout_ms) if ctx.may_block() => {
                let key_indexes: Vec<usize> = (first_key..first_key + n).collect();
                if ctx.block_on_keys(args, &key_indexes, timeout_ms, pending).is_err() {
                    ctx.reply().null();
                }
            }
            _ => ctx.reply().null(),
        }
        Ok(())
    }
}

impl Pending {
    /// Replies `[[key, last, entries], ...]` for the keys with entries after their
    /// position and returns `true`; writes nothing and returns `false` if no key has any.
    /// Every key's type is checked before anything is written.
    fn reply_news(&self, ctx: &Ctx, args: &Args, keys: &[LogKey]) -> Result<bool, CmdError> {
        let mut news: Vec<(usize, &SeqLog, u64)> = Vec::new();
        for (i, (key, &position)) in keys.iter().zip(&self.positions).enumerate() {
            if let Some(log) = key.log()? {
                // `last` first: the common "nothing new" answer costs no range lookup.
                if log.last() > position && log.range(position + 1, u64::MAX).next().is_some() {
                    news.push((i, log, position));
                }
            }
        }
        if news.is_empty() {
            return Ok(false);
        }
        let reply = ctx.reply();
        reply.array(news.len());
        for (i, log, position) in news {
            reply.array(3);
            reply.bulk(args.bytes(self.first_key + i));
            reply.int(log.last());
            reply.entries(log.range(position + 1, u64::MAX).take(self.count));
        }
        Ok(true)
    }

    fn open<'a>(&self, ctx: &Ctx, args: &Args<'a>) -> Vec<LogKey<'a>> {
        (0..self.positions.len()).map(|i| ctx.read_key(args.key(self.first_key + i))).collect()
    }
}

impl Waiter for Pending {
    /// Answers if any key has entries after its position now, else keeps waiting.
    fn on_ready(&self, ctx: &Ctx, args: &Args) -> Result<bool, CmdError> {
        self.reply_news(ctx, args, &self.open(ctx, args))
    }

    /// Nothing new before the timeout: nil, as XREAD.
    fn on_timeout(&self, ctx: &Ctx, _args: &Args) -> Result<(), CmdError> {
        ctx.reply().null();
        Ok(())
    }
}
