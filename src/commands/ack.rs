//! SEQ.ACK key consumer seq: move a consumer's cursor to max(cursor, seq).

use std::ffi::CStr;

use redis_module::raw::{RedisModuleCtx, RedisModuleString};

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::effects::{self, Target};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::Command;
use seq_core::SeqError;

pub struct Ack;

impl Command for Ack {
    const NAME: &'static CStr = c"SEQ.ACK";
    const FLAGS: &'static CStr = c"write";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Acknowledges a seq for a consumer: its cursor becomes max(cursor, seq)",
        complexity: c"O(log C) with C consumers",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"consumer", ArgKind::String),
            ArgDoc::new(c"seq", ArgKind::Integer),
        ],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() != 4 {
            return Err(CmdError::WrongArity);
        }
        let seq = args.u64(3, "seq")?;
        let mut key = LogKey::write(ctx, args.raw(1));
        let cursor = acknowledge(ctx, &mut key, args.raw(1), args.bytes(2), seq)?;
        Reply::new(ctx).int(cursor);
        Ok(())
    }
}

/// SEQ.ACK's effect, shared with SEQ.SYNC's AFTER: checks `seq` against `last` (a
/// missing key accepts only 0 and stays missing), moves the cursor, replicates a change.
pub fn acknowledge(
    ctx: *mut RedisModuleCtx,
    key: &mut LogKey,
    key_name: *mut RedisModuleString,
    consumer: &[u8],
    seq: u64,
) -> Result<u64, CmdError> {
    let Some(log) = key.log_mut()? else {
        return if seq == 0 { Ok(0) } else { Err(SeqError::SeqOutOfRange { seq, last: 0 }.into()) };
    };
    let (cursor, changed) = log.ack(consumer, seq)?;
    if changed {
        effects::ack(Target::Replicas(ctx), key_name, consumer, cursor);
    }
    Ok(cursor)
}
