//! SEQ.CURSORS key: every consumer and its cursor, as a flat array, sorted by name.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Cursors;

impl Command for Cursors {
    const NAME: &'static CStr = c"SEQ.CURSORS";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = 2;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Lists a log's consumers and their cursors: consumer, cursor, consumer, cursor, ...",
        complexity: c"O(C) with C consumers",
        args: &[ArgDoc::new(c"key", ArgKind::Key)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let key = ctx.read_key(args.key(1));
        let reply = ctx.reply();
        match key.log()? {
            Some(log) => {
                reply.array(log.cursors().len() * 2);
                for (consumer, cursor) in log.cursors().iter() {
                    reply.bulk(consumer);
                    reply.int(cursor);
                }
            }
            None => reply.array(0),
        }
        Ok(())
    }
}
