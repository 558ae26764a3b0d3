//! ACL categories of the commands. Where the server lets a module set them
//! (`RedisModule_SetCommandACLCategories`: Redis 7.2+, Valkey), every command is put in
//! `@read` or `@write`, `@fast` or `@slow`, and `@blocking`, derived from its registration
//! facts, as Redis derives them for its own commands; where the server lets a module add a
//! category (`RedisModule_AddACLCategory`: Redis 7.4+, Valkey), also in `@seq`. On Redis
//! 7.0 a module command is in no category, so users are granted the commands by name
//! (docs/deployment.md shows the grants).

use std::ffi::{c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use redis_module::raw::{self, RedisModuleCtx};

use super::log;

/// The module's own category, `@seq`.
const MODULE_CATEGORY: &CStr = c"seq";

/// Whether `@seq` was added at load (the commands created afterwards are put in it).
static MODULE_CATEGORY_ADDED: AtomicBool = AtomicBool::new(false);

/// Adds `@seq` where the server can. Runs in OnLoad before any command is created: the
/// server accepts new categories only during OnLoad, and a command can only be put in a
/// category that exists. A refusal (a category of that name exists already) costs only
/// `@seq`: it is logged and the commands get the built-in categories alone.
pub fn add_module_category(ctx: *mut RedisModuleCtx) {
    // SAFETY: the OnLoad context; the name is a static C string.
    let added = unsafe {
        match optional_api!(RedisModule_AddACLCategory) {
            Some(add) => add(ctx, MODULE_CATEGORY.as_ptr()) == raw::REDISMODULE_OK as c_int,
            None => return,
        }
    };
    if added {
        MODULE_CATEGORY_ADDED.store(true, Ordering::Relaxed);
    } else {
        log::warning("redis-seq: the server refused the ACL category @seq; the commands get the built-in ones only");
    }
}

/// The categories of a command created with `flags` (CreateCommand's words): `read` for
/// `readonly`, `write` for `write`, `fast` for `fast` and `slow` otherwise, `blocking` for
/// a command that can block its client, and the module's own category if it exists.
fn categories(flags: &str, blocking: bool, module_category: bool) -> String {
    let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
    let mut names = Vec::with_capacity(5);
    if has("readonly") {
        names.push("read");
    }
    if has("write") {
        names.push("write");
    }
    names.push(if has("fast") { "fast" } else { "slow" });
    if blocking {
        names.push("blocking");
    }
    if module_category {
        names.push("seq");
    }
    names.join(" ")
}

/// Puts the command `name`, just created with `flags`, in its categories, where the
/// server lets a module do so (elsewhere: nothing to do, and true).
pub fn set_categories(ctx: *mut RedisModuleCtx, name: &CStr, flags: &CStr, blocking: bool) -> bool {
    // SAFETY: a plain read of a pointer the server set before OnLoad.
    let Some(set) = (unsafe { optional_api!(RedisModule_SetCommandACLCategories) }) else { return true };
    let names = categories(flags.to_str().unwrap_or_default(), blocking, MODULE_CATEGORY_ADDED.load(Ordering::Relaxed));
    let Ok(names) = CString::new(names) else { return false };
    // SAFETY: the OnLoad context and the name of a command this module created in it; the
    // server copies what it keeps of `names`.
    unsafe {
        let command = api!(RedisModule_GetCommand)(ctx, name.as_ptr());
        !command.is_null() && set(command, names.as_ptr()) == raw::REDISMODULE_OK as c_int
    }
}

#[cfg(test)]
mod tests {
    use super::categories;

    #[test]
    fn categories_follow_the_flags() {
        assert_eq!(categories("readonly", false, false), "read slow");
        assert_eq!(categories("readonly fast", false, true), "read fast seq");
        assert_eq!(categories("write deny-oom", false, true), "write slow seq");
        assert_eq!(categories("write", true, true), "write slow blocking seq");
    }
}
