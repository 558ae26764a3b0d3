//! SEQ.FORGET key consumer: remove a consumer's cursor (a device signed out).

use std::ffi::CStr;

use redis_module::raw::RedisModuleCtx;

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, UPDATES};
use crate::module::effects::{self, Target};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::Command;

pub struct Forget;

impl Command for Forget {
    const NAME: &'static CStr = c"SEQ.FORGET";
    const FLAGS: &'static CStr = c"write";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(UPDATES);
    const DOCS: Docs = Docs {
        summary: c"Removes a consumer's cursor; replies 1 if there was one, else 0",
        complexity: c"O(log C) with C consumers",
        args: &[ArgDoc::new(c"key", ArgKind::Key), ArgDoc::new(c"consumer", ArgKind::String)],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() != 3 {
            return Err(CmdError::WrongArity);
        }
        let mut key = LogKey::write(ctx, args.raw(1));
        let removed = key.log_mut()?.is_some_and(|log| log.forget(args.bytes(2)));
        if removed {
            effects::forget(Target::Replicas(ctx), args.raw(1), args.bytes(2));
        }
        Reply::new(ctx).int(u64::from(removed));
        Ok(())
    }
}
