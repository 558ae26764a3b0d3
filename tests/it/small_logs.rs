//! Small logs (issue 11): a log of a few messages is kept in a compact form (no id table,
//! one chunk, nothing allocated for cursors, retired ids or changes) and moves to the large
//! form as it grows. The form must not show: a small log and a large one answer the same
//! commands alike, through every persistence path, and MEMORY USAGE of a small log stays
//! honest about what it adds to `used_memory`.

use std::collections::BTreeMap;

use crate::common::*;
use redis::{Connection, Value};

/// Seqs below this in the large log are padding, trimmed before the comparison starts.
const PAD: i64 = 400;

/// A snapshot with seqs made relative to `base` and what depends on the clock or on the
/// padding left out (timestamps; the padding's ids, still inside the de-duplication window).
fn relative(mut snap: Snapshot, base: i64) -> Snapshot {
    for entry in &mut snap.entries {
        entry.seq -= base;
        entry.ts = 0;
    }
    for (_, seq) in &mut snap.cursors {
        *seq -= base;
    }
    if let Some(info) = snap.info.as_mut() {
        for field in ["first-ts", "last-ts", "dedup-entries"] {
            info.remove(field);
        }
        for field in ["last", "first"] {
            if let Some(seq) = info.get_mut(field) {
                *seq -= base;
            }
        }
    }
    snap
}

/// Replies of one step, integers that are seqs made relative to `base`.
fn step(con: &mut Connection, args: &[String], seq_reply: bool, base: i64) -> Value {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match call(con, &args) {
        Value::Int(n) if seq_reply => Value::Int(n - base),
        other => other,
    }
}

/// The same commands on `key`, whose seqs start above `base`: appends (new ids and
/// retries), reads, a cursor, a trim. Returns every reply and snapshot, made relative.
fn script(con: &mut Connection, key: &str, base: i64) -> Vec<String> {
    let s = |seq: i64| (seq + base).to_string();
    let k = key.to_string();
    let mut seen = Vec::new();
    let steps: Vec<(Vec<String>, bool)> = vec![
        (vec!["SEQ.ALLOC".into(), k.clone(), "m1".into(), "hello".into()], true),
        (vec!["SEQ.ALLOC".into(), k.clone(), "m2".into(), "world".into()], true),
        (vec!["SEQ.ALLOC".into(), k.clone(), "m1".into(), "retry".into()], true),
        (vec!["SEQ.ALLOC".into(), k.clone(), "m3".into(), "".into()], true),
        (vec!["SEQ.LAST".into(), k.clone()], true),
        (vec!["SEQ.ACK".into(), k.clone(), "phone".into(), s(2)], true),
        (vec!["SEQ.UNREAD".into(), k.clone(), "phone".into()], false),
        (vec!["SEQ.UNREAD".into(), k.clone(), "laptop".into()], false),
        (vec!["SEQ.TRIM".into(), k.clone(), "MAXLEN".into(), "2".into()], false),
        (vec!["SEQ.ALLOC".into(), k.clone(), "m1".into(), "late retry".into()], true),
        (vec!["SEQ.ALLOC".into(), k.clone(), "m4".into(), "after the trim".into()], true),
        (vec!["SEQ.FORGET".into(), k.clone(), "laptop".into()], false),
    ];
    for (args, seq_reply) in steps {
        let reply = step(con, &args, seq_reply, base);
        seen.push(format!("{:?} -> {reply:?}", args.get(2)));
        seen.push(format!("{:?}", relative(snapshot(con, key), base)));
    }
    for (start, end) in [(2, 3), (3, 9)] {
        let entries = range(con, key, &s(start), &s(end), None);
        seen.push(format!("{:?}", entries.iter().map(|e| (e.seq - base, e.id.clone())).collect::<Vec<_>>()));
        let entries = revrange(con, key, &s(end), &s(start), Some(1));
        seen.push(format!("{:?}", entries.iter().map(|e| (e.seq - base, e.id.clone())).collect::<Vec<_>>()));
    }
    let (last, entries) = sync_reply(&call(con, &["SEQ.SYNC", key, &s(1)]));
    seen.push(format!(
        "{} {:?}",
        last - base,
        entries.iter().map(|e| (e.seq - base, e.id.clone())).collect::<Vec<_>>()
    ));
    seen
}

/// The large log: padding past one chunk, the id table and a cursor, then trimmed away
/// (its ids stay, retired, inside the window) and the cursor forgotten.
fn make_large(con: &mut Connection, key: &str) {
    let payload = vec![b'p'; 100];
    let mut pipe = redis::pipe();
    for i in 1..=PAD {
        pipe.cmd("SEQ.ALLOC").arg(key).arg(format!("pad-{i}")).arg(&payload).ignore();
    }
    let _: () = pipe.query(con).expect("padding");
    call(con, &["SEQ.ACK", key, "pad-reader", "7"]);
    assert_eq!(call_int(con, &["SEQ.TRIM", key, "MINSEQ", &(PAD + 1).to_string()]), PAD);
    assert_eq!(call_int(con, &["SEQ.FORGET", key, "pad-reader"]), 1);
}

#[test]
fn a_small_and_a_large_log_answer_alike_through_every_persistence_path() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    let mut con = server.connect();
    make_large(&mut con, "conv:{large}");
    let small = script(&mut con, "conv:{small}", 0);
    let large = script(&mut con, "conv:{large}", PAD);
    assert_eq!(small, large, "a small and a large log answered differently");

    let observed = |con: &mut Connection| -> BTreeMap<&str, Snapshot> {
        [("conv:{small}", 0), ("conv:{large}", PAD)]
            .into_iter()
            .map(|(key, base)| (key, relative(snapshot(con, key), base)))
            .collect()
    };
    let before = observed(&mut con);
    assert_eq!(before["conv:{small}"], before["conv:{large}"]);

    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_eq!(observed(&mut con), before, "after DEBUG RELOAD");

    for key in ["conv:{small}", "conv:{large}"] {
        let dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut con).expect("DUMP");
        let _: () = redis::cmd("RESTORE").arg(key).arg(0).arg(dump).arg("REPLACE").query(&mut con).expect("RESTORE");
    }
    assert_eq!(observed(&mut con), before, "after DUMP / RESTORE");

    rewrite_aof(&mut con);
    server.restart();
    let mut con = server.connect();
    assert_eq!(observed(&mut con), before, "after BGREWRITEAOF and a restart from the AOF");
    // And both go on alike: a retry of a retired id, a new id.
    for (key, base) in [("conv:{small}", 0), ("conv:{large}", PAD)] {
        assert_eq!(alloc(&mut con, key, "m1", Some(b"again")) - base, 1, "{key}: m1 keeps its first seq");
        assert_eq!(alloc(&mut con, key, "m5", Some(b"new")) - base, 5, "{key}: a new id");
    }
    let after = observed(&mut con);
    assert_eq!(after["conv:{small}"], after["conv:{large}"]);
}

#[test]
fn memory_usage_of_a_small_log_is_what_it_adds_to_used_memory() {
    const KEYS: usize = 10_000;
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let used = |con: &mut Connection| -> i64 {
        info_field(con, "memory", "used_memory").and_then(|v| v.parse().ok()).expect("used_memory")
    };
    let payload = vec![b'x'; 100];
    let before = used(&mut con);
    for batch in (0..KEYS).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in batch {
            pipe.cmd("SEQ.ALLOC").arg(format!("conv:{i:06}")).arg(format!("{i:020}")).arg(&payload).ignore();
        }
        let _: () = pipe.query(&mut con).expect("pipelined SEQ.ALLOC");
    }
    let per_key = (used(&mut con) - before) as f64 / KEYS as f64;
    let usage = call_int(&mut con, &["MEMORY", "USAGE", "conv:000001", "SAMPLES", "0"]) as f64;
    println!("one-message log: used_memory {per_key:.0} B per key, MEMORY USAGE {usage} B");
    assert!(
        (usage - per_key).abs() <= per_key * 0.2,
        "MEMORY USAGE {usage} B is not within 20% of the {per_key:.0} B a key adds to used_memory"
    );
}
