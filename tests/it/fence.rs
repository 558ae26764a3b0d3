//! The failover fence where it matters: a master acknowledges allocations its replica
//! never receives, dies, and the replica is promoted.
//!
//! Replication is cut without losing what was already sent: the replica is SIGSTOPped,
//! the master drops it (`CLIENT KILL TYPE replica`; it cannot reconnect while stopped),
//! the master acknowledges 50 more allocations, the master is SIGKILLed, the replica
//! SIGCONTinued and promoted with `REPLICAOF NO ONE`.
//!
//! With `seq.failover-gap 1000`: promotion changes no log; the first SEQ.ALLOC on each
//! log returns `last + 1000 + 1`, every seq the promoted node hands out is above every
//! seq the dead master handed out; SEQ.INFO shows `epoch` and `skipped-seqs`; a log keeps
//! its epoch until written; a second failover moves the epoch up again; the epoch
//! survives DEBUG RELOAD and a restart. With gap 0: no skip, no hole.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::*;

const GAP: i64 = 1000;

/// `SEQ.ALLOC key id "payload of <id>"`.
fn alloc_msg(con: &mut redis::Connection, key: &str, id: &str) -> i64 {
    alloc(con, key, id, Some(format!("payload of {id}").as_bytes()))
}

fn node_epoch(con: &mut redis::Connection) -> Option<i64> {
    info_section(con, "seq").get("seq_epoch").and_then(|v| v.parse().ok())
}

fn promote(con: &mut redis::Connection) {
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(con).expect("REPLICAOF NO ONE");
    let role = info_section(con, "replication").get("role").cloned();
    assert_eq!(role.as_deref(), Some("master"), "REPLICAOF NO ONE did not make a master");
}

/// Cuts replication from `master` to `replica` without the replica receiving anything
/// more: SIGSTOP the replica, then drop its link on the master (it cannot reconnect while
/// stopped). The caller SIGCONTs it later (after killing the master).
fn cut_replication(master: &Server, replica: &Server) {
    signal(replica.pid().expect("replica pid"), "STOP");
    let mut m = master.connect();
    let killed: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).expect("CLIENT KILL TYPE replica");
    assert_eq!(killed, 1, "the master should have dropped exactly one replica link");
    assert!(
        wait_until(Duration::from_secs(5), || info_section(&mut m, "replication")
            .get("connected_slaves")
            .map(String::as_str)
            == Some("0")),
        "the master still lists a replica"
    );
}

/// The scenario up to the promotion; returns (promoted replica, what the dead master
/// handed out: key -> [(id, seq)], last on the replica per key before promotion).
struct Failed {
    promoted: Server,
    _dir: crate::common::ScratchDir,
    dead_master_gave: BTreeMap<String, Vec<(String, i64)>>,
    last_before: BTreeMap<String, i64>,
}

const A: &str = "conv:{a}";
const B: &str = "conv:{b}";
const C: &str = "conv:{c}";
const D: &str = "conv:{d}";

fn fail_over_with_lost_writes(gap: i64) -> Failed {
    let gap_s = gap.to_string();
    let args = ["--enable-debug-command", "local", "--seq.failover-gap", gap_s.as_str()];
    let (mut master, _mdir) = Server::start(&args);
    let (replica, rdir) = Server::start(&args);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    for key in [A, B, C, D] {
        for i in 1..=10 {
            assert_eq!(alloc_msg(&mut m, key, &format!("pre-{key}-{i}")), i);
        }
    }
    let mi = info_of(&mut m, A);
    assert_eq!(mi.get("epoch"), Some(&0), "a log written on a never-promoted master is in epoch 0: {mi:?}");
    assert_eq!(mi.get("skipped-seqs"), Some(&0), "{mi:?}");
    wait_for_replica_offset(&master, &replica);
    let mut r = replica.connect();
    for key in [A, B, C, D] {
        assert_eq!(
            digest_value(&mut m, key.as_bytes()),
            digest_value(&mut r, key.as_bytes()),
            "{key}: replica in sync before the cut"
        );
    }
    let last_before: BTreeMap<String, i64> = [A, B, C, D].iter().map(|k| (k.to_string(), 10)).collect();

    // The master acknowledges 50 allocations the replica never receives.
    cut_replication(&master, &replica);
    let mut gave: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for i in 0..50 {
        let key = if i % 2 == 0 { A } else { B };
        let id = format!("lost-{i}");
        let seq = alloc_msg(&mut m, key, &id);
        gave.entry(key.to_string()).or_default().push((id, seq));
    }
    assert_eq!(last(&mut m, A), 35);
    assert_eq!(last(&mut m, B), 35);
    let w: i64 = redis::cmd("WAIT").arg(1).arg(100).query(&mut m).unwrap();
    assert_eq!(w, 0, "no replica acknowledged the 50 allocations (WAIT would have told the client)");
    master.kill();
    signal(replica.pid().unwrap(), "CONT");

    let mut r = replica.connect();
    for key in [A, B, C, D] {
        assert_eq!(last(&mut r, key), 10, "{key}: the replica never received the 50 allocations");
    }
    let before: BTreeMap<&str, BTreeMap<String, i64>> = [A, B, C, D].iter().map(|k| (*k, info_of(&mut r, k))).collect();
    promote(&mut r);
    // Promotion itself changes no log.
    for key in [A, B, C, D] {
        let after = info_of(&mut r, key);
        assert_eq!(after, before[key], "{key}: SEQ.INFO changed by the promotion alone");
        assert_eq!(after.get("epoch"), Some(&0), "{key}: epoch before any write on the promoted node: {after:?}");
    }
    Failed { promoted: replica, _dir: rdir, dead_master_gave: gave, last_before }
}

#[test]
fn fence_skips_gap_after_promotion_and_epoch_grows() {
    let t0 = std::time::Instant::now();
    let f = fail_over_with_lost_writes(GAP);
    let mut r = f.promoted.connect();
    assert_eq!(node_epoch(&mut r), Some(1), "INFO seq seq_epoch after the first promotion (max seen 0, + 1)");

    // A de-duplicated retry changes nothing: no skip, the log keeps its epoch.
    assert_eq!(alloc_msg(&mut r, C, &format!("pre-{C}-3")), 3, "retry of an id the replica has");
    let ci = info_of(&mut r, C);
    assert_eq!(
        (field(&ci, "last"), field(&ci, "epoch"), field(&ci, "skipped-seqs")),
        (10, 0, 0),
        "{C} after a dedup hit: {ci:?}"
    );

    // First ALLOC per log after the promotion skips exactly GAP seqs.
    let mut promoted_gave: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for key in [A, B] {
        let first = alloc_msg(&mut r, key, &format!("post-{key}-0"));
        assert_eq!(
            first,
            f.last_before[key] + GAP + 1,
            "{key}: first allocation after the promotion = last_R + gap + 1"
        );
        promoted_gave.entry(key).or_default().push(first);
        // The ids the dead master acknowledged, retried by their clients: new to this node.
        for (id, _) in &f.dead_master_gave[key] {
            let s = alloc_msg(&mut r, key, id);
            promoted_gave.entry(key).or_default().push(s);
        }
        for i in 1..=5 {
            promoted_gave.entry(key).or_default().push(alloc_msg(&mut r, key, &format!("post-{key}-{i}")));
        }
        let got = &promoted_gave[key];
        assert_eq!(*got, (first..first + got.len() as i64).collect::<Vec<_>>(), "{key}: continuous after the skip");
        let max_dead = f.dead_master_gave[key].iter().map(|(_, s)| *s).max().unwrap();
        assert!(
            got.iter().all(|s| *s > max_dead),
            "{key}: the promoted node handed out {got:?}, the dead master up to {max_dead}: a seq went to two messages"
        );
        let i = info_of(&mut r, key);
        assert_eq!(field(&i, "epoch"), 1, "{key}: SEQ.INFO epoch after the first write in epoch 1: {i:?}");
        assert_eq!(field(&i, "skipped-seqs"), GAP, "{key}: SEQ.INFO skipped-seqs: {i:?}");
        assert_eq!(field(&i, "last"), *got.last().unwrap(), "{key}: {i:?}");
        assert_eq!(field(&i, "length"), 10 + got.len() as i64, "{key}: skipped seqs hold no entries: {i:?}");
        assert_eq!(field(&i, "first"), 1, "{key}: {i:?}");
        // The skipped seqs hold nothing, forever.
        let hole = range(&mut r, key, "11", &(10 + GAP).to_string(), None);
        assert!(hole.is_empty(), "{key}: the skipped seqs 11..={} must hold nothing, got {hole:?}", 10 + GAP);
        let es = entries(&mut r, key);
        let seqs: Vec<i64> = es.iter().map(|e| e.seq).collect();
        let mut want: Vec<i64> = (1..=10).collect();
        want.extend(got.iter().copied());
        assert_eq!(seqs, want, "{key}: entries");
        // Further allocations in the same epoch do not skip again.
        let l = field(&i, "last");
        assert_eq!(alloc_msg(&mut r, key, &format!("post-{key}-again")), l + 1);
    }
    // Logs untouched since the promotion keep their epoch until written.
    for key in [C, D] {
        let i = info_of(&mut r, key);
        assert_eq!(
            (field(&i, "epoch"), field(&i, "skipped-seqs"), field(&i, "last")),
            (0, 0, 10),
            "{key} untouched: {i:?}"
        );
    }
    assert_eq!(alloc_msg(&mut r, C, "post-c-1"), 10 + GAP + 1, "{C}: first new id after the promotion skips too");
    let ci = info_of(&mut r, C);
    assert_eq!((field(&ci, "epoch"), field(&ci, "skipped-seqs")), (1, GAP), "{C}: {ci:?}");
    println!("first failover: logs a, b, c skipped {GAP}; d untouched (epoch 0)");

    // --- second failover: a new replica of the promoted node, promoted in turn ----------
    let args = ["--enable-debug-command", "local", "--seq.failover-gap", "1000"];
    let (r2, _r2dir) = Server::start(&args);
    attach_replica(&f.promoted, &r2);
    let a_last = last(&mut r, A);
    assert_eq!(alloc_msg(&mut r, A, "epoch1-extra"), a_last + 1);
    wait_for_replica_offset(&f.promoted, &r2);
    let mut c2 = r2.connect();
    for key in [A, B, C, D] {
        assert_eq!(
            digest_value(&mut r, key.as_bytes()),
            digest_value(&mut c2, key.as_bytes()),
            "{key}: replica of the promoted node in sync"
        );
        assert_eq!(info_of(&mut r, key), info_of(&mut c2, key), "{key}: SEQ.INFO on master and replica (same epoch)");
    }
    let mut promoted1 = f.promoted;
    promoted1.kill();
    let before: BTreeMap<&str, BTreeMap<String, i64>> =
        [A, B, C, D].iter().map(|k| (*k, info_of(&mut c2, k))).collect();
    promote(&mut c2);
    assert_eq!(node_epoch(&mut c2), Some(2), "INFO seq seq_epoch after the second promotion (max seen 1, + 1)");
    for key in [A, B, C, D] {
        assert_eq!(info_of(&mut c2, key), before[key], "{key}: the second promotion changed the log");
    }
    let a_last = last(&mut c2, A);
    assert_eq!(alloc_msg(&mut c2, A, "epoch2-a"), a_last + GAP + 1, "{A}: epoch 1 -> 2 skips again");
    let ai = info_of(&mut c2, A);
    assert_eq!((field(&ai, "epoch"), field(&ai, "skipped-seqs")), (2, 2 * GAP), "{A}: {ai:?}");
    assert_eq!(alloc_msg(&mut c2, D, "epoch2-d"), 10 + GAP + 1, "{D}: epoch 0 -> 2 skips once");
    let di = info_of(&mut c2, D);
    assert_eq!((field(&di, "epoch"), field(&di, "skipped-seqs")), (2, GAP), "{D}: {di:?}");
    let bi = info_of(&mut c2, B);
    assert_eq!(field(&bi, "epoch"), 1, "{B}: not yet written in epoch 2: {bi:?}");

    // --- the epoch survives DEBUG RELOAD ------------------------------------------------
    let infos: BTreeMap<&str, BTreeMap<String, i64>> = [A, B, C, D].iter().map(|k| (*k, info_of(&mut c2, k))).collect();
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut c2).expect("DEBUG RELOAD");
    assert_eq!(node_epoch(&mut c2), Some(2), "seq_epoch after DEBUG RELOAD");
    for key in [A, B, C, D] {
        assert_eq!(info_of(&mut c2, key), infos[key], "{key}: SEQ.INFO after DEBUG RELOAD");
    }
    let a_last = last(&mut c2, A);
    assert_eq!(
        alloc_msg(&mut c2, A, "after-reload-a"),
        a_last + 1,
        "{A}: written in epoch 2 already: no skip after DEBUG RELOAD"
    );
    let b_last = last(&mut c2, B);
    assert_eq!(
        alloc_msg(&mut c2, B, "after-reload-b"),
        b_last + GAP + 1,
        "{B}: epoch 1 log, first write in epoch 2 after DEBUG RELOAD skips"
    );

    // --- and a restart ------------------------------------------------------------------
    let _: () = redis::cmd("SAVE").query(&mut c2).expect("SAVE");
    let infos: BTreeMap<&str, BTreeMap<String, i64>> = [A, B, C, D].iter().map(|k| (*k, info_of(&mut c2, k))).collect();
    drop(c2);
    let mut r2 = r2;
    r2.restart();
    let mut c2 = r2.connect();
    assert_eq!(info_section(&mut c2, "replication").get("role").map(String::as_str), Some("master"));
    let e = node_epoch(&mut c2);
    assert!(e.map(|e| e >= 2).unwrap_or(false), "seq_epoch after a restart must not go back: {e:?}");
    for key in [A, B, C, D] {
        assert_eq!(info_of(&mut c2, key), infos[key], "{key}: SEQ.INFO after SAVE + restart");
    }
    let a_last = last(&mut c2, A);
    assert_eq!(alloc_msg(&mut c2, A, "after-restart-a"), a_last + 1, "{A}: a restart is no promotion: no skip");
    let c_last = last(&mut c2, C);
    assert_eq!(alloc_msg(&mut c2, C, "after-restart-c"), c_last + GAP + 1, "{C}: epoch 1 log, first write in epoch 2");

    // --- a third promotion goes above everything seen ----------------------------------
    let (r3, _r3dir) = Server::start(&args);
    attach_replica(&r2, &r3);
    wait_for_replica_offset(&r2, &r3);
    r2.kill();
    let mut c3 = r3.connect();
    promote(&mut c3);
    assert_eq!(node_epoch(&mut c3), Some(3), "seq_epoch after the third promotion");
    let a_last = last(&mut c3, A);
    assert_eq!(alloc_msg(&mut c3, A, "epoch3-a"), a_last + GAP + 1);
    let ai = info_of(&mut c3, A);
    assert_eq!((field(&ai, "epoch"), field(&ai, "skipped-seqs")), (3, 3 * GAP), "{A}: {ai:?}");
    println!("fence with gap {GAP}: 3 promotions, epochs 1, 2, 3; 50 lost allocations fenced off; {:?}", t0.elapsed());
}

/// A log the replica never saw: the old master creates it after the cut and hands out
/// seqs 1..=3, then dies. On the promoted node the log does not exist, so it counts as
/// last written in epoch 0: the SEQ.ALLOC that creates it returns `GAP + 1`, above every
/// seq the dead master gave on it. (Before issue 14 it returned 1, 2, 3 again, to other
/// messages.)
#[test]
fn fence_covers_a_log_created_after_the_cut() {
    const NEW: &str = "conv:new";
    let gap_s = GAP.to_string();
    let args = ["--enable-debug-command", "local", "--seq.failover-gap", gap_s.as_str()];
    let (mut master, _mdir) = Server::start(&args);
    let (replica, _rdir) = Server::start(&args);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    assert_eq!(alloc_msg(&mut m, A, "before-the-cut"), 1, "a log created in epoch 0 starts at 1");
    wait_for_replica_offset(&master, &replica);

    cut_replication(&master, &replica);
    let gave: Vec<i64> = (1..=3).map(|i| alloc_msg(&mut m, NEW, &format!("lost-{i}"))).collect();
    assert_eq!(gave, vec![1, 2, 3], "the old master, in epoch 0, creates {NEW} at seq 1");
    master.kill();
    signal(replica.pid().expect("replica pid"), "CONT");

    let mut r = replica.connect();
    assert!(seq_info(&mut r, NEW).is_none(), "the replica never received {NEW}");
    promote(&mut r);
    assert_eq!(node_epoch(&mut r), Some(1));
    assert!(seq_info(&mut r, NEW).is_none(), "promotion itself creates no log");
    let first = alloc_msg(&mut r, NEW, "post-0");
    assert_eq!(first, GAP + 1, "the ALLOC that creates a log on a node in epoch 1 skips the gap");
    let i = info_of(&mut r, NEW);
    assert_eq!(
        (field(&i, "last"), field(&i, "epoch"), field(&i, "skipped-seqs"), field(&i, "length"), field(&i, "first")),
        (GAP + 1, 1, GAP, 1, GAP + 1),
        "{NEW} on the promoted node: {i:?}"
    );
    // The dead master's ids, retried, are new here and get seqs above the gap; no skip again.
    let retried: Vec<i64> = (1..=3).map(|i| alloc_msg(&mut r, NEW, &format!("lost-{i}"))).collect();
    assert_eq!(retried, vec![GAP + 2, GAP + 3, GAP + 4]);
    assert!(retried.iter().all(|s| !gave.contains(s)), "a seq went to two messages: {gave:?} then {retried:?}");
    let hole = range(&mut r, NEW, "1", &gap_s, None);
    assert!(hole.is_empty(), "the skipped seqs 1..={GAP} hold nothing: {hole:?}");
    // A log that existed keeps the ordinary rule: its first ALLOC in epoch 1 skips too.
    assert_eq!(alloc_msg(&mut r, A, "after-promotion"), 1 + GAP + 1);
}

#[test]
fn no_fence_with_gap_zero() {
    let t0 = std::time::Instant::now();
    let f = fail_over_with_lost_writes(0);
    let mut r = f.promoted.connect();
    assert_eq!(node_epoch(&mut r), Some(1), "INFO seq seq_epoch moves on promotion whatever the gap");
    for key in [A, B] {
        let first = alloc_msg(&mut r, key, &format!("post-{key}-0"));
        assert_eq!(first, f.last_before[key] + 1, "{key}: gap 0: no skip after the promotion");
        // This is the hazard the fence exists for: the dead master gave this seq to another
        // message (its acknowledged-but-unreplicated `lost-*` ids).
        let (dead_id, dead_seq) = &f.dead_master_gave[key][0];
        assert_eq!(*dead_seq, first, "the dead master gave {first} to {dead_id}");
        for i in 1..=5 {
            assert_eq!(alloc_msg(&mut r, key, &format!("post-{key}-{i}")), first + i);
        }
        let i = info_of(&mut r, key);
        assert_eq!(field(&i, "skipped-seqs"), 0, "{key}: {i:?}");
        assert_eq!(field(&i, "epoch"), 1, "{key}: written in epoch 1: {i:?}");
        let seqs: Vec<i64> = entries(&mut r, key).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=16).collect::<Vec<_>>(), "{key}: continuous, no hole");
    }
    for key in [C, D] {
        let i = info_of(&mut r, key);
        assert_eq!((field(&i, "epoch"), field(&i, "skipped-seqs")), (0, 0), "{key}: {i:?}");
        assert_eq!(alloc_msg(&mut r, key, "post"), 11);
    }
    println!(
        "gap 0: no skip; the promoted node re-issued seqs 11.. that the dead master had given to other messages; {:?}",
        t0.elapsed()
    );
}
