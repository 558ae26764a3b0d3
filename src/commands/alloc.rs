//! SEQ.ALLOC key client-msg-id [payload [ACK consumer]]: issue the next seq and store the
//! message in one atomic step (with ACK, also the sender's own read of it), or return the
//! first seq of an id already seen.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, INSERTS};
use crate::module::context::Ctx;
use crate::module::effect::Effect;
use crate::module::errors::CmdError;
use crate::module::{config, limits, stats};
use seq_core::AllocPlan;

pub struct Alloc;

impl Command for Alloc {
    const NAME: &'static CStr = c"SEQ.ALLOC";
    const FLAGS: &'static CStr = c"write deny-oom";
    const ARITY: i32 = -3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(INSERTS);
    const DOCS: Docs = Docs {
        summary: c"Issues the next seq of a log and stores the message with it, atomically; a retried client-msg-id gets its first seq back",
        complexity: c"O(1) amortized",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"client-msg-id", ArgKind::String),
            ArgDoc::new(c"payload", ArgKind::String).optional(),
            ArgDoc::new(c"consumer", ArgKind::String).token(c"ACK").optional(),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let id = args.arg(2);
        let payload = (args.len() >= 4).then(|| args.arg(3));
        let sender = seq_core::args::alloc_ack_at(args, 4)?.map(|index| args.arg(index));
        limits::check_message(id.bytes(), payload.map_or(&[][..], |p| p.bytes()))?;

        let mut key = ctx.write_key(args.key(1));
        let plan = key.log_or_create()?.plan_alloc(id.bytes(), ctx.now_ms(), &config::alloc_policy())?;
        let seq = match plan {
            AllocPlan::Duplicate(seq) => {
                stats::dedup_hit();
                seq
            }
            AllocPlan::Append(append) => match sender {
                None => Effect::Append { append, id, payload }.commit(ctx, &mut key)?,
                Some(consumer) => {
                    Effect::AppendAck { append, id, payload: args.arg(3), consumer }.commit(ctx, &mut key)?
                }
            },
        };
        ctx.reply().int(seq);
        Ok(())
    }
}
