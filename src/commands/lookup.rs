//! SEQ.LOOKUP key client-msg-id: the seq SEQ.ALLOC would return for this id, or nil;
//! writes nothing.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Lookup;

impl Command for Lookup {
    const NAME: &'static CStr = c"SEQ.LOOKUP";
    const FLAGS: &'static CStr = c"readonly fast";
    const ARITY: i32 = 3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns the seq a client-msg-id got while it is inside the de-duplication window (also when its entry was trimmed or deleted), else nil",
        complexity: c"O(1)",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"client-msg-id", ArgKind::String)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let key = ctx.read_key(args.key(1));
        let reply = ctx.reply();
        match key.log()?.and_then(|log| log.seq_of_id(args.bytes(2))) {
            Some(seq) => reply.int(seq),
            None => reply.null(),
        }
        Ok(())
    }
}
