//! State survives, identically, every way Redis persists or moves a value: DEBUG RELOAD,
//! SAVE + restart, AOF (rewritten with and without the RDB preamble, and plain replay),
//! DUMP/RESTORE, COPY, MIGRATE, and a SIGKILL under `appendfsync always`.
//!
//! "Identically" is checked on the whole database: each log's SEQ.INFO, every entry,
//! DEBUG DIGEST-VALUE, DEBUG DIGEST, the de-duplication answers for old ids, and the
//! next seq issued after the round trip.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::{Connection, Value};

/// Every acknowledged allocation: (key, id) → the seq it got first.
type Acks = BTreeMap<(Vec<u8>, Vec<u8>), i64>;

fn record(acks: &mut Acks, con: &mut Connection, key: &[u8], id: &[u8], payload: Option<&[u8]>) -> i64 {
    let seq = alloc(con, key, id, payload);
    let first = *acks.entry((key.to_vec(), id.to_vec())).or_insert(seq);
    assert_eq!(seq, first, "retry of {} in {} got a different seq", show_bytes(id), show_bytes(key));
    seq
}

/// A mixed dataset: text and binary logs, retries, big (compressible and not) payloads,
/// a log trimmed by `seq.max-len` (dedup outliving its entries), a plain string key.
/// Calls with `round` 0, 1, ... add more to the same logs.
fn workload(con: &mut Connection, acks: &mut Acks, round: u32) {
    let mut rng = Rng(0x5eed_0000 + round as u64);
    for i in 0..30u32 {
        let id = format!("r{round}-m{i}");
        record(acks, con, b"conv:{g1}", id.as_bytes(), Some(format!("hello {i}").as_bytes()));
        if i % 10 == 9 {
            thread::sleep(Duration::from_millis(2));
        }
    }
    record(acks, con, b"conv:{g1}", format!("r{round}-m3").as_bytes(), Some(b"retry"));
    for i in 0..12u32 {
        let mut id = vec![0u8, 0xff, round as u8];
        id.extend_from_slice(&i.to_le_bytes());
        let payload = rng.bytes_below(300);
        record(acks, con, b"inbox:{u7}", &id, Some(&payload));
    }
    record(acks, con, b"bin:\x00\xff\r\n", format!("e{round}").as_bytes(), None);
    record(acks, con, b"bin:\x00\xff\r\n", format!("f{round}").as_bytes(), Some(b""));
    let compressible = vec![b'z'; 200_000];
    record(acks, con, b"big:{b}", format!("z{round}").as_bytes(), Some(&compressible));
    let random = rng.bytes(100_000);
    record(acks, con, b"big:{b}", format!("r{round}").as_bytes(), Some(&random));

    config_set(con, "seq.max-len", "4");
    for i in 0..10u32 {
        record(acks, con, b"trimmed:{t}", format!("r{round}-t{i}").as_bytes(), Some(b"t"));
    }
    config_set(con, "seq.max-len", "0");
    if round == 0 {
        record(acks, con, b"single", b"only", None);
        let _: () = redis::cmd("SET").arg("plain:string").arg("not a log").query(con).unwrap();
    }
}

/// The workload's state must be a real one (trimmed log, binary keys) for the checks to mean
/// something; asserts a few facts about it.
fn sanity(con: &mut Connection, state: &DbState) {
    assert!(state.logs.len() >= 6, "workload made {} logs", state.logs.len());
    let t = info_of(con, b"trimmed:{t}");
    assert!(t["first"] > 1 && t["length"] == 4, "trimmed:{{t}} is trimmed: {t:?}");
    assert!(t["dedup-entries"] > t["length"], "dedup outlives trimmed entries: {t:?}");
}

/// Compares with `before`, then checks every old id still gets its first seq (changing
/// nothing), then that each log continues at last + 1.
fn verify(con: &mut Connection, before: &DbState, acks: &Acks, what: &str) {
    let after = db_state(con);
    assert_same_db(before, &after, what);
    for ((key, id), seq) in acks {
        let got = alloc(con, key, id, Some(b"a retry after the round trip"));
        assert_eq!(got, *seq, "{what}: retry of {} in {}", show_bytes(id), show_bytes(key));
    }
    assert_same_db(before, &db_state(con), &format!("{what}, after retrying old ids"));
    for (key, state) in &before.logs {
        let last_before = state.info.iter().find(|(k, _)| k == "last").map(|(_, v)| v.clone());
        let Some(Value::Int(l)) = last_before else { panic!("no last in {:?}", state.info) };
        assert_eq!(
            alloc(con, key, b"new after the round trip", None),
            l + 1,
            "{what}: next seq of {}",
            show_bytes(key)
        );
    }
}

fn prepare(con: &mut Connection) -> (DbState, Acks) {
    let mut acks = Acks::new();
    workload(con, &mut acks, 0);
    let before = db_state(con);
    sanity(con, &before);
    (before, acks)
}

#[test]
fn digest_value_reflects_the_content() {
    // Without this, equal DEBUG DIGEST-VALUEs below would prove nothing.
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    alloc(&mut con, b"a", b"x", Some(b"p"));
    let d1 = digest_value(&mut con, b"a");
    assert_ne!(d1, vec![b'0'; d1.len()], "DEBUG DIGEST-VALUE of a log is all zeros");
    alloc(&mut con, b"a", b"x", Some(b"retry"));
    assert_eq!(digest_value(&mut con, b"a"), d1, "a retry changed the digest");
    alloc(&mut con, b"a", b"y", Some(b"p"));
    let d2 = digest_value(&mut con, b"a");
    assert_ne!(d1, d2, "an append did not change DEBUG DIGEST-VALUE");
    alloc(&mut con, b"b", b"x", Some(b"q"));
    alloc(&mut con, b"c", b"x", Some(b"r"));
    assert_ne!(digest_value(&mut con, b"b"), digest_value(&mut con, b"c"), "payload not in the digest");
    alloc(&mut con, b"d", b"x1", Some(b"r"));
    alloc(&mut con, b"e", b"x2", Some(b"r"));
    assert_ne!(digest_value(&mut con, b"d"), digest_value(&mut con, b"e"), "id not in the digest");
}

#[test]
fn debug_reload_keeps_everything() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let (before, acks) = prepare(&mut con);
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    verify(&mut con, &before, &acks, "DEBUG RELOAD");
}

#[test]
fn rdb_save_and_restart_keeps_everything() {
    let (mut server, _dir) = start_seq(&["--dbfilename", "dump.rdb"]);
    let mut con = server.connect();
    let (before, acks) = prepare(&mut con);
    let _: () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    // BGSAVE goes through the same callbacks in a child; it must succeed too.
    let _: Value = redis::cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    let done = wait_until(Duration::from_secs(30), || {
        info_field(&mut con, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("0")
    });
    assert!(done, "BGSAVE did not finish");
    assert_eq!(info_field(&mut con, "persistence", "rdb_last_bgsave_status").as_deref(), Some("ok"));
    drop(con);
    server.restart();
    let mut con = server.connect();
    verify(&mut con, &before, &acks, "SAVE + restart");
}

fn aof_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn aof_rewrite_then_restart(preamble: &str) {
    let (mut server, dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
    let mut con = server.connect();
    let mut acks = Acks::new();
    workload(&mut con, &mut acks, 0);
    rewrite_aof(&mut con);
    let files = aof_files(&dir.0);
    let base_ext = if preamble == "yes" { ".base.rdb" } else { ".base.aof" };
    assert!(files.iter().any(|f| f.ends_with(base_ext)), "no *{base_ext} after BGREWRITEAOF: {files:?}");
    // More writes after the rewrite land in the incremental file on top of the base.
    workload(&mut con, &mut acks, 1);
    let before = db_state(&mut con);
    sanity(&mut con, &before);
    drop(con);
    thread::sleep(Duration::from_millis(20));
    server.restart();
    let mut con = server.connect();
    verify(&mut con, &before, &acks, &format!("BGREWRITEAOF (aof-use-rdb-preamble {preamble}) + restart"));
}

#[test]
fn aof_rewritten_with_rdb_preamble_keeps_everything() {
    aof_rewrite_then_restart("yes");
}

#[test]
fn aof_rewritten_without_rdb_preamble_keeps_everything() {
    aof_rewrite_then_restart("no");
}

#[test]
fn plain_aof_replay_keeps_everything() {
    // Replay happens later than the original commands and with seq.max-len back at its
    // default: only replicated effects (seq, ts, trim point) reproduce the same state.
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"]);
    let mut con = server.connect();
    let (before, acks) = prepare(&mut con);
    drop(con);
    thread::sleep(Duration::from_millis(50));
    server.restart();
    let mut con = server.connect();
    verify(&mut con, &before, &acks, "AOF replay");
    // And once more, after the replayed-and-extended AOF is replayed again.
    let again = db_state(&mut con);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_db(&again, &db_state(&mut con), "second AOF replay");
}

#[test]
fn dump_restore_gives_an_identical_log() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let (before, acks) = prepare(&mut con);
    for (key, state) in &before.logs {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut con).expect("DUMP");
        let mut copy = b"restored:".to_vec();
        copy.extend_from_slice(key);
        let ok: String = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&payload).query(&mut con).expect("RESTORE");
        assert_eq!(ok, "OK");
        assert_eq!(&log_state(&mut con, &copy), state, "RESTORE of {} differs", show_bytes(key));
        // RESTORE onto an existing key needs REPLACE.
        let e = expect_err(&mut con, redis::cmd("RESTORE").arg(&copy).arg(0).arg(&payload));
        assert!(e.starts_with("BUSYKEY"), "RESTORE over an existing key: {e}");
        alloc(&mut con, &copy, b"diverge", None);
        let _: String = redis::cmd("RESTORE")
            .arg(&copy)
            .arg(0)
            .arg(&payload)
            .arg("REPLACE")
            .query(&mut con)
            .expect("RESTORE REPLACE");
        assert_eq!(&log_state(&mut con, &copy), state, "RESTORE REPLACE of {} differs", show_bytes(key));
        // The restored log answers the old ids and continues its own numbering.
        for ((k, id), seq) in &acks {
            if k == key {
                assert_eq!(alloc(&mut con, &copy, id, None), *seq, "restored retry of {}", show_bytes(id));
            }
        }
        let l = info_of(&mut con, &copy)["last"];
        assert_eq!(alloc(&mut con, &copy, b"next", None), l + 1);
        assert_eq!(&log_state(&mut con, key), state, "writing the restored copy changed the original");
    }
    // RESTORE with a TTL keeps the value and sets the TTL.
    let payload: Vec<u8> = redis::cmd("DUMP").arg("conv:{g1}").query(&mut con).unwrap();
    let _: String = redis::cmd("RESTORE").arg("ttl:{g1}").arg(100_000).arg(&payload).query(&mut con).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("ttl:{g1}").query(&mut con).unwrap();
    assert!(pttl > 0 && pttl <= 100_000, "PTTL {pttl}");
    assert_eq!(entries(&mut con, b"ttl:{g1}"), before.logs[&b"conv:{g1}".to_vec()].entries);
}

#[test]
fn copy_makes_an_independent_identical_log() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let (before, _acks) = prepare(&mut con);
    for (key, state) in &before.logs {
        let mut dst = b"copy:".to_vec();
        dst.extend_from_slice(key);
        let r: redis::RedisResult<i64> = redis::cmd("COPY").arg(key).arg(&dst).query(&mut con);
        match r {
            Ok(n) => assert_eq!(n, 1, "COPY {}", show_bytes(key)),
            Err(e) => panic!("COPY {} failed: {}", show_bytes(key), error_text(&e)),
        }
        assert_eq!(&log_state(&mut con, &dst), state, "COPY of {} differs", show_bytes(key));
        // Independent: writing either side leaves the other alone.
        let l = info_of(&mut con, key)["last"];
        assert_eq!(alloc(&mut con, &dst, b"only in the copy", None), l + 1);
        assert_eq!(&log_state(&mut con, key), state, "writing the copy changed the original");
        let copy_state = log_state(&mut con, &dst);
        assert_eq!(alloc(&mut con, key, b"only in the original", None), l + 1);
        assert_eq!(log_state(&mut con, &dst), copy_state, "writing the original changed the copy");
        let n: i64 = redis::cmd("COPY").arg(key).arg(&dst).query(&mut con).unwrap();
        assert_eq!(n, 0, "COPY onto an existing key without REPLACE");
        let n: i64 = redis::cmd("COPY").arg(key).arg(&dst).arg("REPLACE").query(&mut con).unwrap();
        assert_eq!(n, 1);
        let orig = log_state(&mut con, key);
        assert_eq!(log_state(&mut con, &dst), orig, "COPY REPLACE");
    }
    // To another database.
    let n: i64 = redis::cmd("COPY").arg("conv:{g1}").arg("conv:{g1}").arg("DB").arg(1).query(&mut con).unwrap();
    assert_eq!(n, 1);
    let orig = log_state(&mut con, b"conv:{g1}");
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    assert_eq!(log_state(&mut con, b"conv:{g1}"), orig, "COPY ... DB 1");
}

#[test]
fn migrate_moves_an_identical_log() {
    let (src, _d1) = start_seq(&[]);
    let (dst, _d2) = start_seq(&[]);
    let mut con = src.connect();
    let mut dcon = dst.connect();
    let (before, acks) = prepare(&mut con);
    for (key, state) in &before.logs {
        let ok: String = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(dst.port)
            .arg(key)
            .arg(0)
            .arg(5000)
            .arg("COPY")
            .query(&mut con)
            .unwrap_or_else(|e| panic!("MIGRATE COPY {}: {}", show_bytes(key), error_text(&e)));
        assert_eq!(ok, "OK");
        assert_eq!(&log_state(&mut dcon, key), state, "MIGRATE COPY of {}", show_bytes(key));
    }
    for ((key, id), seq) in &acks {
        if before.logs.contains_key(key) {
            assert_eq!(alloc(&mut dcon, key, id, None), *seq, "migrated retry of {}", show_bytes(id));
        }
    }
    // Without COPY the source key goes away.
    let _: String = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(dst.port)
        .arg("single")
        .arg(0)
        .arg(5000)
        .arg("REPLACE")
        .query(&mut con)
        .expect("MIGRATE REPLACE");
    let n: i64 = redis::cmd("EXISTS").arg("single").query(&mut con).unwrap();
    assert_eq!(n, 0, "MIGRATE without COPY keeps the source key");
    assert_eq!(log_state(&mut dcon, b"single"), before.logs[&b"single".to_vec()]);
}

#[test]
fn sigkill_under_appendfsync_always_keeps_every_acknowledged_seq() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--appendfsync", "always"]);
    // (key, client-msg-id, payload, seq) of every acknowledged allocation
    type Acked = Vec<(Vec<u8>, Vec<u8>, Vec<u8>, i64)>;
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let url = server.url();
            let acked = acked.clone();
            thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut rng = Rng(1000 + t);
                for i in 0.. {
                    let key = format!("conv:{{k{}}}", rng.below(3)).into_bytes();
                    let id = format!("t{t}-{i}").into_bytes();
                    let payload = rng.bytes_below(64);
                    match redis::cmd("SEQ.ALLOC").arg(&key).arg(&id).arg(&payload).query::<i64>(&mut con) {
                        Ok(seq) => acked.lock().unwrap().push((key.clone(), id, payload, seq)),
                        Err(_) => return, // the server is gone
                    }
                    if i % 50 == 49 {
                        // Some retries of acknowledged ids, mixed in.
                        let retry_id = format!("t{t}-{}", i - 10).into_bytes();
                        let _ = redis::cmd("SEQ.ALLOC").arg(&key).arg(&retry_id).query::<i64>(&mut con);
                    }
                }
            })
        })
        .collect();
    assert!(
        wait_until(Duration::from_secs(30), || acked.lock().unwrap().len() >= 400),
        "fewer than 400 allocations were acknowledged in 30 s"
    );
    server.kill();
    for t in threads {
        t.join().expect("client thread");
    }
    let acked = acked.lock().unwrap().clone();
    server.start_again();
    let mut con = server.connect();

    let mut by_key: BTreeMap<Vec<u8>, Vec<Entry>> = BTreeMap::new();
    for key in all_keys(&mut con) {
        let es = entries(&mut con, &key);
        let l = last(&mut con, &key);
        assert_eq!(
            es.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=l).collect::<Vec<_>>(),
            "{}: entries after the crash are not exactly 1..=last",
            show_bytes(&key)
        );
        by_key.insert(key, es);
    }
    for (key, id, payload, seq) in &acked {
        let es = by_key.get(key).unwrap_or_else(|| panic!("{} lost entirely", show_bytes(key)));
        let e = es
            .get((*seq - 1) as usize)
            .unwrap_or_else(|| panic!("acknowledged seq {seq} of {} lost (last {})", show_bytes(key), es.len()));
        assert_eq!(
            (&e.id, &e.payload),
            (id, payload),
            "acknowledged seq {seq} of {} holds another entry",
            show_bytes(key)
        );
    }
    let before = db_state(&mut con);
    for (key, id, _, seq) in &acked {
        assert_eq!(alloc(&mut con, key, id, Some(b"retry")), *seq, "retry after the crash of {}", show_bytes(id));
    }
    assert_same_db(&before, &db_state(&mut con), "retries after the crash");
}

#[test]
fn cursors_and_explicit_trims_survive_reload_and_aof_replay() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes"]);
    let mut con = server.connect();
    for i in 1..=10 {
        alloc(&mut con, b"conv:{c}", format!("m{i}").as_bytes(), Some(b"p"));
    }
    for i in 1..=3 {
        alloc(&mut con, b"emptied", format!("m{i}").as_bytes(), None);
    }
    let ack = |con: &mut Connection, key: &str, who: &[u8], seq: i64| -> i64 {
        redis::cmd("SEQ.ACK").arg(key).arg(who).arg(seq).query(con).expect("SEQ.ACK")
    };
    assert_eq!(ack(&mut con, "conv:{c}", b"dev:a", 5), 5);
    assert_eq!(ack(&mut con, "conv:{c}", b"dev:\x00b", 10), 10);
    assert_eq!(ack(&mut con, "conv:{c}", b"dev:c", 0), 0);
    let n: i64 = redis::cmd("SEQ.TRIM").arg("conv:{c}").arg("MINSEQ").arg(4).query(&mut con).expect("SEQ.TRIM");
    assert_eq!(n, 3);
    let n: i64 = redis::cmd("SEQ.TRIM").arg("emptied").arg("MAXLEN").arg(0).query(&mut con).expect("SEQ.TRIM");
    assert_eq!(n, 3);
    let snapshot = |con: &mut Connection| {
        let c = cursors(con, b"conv:{c}");
        let unread: i64 = redis::cmd("SEQ.UNREAD").arg("conv:{c}").arg("dev:a").query(con).unwrap();
        (db_state(con), c, unread)
    };
    let before = snapshot(&mut con);
    assert_eq!(before.1.len(), 3, "three cursors: {:?}", before.1);
    assert_eq!(before.2, 5, "dev:a has seqs 6..=10 unread");
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    let after = snapshot(&mut con);
    assert_same_db(&before.0, &after.0, "DEBUG RELOAD with cursors");
    assert_eq!((&before.1, before.2), (&after.1, after.2), "cursors after DEBUG RELOAD");
    drop(con);
    server.restart();
    let mut con = server.connect();
    let after = snapshot(&mut con);
    assert_same_db(&before.0, &after.0, "AOF replay with cursors");
    assert_eq!((&before.1, before.2), (&after.1, after.2), "cursors after AOF replay");
    assert_eq!(alloc(&mut con, b"emptied", b"m1", None), 1, "dedup of a fully trimmed log");
    assert_eq!(alloc(&mut con, b"emptied", b"m4", None), 4, "a fully trimmed log continues at last + 1");
}
