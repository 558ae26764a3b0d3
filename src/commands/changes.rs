//! SEQ.CHANGES key since-rev [COUNT n]: `[rev, [[change-rev, seq, entry or nil], ...]]`,
//! each seq at its latest change after since-rev; `RESYNC` when such a change was trimmed.

use std::ffi::CStr;

use crate::module::args::{Args, Options};
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Changes;

/// A page when the client names none.
const DEFAULT_COUNT: u64 = 100;

impl Command for Changes {
    const NAME: &'static CStr = c"SEQ.CHANGES";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = -3;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns the log's rev and each entry edited or deleted after since-rev (at its latest change, ascending by change rev); RESYNC when such a change was trimmed",
        complexity: c"O(log N + M) with N changed entries retained and M the changes returned",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"since-rev", ArgKind::Integer),
            ArgDoc::new(c"count", ArgKind::Integer).token(c"COUNT").optional(),
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let since = args.u64(2, "since-rev")?;
        let options = Options::parse(args, 3, &["COUNT"])?;
        let count = usize::try_from(options.count.unwrap_or(DEFAULT_COUNT)).unwrap_or(usize::MAX);
        let key = ctx.read_key(args.key(1));
        let reply = ctx.reply();
        let Some(log) = key.log()? else {
            reply.array(2);
            reply.int(0);
            reply.array(0);
            return Ok(());
        };
        // Checked before the first byte of the reply: a RESYNC is the whole reply.
        let changes = log.changes_since(since)?;
        reply.array(2);
        reply.int(log.rev());
        reply.postponed_array(changes.take(count), |change| {
            reply.array(3);
            reply.int(change.rev);
            reply.int(change.seq);
            match &change.entry {
                Some(entry) => reply.entry(entry),
                None => reply.null(),
            }
        });
        Ok(())
    }
}
