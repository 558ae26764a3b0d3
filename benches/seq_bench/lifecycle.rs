//! Phase 4: the message lifecycle's cost on the hot path. SEQ.ALLOC on a log with 1% of its
//! entries edited and 1% deleted against the same log without changes (with and without
//! `seq.max-len`, which asks the deletion-aware rank on every append), and the memory per
//! message of both logs.

use crate::common::Server;
use crate::config::{log, Config, PAYLOAD_LEN};
use crate::data::{bench_payload, pipelined, used_memory, wait_lazyfree, Rng};
use crate::report::{fmt_rate, print_table, Summary, Target};
use crate::rows::{print_cpu_pairs, print_rows, row_rps, run_rounds, Row};

const PLAIN: &str = "life:{plain}";
const CHANGED: &str = "life:{changed}";

/// Fills `key` with `len` entries; with `changes`, edits every seq ≡ 50 (mod 100) and
/// deletes every seq ≡ 7 (mod 100): 1% each, spread over every chunk.
fn fill(con: &mut redis::Connection, key: &str, len: u64, changes: bool) -> Result<(), String> {
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(key).query(con);
    let mut rng = Rng(99);
    pipelined(
        con,
        len,
        |_| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(key).arg(rng.msg_id()).arg(rng.payload(PAYLOAD_LEN));
            c
        },
        |_, _| {},
        Some(key),
    )?;
    if changes {
        let hundreds = len / 100;
        pipelined(
            con,
            hundreds * 2,
            |i| {
                let base = (i / 2) * 100;
                let mut c = if i % 2 == 0 { redis::cmd("SEQ.EDIT") } else { redis::cmd("SEQ.DEL") };
                match i % 2 {
                    0 => c.arg(key).arg(base + 50).arg("an edited payload"),
                    _ => c.arg(key).arg(base + 7),
                };
                c
            },
            |_, _| {},
            None,
        )?;
    }
    Ok(())
}

/// A row's reset: the log back to its filled state (RESTORE of its DUMP), `seq.max-len` as
/// the row needs it.
fn restore(dump: Vec<u8>, key: &'static str, max_len: u64) -> impl Fn(&mut redis::Connection) {
    move |c| {
        let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg("seq.max-len").arg(max_len).query(c);
        let _: redis::RedisResult<String> = redis::cmd("RESTORE").arg(key).arg(0).arg(&dump).arg("REPLACE").query(c);
    }
}

/// Bytes per message of a DUMP restored into a fresh key: used_memory's delta and MEMORY USAGE.
fn memory_per_message(con: &mut redis::Connection, dump: &[u8], messages: u64) -> (f64, f64) {
    let key = "life:{measured}";
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(key).query(con);
    wait_lazyfree(con);
    let (before, _) = used_memory(con);
    let _: redis::RedisResult<String> = redis::cmd("RESTORE").arg(key).arg(0).arg(dump).query(con);
    let (after, _) = used_memory(con);
    let usage: i64 = redis::cmd("MEMORY").arg("USAGE").arg(key).query(con).unwrap_or(0);
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(key).query(con);
    ((after - before) as f64 / messages as f64, usage as f64 / messages as f64)
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    let len = cfg.long_len.min(200_000);
    log(format!("lifecycle: two logs of {len} entries, one with 1% edited and 1% deleted"));
    let mut dumps = Vec::new();
    for (key, changes) in [(PLAIN, false), (CHANGED, true)] {
        if let Err(e) = fill(con, key, len, changes) {
            log(format!("  fill of {key} failed: {e}"));
            sum.add("lifecycle phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
            return;
        }
        dumps.push(redis::cmd("DUMP").arg(key).query::<Vec<u8>>(con).unwrap_or_default());
    }
    let (plain_dump, changed_dump) = (dumps[0].clone(), dumps[1].clone());
    let info: Vec<String> = redis::cmd("SEQ.INFO").arg(CHANGED).query(con).unwrap_or_default();
    log(format!("  {CHANGED}: {}", info.join(" ")));

    let p = bench_payload();
    let alloc = |key: &str| vec!["SEQ.ALLOC".to_string(), key.to_string(), "id:__rand_int__".to_string(), p.clone()];
    let row = |id: &'static str, label: &str, key: &'static str, dump: &[u8], max_len: u64| {
        let args = alloc(key);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Row::new(id, label, cfg.n(1_000_000), &args).with_reset(restore(dump.to_vec(), key, max_len))
    };
    let mut rows = vec![
        row("life_plain", "SEQ.ALLOC, unchanged log", PLAIN, &plain_dump, 0),
        row("life_changed", "SEQ.ALLOC, 1% edited + 1% deleted", CHANGED, &changed_dump, 0),
        row("life_plain_maxlen", "same, seq.max-len = length, unchanged", PLAIN, &plain_dump, len),
        row("life_changed_maxlen", "same, seq.max-len = length, changed", CHANGED, &changed_dump, len),
    ];
    run_rounds(cfg, server, con, &mut rows, "lifecycle");
    let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg("seq.max-len").arg(0).query(con);
    print_rows(
        &format!("LIFECYCLE: SEQ.ALLOC on logs of {len} entries, {} round(s) interleaved, median", cfg.rounds),
        &rows,
    );
    print_cpu_pairs(
        "LIFECYCLE SERVER CPU PER REQUEST (> 1: the changed log costs the server less)",
        &rows,
        &[
            ("SEQ.ALLOC changed vs unchanged", "life_changed", "life_plain"),
            ("same with seq.max-len", "life_changed_maxlen", "life_plain_maxlen"),
        ],
    );

    // The first RESTORE after the runs also grows the allocator's own structures: each
    // log is measured on its second restore.
    let measure = |con: &mut redis::Connection, dump: &[u8]| {
        memory_per_message(con, dump, len);
        memory_per_message(con, dump, len)
    };
    let (plain_used, plain_usage) = measure(con, &plain_dump);
    let (changed_used, changed_usage) = measure(con, &changed_dump);
    print_table(
        &format!("LIFECYCLE MEMORY (a log of {len} messages of {PAYLOAD_LEN} B, restored into a fresh key; per message issued)"),
        &["log", "used_memory B/msg", "MEMORY USAGE B/msg"],
        &[
            vec!["unchanged".into(), format!("{plain_used:.1}"), format!("{plain_usage:.1}")],
            vec!["1% edited + 1% deleted".into(), format!("{changed_used:.1}"), format!("{changed_usage:.1}")],
        ],
    );

    for (changed, plain, what) in [
        ("life_changed", "life_plain", "SEQ.ALLOC, 1% edited + 1% deleted log"),
        ("life_changed_maxlen", "life_plain_maxlen", "SEQ.ALLOC with seq.max-len, 1% edited + 1% deleted"),
    ] {
        let (c, u) = (row_rps(&rows, changed), row_rps(&rows, plain));
        sum.add(what, fmt_rate(c), c, c / u, "unchanged log", Target::AtLeast(0.9));
    }
    sum.add(
        "used_memory per message, 1% edited + 1% deleted",
        format!("{changed_used:.0} B (unchanged {plain_used:.0} B)"),
        changed_used,
        changed_used / plain_used,
        "unchanged log",
        Target::Info,
    );
    for key in [PLAIN, CHANGED] {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(key).query(con);
    }
}
