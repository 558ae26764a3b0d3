//! A lost or corrupt effect never becomes a legitimate-looking hole: an AOF whose
//! `SEQ.EFFECT ... APPEND` record was edited (its seq changed) loads a log marked damaged
//! (SEQ.INFO `damaged 1`), whose writes are refused with an ERR that says how to repair
//! it, counted by `INFO seq` and named in the server log; the mark survives DEBUG RELOAD
//! (RDB) and an AOF rewrite. A replica that missed effects marks its copy damaged, keeps
//! following its master, and is repaired by a full resync. An AOF written before APPEND
//! effects declared their skip still replays.

use std::path::{Path, PathBuf};

use crate::common::*;
use redis::Connection;

/// The incremental AOF file (commands since the base) of a server's directory.
fn incr_aof(dir: &Path) -> PathBuf {
    let aof_dir = dir.join("appendonlydir");
    std::fs::read_dir(&aof_dir)
        .expect("appendonlydir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap_or_else(|| panic!("no *.incr.aof in {}", aof_dir.display()))
}

/// Each command of an AOF as the byte ranges of its arguments.
fn commands(aof: &[u8]) -> Vec<Vec<std::ops::Range<usize>>> {
    fn line(aof: &[u8], pos: &mut usize, marker: u8) -> usize {
        assert_eq!(aof[*pos], marker, "unexpected AOF byte at {pos}");
        let end = *pos + aof[*pos..].windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let n = std::str::from_utf8(&aof[*pos + 1..end]).unwrap().parse().unwrap();
        *pos = end + 2;
        n
    }
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < aof.len() {
        let argc = line(aof, &mut pos, b'*');
        let args = (0..argc)
            .map(|_| {
                let len = line(aof, &mut pos, b'$');
                let range = pos..pos + len;
                pos += len + 2;
                range
            })
            .collect();
        out.push(args);
    }
    out
}

fn assert_damaged_and_refusing(con: &mut Connection, key: &str, when: &str) {
    let info = info_of(con, key);
    assert_eq!(field(&info, "damaged"), 1, "{when}: SEQ.INFO {info:?}");
    for write in [
        vec!["SEQ.ALLOC", key, "new-id", "x"],
        vec!["SEQ.ACK", key, "reader", "1"],
        vec!["SEQ.SYNC", key, "reader", "AFTER", "1"],
        vec!["SEQ.TRIM", key, "MAXLEN", "1"],
        vec!["SEQ.FORGET", key, "reader"],
    ] {
        let text = assert_err(con, &write, &["damaged", key, "docs/deployment.md#repairing-a-damaged-log"]);
        assert!(text.contains("repair"), "{when}: {write:?} refused without saying how to repair: {text}");
    }
    // Reads still answer, and a retry of an id it holds still gets its first seq.
    assert_eq!(last(con, key), 5, "{when}");
    assert_eq!(alloc(con, key, "m1", None), 1, "{when}: a retry on a damaged log");
}

#[test]
fn a_corrupt_append_in_the_aof_marks_the_log_damaged_and_refuses_its_writes() {
    let (mut server, dir) = start_seq(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = server.connect();
    for i in 1..=5 {
        assert_eq!(alloc(&mut con, "conv:{d}", format!("m{i}"), Some(b"p")), i);
    }
    alloc(&mut con, "conv:{fine}", "only", None);
    assert_eq!(field(&info_of(&mut con, "conv:{d}"), "damaged"), 0);
    drop(con);
    server.shutdown();

    // Change the seq (the first varint of the packed operand) of the third APPEND: 3 -> 4.
    let path = incr_aof(&dir.0);
    let mut aof = std::fs::read(&path).expect("read the AOF");
    let appends: Vec<_> = commands(&aof)
        .into_iter()
        .filter(|args| &aof[args[0].clone()] == b"SEQ.EFFECT" && &aof[args[2].clone()] == b"APPEND")
        .collect();
    assert_eq!(appends.len(), 6, "one APPEND effect per SEQ.ALLOC");
    let packed = appends[2][3].start;
    assert_eq!(aof[packed], 3, "the third append's packed seq");
    aof[packed] = 4;
    std::fs::write(&path, &aof).expect("write the AOF");

    server.start_again();
    let mut con = server.connect();
    assert_damaged_and_refusing(&mut con, "conv:{d}", "after loading the AOF");
    // Not a silent skip: the entry that did not fit is not there, and the log says so.
    assert_eq!(seqs(&entries(&mut con, "conv:{d}")), vec![1, 2, 4, 5]);
    assert_eq!(seq_stat(&mut con, "seq_damaged_logs"), 1);
    assert_eq!(seq_stat(&mut con, "seq_effect_errors"), 1);
    let log = server.log();
    let line =
        log.lines().find(|l| l.contains("is damaged")).unwrap_or_else(|| panic!("no log line:\n{}", tail(&log, 20)));
    assert!(line.contains("'conv:{d}'") && line.contains("APPEND") && line.contains("declared skip"), "{line}");
    // Another log is untouched.
    assert_eq!(alloc(&mut con, "conv:{fine}", "second", None), 2);
    assert_eq!(field(&info_of(&mut con, "conv:{fine}"), "damaged"), 0);

    // The mark is persisted: RDB (DEBUG RELOAD) and an AOF rewrite + reload keep it.
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_damaged_and_refusing(&mut con, "conv:{d}", "after DEBUG RELOAD");
    assert_eq!(seq_stat(&mut con, "seq_damaged_logs"), 1, "a reload counts the log once");
    let _: () = redis::cmd("CONFIG").arg("SET").arg("aof-use-rdb-preamble").arg("no").query(&mut con).unwrap();
    let _: redis::Value = redis::cmd("BGREWRITEAOF").query(&mut con).expect("BGREWRITEAOF");
    assert!(
        wait_until(std::time::Duration::from_secs(30), || {
            info_field(&mut con, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
                && info_field(&mut con, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
        }),
        "BGREWRITEAOF did not finish"
    );
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).expect("DEBUG LOADAOF");
    assert_damaged_and_refusing(&mut con, "conv:{d}", "after BGREWRITEAOF + DEBUG LOADAOF");
    assert_eq!(seq_stat(&mut con, "seq_damaged_logs"), 1);

    // DEL is one way out (the data is gone; see the docs): the count follows.
    assert_eq!(call_int(&mut con, &["DEL", "conv:{d}"]), 1);
    assert_eq!(seq_stat(&mut con, "seq_damaged_logs"), 0);
}

#[test]
fn a_replica_that_missed_effects_marks_the_log_damaged_and_keeps_following() {
    let (master, _mdir) = start_seq(&[]);
    let (replica, _rdir) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    let mut r = replica.connect();
    for i in 1..=5 {
        alloc(&mut m, "conv:{rep}", format!("m{i}"), None);
    }
    wait_for_replica_offset(&master, &replica);
    // The replica loses the log behind its master's back (a local write on a writable
    // replica): the master's next APPEND (seq 6, no skip declared) does not fit.
    config_set(&mut r, "replica-read-only", "no");
    assert_eq!(call_int(&mut r, &["DEL", "conv:{rep}"]), 1);
    config_set(&mut r, "replica-read-only", "yes");
    assert_eq!(alloc(&mut m, "conv:{rep}", "m6", None), 6);
    assert_eq!(alloc(&mut m, "conv:{rep}", "m7", None), 7);
    wait_for_replica_offset(&master, &replica);

    let info = info_of(&mut r, "conv:{rep}");
    assert_eq!(field(&info, "damaged"), 1, "replica SEQ.INFO {info:?}");
    // It keeps following its master (seq 7 applied), the gap is not passed off as a skip
    // without the mark, and the master's own log is intact.
    assert_eq!(seqs(&entries(&mut r, "conv:{rep}")), vec![7]);
    assert_eq!(seq_stat(&mut r, "seq_effect_errors"), 1, "one effect did not fit; the next one did");
    assert_eq!(seq_stat(&mut r, "seq_damaged_logs"), 1);
    assert_eq!(field(&info_of(&mut m, "conv:{rep}"), "damaged"), 0);
    assert_eq!(seq_stat(&mut m, "seq_damaged_logs"), 0);
    assert!(replica.log().contains("log 'conv:{rep}' is damaged"), "{}", tail(&replica.log(), 10));
    assert_eq!(info_field(&mut r, "replication", "master_link_status").as_deref(), Some("up"));

    // The documented repair: a full resync replaces the replica's copy with the master's.
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).expect("REPLICAOF NO ONE");
    attach_replica(&master, &replica);
    let mut r = replica.connect();
    assert_eq!(field(&info_of(&mut r, "conv:{rep}"), "damaged"), 0);
    assert_eq!(seqs(&entries(&mut r, "conv:{rep}")), (1..=7).collect::<Vec<i64>>());
    assert_eq!(seq_stat(&mut r, "seq_damaged_logs"), 0);
}

#[test]
fn an_aof_from_before_the_declared_skip_still_replays() {
    let (mut server, dir) = start_seq(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = server.connect();
    for i in 1..=4 {
        alloc(&mut con, "conv:{old}", format!("m{i}"), Some(b"p"));
    }
    drop(con);
    server.shutdown();

    // Drop the sixth number (the skip, 0: one byte) from every APPEND, as older builds wrote.
    let path = incr_aof(&dir.0);
    let aof = std::fs::read(&path).expect("read the AOF");
    let mut old_format = 0;
    let commands: Vec<Vec<Vec<u8>>> = commands(&aof)
        .into_iter()
        .map(|ranges| {
            let mut args: Vec<Vec<u8>> = ranges.into_iter().map(|r| aof[r].to_vec()).collect();
            if args[0] == b"SEQ.EFFECT" && args[2] == b"APPEND" {
                assert_eq!(args[3].pop(), Some(0), "the declared skip of an unfenced append");
                old_format += 1;
            }
            args
        })
        .collect();
    assert_eq!(old_format, 4);
    std::fs::write(&path, aof_bytes(&commands)).expect("write the AOF");

    server.start_again();
    let mut con = server.connect();
    let info = info_of(&mut con, "conv:{old}");
    assert_eq!((field(&info, "last"), field(&info, "damaged"), field(&info, "skipped-seqs")), (4, 0, 0), "{info:?}");
    assert_eq!(seq_stat(&mut con, "seq_effect_errors"), 0);
    assert_eq!(alloc(&mut con, "conv:{old}", "m1", None), 1, "the ids replayed too");
    assert_eq!(alloc(&mut con, "conv:{old}", "m5", None), 5);
}
