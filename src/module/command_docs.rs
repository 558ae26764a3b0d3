//! Command metadata for Redis 7's COMMAND DOCS / COMMAND INFO (what redis-cli uses for
//! argument hints): summary, complexity, arguments, and key specs with honest RO/RW flags.

use std::ffi::{c_int, CStr};
use std::ptr::{null, null_mut};

use redis_module::raw::{self, RedisModuleCommandArg, RedisModuleCommandInfo, RedisModuleCommandKeySpec};

#[derive(Clone, Copy)]
pub enum ArgKind {
    Key,
    String,
    Integer,
    /// Exactly one of the sub-arguments.
    OneOf,
    /// All of the sub-arguments, in order.
    Block,
}

#[derive(Clone, Copy)]
pub struct ArgDoc {
    pub name: &'static CStr,
    pub kind: ArgKind,
    pub token: Option<&'static CStr>,
    pub optional: bool,
    pub multiple: bool,
    pub sub: &'static [ArgDoc],
}

impl ArgDoc {
    pub const fn new(name: &'static CStr, kind: ArgKind) -> ArgDoc {
        ArgDoc { name, kind, token: None, optional: false, multiple: false, sub: &[] }
    }
    pub const fn optional(mut self) -> ArgDoc {
        self.optional = true;
        self
    }
    pub const fn multiple(mut self) -> ArgDoc {
        self.multiple = true;
        self
    }
    pub const fn token(mut self, token: &'static CStr) -> ArgDoc {
        self.token = Some(token);
        self
    }
    pub const fn sub(mut self, sub: &'static [ArgDoc]) -> ArgDoc {
        self.sub = sub;
        self
    }
}

pub struct Docs {
    pub summary: &'static CStr,
    pub complexity: &'static CStr,
    pub args: &'static [ArgDoc],
}

/// Key positions as in CreateCommand (first, last, step) plus how the keys are used.
#[derive(Clone, Copy)]
pub struct KeyUse {
    pub first: i32,
    pub last: i32,
    pub step: i32,
    pub flags: u32,
    /// Set for keys that follow a keyword rather than a fixed position: the first half of
    /// the arguments after it (XREAD's `STREAMS key... id...`). The legacy triple is then
    /// 0, 0, 0 (as XREAD's): the key spec, and the getkeys API for Cluster routing
    /// (`key_positions`), find these keys.
    pub half_after: Option<&'static CStr>,
}

impl KeyUse {
    /// The command's one key, its first argument.
    pub const fn first_arg(flags: u32) -> Option<KeyUse> {
        Some(KeyUse { first: 1, last: 1, step: 1, flags, half_after: None })
    }

    /// The first half of the arguments after `keyword` (the other half pairs with them).
    pub const fn half_after(keyword: &'static CStr, flags: u32) -> Option<KeyUse> {
        Some(KeyUse { first: 0, last: 0, step: 0, flags, half_after: Some(keyword) })
    }
}

pub const READS: u32 = raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS;
pub const UPDATES: u32 = raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_UPDATE;
pub const INSERTS: u32 = raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_INSERT;
pub const ACCESS_UPDATES: u32 = UPDATES | raw::REDISMODULE_CMD_KEY_ACCESS;
pub const DELETES: u32 = raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_DELETE;

/// Builds the C argument array (null-terminated) for `docs`; Redis copies what it keeps.
fn c_args(
    docs: &[ArgDoc],
    key_spec: c_int,
    storage: &mut Vec<Vec<RedisModuleCommandArg>>,
) -> *mut RedisModuleCommandArg {
    if docs.is_empty() {
        return null_mut();
    }
    let mut args: Vec<RedisModuleCommandArg> = Vec::with_capacity(docs.len() + 1);
    for doc in docs {
        let kind = match doc.kind {
            ArgKind::Key => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY,
            ArgKind::String => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_STRING,
            ArgKind::Integer => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER,
            ArgKind::OneOf => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_ONEOF,
            ArgKind::Block => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_BLOCK,
        };
        let mut flags = 0;
        if doc.optional {
            flags |= raw::REDISMODULE_CMD_ARG_OPTIONAL;
        }
        if doc.multiple {
            flags |= raw::REDISMODULE_CMD_ARG_MULTIPLE;
        }
        let subargs = c_args(doc.sub, key_spec, storage);
        args.push(RedisModuleCommandArg {
            name: doc.name.as_ptr(),
            type_: kind,
            key_spec_index: if matches!(doc.kind, ArgKind::Key) { key_spec } else { -1 },
            token: doc.token.map_or(null(), CStr::as_ptr),
            summary: null(),
            since: null(),
            flags: flags as c_int,
            deprecated_since: null(),
            subargs,
            display_text: null(),
        });
    }
    // SAFETY: an all-zero arg is the terminator Redis looks for.
    args.push(unsafe { std::mem::zeroed() });
    let ptr = args.as_mut_ptr();
    storage.push(args);
    ptr
}

/// Registers `arity`, `docs` and `keys` for the command `name` (already created).
pub fn set_command_info(
    ctx: *mut raw::RedisModuleCtx,
    name: &CStr,
    arity: i32,
    docs: &Docs,
    keys: Option<KeyUse>,
) -> bool {
    // SAFETY: every pointer handed to Redis points into `storage`, `key_specs` or static
    // strings, all alive until SetCommandInfo returns (Redis copies what it keeps).
    unsafe {
        let command = api!(RedisModule_GetCommand)(ctx, name.as_ptr());
        if command.is_null() {
            return false;
        }
        let mut key_specs: Vec<RedisModuleCommandKeySpec> = Vec::new();
        if let Some(keys) = keys {
            let mut spec: RedisModuleCommandKeySpec = std::mem::zeroed();
            spec.flags = u64::from(keys.flags);
            spec.find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
            match keys.half_after {
                None => {
                    spec.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
                    spec.bs.index.pos = keys.first;
                    // A negative last key counts from the end; relative to `first` otherwise.
                    spec.fk.range.lastkey = if keys.last < 0 { keys.last } else { keys.last - keys.first };
                    spec.fk.range.keystep = keys.step;
                    spec.fk.range.limit = 0;
                }
                Some(keyword) => {
                    // From the keyword (searched from the first argument on) to the last
                    // argument, every one, but only the first half of them (limit 2).
                    spec.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_KEYWORD;
                    spec.bs.keyword.keyword = keyword.as_ptr();
                    spec.bs.keyword.startfrom = 1;
                    spec.fk.range.lastkey = -1;
                    spec.fk.range.keystep = 1;
                    spec.fk.range.limit = 2;
                }
            }
            key_specs.push(spec);
            key_specs.push(std::mem::zeroed());
        }
        let mut storage = Vec::new();
        let args = c_args(docs.args, 0, &mut storage);
        let version = raw::RedisModuleCommandInfoVersion {
            version: 1,
            sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
            sizeof_keyspec: std::mem::size_of::<RedisModuleCommandKeySpec>(),
            sizeof_arg: std::mem::size_of::<RedisModuleCommandArg>(),
        };
        let info = RedisModuleCommandInfo {
            version: &version,
            summary: docs.summary.as_ptr(),
            complexity: docs.complexity.as_ptr(),
            since: c"0.1.0".as_ptr(),
            history: null_mut(),
            tips: null(),
            arity,
            key_specs: if key_specs.is_empty() { null_mut() } else { key_specs.as_mut_ptr() },
            args,
        };
        api!(RedisModule_SetCommandInfo)(command, &info) == raw::REDISMODULE_OK as c_int
    }
}
