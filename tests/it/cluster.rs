//! Redis Cluster: a real 3-master cluster on loopback, every node loading the module,
//! driven by the redis crate's cluster client (which follows MOVED and ASK).
//!
//! - SEQ.ALLOC on many conversations spread over all nodes; de-duplication per node.
//! - SEQ.MLAST behaves like MGET across slots (CROSSSLOT, MOVED) and works on one slot
//!   through hash tags.
//! - A busy conversation's slot is resharded twice (SETSLOT IMPORTING/MIGRATING,
//!   `MIGRATE ... KEYS`, SETSLOT NODE) while two threads keep allocating on it: the log
//!   ends as exactly 1..N, no gap, no duplicate, and every id retried after the moves
//!   still gets its first seq.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;
#[allow(unused_imports)]
use redis::ErrorKind;

fn conv(g: usize) -> String {
    format!("conv:{{g{g}}}")
}

/// The error of a command that must fail, as `(code, full text, detail)`.
fn refusal(r: redis::RedisResult<redis::Value>, what: &str) -> (String, String, String) {
    match r {
        Ok(v) => panic!("{what}: expected an error reply, got {v:?}"),
        Err(e) => (e.code().unwrap_or("").to_string(), e.to_string(), e.detail().unwrap_or("").to_string()),
    }
}

/// `calls` of `cmdstat_asking` on node `i` (0 when never called).
fn asking_calls(cluster: &Cluster, i: usize) -> i64 {
    let mut c = cluster.nodes[i].connect();
    let stats = info_section(&mut c, "commandstats");
    stats
        .get("cmdstat_asking")
        .and_then(|v| v.split(',').find_map(|kv| kv.strip_prefix("calls=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn cluster_alloc_mlast_and_reshard_under_load() {
    let t0 = Instant::now();
    let cluster = Cluster::start(3, &[]);
    println!(
        "cluster of 3 up in {:?}: ports {:?}",
        t0.elapsed(),
        cluster.nodes.iter().map(|n| n.port).collect::<Vec<_>>()
    );
    let client = cluster.client();
    let mut con = client.get_connection().expect("cluster connection");

    // ---------------------------------------------------------------------------------
    // 1. Many conversations, spread over all three nodes.
    // ---------------------------------------------------------------------------------
    const CONVS: usize = 300;
    const PER: i64 = 4;
    for round in 1..=PER {
        for g in 0..CONVS {
            let seq: i64 = redis::cmd("SEQ.ALLOC")
                .arg(conv(g))
                .arg(format!("m{g}-{round}"))
                .arg(format!("hello {g}/{round}"))
                .query(&mut con)
                .unwrap_or_else(|e| panic!("SEQ.ALLOC {} through the cluster client: {e}", conv(g)));
            assert_eq!(seq, round, "SEQ.ALLOC {} m{g}-{round}", conv(g));
        }
    }
    // Retries are de-duplicated on whichever node owns the key.
    for g in (0..CONVS).step_by(7) {
        let seq: i64 =
            redis::cmd("SEQ.ALLOC").arg(conv(g)).arg(format!("m{g}-2")).arg("again").query(&mut con).unwrap();
        assert_eq!(seq, 2, "a retried id gets its first seq ({})", conv(g));
    }
    let mut slot_of = HashMap::new();
    let mut per_node = [0usize; 3];
    for g in 0..CONVS {
        let slot = cluster.keyslot(&conv(g));
        slot_of.insert(g, slot);
        per_node[cluster.owner_of_slot(slot)] += 1;
    }
    println!("{} allocations on {CONVS} conversations; per node {per_node:?}", CONVS as i64 * PER);
    assert!(per_node.iter().all(|n| *n > 0), "conversations should land on every node: {per_node:?}");
    for (i, node) in cluster.nodes.iter().enumerate() {
        let mut c = node.connect();
        let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert_eq!(n, per_node[i], "DBSIZE of node {i} (one key per conversation it owns)");
    }
    for g in 0..CONVS {
        let last: i64 = redis::cmd("SEQ.LAST").arg(conv(g)).query(&mut con).unwrap();
        assert_eq!(last, PER, "SEQ.LAST {}", conv(g));
    }
    for g in (0..CONVS).step_by(13) {
        let es = entries(&mut con, conv(g));
        let got: Vec<(i64, String)> = es.iter().map(|e| (e.seq, e.id_str())).collect();
        let want: Vec<(i64, String)> = (1..=PER).map(|r| (r, format!("m{g}-{r}"))).collect();
        assert_eq!(got, want, "SEQ.RANGE {} - +", conv(g));
    }

    // ---------------------------------------------------------------------------------
    // 2. SEQ.MLAST across slots behaves like MGET.
    // ---------------------------------------------------------------------------------
    // Two conversations on different slots of the same node, and two on different nodes.
    let owner = |g: usize| cluster.owner_of_slot(slot_of[&g]);
    let a = 0usize;
    let same_node =
        (1..CONVS).find(|g| owner(*g) == owner(a) && slot_of[g] != slot_of[&a]).expect("two slots on one node");
    let other_node = (1..CONVS).find(|g| owner(*g) != owner(a)).expect("a key on another node");
    let mut on_owner = cluster.nodes[owner(a)].connect();
    for b in [same_node, other_node] {
        let mget = refusal(redis::cmd("MGET").arg(conv(a)).arg(conv(b)).query(&mut on_owner), "MGET across slots");
        let mlast =
            refusal(redis::cmd("SEQ.MLAST").arg(conv(a)).arg(conv(b)).query(&mut on_owner), "SEQ.MLAST across slots");
        assert_eq!(mget.0, "CROSSSLOT", "MGET {} {} on the node of the first: {}", conv(a), conv(b), mget.1);
        assert_eq!(
            mlast.0,
            mget.0,
            "SEQ.MLAST {} {} must be refused like MGET (MGET: {:?}, SEQ.MLAST: {:?})",
            conv(a),
            conv(b),
            mget.1,
            mlast.1
        );
        // Through the cluster client too (it routes SEQ.MLAST by its first key).
        let r: redis::RedisResult<Vec<i64>> = redis::cmd("SEQ.MLAST").arg(conv(a)).arg(conv(b)).query(&mut con);
        match r {
            Err(e) => assert_eq!(e.kind(), ErrorKind::CrossSlot, "cluster client SEQ.MLAST across slots: {e}"),
            Ok(v) => panic!("cluster client SEQ.MLAST across slots should fail with CROSSSLOT, got {v:?}"),
        }
    }
    // A node that does not own the slot redirects SEQ.MLAST / SEQ.LAST / SEQ.ALLOC as it
    // redirects MGET / GET / SET: MOVED to the same slot and address.
    let mut elsewhere = cluster.nodes[(owner(a) + 1) % 3].connect();
    let mget = refusal(redis::cmd("MGET").arg(conv(a)).query(&mut elsewhere), "MGET on a non-owner");
    assert_eq!(mget.0, "MOVED", "{}", mget.1);
    for args in [
        vec!["SEQ.MLAST".to_string(), conv(a)],
        vec!["SEQ.LAST".to_string(), conv(a)],
        vec!["SEQ.RANGE".to_string(), conv(a), "-".into(), "+".into()],
        vec!["SEQ.ALLOC".to_string(), conv(a), "moved-probe".into()],
    ] {
        let mut c = redis::cmd(&args[0]);
        for x in &args[1..] {
            c.arg(x);
        }
        let e = refusal(c.query(&mut elsewhere), &format!("{args:?} on a non-owner"));
        assert_eq!(e.0, "MOVED", "{args:?} on a node that does not own the slot: {}", e.1);
        assert_eq!(e.2, mget.2, "{args:?}: same redirect (slot, address) as MGET ({})", mget.1);
    }
    // One slot through hash tags: works, one integer per key, 0 for missing keys.
    let tag = format!("g{a}");
    let keys =
        [format!("conv:{{{tag}}}"), format!("inbox:{{{tag}}}"), format!("x:{{{tag}}}"), format!("conv:{{{tag}}}")];
    let v: Vec<i64> =
        redis::cmd("SEQ.MLAST").arg(&keys[..]).query(&mut con).expect("SEQ.MLAST on one slot (cluster client)");
    assert_eq!(v, vec![PER, 0, 0, PER], "SEQ.MLAST {keys:?}");
    let v: Vec<i64> =
        redis::cmd("SEQ.MLAST").arg(&keys[..]).query(&mut on_owner).expect("SEQ.MLAST on one slot (owner)");
    assert_eq!(v, vec![PER, 0, 0, PER], "SEQ.MLAST {keys:?} on the owning node");
    let mget: Vec<Option<String>> = redis::cmd("MGET").arg(&keys[1..3]).query(&mut on_owner).expect("MGET on one slot");
    assert_eq!(mget, vec![None, None], "MGET of missing same-slot keys works (reference)");
    // The cluster client splits MGET by slot itself; SEQ.MLAST across slots is the
    // application's to split (it is not in the client's multi-slot table): do it by node.
    let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for g in 0..20 {
        by_slot.entry(slot_of[&g]).or_default().push(g);
    }
    for (_, gs) in by_slot {
        let ks: Vec<String> = gs.iter().map(|g| conv(*g)).collect();
        let v: Vec<i64> = redis::cmd("SEQ.MLAST").arg(&ks).query(&mut con).unwrap();
        assert_eq!(v, vec![PER; ks.len()]);
    }

    // ---------------------------------------------------------------------------------
    // 3. Reshard a busy conversation's slot twice while two threads keep allocating.
    // ---------------------------------------------------------------------------------
    let busy = "conv:{busy}".to_string();
    let busy_inbox = "inbox:{busy}".to_string();
    let slot = cluster.keyslot(&busy);
    let first_owner = cluster.owner_of_slot(slot);
    let hop1 = (first_owner + 1) % 3;
    let hop2 = (first_owner + 2) % 3;
    println!("busy conversation {busy}: slot {slot}, node {first_owner} -> {hop1} -> {hop2}");

    let stop = Arc::new(AtomicBool::new(false));
    let allocs = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for t in 0..2usize {
        let urls = cluster.urls();
        let stop = stop.clone();
        let allocs = allocs.clone();
        let busy = busy.clone();
        let busy_inbox = busy_inbox.clone();
        writers.push(thread::spawn(move || {
            let client = redis::cluster::ClusterClient::builder(urls)
                .retries(20)
                .connection_timeout(Duration::from_secs(5))
                .response_timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut con = client.get_connection().unwrap();
            // (key, id) -> first seq
            let mut got: Vec<(String, String, i64)> = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            let mut mismatches: Vec<String> = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(90);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                // Thread 1 also writes the conversation's inbox (same slot, moved with it).
                let key = if t == 1 && n % 3 == 2 { busy_inbox.clone() } else { busy.clone() };
                let id = format!("w{t}-{n}");
                let seq = loop {
                    let r: redis::RedisResult<i64> =
                        redis::cmd("SEQ.ALLOC").arg(&key).arg(&id).arg(format!("payload {id}")).query(&mut con);
                    match r {
                        Ok(s) => break Some(s),
                        Err(e) => {
                            errors.push(format!("{key} {id}: {e}"));
                            if Instant::now() > deadline || errors.len() > 200 {
                                break None;
                            }
                            thread::sleep(Duration::from_millis(20)); // then retry the same id
                        }
                    }
                };
                let Some(seq) = seq else { break };
                got.push((key.clone(), id, seq));
                allocs.fetch_add(1, Ordering::Relaxed);
                // Every 10th iteration, retry an earlier id: it must get its first seq.
                if n % 10 == 9 {
                    let (k, old, first) = got[n / 2].clone();
                    let r: redis::RedisResult<i64> =
                        redis::cmd("SEQ.ALLOC").arg(&k).arg(&old).arg("retry").query(&mut con);
                    match r {
                        Ok(s) if s == first => {}
                        Ok(s) => mismatches.push(format!("{k} {old}: first seq {first}, retry during load got {s}")),
                        Err(e) => errors.push(format!("retry {k} {old}: {e}")),
                    }
                }
                n += 1;
            }
            (got, errors, mismatches)
        }));
    }
    let wait_allocs = |at_least: usize| {
        assert!(
            wait_until(Duration::from_secs(30), || allocs.load(Ordering::Relaxed) >= at_least),
            "writers stalled at {} allocations (wanted {at_least})",
            allocs.load(Ordering::Relaxed)
        );
    };
    wait_allocs(300);
    let before1 = allocs.load(Ordering::Relaxed);
    let move_t = Instant::now();
    let keys1 = cluster.move_slot(slot, first_owner, hop1, || thread::sleep(Duration::from_millis(100)));
    let during1 = allocs.load(Ordering::Relaxed) - before1;
    println!(
        "slot {slot} moved {first_owner} -> {hop1} ({keys1} keys) in {:?}; {during1} allocations during the move",
        move_t.elapsed()
    );
    cluster.wait_consistent(Duration::from_secs(20));
    wait_allocs(allocs.load(Ordering::Relaxed) + 300);
    let before2 = allocs.load(Ordering::Relaxed);
    let move_t = Instant::now();
    let keys2 = cluster.move_slot(slot, hop1, hop2, || thread::sleep(Duration::from_millis(100)));
    let during2 = allocs.load(Ordering::Relaxed) - before2;
    println!(
        "slot {slot} moved {hop1} -> {hop2} ({keys2} keys) in {:?}; {during2} allocations during the move",
        move_t.elapsed()
    );
    cluster.wait_consistent(Duration::from_secs(20));
    wait_allocs(allocs.load(Ordering::Relaxed) + 300);
    stop.store(true, Ordering::Relaxed);
    // The writers went through ASK redirections (ASKING + command on the importing node).
    let asking: i64 = (0..3).map(|i| asking_calls(&cluster, i)).sum();
    println!("ASKING sent to the importing nodes: {asking}");
    assert!(asking > 0, "no ASK redirection was followed during the moves (cmdstat_asking is 0 everywhere)");

    let mut all: Vec<(String, String, i64)> = Vec::new();
    let mut errors = Vec::new();
    let mut mismatches = Vec::new();
    for w in writers {
        let (got, e, m) = w.join().expect("writer thread");
        all.extend(got);
        errors.extend(e);
        mismatches.extend(m);
    }
    assert_eq!(keys1, 2, "both keys of the slot ({busy}, {busy_inbox}) moved on the first hop");
    assert_eq!(keys2, 2, "both keys of the slot moved on the second hop");
    assert!(mismatches.is_empty(), "ids retried during the load got another seq: {mismatches:?}");
    if !errors.is_empty() {
        println!(
            "{} transient errors seen by the writers (each id retried): {:?}",
            errors.len(),
            &errors[..errors.len().min(10)]
        );
    }
    assert!(all.len() == allocs.load(Ordering::Relaxed));

    // Every id retried after the moves still gets its first seq (through the client).
    let retry_t = Instant::now();
    for (key, id, seq) in &all {
        let s: i64 = redis::cmd("SEQ.ALLOC").arg(key).arg(id).arg("late retry").query(&mut con).unwrap();
        assert_eq!(s, *seq, "{key} {id}: retried after the reshard, must get its first seq");
    }
    println!("{} ids retried after the moves in {:?}: all got their first seq", all.len(), retry_t.elapsed());

    // The log is exactly 1..N: no gap, no duplicate, ids as the clients saw them.
    let mut final_owner = cluster.nodes[hop2].connect();
    assert_eq!(cluster.owner_of_slot(slot), hop2);
    for i in [first_owner, hop1] {
        let mut c = cluster.nodes[i].connect();
        let n: i64 = redis::cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot).query(&mut c).unwrap();
        assert_eq!(n, 0, "node {i} still holds keys of slot {slot} after the move");
    }
    for key in [&busy, &busy_inbox] {
        let mine: Vec<&(String, String, i64)> = all.iter().filter(|(k, _, _)| k == key).collect();
        let n = mine.len() as i64;
        let es = entries(&mut final_owner, key);
        let seqs: Vec<i64> = es.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "{key}: the log must be exactly 1..{n}");
        let ids: HashSet<&[u8]> = es.iter().map(|e| e.id.as_slice()).collect();
        assert_eq!(ids.len(), es.len(), "{key}: an id appears twice in the log");
        let by_seq: HashMap<i64, &[u8]> = es.iter().map(|e| (e.seq, e.id.as_slice())).collect();
        for (_, id, seq) in &mine {
            assert_eq!(by_seq.get(seq).copied(), Some(id.as_bytes()), "{key}: seq {seq} should hold {id}");
        }
        let info = info_of(&mut final_owner, key);
        assert_eq!(info.get("last"), Some(&n), "{key} SEQ.INFO last: {info:?}");
        assert_eq!(info.get("length"), Some(&n), "{key} SEQ.INFO length: {info:?}");
        assert_eq!(info.get("dedup-entries"), Some(&n), "{key} SEQ.INFO dedup-entries: {info:?}");
        let last: i64 = redis::cmd("SEQ.LAST").arg(key).query(&mut con).unwrap();
        assert_eq!(last, n, "{key}: SEQ.LAST through the client");
        println!("{key}: {n} entries, exactly 1..{n}");
    }
    // The other conversations were not disturbed.
    for g in (0..CONVS).step_by(11) {
        let last: i64 = redis::cmd("SEQ.LAST").arg(conv(g)).query(&mut con).unwrap();
        assert_eq!(last, PER);
    }
    println!(
        "cluster test: {} allocations on the busy slot ({during1} + {during2} during the two moves), {} before; total {:?}",
        all.len(),
        CONVS as i64 * PER,
        t0.elapsed()
    );
}

/// A cluster failover (CLUSTER FAILOVER on a replica) is a promotion like any other: the
/// promoted node moves to a new epoch and, with `seq.failover-gap`, the first SEQ.ALLOC on
/// each log skips the gap; the cluster client follows the new master.
#[test]
fn cluster_failover_moves_the_epoch() {
    let t0 = Instant::now();
    let args = ["--seq.failover-gap", "1000"];
    let cluster = Cluster::start(3, &args);
    let replica = cluster.add_replica(0, &args);
    let client = cluster.client();
    let mut con = client.get_connection().expect("cluster connection");
    // Logs on node 0 (the one with the replica).
    let keys: Vec<String> =
        (0..200).map(conv).filter(|k| cluster.owner_of_slot(cluster.keyslot(k)) == 0).take(5).collect();
    assert_eq!(keys.len(), 5);
    for k in &keys {
        for i in 1..=10 {
            let s: i64 = redis::cmd("SEQ.ALLOC").arg(k).arg(format!("m{i}")).query(&mut con).unwrap();
            assert_eq!(s, i, "{k}");
        }
    }
    let mut m = cluster.nodes[0].connect();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut m).unwrap();
    assert_eq!(acked, 1, "the cluster replica acknowledged the writes");

    let mut r = replica.connect();
    let _: () = redis::cmd("CLUSTER").arg("FAILOVER").query(&mut r).expect("CLUSTER FAILOVER");
    assert!(
        wait_until(Duration::from_secs(30), || info_section(&mut r, "replication").get("role").map(String::as_str)
            == Some("master")),
        "the cluster replica was not promoted; log:\n{}",
        tail(&replica.log(), 30)
    );
    let epoch: i64 = info_section(&mut r, "seq").get("seq_epoch").and_then(|v| v.parse().ok()).unwrap_or(-1);
    assert_eq!(epoch, 1, "INFO seq seq_epoch on the node promoted by CLUSTER FAILOVER");
    // The client follows MOVED to the promoted node; the first ALLOC per log skips 1000.
    let _ = wait_until(Duration::from_secs(20), || {
        redis::cmd("SEQ.LAST").arg(&keys[0]).query::<i64>(&mut con).is_ok()
            && cluster.slot_map(1).iter().any(|(_, _, p)| *p == replica.port)
    });
    for k in &keys {
        let s: i64 = redis::cmd("SEQ.ALLOC").arg(k).arg("m3").query(&mut con).unwrap();
        assert_eq!(s, 3, "{k}: a retried id after the cluster failover gets its first seq");
        let s: i64 = redis::cmd("SEQ.ALLOC").arg(k).arg("after-failover").query(&mut con).unwrap();
        assert_eq!(s, 10 + 1000 + 1, "{k}: first new allocation after the cluster failover");
        let i = info_of(&mut r, k);
        assert_eq!((i.get("epoch"), i.get("skipped-seqs")), (Some(&1), Some(&1000)), "{k}: {i:?}");
    }
    println!("cluster failover: promoted node in epoch 1, 5 logs fenced; {:?}", t0.elapsed());
    drop(r);
    drop(replica);
}
