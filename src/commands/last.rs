//! SEQ.LAST key and SEQ.MLAST key [key ...]: the highest seq issued (0 for a missing key).

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Last;
pub struct MLast;

fn last_of(ctx: &Ctx, args: &Args, index: usize) -> Result<u64, CmdError> {
    let key = ctx.read_key(args.key(index));
    Ok(key.log()?.map_or(0, |log| log.last()))
}

impl Command for Last {
    const NAME: &'static CStr = c"SEQ.LAST";
    const FLAGS: &'static CStr = c"readonly fast";
    const ARITY: i32 = 2;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns the highest seq issued in a log (0 for a missing key)",
        complexity: c"O(1)",
        args: &[ArgDoc::new(c"key", ArgKind::Key)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let last = last_of(ctx, args, 1)?;
        ctx.reply().int(last);
        Ok(())
    }
}

impl Command for MLast {
    const NAME: &'static CStr = c"SEQ.MLAST";
    const FLAGS: &'static CStr = c"readonly fast";
    const ARITY: i32 = -2;
    const KEYS: Option<KeyUse> = Some(KeyUse { first: 1, last: -1, step: 1, flags: READS, half_after: None });
    const DOCS: Docs = Docs {
        summary: c"Returns the highest seq issued in each of several logs (0 for a missing key)",
        complexity: c"O(K) for K keys",
        args: &[ArgDoc::new(c"key", ArgKind::Key).multiple()],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        // Read every key before replying, so a WRONGTYPE key refuses the whole call.
        let lasts = (1..args.len()).map(|i| last_of(ctx, args, i)).collect::<Result<Vec<u64>, _>>()?;
        let reply = ctx.reply();
        reply.array(lasts.len());
        for last in lasts {
            reply.int(last);
        }
        Ok(())
    }
}
