//! SEQ.TRIM key MAXLEN n | MINSEQ seq | MAXAGE ms: drop old entries; `last` stays.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;
use seq_core::TrimBy;

pub struct Trim;

impl Command for Trim {
    const NAME: &'static CStr = c"SEQ.TRIM";
    const FLAGS: &'static CStr = c"write";
    const ARITY: i32 = 4;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Removes a log's oldest entries: keep the newest n, drop seqs below one, or drop entries older than ms before the newest; last never changes",
        complexity: c"O(log N + M) with N chunks and M the entries removed",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"strategy", ArgKind::OneOf).sub(&[
                ArgDoc::new(c"maxlen", ArgKind::Integer).token(c"MAXLEN"),
                ArgDoc::new(c"minseq", ArgKind::Integer).token(c"MINSEQ"),
                ArgDoc::new(c"maxage", ArgKind::Integer).token(c"MAXAGE"),
            ]),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let by = TrimBy::parse(args.bytes(2), args.bytes(3))?;
        let mut key = ctx.write_key(args.key(1));
        let removed = match key.log()? {
            Some(log) => Effect::Trim { keep_from: log.plan_trim(by) }.commit(ctx, &mut key)?,
            None => 0,
        };
        ctx.reply().int(removed);
        Ok(())
    }
}
