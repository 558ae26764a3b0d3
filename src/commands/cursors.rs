//! SEQ.CURSORS key: every consumer and its cursor, as a flat array, sorted by name.

use std::ffi::CStr;

use redis_module::raw::RedisModuleCtx;

use crate::module::args::Args;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::Command;

pub struct Cursors;

impl Command for Cursors {
    const NAME: &'static CStr = c"SEQ.CURSORS";
    const FLAGS: &'static CStr = c"readonly";
    const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
    const DOCS: Docs = Docs {
        summary: c"Lists a log's consumers and their cursors: consumer, cursor, consumer, cursor, ...",
        complexity: c"O(C) with C consumers",
        args: &[ArgDoc::new(c"key", ArgKind::Key)],
    };

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        if args.len() != 2 {
            return Err(CmdError::WrongArity);
        }
        let key = LogKey::read(ctx, args.raw(1));
        let reply = Reply::new(ctx);
        match key.log()? {
            Some(log) => {
                reply.array(log.cursors().len() * 2);
                for (consumer, cursor) in log.cursors().iter() {
                    reply.bulk(consumer);
                    reply.int(cursor);
                }
            }
            None => reply.array(0),
        }
        Ok(())
    }
}
