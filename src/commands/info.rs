//! SEQ.INFO key: a log's state at a glance (nil for a missing key).

use std::ffi::CStr;

use crate::module::args::Args;
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Info;

impl Command for Info {
    const NAME: &'static CStr = c"SEQ.INFO";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = 2;
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Returns a log's last and first seq, length, de-duplication entries, consumers, timestamps, epoch, skipped seqs, rev, deleted entries and whether it is damaged",
        complexity: c"O(1)",
        args: &[ArgDoc::new(c"key", ArgKind::Key)],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        let key = ctx.read_key(args.key(1));
        let reply = ctx.reply();
        let Some(log) = key.log()? else {
            reply.null();
            return Ok(());
        };
        let fields: [(&[u8], u64); 12] = [
            (b"last", log.last()),
            (b"first", log.first()),
            (b"length", log.len()),
            (b"dedup-entries", log.dedup_entries() as u64),
            (b"consumers", log.cursors().len() as u64),
            (b"first-ts", log.first_ts()),
            (b"last-ts", log.last_ts()),
            (b"epoch", log.epoch()),
            (b"skipped-seqs", log.skipped()),
            (b"rev", log.rev()),
            (b"deleted", log.deleted()),
            (b"damaged", u64::from(log.is_damaged())),
        ];
        reply.map(fields.len());
        for (name, value) in fields {
            reply.bulk(name);
            reply.int(value);
        }
        Ok(())
    }
}
