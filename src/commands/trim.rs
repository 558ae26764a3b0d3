//! SEQ.TRIM key MAXLEN n | MINSEQ seq | MAXAGE ms: drop old entries; `last` stays.

use std::ffi::CStr;

use redis_module::raw::RedisModuleCtx;

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::effects::{self, Target};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::{stats, Command};
use seq_core::TrimBy;

pub struct Trim;

impl Command for Trim {
    const NAME: &'static CStr = c"SEQ.TRIM";
    const FLAGS: &'static CStr = c"write";
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

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() != 4 {
            return Err(CmdError::WrongArity);
        }
        let by = if args.is(2, "MAXLEN") {
            TrimBy::MaxLen(args.u64(3, "MAXLEN")?)
        } else if args.is(2, "MINSEQ") {
            TrimBy::MinSeq(args.u64(3, "MINSEQ")?)
        } else if args.is(2, "MAXAGE") {
            TrimBy::MaxAge(args.u64(3, "MAXAGE")?)
        } else {
            return Err(CmdError::Invalid(format!(
                "unknown option '{}' (expected MAXLEN, MINSEQ or MAXAGE)",
                String::from_utf8_lossy(args.bytes(2))
            )));
        };
        let mut key = LogKey::write(ctx, args.raw(1));
        let removed = match key.log_mut()? {
            Some(log) => {
                let keep_from = log.plan_trim(by);
                let removed = log.trim_before(keep_from);
                if removed > 0 {
                    stats::trimmed(removed);
                    effects::trim(Target::Replicas(ctx), args.raw(1), keep_from);
                }
                removed
            }
            None => 0,
        };
        Reply::new(ctx).int(removed);
        Ok(())
    }
}
