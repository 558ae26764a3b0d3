//! The `Command` trait every command implements, the one entry point Redis calls for all
//! of them (where panics are caught and refusals become replies), and registration.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;

use redis_module::raw::{self, RedisModuleCtx, RedisModuleString};

use super::acl;
use super::args::Args;
use super::command_docs::{self, Docs, KeyUse};
use super::context::Ctx;
use super::errors::CmdError;
use super::guard;

/// One command: its registration facts, its docs and its body.
pub trait Command {
    const NAME: &'static CStr;
    /// CreateCommand flags, e.g. `c"write deny-oom"`. They also give the command its ACL
    /// categories where the server allows (`module/acl.rs`).
    const FLAGS: &'static CStr;
    /// As Redis counts it, the command name included: `n` exactly n arguments, `-n` at
    /// least n. Redis refuses other calls before `run` (shown by `COMMAND INFO`).
    const ARITY: i32;
    /// Key positions and how the keys are used; `None` for a command without keys.
    const KEYS: Option<KeyUse>;
    const DOCS: Docs;
    /// Whether the command can block its client (e.g. a `BLOCK ms` option): puts it in the
    /// `@blocking` ACL category.
    const BLOCKING: bool = false;

    /// Checks everything, then changes state and writes the whole reply; an `Err` must
    /// leave state unchanged and nothing written.
    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError>;
}

fn arity_allows(arity: i32, argc: usize) -> bool {
    let wanted = usize::try_from(arity.unsigned_abs()).unwrap_or(usize::MAX);
    if arity < 0 {
        argc >= wanted
    } else {
        argc == wanted
    }
}

extern "C" fn entry<C: Command>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    // SAFETY: Redis passes the running command's context and its argv, alive for the
    // whole call.
    let (ctx, args) = unsafe { (Ctx::from_raw(ctx), Args::from_raw(argv, argc)) };
    let completed = guard::guard(C::NAME, false, || {
        // Keys after a keyword are also reported through the getkeys API (constant-folded
        // away for every other command).
        if let Some((keys, keyword)) = C::KEYS.and_then(|k| Some((k, k.half_after?))) {
            if ctx.is_keys_position_request() {
                ctx.report_keys(&keys, keyword.to_bytes(), &args);
                return true;
            }
        }
        // Redis checked the arity already; checked again so no caller can bypass it.
        let result = if arity_allows(C::ARITY, args.len()) { C::run(&ctx, &args) } else { Err(CmdError::WrongArity) };
        if let Err(error) = result {
            ctx.reply().refusal(&error);
        }
        true
    });
    if !completed {
        // The client still gets an answer; the details are in the server log.
        ctx.reply().internal_error();
    }
    raw::REDISMODULE_OK as c_int
}

/// Creates the command `C` with its docs, key specs, arity and ACL categories.
pub fn register<C: Command>(ctx: *mut RedisModuleCtx) -> bool {
    let (first, last, step) = C::KEYS.map_or((0, 0, 0), |k| (k.first, k.last, k.step));
    let flags = match C::KEYS.and_then(|k| k.half_after) {
        // Such keys are also answered through the getkeys API (see `key_positions`).
        Some(_) => CString::new([C::FLAGS.to_bytes(), b" getkeys-api"].concat()).unwrap_or_else(|_| C::FLAGS.into()),
        None => C::FLAGS.into(),
    };
    // SAFETY: called from OnLoad with its context.
    let created = unsafe {
        api!(RedisModule_CreateCommand)(ctx, C::NAME.as_ptr(), Some(entry::<C>), flags.as_ptr(), first, last, step)
    } == raw::REDISMODULE_OK as c_int;
    if !created {
        super::log::warning(&format!("redis-seq: could not register {:?}", C::NAME));
        return false;
    }
    if !command_docs::set_command_info(ctx, C::NAME, C::ARITY, &C::DOCS, C::KEYS) {
        super::log::warning(&format!("redis-seq: could not set the docs of {:?}", C::NAME));
        return false;
    }
    if !acl::set_categories(ctx, C::NAME, C::FLAGS, C::BLOCKING) {
        super::log::warning(&format!("redis-seq: could not set the ACL categories of {:?}", C::NAME));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::arity_allows;

    #[test]
    fn arity_counts_as_redis_does() {
        assert!(arity_allows(2, 2) && !arity_allows(2, 1) && !arity_allows(2, 3));
        assert!(arity_allows(-3, 3) && arity_allows(-3, 9) && !arity_allows(-3, 2));
    }
}
