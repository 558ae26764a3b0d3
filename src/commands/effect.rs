//! SEQ.EFFECT key <op> ...: the internal command that carries resolved effects to replicas
//! and the AOF; the ops and their encoding are `module/effect.rs`. Refused from ordinary
//! clients: it is accepted only from the master link and while loading. An effect that
//! does not fit marks its log damaged (`module/damage.rs`) and is still passed on.

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, INSERTS};
use crate::module::context::Ctx;
use crate::module::damage;
use crate::module::effect::{self, Effect as ResolvedEffect};
use crate::module::errors::CmdError;

pub struct Effect;

impl Command for Effect {
    const NAME: &'static CStr = effect::EFFECT_COMMAND;
    const FLAGS: &'static CStr = c"write";
    const ARITY: i32 = -3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(INSERTS);
    const DOCS: Docs = Docs {
        summary:
            c"Internal: applies a write's resolved effect on a replica or during AOF loading; refused from clients",
        complexity: c"O(1) amortized, O(M) for a restored chunk of M entries",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"op", ArgKind::String),
            ArgDoc::new(c"arg", ArgKind::String).multiple(),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        if !ctx.is_replicated_or_loading() {
            return Err(CmdError::EffectFromClient);
        }
        let mut key = ctx.write_key(args.key(1));
        match ResolvedEffect::decode(args).and_then(|effect| effect.replay(ctx, &mut key)) {
            Ok(()) => {
                ctx.replicate_verbatim();
                ctx.reply().int(1);
            }
            // Not an `Err`: the log changed (it is now damaged) and the effect goes on.
            Err(error) => {
                damage::record(ctx, &mut key, args.bytes(2), &error);
                ctx.reply().refusal(&error);
            }
        }
        Ok(())
    }
}
