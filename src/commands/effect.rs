//! SEQ.EFFECT key <op> ...: the internal command that carries resolved effects to replicas
//! and the AOF (see `module/effects.rs` for the sending side). Refused from ordinary
//! clients: it is accepted only from the master link and while loading.
//!
//! Ops: `APPEND packed id payload` (packed: seq, ts, epoch, dedup floor and retention
//! trim point as five varints, see `core::encoding::pack_append`), `TRIM keep-from`,
//! `ACK consumer cursor`, `FORGET consumer`, and the AOF rewrite's
//! `RESTORE-HEADER last skipped epoch last-ts dedup-floor node-epoch`,
//! `RESTORE-RETIRED seq ts id`, `RESTORE-CHUNK first-seq skipped-before first-ts len bytes`.

use std::ffi::CStr;

use redis_module::raw::{self, RedisModuleCtx};

use super::alloc::announce_append;
use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, INSERTS};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::{context_flags, fence, stats, Command};
use seq_core::encoding;
use seq_core::{Chunk, LogHeader, SeqError, SeqLog};

pub struct Effect;

impl Command for Effect {
    const NAME: &'static CStr = c"SEQ.EFFECT";
    const FLAGS: &'static CStr = c"write";
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

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        let trusted = raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING;
        if context_flags(ctx) & trusted == 0 {
            return Err(CmdError::Invalid("SEQ.EFFECT is internal to redis-seq (replication and AOF only)".into()));
        }
        if args.len() < 3 {
            return Err(CmdError::WrongArity);
        }
        let op = args.bytes(2);
        let arity = match op {
            b"APPEND" => 6,
            b"TRIM" => 4,
            b"ACK" => 5,
            b"FORGET" => 4,
            b"RESTORE-HEADER" => 9,
            b"RESTORE-RETIRED" => 6,
            b"RESTORE-CHUNK" => 8,
            _ => return Err(CmdError::Invalid(format!("unknown SEQ.EFFECT op '{}'", String::from_utf8_lossy(op)))),
        };
        if args.len() != arity {
            return Err(CmdError::WrongArity);
        }
        let int = |index: usize| args.u64(index, "effect argument");
        let mut key = LogKey::write(ctx, args.raw(1));
        match op {
            b"APPEND" => {
                let append = encoding::unpack_append(args.bytes(3))?;
                let trimmed = key.log_or_create()?.apply_append(&append, args.bytes(4), args.bytes(5))?;
                fence::observe_epoch(append.epoch);
                stats::allocated();
                stats::trimmed(trimmed);
                announce_append(ctx, args.raw(1));
            }
            b"TRIM" => stats::trimmed(existing(&mut key)?.trim_before(int(3)?)),
            b"ACK" => {
                existing(&mut key)?.ack(args.bytes(3), int(4)?)?;
            }
            b"FORGET" => {
                existing(&mut key)?.forget(args.bytes(3));
            }
            b"RESTORE-HEADER" => {
                let header = LogHeader {
                    last: int(3)?,
                    skipped: int(4)?,
                    epoch: int(5)?,
                    last_ts: int(6)?,
                    dedup_floor: int(7)?,
                };
                let log = SeqLog::from_header(header)?;
                fence::observe_epoch(header.epoch.max(int(8)?));
                key.set(log)?;
            }
            b"RESTORE-RETIRED" => existing(&mut key)?.push_retired(int(3)?, int(4)?, args.bytes(5))?,
            _ => {
                let len = u32::try_from(int(6)?).map_err(|_| SeqError::InvalidState("chunk length"))?;
                let chunk = Chunk::from_parts(int(3)?, int(4)?, int(5)?, len, args.bytes(7).to_vec());
                existing(&mut key)?.push_chunk(chunk)?;
            }
        }
        // Replicas of this replica, and its own AOF, receive the effect as it came.
        // SAFETY: ctx is the running command's context.
        unsafe {
            if let Some(replicate_verbatim) = raw::RedisModule_ReplicateVerbatim {
                replicate_verbatim(ctx);
            }
        }
        Reply::new(ctx).int(1);
        Ok(())
    }
}

fn existing(key: &mut LogKey) -> Result<&mut SeqLog, CmdError> {
    key.log_mut()?.ok_or_else(|| SeqError::InvalidState("effect on a missing log").into())
}
