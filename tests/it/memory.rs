//! What a log costs and how it goes: MEMORY USAGE follows the data (grows with entries,
//! shrinks with trims), and UNLINK hands a long log to a background thread (the type's
//! free_effort) while a short one is freed on the spot.

use crate::common::*;
use redis::Connection;

/// Appends `n` entries (ids `<prefix>-<i>`) with `payload_len`-byte payloads, pipelined.
fn fill(con: &mut Connection, key: &str, prefix: &str, n: usize, payload_len: usize) {
    let payload = vec![b'p'; payload_len];
    for batch in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in batch {
            pipe.cmd("SEQ.ALLOC").arg(key).arg(format!("{prefix}-{i}")).arg(&payload).ignore();
        }
        let _: () = pipe.query(con).expect("pipelined SEQ.ALLOC");
    }
}

fn memory_usage(con: &mut Connection, key: &str) -> i64 {
    call_int(con, &["MEMORY", "USAGE", key, "SAMPLES", "0"])
}

/// An integer field of `INFO memory`.
fn memory_stat(con: &mut Connection, field: &str) -> i64 {
    info_field(con, "memory", field).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{field} in INFO memory"))
}

fn lazyfreed(con: &mut Connection) -> i64 {
    memory_stat(con, "lazyfreed_objects")
}

#[test]
fn memory_usage_follows_the_entries() {
    let (server, _dir) = Server::start(&[]);
    let mut con = server.connect();
    fill(&mut con, "conv:{m}", "first", 100, 100);
    let small = memory_usage(&mut con, "conv:{m}");
    fill(&mut con, "conv:{m}", "then", 10_000, 100);
    let big = memory_usage(&mut con, "conv:{m}");
    // 10,100 entries of 100-byte payloads and ~10-byte ids: at least the bytes themselves,
    // and not wildly more (chunks, index and bookkeeping are a few bytes per entry).
    assert!(big >= 10_100 * 108, "MEMORY USAGE {big} is below the data it holds");
    assert!(big <= 10_100 * 160, "MEMORY USAGE {big} is far above the data it holds");
    assert!(big > small * 50, "MEMORY USAGE did not grow with the entries: {small} -> {big}");

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{m}", "MAXLEN", "100"]), 10_000);
    let trimmed = memory_usage(&mut con, "conv:{m}");
    // The payloads are gone; the trimmed ids stay (de-duplication window) with their seqs.
    assert!(trimmed < big / 3, "MEMORY USAGE after trimming 99% of the entries: {big} -> {trimmed}");
}

#[test]
fn unlink_frees_a_long_log_in_the_background_and_a_short_one_at_once() {
    let (server, _dir) = Server::start(&["--lazyfree-lazy-user-del", "no"]);
    let mut con = server.connect();
    fill(&mut con, "conv:{short}", "s", 10, 10);
    fill(&mut con, "conv:{long}", "l", 200_000, 10);

    let before = lazyfreed(&mut con);
    assert_eq!(call_int(&mut con, &["UNLINK", "conv:{short}"]), 1);
    assert_eq!(lazyfreed(&mut con), before, "a 10-entry log should be freed on the spot");

    assert_eq!(call_int(&mut con, &["UNLINK", "conv:{long}"]), 1);
    let freed_in_background =
        crate::common::wait_until(std::time::Duration::from_secs(10), || lazyfreed(&mut con) == before + 1);
    assert!(freed_in_background, "UNLINK of a 200,000-entry log was not freed by the lazyfree thread");
    assert_eq!(call_int(&mut con, &["EXISTS", "conv:{long}"]), 0);
    assert_eq!(call_int(&mut con, &["SEQ.LAST", "conv:{long}"]), 0);
    let logs = info_section(&mut con, "seq").get("seq_logs").cloned();
    assert_eq!(logs.as_deref(), Some("0"), "seq_logs after both logs are freed");
}

/// Long logs cost the allocator no more than they report: their chunks stay in jemalloc's
/// small size classes, where a full 16 KiB one was a "large" allocation, which a
/// cache-oblivious jemalloc (Debian's, which its Redis uses) gives an extra page
/// (docs/design.md, "Storage"). Measured as what the fill adds to `allocator_active`
/// (pages in use) beyond what it adds to `allocator_allocated` (bytes handed out).
#[test]
fn long_logs_leave_the_allocator_no_waste() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (allocated0, active0) =
        (memory_stat(&mut con, "allocator_allocated"), memory_stat(&mut con, "allocator_active"));
    for k in 0..100 {
        fill(&mut con, &format!("conv:{k}"), "id", 1000, 100);
    }
    // Redis refreshes the allocator's figures in its cron, every 100 ms.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let allocated = memory_stat(&mut con, "allocator_allocated") - allocated0;
    let waste = memory_stat(&mut con, "allocator_active") - active0 - allocated;
    println!("100 x 1000 messages: {allocated} bytes allocated, {waste} more in pages in use");
    assert!(allocated > 10_000_000, "the fill allocated only {allocated} bytes");
    // Measured: 1.6% on Redis 7.0.15 (23% with 16 KiB chunks), 4.5-5.7% on Valkey 8.1.8,
    // whose bundled jemalloc is not cache-oblivious (either chunk size).
    assert!(waste * 10 < allocated, "{waste} bytes of pages in use beyond the {allocated} allocated (over 10%)");
}
