//! SEQ.DEL key seq [seq ...]: delete retained entries (recall, erasure); reply how many.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, DELETES};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;
use seq_core::encoding;

pub struct Del;

impl Command for Del {
    const NAME: &'static CStr = c"SEQ.DEL";
    const FLAGS: &'static CStr = c"write";
    const ARITY: i32 = -3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(DELETES);
    const DOCS: Docs = Docs {
        summary: c"Deletes retained entries by seq (their payloads are freed, their ids stay de-duplicated); replies how many were deleted",
        complexity: c"O(K log K + C (log N + M)) for K seqs in C chunks of M entries, N chunks",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"seq", ArgKind::Integer).multiple()],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        // Every argument is checked before anything is deleted.
        let seqs = (2..args.len()).map(|i| args.u64(i, "seq")).collect::<Result<Vec<u64>, _>>()?;
        let mut key = ctx.write_key(args.key(1));
        let deleted = match key.log()? {
            Some(log) => log.plan_delete(&seqs),
            None => Vec::new(),
        };
        let count = match deleted.is_empty() {
            true => 0,
            false => Effect::Del { packed_seqs: &encoding::pack_seqs(&deleted) }.commit(ctx, &mut key)?,
        };
        ctx.reply().int(count);
        Ok(())
    }
}
