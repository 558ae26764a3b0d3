//! SEQ.ALLOC key client-msg-id [payload]: issue the next seq and store the message in one
//! atomic step, or return the first seq of an id already seen.

use std::ffi::CStr;

use redis_module::raw::{self, RedisModuleCtx};

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, INSERTS};
use crate::module::effects::{self, Target};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::{config, fence, now_ms, stats, Command};
use seq_core::AllocPlan;

pub struct Alloc;

impl Command for Alloc {
    const NAME: &'static CStr = c"SEQ.ALLOC";
    const FLAGS: &'static CStr = c"write deny-oom";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(INSERTS);
    const DOCS: Docs = Docs {
        summary: c"Issues the next seq of a log and stores the message with it, atomically; a retried client-msg-id gets its first seq back",
        complexity: c"O(1) amortized",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"client-msg-id", ArgKind::String),
            ArgDoc::new(c"payload", ArgKind::String).optional(),
        ],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if !(3..=4).contains(&args.len()) {
            return Err(CmdError::WrongArity);
        }
        let key = args.raw(1);
        let id = args.bytes(2);
        let payload = if args.len() == 4 { args.bytes(3) } else { &[] };
        check_sizes(id, payload)?;

        let mut log_key = LogKey::write(ctx, key);
        let log = log_key.log_or_create()?;
        let append = match log.plan_alloc(id, now_ms(), &config::alloc_policy())? {
            AllocPlan::Duplicate(seq) => {
                stats::dedup_hit();
                Reply::new(ctx).int(seq);
                return Ok(());
            }
            AllocPlan::Append(append) => append,
        };
        let trimmed = log.apply_append(&append, id, payload)?;
        fence::observe_epoch(append.epoch);
        stats::allocated();
        stats::trimmed(trimmed);
        let payload_arg = (args.len() == 4).then(|| args.raw(3));
        effects::append(Target::Replicas(ctx), key, &append, args.raw(2), payload_arg);
        announce_append(ctx, key);
        Reply::new(ctx).int(append.seq);
        Ok(())
    }
}

fn check_sizes(id: &[u8], payload: &[u8]) -> Result<(), CmdError> {
    if id.is_empty() {
        return Err(CmdError::Invalid("client-msg-id must not be empty".into()));
    }
    let max_id = config::max_client_msg_id_bytes();
    if id.len() > max_id {
        return Err(CmdError::Invalid(format!(
            "client-msg-id is {} bytes, longer than seq.max-client-msg-id-bytes ({max_id})",
            id.len()
        )));
    }
    let max_payload = config::max_payload_bytes();
    if payload.len() > max_payload {
        return Err(CmdError::Invalid(format!(
            "payload is {} bytes, longer than seq.max-payload-bytes ({max_payload})",
            payload.len()
        )));
    }
    Ok(())
}

/// Tells subscribers (`seq.alloc`, module class) and clients blocked in SEQ.SYNC on the
/// key that an entry was appended.
pub fn announce_append(ctx: *mut RedisModuleCtx, key: *mut raw::RedisModuleString) {
    // SAFETY: ctx and key belong to the running command.
    unsafe {
        if let Some(notify) = raw::RedisModule_NotifyKeyspaceEvent {
            notify(ctx, raw::REDISMODULE_NOTIFY_MODULE, c"seq.alloc".as_ptr(), key);
        }
        if let Some(signal) = raw::RedisModule_SignalKeyAsReady {
            signal(ctx, key);
        }
    }
}
