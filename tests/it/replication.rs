//! A real replica holds identical state: after a mixed workload (allocs, retries, binary
//! ids and payloads, retention configured on the master only, many keys), every key's
//! DEBUG DIGEST-VALUE, SEQ.INFO and entries, and DEBUG DIGEST, are equal on master and
//! replica — whether the replica was attached before the writes (command stream) or
//! after (full sync), and a promoted replica answers old ids with their first seqs.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::Connection;

type Acks = BTreeMap<(Vec<u8>, Vec<u8>), i64>;

/// `ops` random operations over `keys` logs: new ids, retries of known ids, binary data,
/// empty payloads, occasional pauses so ts differ between master and replica clocks.
/// With `strict`, a retry must get the id's first seq (the default 24 h window); without,
/// a retry may get a new one (a short window) and the newest is recorded.
fn mixed_workload(con: &mut Connection, acks: &mut Acks, seed: u64, keys: u64, ops: usize, strict: bool) {
    let mut rng = Rng(seed);
    let known: Vec<(Vec<u8>, Vec<u8>)> = acks.keys().cloned().collect();
    let mut known = known;
    for i in 0..ops {
        let roll = rng.below(100);
        let (key, id) = if roll < 20 && !known.is_empty() {
            known[rng.below(known.len() as u64) as usize].clone()
        } else {
            let key = if rng.below(4) == 0 {
                let mut k = b"bin:\x00".to_vec();
                k.push(rng.below(keys) as u8);
                k.push(0xff);
                k
            } else {
                format!("conv:{{g{}}}", rng.below(keys)).into_bytes()
            };
            let mut id = format!("s{seed}-{i}-").into_bytes();
            id.extend(rng.bytes_below(6));
            (key, id)
        };
        let payload = match rng.below(5) {
            0 => None,
            1 => Some(Vec::new()),
            _ => Some(rng.bytes_below(400)),
        };
        let seq = alloc(con, &key, &id, payload.as_deref());
        match acks.get(&(key.clone(), id.clone())).copied() {
            Some(first) if strict => assert_eq!(seq, first, "retry of {} got another seq", show_bytes(&id)),
            Some(_) => {
                acks.insert((key, id), seq);
            }
            None => {
                acks.insert((key.clone(), id.clone()), seq);
                known.push((key, id));
            }
        }
        if i % 200 == 199 {
            thread::sleep(Duration::from_millis(3));
        }
    }
}

fn assert_identical(master: &Server, replica: &Server, what: &str) {
    wait_for_replica_offset(master, replica);
    let mut m = master.connect();
    let mut r = replica.connect();
    let ms = db_state(&mut m);
    let rs = db_state(&mut r);
    assert!(!ms.logs.is_empty(), "{what}: the master has no logs");
    assert_same_db(&ms, &rs, &format!("{what}: master vs replica"));
}

#[test]
fn a_replica_attached_first_follows_a_mixed_workload_exactly() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    let mut acks = Acks::new();

    mixed_workload(&mut m, &mut acks, 1, 25, 800, true);
    assert_identical(&master, &replica, "after the first batch");

    // Retention and a short dedup window configured on the master only: the replica
    // (default configs) must still end up with the same trims and answers.
    config_set(&mut m, "seq.max-len", "5");
    config_set(&mut m, "seq.max-age-ms", "3600000");
    mixed_workload(&mut m, &mut acks, 2, 25, 600, true);
    config_set(&mut m, "seq.max-len", "0");
    let trimmed = all_keys(&mut m).into_iter().any(|k| {
        let i = info_of(&mut m, &k);
        i["first"] > 1
    });
    assert!(trimmed, "seq.max-len 5 trimmed no log on the master");
    assert_identical(&master, &replica, "after retention on the master only");

    config_set(&mut m, "seq.dedup-window-ms", "1");
    thread::sleep(Duration::from_millis(10));
    mixed_workload(&mut m, &mut acks, 3, 5, 100, false);
    assert_identical(&master, &replica, "after a 1 ms dedup window on the master only");

    // Reads on the replica work; writes are refused there.
    let mut r = replica.connect();
    let k = all_keys(&mut m).into_iter().next().unwrap();
    assert_eq!(last(&mut r, &k), last(&mut m, &k));
    let e = expect_err(&mut r, redis::cmd("SEQ.ALLOC").arg(&k).arg("on the replica"));
    assert!(e.starts_with("READONLY"), "SEQ.ALLOC on a replica: {e}");
}

#[test]
fn a_replica_attached_after_the_data_gets_it_by_full_sync_and_keeps_answers_after_promotion() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    let mut m = master.connect();
    let mut acks = Acks::new();
    mixed_workload(&mut m, &mut acks, 11, 30, 700, true);
    config_set(&mut m, "seq.max-len", "4");
    mixed_workload(&mut m, &mut acks, 12, 30, 300, true);
    config_set(&mut m, "seq.max-len", "0");

    attach_replica(&master, &replica);
    assert_identical(&master, &replica, "after a full sync");

    mixed_workload(&mut m, &mut acks, 13, 30, 300, true);
    assert_identical(&master, &replica, "after more writes on top of the full sync");

    // Promote the replica: every old id gets its first seq there, and numbering continues.
    let mut r = replica.connect();
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).unwrap();
    let before = db_state(&mut r);
    for ((key, id), seq) in &acks {
        assert_eq!(alloc(&mut r, key, id, Some(b"retry on the promoted replica")), *seq, "retry of {}", show_bytes(id));
    }
    assert_same_db(&before, &db_state(&mut r), "retries on the promoted replica");
    for key in all_keys(&mut r) {
        let l = last(&mut r, &key);
        assert_eq!(alloc(&mut r, &key, b"first write after promotion", None), l + 1, "{}", show_bytes(&key));
    }
}
