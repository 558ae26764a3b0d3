//! SEQ.UNREAD key consumer: retained entries past the consumer's cursor.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Unread;

impl Command for Unread {
    const NAME: &'static CStr = c"SEQ.UNREAD";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = 3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Counts the retained entries with seq above a consumer's cursor (a new consumer counts from 0)",
        complexity: c"O(log N) with N chunks",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"consumer", ArgKind::String)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let key = ctx.read_key(args.key(1));
        let unread = key.log()?.map_or(0, |log| log.unread(args.bytes(2)));
        ctx.reply().int(unread);
        Ok(())
    }
}
