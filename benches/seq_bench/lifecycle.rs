//! Phase 4: the message lifecycle's cost on the hot path. SEQ.ALLOC on a log with 1% of its
//! entries edited and 1% deleted against the same log without changes (with and without
//! `seq.max-len`, which asks the deletion-aware rank on every append), the memory per
//! message of both logs, what the change records cost per changed entry, and SEQ.CHANGES
//! paging.

use crate::common::Server;
use crate::config::{log, Config, PAYLOAD_LEN};
use crate::data::{bench_payload, pipelined, used_memory, wait_lazyfree, Rng};
use crate::report::{fmt_rate, print_table, Summary, Target};
use crate::rows::{print_cpu_pairs, print_rows, row_rps, run_rounds, Row};

const PLAIN: &str = "life:{plain}";
const CHANGED: &str = "life:{changed}";
const EDITED: &str = "life:{edited}";

/// What `fill` changes after appending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Changes {
    None,
    /// Edits every seq ≡ 50 (mod 100) and deletes every seq ≡ 7 (mod 100): 1% each,
    /// spread over every chunk.
    EditAndDelete,
    /// Edits the same seqs to payloads of the same length: the chunks keep their size, so
    /// MEMORY USAGE against the unchanged log is what the change records cost.
    EditOnly,
}

/// Fills `key` with `len` entries, then makes `changes`.
fn fill(con: &mut redis::Connection, key: &str, len: u64, changes: Changes) -> Result<(), String> {
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
    if changes == Changes::None {
        return Ok(());
    }
    let hundreds = len / 100;
    pipelined(
        con,
        hundreds * 2,
        |i| {
            let base = (i / 2) * 100;
            let seq = base + if i % 2 == 0 { 50 } else { 7 };
            let mut c = match (changes, i % 2) {
                (Changes::EditAndDelete, 1) => redis::cmd("SEQ.DEL"),
                _ => redis::cmd("SEQ.EDIT"),
            };
            c.arg(key).arg(seq);
            match (changes, i % 2) {
                (Changes::EditOnly, _) => {
                    c.arg(rng.payload(PAYLOAD_LEN));
                }
                (_, 0) => {
                    c.arg("an edited payload");
                }
                _ => {}
            }
            c
        },
        |_, _| {},
        None,
    )?;
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
    log(format!(
        "lifecycle: three logs of {len} entries: unchanged, 1% edited and 1% deleted, 2% edited to same-length payloads"
    ));
    let mut dumps = Vec::new();
    for (key, changes) in [(PLAIN, Changes::None), (CHANGED, Changes::EditAndDelete), (EDITED, Changes::EditOnly)] {
        if let Err(e) = fill(con, key, len, changes) {
            log(format!("  fill of {key} failed: {e}"));
            sum.add("lifecycle phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
            return;
        }
        dumps.push(redis::cmd("DUMP").arg(key).query::<Vec<u8>>(con).unwrap_or_default());
    }
    let (plain_dump, changed_dump, edited_dump) = (dumps[0].clone(), dumps[1].clone(), dumps[2].clone());
    let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(EDITED).query(con);
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
    // A page of 100 from the middle of the 2% changed (rev 1000 of 2000 at 100,000 entries).
    let since = (len / 100).to_string();
    rows.push(
        Row::new(
            "life_changes_page",
            "SEQ.CHANGES, a page of 100",
            cfg.n(200_000),
            &["SEQ.CHANGES", CHANGED, &since, "COUNT", "100"],
        )
        .with_reset(restore(changed_dump.clone(), CHANGED, 0)),
    );
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
    let (edited_used, edited_usage) = measure(con, &edited_dump);
    // Both logs hold the same entries at the same sizes: the difference is the records.
    let per_changed = |edited: f64, plain: f64| (edited - plain) * len as f64 / (len / 100 * 2) as f64;
    let (record_used, record_bytes) = (per_changed(edited_used, plain_used), per_changed(edited_usage, plain_usage));
    print_table(
        &format!("LIFECYCLE MEMORY (a log of {len} messages of {PAYLOAD_LEN} B, restored into a fresh key; per message issued)"),
        &["log", "used_memory B/msg", "MEMORY USAGE B/msg"],
        &[
            vec!["unchanged".into(), format!("{plain_used:.1}"), format!("{plain_usage:.1}")],
            vec!["1% edited + 1% deleted".into(), format!("{changed_used:.1}"), format!("{changed_usage:.1}")],
        ],
    );
    print_table(
        "LIFECYCLE CHANGE RECORDS (2% of the entries edited to same-length payloads, MEMORY USAGE against unchanged)",
        &["MEMORY USAGE B per changed entry", "used_memory B per changed entry"],
        &[vec![format!("{record_bytes:.1}"), format!("{record_used:.1}")]],
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
    sum.add(
        "change records per changed entry (MEMORY USAGE delta)",
        format!("{record_bytes:.1} B"),
        record_bytes,
        f64::NAN,
        "",
        Target::Info,
    );
    for key in [PLAIN, CHANGED] {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(key).query(con);
    }
}
