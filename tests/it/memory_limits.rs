//! Memory limits: over `maxmemory` with `noeviction`, a new cursor (SEQ.ACK or SEQ.SYNC
//! AFTER with a new consumer name) is refused with Redis' own OOM error, as SEQ.ALLOC is;
//! acknowledging an existing cursor and reading still work. A policy that lets Redis
//! evict logs (which resets them) is warned about at load and on CONFIG SET.

use crate::common::*;
use redis::{Connection, Value};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn used_memory(con: &mut Connection) -> i64 {
    info_field(con, "memory", "used_memory").and_then(|v| v.parse().ok()).expect("used_memory in INFO memory")
}

/// Appends 1 KiB entries to `key` until SEQ.ALLOC is refused with OOM; returns the count.
fn fill_until_oom(con: &mut Connection, key: &str) -> usize {
    let payload = vec![b'x'; 1024];
    for i in 1..=1_000_000usize {
        match redis::cmd("SEQ.ALLOC").arg(key).arg(format!("fill-{i}")).arg(&payload).query::<Value>(con) {
            Ok(Value::Int(_)) => {}
            Err(e) => {
                assert_eq!(error_text(&e), OOM, "SEQ.ALLOC refused with something else than OOM");
                return i - 1;
            }
            Ok(other) => panic!("SEQ.ALLOC replied {other:?}"),
        }
    }
    panic!("SEQ.ALLOC was never refused with OOM")
}

#[test]
fn new_cursors_are_refused_over_maxmemory_and_existing_ones_still_move() {
    let (server, _dir) = start_seq(&["--maxmemory-policy", "noeviction"]);
    let mut con = server.connect();
    alloc(&mut con, "conv:{oom}", "first", None);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", "conv:{oom}", "old-reader", "0"]), 0);
    let limit = used_memory(&mut con) + 2 * 1024 * 1024;
    config_set(&mut con, "maxmemory", &limit.to_string());

    let filled = fill_until_oom(&mut con, "conv:{oom}");
    assert!(filled > 100, "only {filled} entries fit below maxmemory");
    // At the limit, a small command may still fit; set the limit clearly below what is used.
    let before = used_memory(&mut con);
    config_set(&mut con, "maxmemory", &(before - 512 * 1024).to_string());
    assert_eq!(expect_err(&mut con, &cmd_of(&["SEQ.ALLOC", "conv:{oom}", "tiny"])), OOM);

    // 5,000 new consumer names, half by SEQ.ACK, half by SEQ.SYNC AFTER.
    for i in 0..5000 {
        let consumer = format!("new-reader-{i}");
        let cmd = match i % 2 {
            0 => cmd_of(&["SEQ.ACK", "conv:{oom}", &consumer, "1"]),
            _ => cmd_of(&["SEQ.SYNC", "conv:{oom}", &consumer, "AFTER", "1"]),
        };
        assert_eq!(expect_err(&mut con, &cmd), OOM, "a new cursor over maxmemory: {}", show_cmd(&cmd));
    }
    let after = used_memory(&mut con);
    // 5,000 cursors would take several hundred KB; allow 64 KB of allocator noise.
    assert!(after - before < 64 * 1024, "used_memory grew from {before} to {after} with every new cursor refused");
    assert_eq!(field(&info_of(&mut con, "conv:{oom}"), "consumers"), 1, "a refused cursor was created");

    // An existing cursor still moves, and reads still answer.
    assert_eq!(call_int(&mut con, &["SEQ.ACK", "conv:{oom}", "old-reader", "2"]), 2);
    let (last_seq, page) =
        sync_reply(&call(&mut con, &["SEQ.SYNC", "conv:{oom}", "old-reader", "AFTER", "3", "COUNT", "2"]));
    assert_eq!(last_seq as usize, filled + 1);
    assert_eq!(seqs(&page), vec![4, 5]);
    assert_eq!(last(&mut con, "conv:{oom}") as usize, filled + 1);

    // Below maxmemory again, new cursors are accepted.
    config_set(&mut con, "maxmemory", "0");
    assert_eq!(call_int(&mut con, &["SEQ.ACK", "conv:{oom}", "late-reader", "1"]), 1);
}

const EVICTION_WARNING: &str = "lets Redis evict logs";

#[test]
fn an_evicting_policy_is_warned_about_at_load_and_on_config_set() {
    let (server, _dir) = start_seq(&["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.connect();
    assert_eq!(seq_stat(&mut con, "seq_eviction_can_reset_logs"), 1);
    let warnings = |server: &Server| server.log().lines().filter(|l| l.contains(EVICTION_WARNING)).count();
    assert_eq!(warnings(&server), 1, "no warning at load:\n{}", tail(&server.log(), 10));
    assert!(server.log().contains("maxmemory-policy allkeys-lru"), "the warning names the policy");

    config_set(&mut con, "maxmemory-policy", "noeviction");
    assert_eq!(seq_stat(&mut con, "seq_eviction_can_reset_logs"), 0);
    config_set(&mut con, "maxmemory-policy", "volatile-ttl");
    assert_eq!(seq_stat(&mut con, "seq_eviction_can_reset_logs"), 1, "a log may have a TTL");
    assert_eq!(warnings(&server), 2, "no warning on CONFIG SET:\n{}", tail(&server.log(), 10));
    // Without a maxmemory nothing is evicted.
    config_set(&mut con, "maxmemory", "0");
    assert_eq!(seq_stat(&mut con, "seq_eviction_can_reset_logs"), 0);

    let (quiet, _dir) = start_seq(&[]);
    let mut con = quiet.connect();
    assert_eq!(seq_stat(&mut con, "seq_eviction_can_reset_logs"), 0);
    assert_eq!(warnings(&quiet), 0);
}
