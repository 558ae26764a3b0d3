//! The server's `INFO` sections, parsed: the module's own `INFO seq` section and the
//! Redis fields the tests read (replication offsets, persistence, clients, memory).

use std::collections::BTreeMap;

use redis::Connection;

use super::replies::info_fields;

/// `INFO <section>` as field -> value text.
pub fn info_section(con: &mut Connection, section: &str) -> BTreeMap<String, String> {
    let raw: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    info_fields(&raw)
}

/// One field of `INFO <section>` as text.
pub fn info_field(con: &mut Connection, section: &str, field: &str) -> Option<String> {
    info_section(con, section).remove(field)
}

/// The integer fields of `INFO seq` (every field of the module's section is an integer).
pub fn seq_stats(con: &mut Connection) -> BTreeMap<String, i64> {
    info_section(con, "seq")
        .into_iter()
        .map(|(k, v)| {
            let n = v.parse::<i64>().unwrap_or_else(|_| panic!("INFO seq field {k} is not an integer: {v:?}"));
            (k, n)
        })
        .collect()
}

/// One field of `INFO seq`.
pub fn seq_stat(con: &mut Connection, name: &str) -> i64 {
    let stats = seq_stats(con);
    *stats.get(name).unwrap_or_else(|| panic!("INFO seq has no {name}: {stats:?}"))
}

/// `blocked_clients` from `INFO clients` (Redis's own count of blocked clients).
pub fn blocked_clients(con: &mut Connection) -> i64 {
    info_field(con, "clients", "blocked_clients")
        .and_then(|v| v.parse().ok())
        .expect("INFO clients has blocked_clients")
}

/// Waits (up to 10 s) until Redis reports exactly `n` blocked clients.
pub fn wait_blocked(con: &mut Connection, n: i64) {
    let mut seen = -1;
    let ok = super::server::wait_until(std::time::Duration::from_secs(10), || {
        seen = blocked_clients(con);
        seen == n
    });
    assert!(ok, "expected {n} blocked clients, INFO clients says {seen}");
}

/// The server's clock in milliseconds (`TIME`).
pub fn server_time_ms(con: &mut Connection) -> i64 {
    let (s, us): (i64, i64) = redis::cmd("TIME").query(con).expect("TIME");
    s * 1000 + us / 1000
}
