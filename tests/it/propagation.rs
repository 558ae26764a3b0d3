//! A master sends effects only where something receives them (src/module/propagation.rs):
//! with the AOF off, no replica and no replication backlog it sends none, and counts each
//! in `seq_effects_unsent`; yet every write still counts for save points, a replica
//! attached later (full sync) or reattached (partial resync from the backlog) holds
//! exactly the master's state, a master restarted from an RDB with replication info
//! fills the backlog it restored for a replica to resume from, a backlog Redis frees
//! later is noticed, and the AOF turned on at run time holds every write made from then
//! on.

use crate::common::*;
use redis::Connection;

fn unsent(con: &mut Connection) -> i64 {
    seq_stat(con, "seq_effects_unsent")
}

fn changes_since_save(con: &mut Connection) -> i64 {
    info_field(con, "persistence", "rdb_changes_since_last_save")
        .and_then(|v| v.parse().ok())
        .expect("INFO persistence")
}

/// `n` new messages on `key`, plus one in MULTI/EXEC and one from a script: `n + 2`
/// effects.
fn writes(con: &mut Connection, key: &str, tag: &str, n: usize) {
    for i in 0..n {
        alloc(con, key, format!("{tag}-{i}").as_bytes(), Some(b"payload"));
    }
    let _: Vec<i64> = redis::pipe()
        .atomic()
        .cmd("SEQ.ALLOC")
        .arg(key)
        .arg(format!("{tag}-multi"))
        .arg("m")
        .query(con)
        .expect("MULTI SEQ.ALLOC EXEC");
    let _: i64 = redis::cmd("EVAL")
        .arg("return redis.call('SEQ.ALLOC', KEYS[1], ARGV[1], 'from a script')")
        .arg(1)
        .arg(key)
        .arg(format!("{tag}-script"))
        .query(con)
        .expect("EVAL SEQ.ALLOC");
}

fn assert_same_state(master: &Server, replica: &Server, what: &str) {
    wait_for_replica_offset(master, replica);
    let ms = db_state(&mut master.connect());
    let rs = db_state(&mut replica.connect());
    assert!(!ms.logs.is_empty(), "{what}: the master has no logs");
    assert_same_db(&ms, &rs, what);
}

#[test]
fn a_lone_master_sends_nothing_and_replicas_attached_later_miss_nothing() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    let mut m = master.connect();

    writes(&mut m, "conv:lone", "a", 40);
    assert_eq!(unsent(&mut m), 42, "no AOF, replica or backlog: every effect unsent");
    assert_eq!(changes_since_save(&mut m), 42, "each unsent write still counts for save points");

    // A full sync: the replica gets the writes above from the RDB, those below as effects.
    attach_replica(&master, &replica);
    writes(&mut m, "conv:lone", "b", 20);
    writes(&mut m, "conv:other", "b", 5);
    assert_eq!(unsent(&mut m), 42, "with a replica every effect is sent");
    assert_same_state(&master, &replica, "after a full sync and more writes");

    // The replica's link drops; the backlog stays, so the effects written before the
    // replica reconnects (it retries once a second) go into it, and the replica resumes
    // from it (a partial resync) with nothing missing.
    let stat = |con: &mut Connection, name: &str| info_field(con, "stats", name).unwrap_or_default();
    let (full_before, partial_before) = (stat(&mut m, "sync_full"), stat(&mut m, "sync_partial_ok"));
    let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).expect("CLIENT KILL");
    assert_eq!(info_field(&mut m, "replication", "connected_slaves").as_deref(), Some("0"));
    writes(&mut m, "conv:lone", "c", 20);
    assert_eq!(unsent(&mut m), 42, "the backlog receives effects with no replica attached");
    let resumed = wait_until(std::time::Duration::from_secs(20), || stat(&mut m, "sync_partial_ok") != partial_before);
    assert!(resumed, "the replica never resumed; its log:\n{}", replica.log());
    assert_eq!(stat(&mut m, "sync_full"), full_before, "the replica came back by a partial resync");
    assert_same_state(&master, &replica, "after a partial resync from the backlog");
}

#[test]
fn the_aof_turned_on_at_run_time_receives_every_later_write() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    writes(&mut con, "conv:aof", "before", 30);
    assert_eq!(unsent(&mut con), 32);

    let _: () = redis::cmd("CONFIG").arg("SET").arg("appendonly").arg("yes").query(&mut con).expect("CONFIG SET");
    let rewritten = wait_until(std::time::Duration::from_secs(20), || {
        info_field(&mut con, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(&mut con, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
            && info_field(&mut con, "persistence", "aof_enabled").as_deref() == Some("1")
    });
    assert!(rewritten, "the AOF never came on; log:\n{}", server.log());
    writes(&mut con, "conv:aof", "after", 30);
    writes(&mut con, "conv:aof2", "after", 3);
    assert_eq!(unsent(&mut con), 32, "with the AOF on every effect is sent");

    // The AOF alone (its rewrite holds the first writes, its tail the later effects)
    // rebuilds everything.
    let before = db_state(&mut con);
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).expect("DEBUG LOADAOF");
    let after = db_state(&mut con);
    assert_eq!(after.logs.len(), 2);
    assert_same_db(&before, &after, "reloaded from the AOF");
}

#[test]
fn a_master_restarted_with_its_backlog_sends_for_replicas_to_resume() {
    let (mut master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    attach_replica(&master, &replica);
    writes(&mut master.connect(), "conv:restart", "a", 20);
    wait_for_replica_offset(&master, &replica);

    // The replica is frozen (it cannot reconnect); the master saves its data with the
    // replication id and offset, and comes back with a backlog and no replica.
    let replica_pid = replica.pid().expect("replica pid");
    signal(replica_pid, "STOP");
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg("SAVE").arg("NOW").query(&mut master.connect());
    assert!(wait_until(std::time::Duration::from_secs(10), || master.try_connect().is_err()));
    master.kill();
    master.start_again();
    let mut m = master.connect();
    assert_eq!(info_field(&mut m, "replication", "repl_backlog_active").as_deref(), Some("1"));
    assert_eq!(info_field(&mut m, "replication", "connected_slaves").as_deref(), Some("0"));
    writes(&mut m, "conv:restart", "b", 20);
    assert_eq!(unsent(&mut m), 0, "a restored backlog receives every effect");

    signal(replica_pid, "CONT");
    let stat = |con: &mut Connection, name: &str| info_field(con, "stats", name).unwrap_or_default();
    let resumed = wait_until(std::time::Duration::from_secs(20), || stat(&mut m, "sync_partial_ok") == "1");
    assert!(resumed, "the replica never resumed; its log:\n{}", replica.log());
    assert_eq!(stat(&mut m, "sync_full"), "0", "the replica resumed from the restored backlog");
    assert_same_state(&master, &replica, "after a partial resync from a restarted master");
}

/// Redis frees an idle backlog after `repl-backlog-ttl` with no event a module sees: the
/// answer is read again after `RECHECK_EVERY` (100,000) sent effects, and from then on
/// effects are unsent again.
#[test]
fn a_freed_backlog_is_noticed_within_a_hundred_thousand_effects() {
    let (master, _d1) = start_seq(&["--repl-backlog-ttl", "2"]);
    let (replica, _d2) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut replica.connect()).expect("REPLICAOF NO ONE");
    assert!(wait_until(std::time::Duration::from_secs(10), || {
        info_field(&mut m, "replication", "connected_slaves").as_deref() == Some("0")
    }));
    // The replica's leaving is an event: this write reads the answer again, and the
    // backlog (kept for 2 s more) receives it.
    alloc(&mut m, "conv:ttl", "first", Some(b"p"));
    assert_eq!(unsent(&mut m), 0, "the backlog receives effects until Redis frees it");
    let freed = wait_until(std::time::Duration::from_secs(20), || {
        info_field(&mut m, "replication", "repl_backlog_active").as_deref() == Some("0")
    });
    assert!(freed, "the backlog was never freed; log:\n{}", master.log());

    // Believed received for the 100,000 effects after that check, then read again.
    for batch in 0..10 {
        alloc_many(&mut m, "conv:ttl", &format!("b{batch}-"), 10_000);
    }
    assert_eq!(unsent(&mut m), 0, "no event announced the freed backlog");
    alloc(&mut m, "conv:ttl", "next", Some(b"p"));
    assert_eq!(unsent(&mut m), 1, "the 100,001st effect after the check reads the answer again");
    alloc(&mut m, "conv:ttl", "one-more", Some(b"p"));
    assert_eq!(unsent(&mut m), 2, "nothing receives: unsent from then on");
}
