//! SEQ.FORGET key consumer: remove a consumer's cursor (a device signed out).

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;

pub struct Forget;

impl Command for Forget {
    const NAME: &'static CStr = c"SEQ.FORGET";
    const FLAGS: &'static CStr = c"write";
    const ARITY: i32 = 3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Removes a consumer's cursor; replies 1 if there was one, else 0",
        complexity: c"O(log C) with C consumers",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"consumer", ArgKind::String)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let mut key = ctx.write_key(args.key(1));
        let removed = match key.log()? {
            Some(_) => Effect::Forget { consumer: args.bytes(2) }.commit(ctx, &mut key)?,
            None => 0,
        };
        ctx.reply().int(removed);
        Ok(())
    }
}
