//! SEQ.EDIT key seq payload: replace a retained entry's payload; reply the log's rev.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;
use crate::module::limits;
use seq_core::SeqError;

pub struct Edit;

impl Command for Edit {
    const NAME: &'static CStr = c"SEQ.EDIT";
    const FLAGS: &'static CStr = c"write deny-oom";
    const ARITY: i32 = 4;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Replaces the payload of a retained entry (one change, counted in rev); replies the log's rev",
        complexity: c"O(log N + M) with N chunks and M the entries of the entry's chunk",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"seq", ArgKind::Integer),
            ArgDoc::new(c"payload", ArgKind::String),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let seq = args.u64(2, "seq")?;
        let payload = args.arg(3);
        limits::check_payload(payload.bytes())?;
        let mut key = ctx.write_key(args.key(1));
        let log = key.log()?.ok_or(SeqError::NoEntry { seq })?;
        let entry = log.get(seq).ok_or(SeqError::NoEntry { seq })?;
        // The same payload again (a retried edit) is no change: nothing to replicate.
        let rev = if entry.payload == payload.bytes() {
            log.rev()
        } else {
            Effect::Edit { seq, payload }.commit(ctx, &mut key)?
        };
        ctx.reply().int(rev);
        Ok(())
    }
}
