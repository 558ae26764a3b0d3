//! Resets made visible. A log that is deleted, expired, evicted, flushed or replaced
//! takes its `last` with it: a new log under the same key issues seqs 1, 2, ... again.
//! Redis 7.0 serves a client blocked on a module key only while the key exists, so a
//! waiter would sleep through the deletion and then take the new log's seqs for news.
//! Here every waiter on an existing log is registered with the log's identity; keyspace
//! events (DEL, EXPIRE, eviction, overwrites of any type) and FLUSHDB/FLUSHALL end the
//! wait of those whose log is no longer the key's (`RedisModule_UnblockClient` runs the
//! timeout callback, which answers `CmdError::LogReset`, see `blocking.rs`).
//!
//! Eviction resets logs silently too: the module warns at load and whenever
//! `maxmemory`/`maxmemory-policy` change to let Redis evict keys (`INFO seq`
//! `eviction_can_reset_logs`).

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use redis_module::raw::{self, RedisModuleBlockedClient, RedisModuleCtx, RedisModuleEvent, RedisModuleString};

use super::args::KeyName;
use super::context::Ctx;
use super::guard::guard;
use super::log;

/// Where a blocked call is registered; the default is "not registered".
#[derive(Default)]
pub struct Registration {
    key: Vec<u8>,
    id: u64,
}

struct Waiting {
    id: u64,
    db: c_int,
    client: *mut RedisModuleBlockedClient,
    log: usize,
}

// SAFETY: only the main thread registers, wakes and unregisters (Redis runs the blocking
// callbacks and events there); the mutex only satisfies `static`.
unsafe impl Send for Waiting {}

static WAITING: Mutex<Option<HashMap<Vec<u8>, Vec<Waiting>>>> = Mutex::new(None);
/// Registered waiters: keyspace events cost one load while nobody waits.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static EVICTION_CAN_RESET: AtomicBool = AtomicBool::new(false);

fn with_waiting<R>(body: impl FnOnce(&mut HashMap<Vec<u8>, Vec<Waiting>>) -> R) -> R {
    let mut guard = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
    body(guard.get_or_insert_with(HashMap::new))
}

fn selected_db(ctx: *mut RedisModuleCtx) -> c_int {
    // SAFETY: a plain query on a live context.
    unsafe { api!(RedisModule_GetSelectedDb)(ctx) }
}

/// Registers a client blocked on the log `log` (its identity) in `key`; a client waiting
/// for a missing key has nothing that can be reset and is not registered.
pub fn register(ctx: &Ctx, key: KeyName<'_>, client: *mut RedisModuleBlockedClient, log: usize) -> Registration {
    if log == 0 {
        return Registration::default();
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let waiting = Waiting { id, db: selected_db(ctx.raw()), client, log };
    let key = key.bytes().to_vec();
    with_waiting(|all| all.entry(key.clone()).or_default().push(waiting));
    REGISTERED.fetch_add(1, Ordering::Relaxed);
    Registration { key, id }
}

/// Forgets a blocked call once Redis ended it (before its handle is freed).
pub fn unregister(registration: &Registration) {
    if registration.id == 0 {
        return;
    }
    let removed = with_waiting(|all| {
        let Some(list) = all.get_mut(&registration.key) else { return false };
        let before = list.len();
        list.retain(|w| w.id != registration.id);
        let removed = list.len() < before;
        if list.is_empty() {
            all.remove(&registration.key);
        }
        removed
    });
    if removed {
        REGISTERED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Ends the waits chosen by `pick` (the lock is released before Redis runs their
/// timeout callbacks). Ending a wait twice is harmless: Redis ignores the second.
fn wake(pick: impl Fn(&[u8], &Waiting) -> bool) {
    let clients: Vec<*mut RedisModuleBlockedClient> = with_waiting(|all| {
        all.iter().flat_map(|(key, list)| list.iter().filter(|w| pick(key, w)).map(|w| w.client)).collect()
    });
    for client in clients {
        // SAFETY: a handle Redis gave `block_on_key`, still registered, so not yet freed.
        unsafe { api!(RedisModule_UnblockClient)(client, std::ptr::null_mut()) };
    }
}

/// Any keyspace event but the module's own: if the key's log is no longer the one a
/// waiter waits on, its wait ends.
unsafe extern "C" fn on_keyspace_event(
    ctx: *mut RedisModuleCtx,
    _class: c_int,
    _event: *const c_char,
    key: *mut RedisModuleString,
) -> c_int {
    guard(c"a keyspace event", (), || {
        if REGISTERED.load(Ordering::Relaxed) == 0 {
            return;
        }
        // SAFETY: the event's context and key, alive for this callback.
        let (ctx, key) = unsafe { (Ctx::from_raw(ctx), KeyName::from_raw(key)) };
        let name = key.bytes();
        if !with_waiting(|all| all.contains_key(name)) {
            return;
        }
        let db = selected_db(ctx.raw());
        let current = ctx.read_key(key).identity();
        wake(|k, w| k == name && w.db == db && w.log != current);
    });
    0
}

/// FLUSHDB / FLUSHALL, once the data is gone: every registered waiter of that database.
unsafe extern "C" fn on_flush(_ctx: *mut RedisModuleCtx, _event: RedisModuleEvent, subevent: u64, data: *mut c_void) {
    guard(c"a flush event", (), || {
        if subevent != raw::REDISMODULE_SUBEVENT_FLUSHDB_END {
            return;
        }
        // SAFETY: Redis passes a RedisModuleFlushInfo with this event.
        let Some(info) = (unsafe { data.cast::<raw::RedisModuleFlushInfo>().as_ref() }) else { return };
        let flushed = info.dbnum;
        wake(|_, w| flushed == -1 || w.db == flushed);
    });
}

/// Whether Redis may evict keys (and so logs) now: a `maxmemory` and a policy other than
/// `noeviction` (`volatile-*` counts: a log may have a TTL).
fn eviction_allowed(ctx: *mut RedisModuleCtx) -> Option<(String, u64)> {
    // SAFETY: the server-info calls on a live context; the data is freed once read.
    unsafe {
        let info = api!(RedisModule_GetServerInfo)(ctx, c"memory".as_ptr());
        if info.is_null() {
            return None;
        }
        let policy = api!(RedisModule_ServerInfoGetFieldC)(info, c"maxmemory_policy".as_ptr());
        let policy =
            if policy.is_null() { String::new() } else { CStr::from_ptr(policy).to_string_lossy().into_owned() };
        let mut error: c_int = 0;
        let maxmemory = api!(RedisModule_ServerInfoGetFieldUnsigned)(info, c"maxmemory".as_ptr(), &mut error);
        api!(RedisModule_FreeServerInfo)(ctx, info);
        (maxmemory > 0 && policy != "noeviction").then_some((policy, maxmemory))
    }
}

/// Re-reads the eviction settings; warns if Redis may now evict logs.
fn check_eviction(ctx: *mut RedisModuleCtx) {
    let allowed = eviction_allowed(ctx);
    EVICTION_CAN_RESET.store(allowed.is_some(), Ordering::Relaxed);
    if let Some((policy, maxmemory)) = allowed {
        log::warning(&format!(
            "redis-seq: maxmemory-policy {policy} with maxmemory {maxmemory} lets Redis evict logs; an evicted log \
             restarts its seqs at 1 and reissues them to other messages. Use maxmemory-policy noeviction (see \
             docs/deployment.md#eviction-expire-and-del)"
        ));
    }
}

pub fn eviction_can_reset_logs() -> bool {
    EVICTION_CAN_RESET.load(Ordering::Relaxed)
}

/// CONFIG SET of `maxmemory` or `maxmemory-policy`.
unsafe extern "C" fn on_config_change(
    ctx: *mut RedisModuleCtx,
    _event: RedisModuleEvent,
    _sub: u64,
    data: *mut c_void,
) {
    guard(c"a config event", (), || {
        // `appendonly` among them, or anything else: reading it again is cheap.
        super::propagation::forget();
        // SAFETY: Redis passes a RedisModuleConfigChange with this event.
        let Some(change) = (unsafe { data.cast::<raw::RedisModuleConfigChange>().as_ref() }) else { return };
        let count = usize::try_from(change.num_changes).unwrap_or(0);
        let names: &[*const c_char] = match change.config_names.is_null() {
            true => &[],
            // SAFETY: `num_changes` names.
            false => unsafe { std::slice::from_raw_parts(change.config_names, count) },
        };
        // SAFETY: each name is a C string Redis keeps for the event.
        let memory_config =
            names.iter().any(|&n| !n.is_null() && unsafe { CStr::from_ptr(n) }.to_bytes().starts_with(b"maxmemory"));
        if memory_config {
            check_eviction(ctx);
        }
    });
}

/// At load: the events that wake waiters and the eviction check (a server without the
/// config-change event gets the check at load only, said in the log).
pub fn subscribe(ctx: *mut RedisModuleCtx) -> bool {
    let not_module = raw::REDISMODULE_NOTIFY_ALL & !raw::REDISMODULE_NOTIFY_MODULE;
    let flush = RedisModuleEvent { id: raw::REDISMODULE_EVENT_FLUSHDB, dataver: 1 };
    let config = RedisModuleEvent { id: raw::REDISMODULE_EVENT_CONFIG, dataver: 1 };
    let ok = raw::REDISMODULE_OK as c_int;
    // SAFETY: called from OnLoad with its context.
    unsafe {
        if api!(RedisModule_SubscribeToKeyspaceEvents)(ctx, not_module, Some(on_keyspace_event)) != ok
            || api!(RedisModule_SubscribeToServerEvent)(ctx, flush, Some(on_flush)) != ok
        {
            return false;
        }
        if api!(RedisModule_SubscribeToServerEvent)(ctx, config, Some(on_config_change)) != ok {
            log::notice("redis-seq: no config-change event on this server: the eviction check ran at load only");
        }
    }
    check_eviction(ctx);
    true
}
