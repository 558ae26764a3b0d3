//! Opening a key as a sequenced log: the type check (WRONGTYPE), creation on first write,
//! and closing the key on every path.

use std::os::raw::c_int;

use redis_module::raw::{self, RedisModuleCtx, RedisModuleKey, RedisModuleString};

use super::errors::CmdError;
use super::log_type::SEQ_LOG_TYPE;
use seq_core::SeqLog;

pub struct LogKey {
    key: *mut RedisModuleKey,
}

impl LogKey {
    pub fn read(ctx: *mut RedisModuleCtx, name: *mut RedisModuleString) -> LogKey {
        LogKey::open(ctx, name, raw::REDISMODULE_READ)
    }

    pub fn write(ctx: *mut RedisModuleCtx, name: *mut RedisModuleString) -> LogKey {
        LogKey::open(ctx, name, raw::REDISMODULE_READ | raw::REDISMODULE_WRITE)
    }

    fn open(ctx: *mut RedisModuleCtx, name: *mut RedisModuleString, mode: u32) -> LogKey {
        // SAFETY: ctx and name come from the running command.
        let key = unsafe {
            raw::RedisModule_OpenKey
                .map_or(std::ptr::null_mut(), |open| open(ctx, name, mode as c_int).cast::<RedisModuleKey>())
        };
        LogKey { key }
    }

    fn value_ptr(&self) -> Result<*mut SeqLog, CmdError> {
        if self.key.is_null() {
            return Ok(std::ptr::null_mut());
        }
        // SAFETY: `key` is open; these calls only read its type and value pointer.
        unsafe {
            let key_type = raw::RedisModule_KeyType.map_or(0, |f| f(self.key));
            if key_type == raw::REDISMODULE_KEYTYPE_EMPTY as c_int {
                return Ok(std::ptr::null_mut());
            }
            let ours = *SEQ_LOG_TYPE.raw_type.borrow();
            let module_type = raw::RedisModule_ModuleTypeGetType.map_or(std::ptr::null_mut(), |f| f(self.key));
            if module_type.is_null() || module_type != ours {
                return Err(CmdError::WrongType);
            }
            Ok(raw::RedisModule_ModuleTypeGetValue.map_or(std::ptr::null_mut(), |f| f(self.key)).cast::<SeqLog>())
        }
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
        match self.log_mut()? {
            Some(log) => Ok(log),
            None => Err(CmdError::Invalid("could not create the log".into())),
        }
    }

    /// Stores `log` as the key's value, replacing (and freeing) any log there.
    pub fn set(&mut self, log: SeqLog) -> Result<(), CmdError> {
        let value = Box::into_raw(Box::new(log));
        // SAFETY: the key is open for writing; Redis owns `value` from here (freed by
        // the type's free callback).
        let status = unsafe {
            let ours = *SEQ_LOG_TYPE.raw_type.borrow();
            raw::RedisModule_ModuleTypeSetValue
                .map_or(raw::REDISMODULE_ERR as c_int, |f| f(self.key, ours, value.cast()))
        };
        if status != raw::REDISMODULE_OK as c_int {
            // SAFETY: Redis did not take the value.
            drop(unsafe { Box::from_raw(value) });
            return Err(CmdError::WrongType);
        }
        super::stats::log_created();
        Ok(())
    }
}

impl Drop for LogKey {
    fn drop(&mut self) {
        if !self.key.is_null() {
            // SAFETY: opened by `open`, closed once.
            unsafe {
                if let Some(close) = raw::RedisModule_CloseKey {
                    close(self.key);
                }
            }
        }
    }
}
