//! SEQ.LAST key and SEQ.MLAST key [key ...]: the highest seq issued (0 for a missing key).

use std::ffi::CStr;

use redis_module::raw::RedisModuleCtx;

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::Command;

pub struct Last;
pub struct MLast;

fn last_of(ctx: *mut RedisModuleCtx, args: &Args, index: usize) -> Result<u64, CmdError> {
    let key = LogKey::read(ctx, args.raw(index));
    Ok(key.log()?.map_or(0, |log| log.last()))
}

impl Command for Last {
    const NAME: &'static CStr = c"SEQ.LAST";
    const FLAGS: &'static CStr = c"readonly fast";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns the highest seq issued in a log (0 for a missing key)",
        complexity: c"O(1)",
        args: &[ArgDoc::new(c"key", ArgKind::Key)],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() != 2 {
            return Err(CmdError::WrongArity);
        }
        let last = last_of(ctx, args, 1)?;
        Reply::new(ctx).int(last);
        Ok(())
    }
}

impl Command for MLast {
    const NAME: &'static CStr = c"SEQ.MLAST";
    const FLAGS: &'static CStr = c"readonly fast";
    const KEYS: Option<KeyUse> = Some(KeyUse { first: 1, last: -1, step: 1, flags: READS });
    const DOCS: Docs = Docs {
        summary: c"Returns the highest seq issued in each of several logs (0 for a missing key)",
        complexity: c"O(K) for K keys",
        args: &[ArgDoc::new(c"key", ArgKind::Key).multiple()],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() < 2 {
            return Err(CmdError::WrongArity);
        }
        // Read every key before replying, so a WRONGTYPE key refuses the whole call.
        let lasts = (1..args.len()).map(|i| last_of(ctx, args, i)).collect::<Result<Vec<u64>, _>>()?;
        let reply = Reply::new(ctx);
        reply.array(lasts.len());
        for last in lasts {
            reply.int(last);
        }
        Ok(())
    }
}
