//! The one guard every entry point from Redis goes through: a panic inside redis-server
//! would abort the whole server and every client's data with it, so it is caught here and
//! turned into an error reply (commands) or a refused load (type callbacks).

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::log::warning as log_warning;

/// Runs `body`; if it panics, logs `what` and the panic message and returns `on_panic`.
pub fn guard<R>(what: &CStr, on_panic: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log_warning(&format!("redis-seq: internal error in {}: {message}", what.to_string_lossy()));
            on_panic
        }
    }
}

/// Sends panic messages to the Redis log instead of the server's stderr.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        log_warning(&format!("redis-seq: panic: {info}"));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        assert_eq!(guard(c"test", 7, || 42), 42);
        assert_eq!(guard(c"test", 7, || -> i32 { panic!("boom") }), 7);
        let index = std::hint::black_box(3);
        assert_eq!(guard(c"test", None, || Some([1u8, 2][index])), None, "an out-of-bounds index is caught too");
    }
}
