//! SEQ.IMPORT key seq ts client-msg-id payload: append one entry with exactly this seq and
//! ts, for moving a conversation from another layout or server without renumbering it.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, INSERTS};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;
use crate::module::{config, limits, stats};
use seq_core::{AllocPlan, SeqLog};

pub struct Import;

impl Command for Import {
    const NAME: &'static CStr = c"SEQ.IMPORT";
    const FLAGS: &'static CStr = c"write deny-oom";
    const ARITY: i32 = 6;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(INSERTS);
    const DOCS: Docs = Docs {
        summary: c"Appends one entry with an explicit seq and ts (seqs in between are skipped); a resumed import of the same id and seq changes nothing",
        complexity: c"O(1) amortized",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"seq", ArgKind::Integer),
            ArgDoc::new(c"ts", ArgKind::Integer),
            ArgDoc::new(c"client-msg-id", ArgKind::String),
            ArgDoc::new(c"payload", ArgKind::String),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let seq = args.u64(2, "seq")?;
        let ts = args.u64(3, "ts")?;
        let (id, payload) = (args.arg(4), args.arg(5));
        limits::check_message(id.bytes(), payload.bytes())?;

        let mut key = ctx.write_key(args.key(1));
        // Planned on the log as it is (an empty one for a missing key), so that a refusal
        // creates nothing.
        let empty = SeqLog::new();
        let log = key.log()?.unwrap_or(&empty);
        let seq = match log.plan_import(seq, ts, id.bytes(), &config::alloc_policy())? {
            AllocPlan::Duplicate(seq) => {
                stats::dedup_hit();
                seq
            }
            AllocPlan::Append(append) => Effect::Import { append, id, payload: Some(payload) }.commit(ctx, &mut key)?,
        };
        ctx.reply().int(seq);
        Ok(())
    }
}
