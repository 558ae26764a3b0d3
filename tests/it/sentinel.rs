//! Replica + Sentinel failover under load: a master, one replica and three sentinels
//! (loopback, quorum 2, down-after 1000 ms). Clients find the master through the
//! sentinels, run `WAIT 1 500` after every SEQ.ALLOC and count a message acknowledged only
//! when WAIT says the replica has it. The master is SIGKILLed mid-load; the sentinels
//! promote the replica; the clients rediscover the master and go on, retrying every
//! unacknowledged id (SEQ.ALLOC is idempotent by client-msg-id). Just before the kill the
//! replica is cut off for 700 ms (SIGSTOP + `CLIENT KILL TYPE replica` on the master), so
//! the master dies holding allocations nobody acknowledged and the replica never got
//! (those of a fourth, fire-and-forget client that does not WAIT).
//!
//! Checked on the promoted master: every acknowledged message is in the log with the seq
//! it was acknowledged with; no id has two seqs; seqs are continuous (with the fence on,
//! apart from exactly one skip of `seq.failover-gap` per log); with the fence on no
//! (log, seq) was ever handed to two different messages.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// The two tests each run 6-7 processes with second-scale timeouts: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const LOGS: usize = 6;
const THREADS: usize = 3;

fn log_key(i: usize) -> String {
    format!("conv:{{g{i}}}")
}

/// One SEQ.ALLOC reply seen by a client.
#[derive(Clone, Debug)]
struct Seen {
    log: String,
    id: String,
    seq: i64,
    port: u16,
}

struct ClientResult {
    observed: Vec<Seen>,
    acked: Vec<Seen>,
    retries: usize,
    reconnects: usize,
    error: Option<String>,
}

fn client_loop(t: usize, sc: SentinelClient, stop: Arc<AtomicBool>, acked_count: Arc<AtomicUsize>) -> ClientResult {
    let mut res = ClientResult { observed: vec![], acked: vec![], retries: 0, reconnects: 0, error: None };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut con: Option<(u16, redis::Connection)> = None;
    let mut n = 0usize;
    'ids: while !stop.load(Ordering::Relaxed) {
        let log = log_key((n * 5 + t) % LOGS);
        let id = format!("t{t}-{n}");
        let mut attempts = 0usize;
        loop {
            if Instant::now() > deadline {
                res.error = Some(format!("thread {t}: gave up on {log} {id} after {attempts} attempts"));
                break 'ids;
            }
            if attempts > 0 {
                res.retries += 1;
            }
            attempts += 1;
            if con.is_none() {
                res.reconnects += 1;
                con = sc.connect_master(Duration::from_secs(60));
                if con.is_none() {
                    res.error = Some(format!("thread {t}: no master found through the sentinels in 60 s"));
                    break 'ids;
                }
            }
            let (port, c) = con.as_mut().unwrap();
            let port = *port;
            let r: redis::RedisResult<i64> =
                redis::cmd("SEQ.ALLOC").arg(&log).arg(&id).arg(format!("body of {id}")).query(c);
            let seq = match r {
                Ok(seq) => seq,
                Err(e) => {
                    // Connection lost, READONLY, LOADING...: rediscover, retry the same id.
                    // A plain `ERR`/`WRONGTYPE` is the module refusing: not transient.
                    let fatal = matches!(e.code(), Some("ERR") | Some("WRONGTYPE"));
                    if !fatal {
                        con = None;
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    res.error = Some(format!("thread {t}: SEQ.ALLOC {log} {id}: {e}"));
                    break 'ids;
                }
            };
            res.observed.push(Seen { log: log.clone(), id: id.clone(), seq, port });
            let w: redis::RedisResult<i64> = redis::cmd("WAIT").arg(1).arg(500).query(c);
            match w {
                Ok(k) if k >= 1 => {
                    res.acked.push(Seen { log: log.clone(), id: id.clone(), seq, port });
                    acked_count.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(_) => {
                    // Not acknowledged: the replica may not have it. Retry the same id
                    // (after a while, on a freshly discovered master).
                    if attempts.is_multiple_of(4) {
                        con = None;
                    }
                }
                Err(_) => {
                    con = None;
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
        n += 1;
    }
    res
}

/// A client that does not WAIT (a service that accepted the risk): one SEQ.ALLOC every
/// 20 ms, never acknowledged, never counted as delivered. Its allocations are the ones a
/// failover can lose; with the fence on, their seqs must still never go to another message.
fn fire_and_forget_loop(sc: SentinelClient, stop: Arc<AtomicBool>) -> ClientResult {
    let mut res = ClientResult { observed: vec![], acked: vec![], retries: 0, reconnects: 0, error: None };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut con: Option<(u16, redis::Connection)> = None;
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        if con.is_none() {
            res.reconnects += 1;
            con = sc.connect_master(Duration::from_secs(60));
            if con.is_none() {
                res.error = Some("fire-and-forget: no master found through the sentinels in 60 s".into());
                break;
            }
        }
        let (port, c) = con.as_mut().unwrap();
        let port = *port;
        let log = log_key(n % LOGS);
        let id = format!("ff-{n}");
        let r: redis::RedisResult<i64> = redis::cmd("SEQ.ALLOC").arg(&log).arg(&id).arg("no wait").query(c);
        match r {
            Ok(seq) => res.observed.push(Seen { log, id, seq, port }),
            Err(e) if matches!(e.code(), Some("ERR") | Some("WRONGTYPE")) => {
                res.error = Some(format!("fire-and-forget: SEQ.ALLOC {log} {id}: {e}"));
                break;
            }
            Err(_) => con = None,
        }
        n += 1;
        thread::sleep(Duration::from_millis(20));
    }
    res
}

fn failover_under_load(gap: i64) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let gap_s = gap.to_string();
    let args = ["--enable-debug-command", "local", "--seq.failover-gap", gap_s.as_str()];
    let (mut master, _mdir) = Server::start(&args);
    let (replica, _rdir) = Server::start(&args);
    attach_replica(&master, &replica);

    let sentinels = Sentinels::start(3, master.port, SentinelSettings::default());
    assert!(
        sentinels.wait_discovered(1, Duration::from_secs(30)),
        "sentinels did not discover each other and the replica in 30 s\n{}",
        sentinels.logs()
    );
    println!(
        "gap {gap}: master :{}, replica :{}, sentinels {:?}, ready in {:?}",
        master.port,
        replica.port,
        sentinels.ports(),
        t0.elapsed()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let sc = sentinels.client();
            let stop = stop.clone();
            let acked = acked.clone();
            thread::spawn(move || client_loop(t, sc, stop, acked))
        })
        .collect();
    {
        let sc = sentinels.client();
        let stop = stop.clone();
        threads.push(thread::spawn(move || fire_and_forget_loop(sc, stop)));
    }

    // Load, then SIGKILL the master mid-load.
    wait_until(Duration::from_secs(20), || acked.load(Ordering::Relaxed) >= 600);
    // Make the kill lose writes: stop the replica and drop its link (it cannot reconnect
    // while stopped), so the master's last allocations (which WAIT does not acknowledge)
    // never reach it; then SIGKILL the master and let the replica run again.
    signal(replica.pid().unwrap(), "STOP");
    let mut m = master.connect();
    let _: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).expect("CLIENT KILL TYPE replica");
    let acked_before = acked.load(Ordering::Relaxed);
    assert!(acked_before > 0, "no acknowledged allocation before the kill");
    thread::sleep(Duration::from_millis(700));
    let kill_t = Instant::now();
    master.kill();
    signal(replica.pid().unwrap(), "CONT");
    println!("gap {gap}: master SIGKILLed after {acked_before} acknowledged allocations (replica cut off for the last 700 ms)");

    let promoted = sentinels.wait_master_port(replica.port, Duration::from_secs(40));
    assert!(promoted, "sentinels did not promote the replica in 40 s\n{}", sentinels.logs());
    assert!(
        wait_until(Duration::from_secs(20), || role_of(replica.port).as_deref() == Some("master")),
        "the replica never became a master"
    );
    println!("gap {gap}: sentinels promoted :{} {:?} after the kill", replica.port, kill_t.elapsed());

    // A fresh replica for the new master, so WAIT can acknowledge again.
    let (replica2, _r2dir) = Server::start(&args);
    attach_replica(&replica, &replica2);
    let acked_at_promotion = acked.load(Ordering::Relaxed);
    println!("gap {gap}: new replica :{} attached; {acked_at_promotion} acknowledged so far", replica2.port);
    let resumed = wait_until(Duration::from_secs(40), || acked.load(Ordering::Relaxed) >= acked_at_promotion + 600);
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for th in threads {
        results.push(th.join().expect("client thread"));
    }
    let errors: Vec<&String> = results.iter().filter_map(|r| r.error.as_ref()).collect();
    assert!(errors.is_empty(), "client errors: {errors:?}\n{}", sentinels.logs());
    assert!(resumed, "clients did not resume acknowledged allocations after the failover");

    let observed: Vec<Seen> = results.iter().flat_map(|r| r.observed.clone()).collect();
    let acked_all: Vec<Seen> = results.iter().flat_map(|r| r.acked.clone()).collect();
    let retries: usize = results.iter().map(|r| r.retries).sum();
    let reconnects: usize = results.iter().map(|r| r.reconnects).sum();

    // ---- checks on the promoted master ------------------------------------------------
    let mut con = replica.connect();
    wait_for_replica_offset(&replica, &replica2);
    let mut con2 = replica2.connect();
    let mut total_skipped = 0;
    let mut entries_total = 0;
    for i in 0..LOGS {
        let key = log_key(i);
        let es = entries(&mut con, &key);
        let info = info_of(&mut con, &key);
        entries_total += es.len();
        // No id has two seqs.
        let mut ids = HashSet::new();
        for e in &es {
            assert!(ids.insert(e.id.clone()), "{key}: id {} appears twice in the log", e.id_str());
        }
        // Continuity: 1..=last, apart from (with the fence) exactly one skip of `gap`.
        let seqs: Vec<i64> = es.iter().map(|e| e.seq).collect();
        let last = info["last"];
        assert_eq!(seqs.first(), Some(&1), "{key}: the log starts at 1");
        assert_eq!(seqs.last(), Some(&last), "{key}: the last entry is `last` (nothing trimmed)");
        let jumps: Vec<(i64, i64)> = seqs.windows(2).filter(|w| w[1] != w[0] + 1).map(|w| (w[0], w[1])).collect();
        let skipped = info.get("skipped-seqs").copied().unwrap_or(0);
        if gap == 0 {
            assert!(jumps.is_empty(), "{key}: gap 0, yet the log has holes after {jumps:?}");
            assert_eq!(skipped, 0, "{key}: skipped-seqs with the fence off: {info:?}");
        } else {
            assert_eq!(
                jumps.iter().map(|(a, b)| (*a, b - a - 1)).collect::<Vec<_>>(),
                jumps.first().map(|(a, _)| vec![(*a, gap)]).unwrap_or_default(),
                "{key}: with seq.failover-gap {gap} the log has exactly one hole of {gap} seqs (after the promotion)"
            );
            assert_eq!(jumps.len(), 1, "{key}: one promotion, one skip");
            assert_eq!(skipped, gap, "{key}: SEQ.INFO skipped-seqs: {info:?}");
            total_skipped += skipped;
        }
        assert_eq!(info["length"], es.len() as i64, "{key}: SEQ.INFO length {info:?}");
        assert!(
            info.get("epoch").copied().unwrap_or(0) >= 1,
            "{key}: written after the promotion, SEQ.INFO epoch should be >= 1: {info:?}"
        );
        // The new replica holds the same state.
        let d1: redis::Value = redis::cmd("DEBUG").arg("DIGEST-VALUE").arg(&key).query(&mut con).unwrap();
        let d2: redis::Value = redis::cmd("DEBUG").arg("DIGEST-VALUE").arg(&key).query(&mut con2).unwrap();
        assert_eq!(d1, d2, "{key}: DEBUG DIGEST-VALUE differs between the promoted master and its new replica");
    }
    // Every acknowledged message is in the final log with the seq it was acknowledged with.
    let mut by_log: HashMap<String, HashMap<i64, String>> = HashMap::new();
    for i in 0..LOGS {
        let key = log_key(i);
        by_log.insert(key.clone(), entries(&mut con, &key).into_iter().map(|e| (e.seq, e.id_str())).collect());
    }
    let mut lost = Vec::new();
    for a in &acked_all {
        if by_log[&a.log].get(&a.seq) != Some(&a.id) {
            lost.push(format!(
                "{} {} acked with seq {} (by :{}), final log holds {:?}",
                a.log,
                a.id,
                a.seq,
                a.port,
                by_log[&a.log].get(&a.seq)
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged messages are not in the final log as acknowledged: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    // An acknowledged id retried now gets its acknowledged seq (de-duplication survived).
    for a in acked_all.iter().step_by(17) {
        let s: i64 = redis::cmd("SEQ.ALLOC").arg(&a.log).arg(&a.id).arg("late").query(&mut con).unwrap();
        assert_eq!(s, a.seq, "{} {}: retried after the failover", a.log, a.id);
    }
    // (log, seq) handed to two different messages over the whole run (old + new master).
    let mut given: BTreeMap<(String, i64), HashSet<String>> = BTreeMap::new();
    for o in &observed {
        given.entry((o.log.clone(), o.seq)).or_default().insert(o.id.clone());
    }
    let reissued: Vec<_> = given.iter().filter(|(_, ids)| ids.len() > 1).collect();
    // Unacknowledged allocations lost with the old master.
    let old_port = master.port;
    let lost_unacked =
        observed.iter().filter(|o| o.port == old_port && by_log[&o.log].get(&o.seq) != Some(&o.id)).count();
    assert!(
        lost_unacked > 0,
        "the scenario should make the old master die holding unreplicated allocations (the fire-and-forget client's); none were lost"
    );
    println!(
        "gap {gap}: {} allocations acknowledged ({acked_before} before the kill, {} after the failover), {} replies observed, \
         {retries} retries, {reconnects} (re)connects, {lost_unacked} replies of the old master not in the final log (lost with it, none acknowledged), \
         {} (log, seq) given to two messages, {entries_total} entries in {LOGS} logs, {total_skipped} seqs skipped; {:?} in all",
        acked_all.len(),
        acked_all.len() - acked_before.min(acked_all.len()),
        observed.len(),
        reissued.len(),
        t0.elapsed()
    );
    if gap > 0 {
        assert!(
            reissued.is_empty(),
            "with seq.failover-gap {gap}, seqs were given to two different messages: {:?}",
            &reissued[..reissued.len().min(10)]
        );
    }
}

#[test]
fn sentinel_failover_without_fence() {
    failover_under_load(0);
}

#[test]
fn sentinel_failover_with_fence() {
    failover_under_load(100);
}
