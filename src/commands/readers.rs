//! SEQ.READERS key seq: how many consumers have read up to `seq` ("read by 37"), from the
//! cursors' order-statistics tree.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Readers;

impl Command for Readers {
    const NAME: &'static CStr = c"SEQ.READERS";
    const FLAGS: &'static CStr = c"readonly fast";
    const ARITY: i32 = 3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns how many consumers have a cursor at or above seq (0 for a missing key)",
        complexity: c"O(log C) with C consumers",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"seq", ArgKind::Integer)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let seq = args.u64(2, "seq")?;
        let key = ctx.read_key(args.key(1));
        let readers = key.log()?.map_or(0, |log| log.cursors().readers_at_or_above(seq));
        ctx.reply().int(readers);
        Ok(())
    }
}
