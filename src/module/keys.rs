//! Opening a key as a sequenced log: the type check (WRONGTYPE), creation on first write,
//! and closing the key on every path.

use std::cell::Cell;
use std::os::raw::c_int;

use redis_module::raw::{self, RedisModuleCtx, RedisModuleKey, RedisModuleString};

use super::args::KeyName;
use super::errors::CmdError;
use super::log_type::SEQ_LOG_TYPE;
use seq_core::SeqLog;

pub struct LogKey<'a> {
    key: *mut RedisModuleKey,
    name: KeyName<'a>,
    /// The value once found, so repeated lookups in one call (plan, then apply) cost no
    /// further calls into Redis. Only `set` changes the value while the key is open.
    found: Cell<*mut SeqLog>,
}

impl<'a> LogKey<'a> {
    /// `ctx` must be the live context of the running call (see `Ctx::read_key`).
    pub(super) fn open(ctx: *mut RedisModuleCtx, name: KeyName<'a>, mode: u32) -> LogKey<'a> {
        // SAFETY: ctx and name come from the running command.
        let key = unsafe { api!(RedisModule_OpenKey)(ctx, name.raw(), mode as c_int) }.cast::<RedisModuleKey>();
        LogKey { key, name, found: Cell::new(std::ptr::null_mut()) }
    }

    /// The key's name, as the client sent it.
    pub fn name(&self) -> KeyName<'a> {
        self.name
    }

    pub(super) fn raw_name(&self) -> *mut RedisModuleString {
        self.name.raw()
    }

    fn value_ptr(&self) -> Result<*mut SeqLog, CmdError> {
        if !self.found.get().is_null() || self.key.is_null() {
            return Ok(self.found.get());
        }
        // SAFETY: `key` is open; these calls only read its type and value pointer.
        unsafe {
            if api!(RedisModule_KeyType)(self.key) == raw::REDISMODULE_KEYTYPE_EMPTY as c_int {
                return Ok(std::ptr::null_mut());
            }
            let ours = *SEQ_LOG_TYPE.raw_type.borrow();
            let module_type = api!(RedisModule_ModuleTypeGetType)(self.key);
            if module_type.is_null() || module_type != ours {
                return Err(CmdError::WrongType);
            }
            self.found.set(api!(RedisModule_ModuleTypeGetValue)(self.key).cast::<SeqLog>());
        }
        Ok(self.found.get())
    }

    /// What identifies the log in the key while it lives (its value's address; a deleted
    /// log is noticed before its memory can hold another one, see `resets.rs`): 0 for a
    /// missing key or one of another type.
    pub fn identity(&self) -> usize {
        self.value_ptr().map_or(0, |p| p as usize)
    }

    /// The log, `None` for a missing key, WRONGTYPE for a key of another type.
    pub fn log(&self) -> Result<Option<&SeqLog>, CmdError> {
        // SAFETY: the value belongs to the open key and lives while it is open.
        self.value_ptr().map(|p| unsafe { p.as_ref() })
    }

    pub fn log_mut(&mut self) -> Result<Option<&mut SeqLog>, CmdError> {
        self.value_ptr().map(|p| unsafe { p.as_mut() })
    }

    /// The log, created empty if the key is missing (the key must be open for writing).
    pub fn log_or_create(&mut self) -> Result<&mut SeqLog, CmdError> {
        if self.value_ptr()?.is_null() {
            self.set(SeqLog::new())?;
        }
        self.log_mut()?.ok_or(CmdError::Internal("a new log is missing from its key"))
    }

    /// Stores `log` as the key's value, replacing (and freeing) any log there.
    pub fn set(&mut self, log: SeqLog) -> Result<(), CmdError> {
        let value = Box::into_raw(Box::new(log));
        // SAFETY: the key is open for writing; Redis owns `value` from here (freed by
        // the type's free callback).
        let status = unsafe {
            let ours = *SEQ_LOG_TYPE.raw_type.borrow();
            api!(RedisModule_ModuleTypeSetValue)(self.key, ours, value.cast())
        };
        if status != raw::REDISMODULE_OK as c_int {
            // SAFETY: Redis did not take the value.
            drop(unsafe { Box::from_raw(value) });
            return Err(CmdError::Internal("Redis refused to store a log in its key"));
        }
        self.found.set(value);
        super::stats::log_created();
        Ok(())
    }
}

impl Drop for LogKey<'_> {
    fn drop(&mut self) {
        if !self.key.is_null() {
            // SAFETY: opened by `open`, closed once.
            unsafe { api!(RedisModule_CloseKey)(self.key) };
        }
    }
}
