//! The Redis module API functions redis-seq calls, checked once at load.
//!
//! Redis fills the `RedisModule_*` function pointers when the module is loaded; a server
//! that lacks one the module needs is refused at load with a log line naming it, rather
//! than diverging silently later (a replica that skips a write, a reply never sent).
//! After `check` passed, `api!(Name)` reads a required pointer without a branch (only
//! the functions listed below are accepted, so none goes unchecked).
//! Optional, newer functions are detected at load and looked up with `optional_api!`.

use redis_module::raw;

/// Lists the required functions once: `check` tests each and `api!` accepts only these.
macro_rules! required {
    ($($name:ident),+ $(,)?) => {
        /// The first required function this server does not provide.
        fn first_missing() -> Option<&'static str> {
            // SAFETY: plain reads of pointers Redis set before OnLoad ran.
            $(if unsafe { raw::$name }.is_none() {
                return Some(stringify!($name));
            })+
            None
        }

        /// The required Redis API function `$name`, for use inside an `unsafe` block.
        /// Sound because `api::check` refused to load the module unless it is set, and
        /// Redis never clears it.
        macro_rules! api {
            $(($name) => {
                redis_module::raw::$name.unwrap_unchecked()
            };)+
        }
    };
}

/// Lists the optional functions: `optional_api!` accepts only these.
macro_rules! optional {
    ($($name:ident: $why:literal),+ $(,)?) => {
        /// Each optional function this server lacks, with what the module does instead.
        fn missing_optional() -> impl Iterator<Item = (&'static str, &'static str)> {
            // SAFETY: plain reads of pointers Redis set before OnLoad ran.
            [$((stringify!($name), $why, unsafe { raw::$name }.is_none())),+]
                .into_iter()
                .filter_map(|(name, why, missing)| missing.then_some((name, why)))
        }

        /// The optional Redis API function `$name` (`None` on older servers), for use
        /// inside an `unsafe` block.
        macro_rules! optional_api {
            $(($name) => {
                redis_module::raw::$name
            };)+
        }
    };
}

required! {
    // Replies.
    RedisModule_ReplyWithLongLong,
    RedisModule_ReplyWithStringBuffer,
    RedisModule_ReplyWithArray,
    RedisModule_ReplySetArrayLength,
    RedisModule_ReplyWithMap,
    RedisModule_ReplyWithNull,
    RedisModule_ReplyWithError,
    RedisModule_WrongArity,
    // Arguments and keys.
    RedisModule_StringPtrLen,
    RedisModule_OpenKey,
    RedisModule_CloseKey,
    RedisModule_KeyType,
    RedisModule_ModuleTypeGetType,
    RedisModule_ModuleTypeGetValue,
    RedisModule_ModuleTypeSetValue,
    // Replication, AOF, notifications, blocking.
    RedisModule_Replicate,
    RedisModule_ReplicateVerbatim,
    RedisModule_EmitAOF,
    RedisModule_NotifyKeyspaceEvent,
    RedisModule_SignalKeyAsReady,
    RedisModule_BlockClientOnKeys,
    RedisModule_GetBlockedClientPrivateData,
    RedisModule_GetContextFlags,
    RedisModule_Milliseconds,
    // Memory limits, waking waiters when their log goes away, the eviction warning
    // (all present since Redis 6.0; the Config event is checked at subscription).
    RedisModule_GetUsedMemoryRatio,
    RedisModule_GetSelectedDb,
    RedisModule_UnblockClient,
    RedisModule_SubscribeToKeyspaceEvents,
    RedisModule_GetServerInfo,
    RedisModule_ServerInfoGetFieldC,
    RedisModule_ServerInfoGetFieldUnsigned,
    RedisModule_FreeServerInfo,
    // RDB and digest (some through redis-module's helpers, which unwrap them).
    RedisModule_SaveUnsigned,
    RedisModule_LoadUnsigned,
    RedisModule_SaveStringBuffer,
    RedisModule_LoadStringBuffer,
    RedisModule_IsIOError,
    RedisModule_DigestAddLongLong,
    RedisModule_DigestAddStringBuffer,
    RedisModule_DigestEndSequence,
    // Loading: commands and their docs, options, configs, INFO, events, logging.
    RedisModule_CreateCommand,
    RedisModule_GetCommand,
    RedisModule_SetCommandInfo,
    RedisModule_SetModuleOptions,
    RedisModule_RegisterNumericConfig,
    RedisModule_LoadConfigs,
    RedisModule_RegisterInfoFunc,
    RedisModule_InfoAddSection,
    RedisModule_InfoAddFieldLongLong,
    RedisModule_SubscribeToServerEvent,
    RedisModule_Log,
    RedisModule_LogIOError,
    // Keys after a keyword, for Cluster routing (see key_positions.rs).
    RedisModule_IsKeysPositionRequest,
    RedisModule_KeyAtPosWithFlags,
    // The effects' op names, made once (effect.rs).
    RedisModule_CreateString,
}

optional! {
    RedisModule_CachedMicroseconds: "Redis < 7.2: the clock is read once per call instead of cached",
    RedisModule_SetCommandACLCategories: "Redis < 7.2: SEQ.* commands are in no ACL category; grant them by name",
    RedisModule_AddACLCategory: "Redis < 7.4: no @seq ACL category",
}

/// Refuses a server without a required function (naming it in the log); notes the
/// optional ones it lacks.
pub fn check() -> Result<(), ()> {
    if let Some(name) = first_missing() {
        // (Without Log itself this line is not written; the load is still refused.)
        super::log::warning(&format!("redis-seq: this Redis server lacks {name}, which the module needs; not loading"));
        return Err(());
    }
    for (name, why) in missing_optional() {
        super::log::notice(&format!("redis-seq: {name} unavailable ({why})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_server_without_the_api_is_named_in_the_refusal() {
        // Outside Redis no pointer is set: the first one listed is reported.
        assert_eq!(super::first_missing(), Some("RedisModule_ReplyWithLongLong"));
        assert_eq!(super::missing_optional().count(), 3);
    }
}
