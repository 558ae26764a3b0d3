//! SEQ.ACK key consumer seq: move a consumer's cursor to max(cursor, seq).

use std::ffi::CStr;

use crate::module::acknowledge::acknowledge;
use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Ack;

impl Command for Ack {
    const NAME: &'static CStr = c"SEQ.ACK";
    const FLAGS: &'static CStr = c"write";
    const ARITY: i32 = 4;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Acknowledges a seq for a consumer: its cursor becomes max(cursor, seq)",
        complexity: c"O(log C) with C consumers",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"consumer", ArgKind::String),
            ArgDoc::new(c"seq", ArgKind::Integer),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let seq = args.u64(3, "seq")?;
        let mut key = ctx.write_key(args.key(1));
        let cursor = acknowledge(ctx, &mut key, args.bytes(2), seq)?;
        ctx.reply().int(cursor);
        Ok(())
    }
}
