//! The core commands against a real server: SEQ.ALLOC, SEQ.RANGE, SEQ.REVRANGE, SEQ.LAST,
//! SEQ.MLAST, SEQ.INFO — replies, the entry shape `[seq, id, ts, payload]`, `-`/`+`,
//! COUNT, missing keys, binary safety, de-duplication, RESP3, the `seq.alloc` keyspace
//! notification, the `seq.*` configs, the internal SEQ.EFFECT refused from a client, and
//! the key positions Redis sees (COMMAND INFO / COMMAND GETKEYS).

use std::collections::{BTreeMap, HashSet};
use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::Value;

const KEY: &[u8] = b"conv:{g42}";

fn ids_of(es: &[Entry]) -> Vec<Vec<u8>> {
    es.iter().map(|e| e.id.clone()).collect()
}

fn reversed(es: &[Entry]) -> Vec<Entry> {
    es.iter().rev().cloned().collect()
}

#[test]
fn alloc_numbers_from_one_without_gaps_and_range_returns_the_entries() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();

    let t0 = server_time_ms(&mut con);
    for i in 1..=5i64 {
        let id = format!("m{i}");
        let payload = format!("payload {i}");
        assert_eq!(alloc(&mut con, KEY, id.as_bytes(), Some(payload.as_bytes())), i, "SEQ.ALLOC #{i}");
        if i == 3 {
            thread::sleep(Duration::from_millis(5));
        }
    }
    assert_eq!(alloc(&mut con, KEY, b"m6", None), 6, "SEQ.ALLOC without a payload");
    let t1 = server_time_ms(&mut con);

    assert!(exists(&mut con, KEY), "SEQ.ALLOC creates the log");
    let t = key_type(&mut con, KEY);
    assert!(!BUILTIN_TYPES.contains(&t.as_str()) && t != "none", "TYPE of a log is the module's type, got {t}");

    let es = entries(&mut con, KEY);
    assert_eq!(seqs(&es), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(ids_of(&es), (1..=6).map(|i| format!("m{i}").into_bytes()).collect::<Vec<_>>());
    for (i, e) in es.iter().enumerate().take(5) {
        assert_eq!(e.payload, format!("payload {}", i + 1).into_bytes(), "payload of seq {}", e.seq);
    }
    assert_eq!(es[5].payload, b"".to_vec(), "an entry without payload replies an empty bulk string");
    for e in &es {
        assert!(t0 <= e.ts && e.ts <= t1, "ts {} of seq {} is not server ms within [{t0}, {t1}]", e.ts, e.seq);
    }
    for w in es.windows(2) {
        assert!(w[0].ts <= w[1].ts, "ts decreased: {:?} then {:?}", w[0], w[1]);
    }
    assert!(es[3].ts >= es[2].ts + 5, "a 5 ms pause shows in ts: {} then {}", es[2].ts, es[3].ts);

    // Bounds: integers, '-', '+', inclusive on both ends.
    assert_eq!(revrange(&mut con, KEY, "+", "-", None), reversed(&es), "REVRANGE + - is RANGE - + reversed");
    assert_eq!(range(&mut con, KEY, "2", "4", None), es[1..4].to_vec());
    assert_eq!(range(&mut con, KEY, "-", "2", None), es[0..2].to_vec());
    assert_eq!(range(&mut con, KEY, "5", "+", None), es[4..].to_vec());
    assert_eq!(range(&mut con, KEY, "3", "3", None), vec![es[2].clone()]);
    assert_eq!(range(&mut con, KEY, "0", "+", None), es, "0 is a valid (lowest) start");
    assert_eq!(range(&mut con, KEY, "6", "100", None), vec![es[5].clone()], "an end beyond last is fine");
    assert_eq!(range(&mut con, KEY, "7", "+", None), vec![], "a start beyond last gives nothing");
    assert_eq!(range(&mut con, KEY, "0", "0", None), vec![], "seq 0 never exists");
    assert_eq!(revrange(&mut con, KEY, "4", "2", None), reversed(&es[1..4]));
    assert_eq!(revrange(&mut con, KEY, "+", "5", None), reversed(&es[4..]));
    assert_eq!(revrange(&mut con, KEY, "2", "-", None), reversed(&es[0..2]));
    assert_eq!(revrange(&mut con, KEY, "100", "6", None), vec![es[5].clone()]);

    // start > end is an empty array, in both directions.
    assert_eq!(range(&mut con, KEY, "4", "2", None), vec![], "RANGE 4 2");
    assert_eq!(range(&mut con, KEY, "+", "-", None), vec![], "RANGE + -");
    assert_eq!(revrange(&mut con, KEY, "2", "4", None), vec![], "REVRANGE 2 4 (end < start)");
    assert_eq!(revrange(&mut con, KEY, "-", "+", None), vec![], "REVRANGE - +");

    // COUNT caps the reply from the starting side.
    assert_eq!(range(&mut con, KEY, "-", "+", Some(2)), es[..2].to_vec());
    assert_eq!(revrange(&mut con, KEY, "+", "-", Some(2)), vec![es[5].clone(), es[4].clone()]);
    assert_eq!(range(&mut con, KEY, "3", "+", Some(1)), vec![es[2].clone()]);
    assert_eq!(revrange(&mut con, KEY, "4", "-", Some(3)), reversed(&es[1..4]));
    assert_eq!(range(&mut con, KEY, "2", "5", Some(10)), es[1..5].to_vec(), "COUNT above the size");
    assert_eq!(range(&mut con, KEY, "-", "+", Some(i64::MAX)), es);
    let lower = query_entries(&mut con, redis::cmd("SEQ.RANGE").arg(KEY).arg("-").arg("+").arg("count").arg(3));
    assert_eq!(lower, es[..3].to_vec(), "options are case-insensitive");

    // The reads changed nothing, and the next append continues at last + 1.
    assert_eq!(entries(&mut con, KEY), es);
    assert_eq!(alloc(&mut con, KEY, b"m7", Some(b"x")), 7);
}

#[test]
fn a_repeated_option_the_last_one_wins() {
    // docs/contract-notes.md: options are case-insensitive; a repeated option: the last wins.
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    for i in 1..=6 {
        alloc(&mut con, KEY, format!("m{i}").as_bytes(), None);
    }
    let es = entries(&mut con, KEY);
    let repeated = query_entries(
        &mut con,
        redis::cmd("SEQ.RANGE").arg(KEY).arg("-").arg("+").arg("COUNT").arg(1).arg("COUNT").arg(4),
    );
    assert_eq!(repeated, es[..4].to_vec(), "SEQ.RANGE ... COUNT 1 COUNT 4");
    let repeated = query_entries(
        &mut con,
        redis::cmd("SEQ.REVRANGE").arg(KEY).arg("+").arg("-").arg("CoUnT").arg(5).arg("count").arg(1),
    );
    assert_eq!(repeated, vec![es[5].clone()], "SEQ.REVRANGE ... CoUnT 5 count 1");
}

#[test]
fn reads_of_a_missing_key_reply_empty_and_create_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    assert_eq!(range(&mut con, b"nokey", "-", "+", None), vec![]);
    assert_eq!(range(&mut con, b"nokey", "1", "10", Some(3)), vec![]);
    assert_eq!(revrange(&mut con, b"nokey", "+", "-", None), vec![]);
    assert_eq!(last(&mut con, b"nokey"), 0, "SEQ.LAST of a missing key is 0");
    let v: Value = redis::cmd("SEQ.MLAST").arg("nokey").arg("nokey2").query(&mut con).expect("SEQ.MLAST");
    assert_eq!(v, Value::Array(vec![Value::Int(0), Value::Int(0)]));
    let v: Value = redis::cmd("SEQ.INFO").arg("nokey").query(&mut con).expect("SEQ.INFO");
    assert_eq!(v, Value::Nil, "SEQ.INFO of a missing key is nil");
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    assert_eq!(n, 0, "a read created a key");
}

#[test]
fn last_and_mlast_report_the_highest_issued_seq_per_key() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    for i in 0..3 {
        alloc(&mut con, b"a", format!("a{i}").as_bytes(), None);
    }
    alloc(&mut con, b"b", b"b0", Some(b"p"));
    assert_eq!(last(&mut con, b"a"), 3);
    assert_eq!(last(&mut con, b"b"), 1);
    let v: Value = redis::cmd("SEQ.MLAST").arg("a").arg("missing").arg("b").arg("a").query(&mut con).unwrap();
    assert_eq!(v, Value::Array(vec![Value::Int(3), Value::Int(0), Value::Int(1), Value::Int(3)]));
    let v: Value = redis::cmd("SEQ.MLAST").arg("b").query(&mut con).unwrap();
    assert_eq!(v, Value::Array(vec![Value::Int(1)]));
    // A retry does not move last; a new id does.
    alloc(&mut con, b"a", b"a1", None);
    assert_eq!(last(&mut con, b"a"), 3);
    alloc(&mut con, b"a", b"a3", None);
    let v: Value = redis::cmd("SEQ.MLAST").arg("a").arg("b").query(&mut con).unwrap();
    assert_eq!(v, Value::Array(vec![Value::Int(4), Value::Int(1)]));
}

#[test]
fn info_has_the_contract_fields_in_order() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    for i in 1..=3 {
        alloc(&mut con, KEY, format!("m{i}").as_bytes(), Some(b"p"));
        thread::sleep(Duration::from_millis(3));
    }
    let es = entries(&mut con, KEY);
    let pairs = seq_info_pairs(&mut con, KEY).expect("SEQ.INFO of an existing log is not nil");
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.len() >= INFO_FIELDS.len(), "SEQ.INFO fields {names:?}");
    assert_eq!(&names[..INFO_FIELDS.len()], &INFO_FIELDS[..], "SEQ.INFO field order");
    let info = info_of(&mut con, KEY);
    let expected: BTreeMap<&str, i64> = [
        ("last", 3),
        ("first", 1),
        ("length", 3),
        ("dedup-entries", 3),
        ("consumers", 0),
        ("first-ts", es[0].ts),
        ("last-ts", es[2].ts),
        ("epoch", 0),
        ("skipped-seqs", 0),
    ]
    .into_iter()
    .collect();
    for (f, v) in &expected {
        assert_eq!(info[*f], *v, "SEQ.INFO {f}; full reply {info:?}");
    }
    // A retry changes no field.
    alloc(&mut con, KEY, b"m2", Some(b"again"));
    assert_eq!(seq_info_pairs(&mut con, KEY).unwrap(), pairs, "a de-duplicated retry changed SEQ.INFO");
    // A new entry moves last/length/dedup-entries/last-ts.
    alloc(&mut con, KEY, b"m4", None);
    let info = info_of(&mut con, KEY);
    let e4 = entries(&mut con, KEY)[3].clone();
    assert_eq!(
        (info["last"], info["first"], info["length"], info["dedup-entries"], info["last-ts"], info["first-ts"]),
        (4, 1, 4, 4, e4.ts, es[0].ts)
    );
}

#[test]
fn info_is_a_map_under_resp3() {
    let (server, _dir) = start_seq(&[]);
    let mut con2 = server.connect();
    alloc(&mut con2, KEY, b"m1", Some(b"p1"));
    alloc(&mut con2, KEY, b"m2", None);
    let expected_entries = entries(&mut con2, KEY);
    let resp2_info = info_of(&mut con2, KEY);

    let client = redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", server.port)).unwrap();
    let mut con3 = client.get_connection().expect("RESP3 connection (HELLO 3)");
    let hello: Value = redis::cmd("HELLO").arg(3).query(&mut con3).expect("HELLO 3");
    assert!(matches!(hello, Value::Map(_)), "HELLO 3 did not switch to RESP3: {hello:?}");

    let v: Value = redis::cmd("SEQ.INFO").arg(KEY).query(&mut con3).expect("SEQ.INFO under RESP3");
    let Value::Map(pairs) = &v else { panic!("SEQ.INFO under RESP3 is not a map: {v:?}") };
    let names: Vec<String> = pairs
        .iter()
        .map(|(k, _)| match k {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            Value::SimpleString(s) => s.clone(),
            other => panic!("map key {other:?}"),
        })
        .collect();
    assert_eq!(&names[..INFO_FIELDS.len()], &INFO_FIELDS[..], "RESP3 map field order");
    let map: BTreeMap<String, i64> = field_pairs(&v)
        .unwrap()
        .into_iter()
        .map(|(k, v)| match v {
            Value::Int(n) => (k, n),
            other => panic!("RESP3 SEQ.INFO {k} = {other:?}, expected an integer"),
        })
        .collect();
    assert_eq!(map, resp2_info, "RESP2 and RESP3 SEQ.INFO carry the same fields and values");

    let v: Value = redis::cmd("SEQ.INFO").arg("nokey").query(&mut con3).unwrap();
    assert_eq!(v, Value::Nil, "SEQ.INFO of a missing key under RESP3");
    let v: Value = redis::cmd("SEQ.RANGE").arg(KEY).arg("-").arg("+").query(&mut con3).unwrap();
    assert_eq!(parse_entries(&v), expected_entries, "SEQ.RANGE under RESP3");
    let v: Value = redis::cmd("SEQ.ALLOC").arg(KEY).arg("m1").query(&mut con3).unwrap();
    assert_eq!(v, Value::Int(1), "SEQ.ALLOC retry under RESP3");
    let v: Value = redis::cmd("SEQ.MLAST").arg(KEY).arg("nokey").query(&mut con3).unwrap();
    assert_eq!(v, Value::Array(vec![Value::Int(2), Value::Int(0)]));
}

#[test]
fn a_retry_returns_the_first_seq_and_changes_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    assert_eq!(alloc(&mut con, KEY, b"a", Some(b"first a")), 1);
    assert_eq!(alloc(&mut con, KEY, b"b", Some(b"first b")), 2);
    let before = log_state(&mut con, KEY);

    assert_eq!(alloc(&mut con, KEY, b"a", Some(b"a different payload")), 1);
    assert_eq!(alloc(&mut con, KEY, b"a", None), 1);
    assert_eq!(alloc(&mut con, KEY, b"b", Some(b"first b")), 2);
    assert_eq!(alloc(&mut con, KEY, b"a", Some(b"")), 1);
    assert_eq!(log_state(&mut con, KEY), before, "a de-duplicated retry changed the log");
    assert_eq!(last(&mut con, KEY), 2);

    // No gap after retries; ids are per log.
    assert_eq!(alloc(&mut con, KEY, b"c", None), 3);
    assert_eq!(alloc(&mut con, b"conv:{other}", b"a", None), 1, "the same id in another log is new there");
    assert_eq!(alloc(&mut con, KEY, b"A", None), 4, "ids are case-sensitive");
    assert_eq!(alloc(&mut con, KEY, b"a ", None), 5, "ids are compared whole");
    let es = entries(&mut con, KEY);
    assert_eq!(es[0].payload, b"first a".to_vec(), "the first payload is the one kept");
    assert_eq!(ids_of(&es), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"A".to_vec(), b"a ".to_vec()]);
}

#[test]
fn retries_inside_multi_and_scripts_are_deduplicated_too() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let v: Value = redis::pipe()
        .atomic()
        .cmd("SEQ.ALLOC")
        .arg(KEY)
        .arg("x")
        .cmd("SEQ.ALLOC")
        .arg(KEY)
        .arg("x")
        .cmd("SEQ.ALLOC")
        .arg(KEY)
        .arg("y")
        .cmd("SEQ.LAST")
        .arg(KEY)
        .query(&mut con)
        .expect("MULTI/EXEC");
    assert_eq!(v, Value::Array(vec![Value::Int(1), Value::Int(1), Value::Int(2), Value::Int(2)]));
    let v: Value = redis::cmd("EVAL")
        .arg("return {redis.call('SEQ.ALLOC', KEYS[1], 'y'), redis.call('SEQ.ALLOC', KEYS[1], 'z', 'p')}")
        .arg(1)
        .arg(KEY)
        .query(&mut con)
        .expect("EVAL");
    assert_eq!(v, Value::Array(vec![Value::Int(2), Value::Int(3)]));
    assert_eq!(seqs(&entries(&mut con, KEY)), vec![1, 2, 3]);
}

#[test]
fn keys_ids_and_payloads_are_binary_safe() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key: &[u8] = b"conv:\x00\xff{bin}\r\n";
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 256) as u8).collect();
    let cases: Vec<(&[u8], Vec<u8>)> = vec![
        (b"\x00", b"\x00\x00\x00".to_vec()),
        (b"a\x00b", b"\xff\x80\x00abc\r\n".to_vec()),
        (b"a\x00c", b"".to_vec()),
        (b"\xff\xfe\xfd", b"\xc3\x28 not utf-8".to_vec()),
        (b"\xc3\x28", b"$3\r\nfoo\r\n".to_vec()),
        (b"id with spaces\r\n", big.clone()),
        (b"-", b"+".to_vec()),
        (b"+", b"-".to_vec()),
        (b"123", b"456".to_vec()),
    ];
    for (i, (id, payload)) in cases.iter().enumerate() {
        assert_eq!(alloc(&mut con, key, id, Some(payload)), i as i64 + 1, "alloc of id {}", show_bytes(id));
    }
    let es = entries(&mut con, key);
    assert_eq!(es.len(), cases.len());
    for (e, (id, payload)) in es.iter().zip(&cases) {
        assert_eq!(&e.id, id, "id of seq {} came back altered", e.seq);
        assert!(
            &e.payload == payload,
            "payload of seq {} came back altered ({} bytes vs {})",
            e.seq,
            e.payload.len(),
            payload.len()
        );
    }
    // Every binary id is remembered exactly.
    for (i, (id, _)) in cases.iter().enumerate() {
        assert_eq!(alloc(&mut con, key, id, Some(b"retry")), i as i64 + 1, "retry of id {}", show_bytes(id));
    }
    assert_eq!(alloc(&mut con, key, b"a", None), cases.len() as i64 + 1, "a prefix of a\\0b is a different id");
    assert_eq!(alloc(&mut con, key, b"a\x00", None), cases.len() as i64 + 2);
    assert_eq!(last(&mut con, key), cases.len() as i64 + 2);
    let keys = all_keys(&mut con);
    assert_eq!(keys, vec![key.to_vec()], "the binary key name is kept exactly");
}

#[test]
fn concurrent_allocs_get_distinct_continuous_seqs() {
    let (server, _dir) = start_seq(&[]);
    let url = server.url();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                (0..150)
                    .map(|i| {
                        let id = format!("t{t}-{i}");
                        (id.clone(), alloc(&mut con, KEY, id.as_bytes(), Some(id.as_bytes())))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut got: Vec<(String, i64)> = threads.into_iter().flat_map(|t| t.join().expect("client thread")).collect();
    got.sort_by_key(|(_, s)| *s);
    assert_eq!(got.iter().map(|(_, s)| *s).collect::<Vec<_>>(), (1..=600).collect::<Vec<_>>());
    let mut con = server.connect();
    let es = entries(&mut con, KEY);
    assert_eq!(es.len(), 600);
    for ((id, seq), e) in got.iter().zip(&es) {
        assert_eq!((e.seq, &e.id, &e.payload), (*seq, &id.as_bytes().to_vec(), &id.as_bytes().to_vec()));
    }
    for w in es.windows(2) {
        assert!(w[0].ts <= w[1].ts, "ts decreased between seq {} and {}", w[0].seq, w[1].seq);
    }
}

#[test]
fn alloc_raises_the_seq_alloc_keyspace_notification() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    config_set(&mut con, "notify-keyspace-events", "KEd");

    let mut sub = server.connect();
    let mut ps = psubscribe(&mut sub, "__key*@0__:*");

    assert_eq!(alloc(&mut con, b"conv:1", b"m1", Some(b"hello")), 1);
    let mut got = read_messages(&mut ps, 2);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("__keyevent@0__:seq.alloc".to_string(), b"conv:1".to_vec()),
            ("__keyspace@0__:conv:1".to_string(), b"seq.alloc".to_vec()),
        ],
        "keyspace + keyevent notifications of class module (d) for SEQ.ALLOC"
    );

    // A de-duplicated retry, a refused alloc and reads raise nothing: the next events
    // are the next real append's.
    assert_eq!(alloc(&mut con, b"conv:1", b"m1", Some(b"hello")), 1);
    let _ = redis::cmd("SEQ.ALLOC").arg("conv:1").arg("").query::<Value>(&mut con);
    let _ = range(&mut con, b"conv:1", "-", "+", None);
    let _ = last(&mut con, b"conv:1");
    let _ = seq_info(&mut con, b"conv:1");
    assert_eq!(alloc(&mut con, b"bin\x00key", b"m", None), 1);
    let mut got = read_messages(&mut ps, 2);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("__keyevent@0__:seq.alloc".to_string(), b"bin\x00key".to_vec()),
            ("__keyspace@0__:bin\x00key".to_string(), b"seq.alloc".to_vec()),
        ],
        "only the append raised an event (not the retry, the refusal or the reads)"
    );
    assert_eq!(read_messages(&mut ps, 1), vec![], "no stray notification");
}

fn config_get(con: &mut redis::Connection, pattern: &str) -> BTreeMap<String, String> {
    let flat: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(pattern).query(con).expect("CONFIG GET");
    flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

#[test]
fn configs_have_their_defaults_and_take_effect_at_run_time() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let defaults: BTreeMap<String, String> = [
        ("seq.dedup-window-ms", "86400000"),
        ("seq.failover-gap", "0"),
        ("seq.max-age-ms", "0"),
        ("seq.max-client-msg-id-bytes", "256"),
        ("seq.max-len", "0"),
        ("seq.max-payload-bytes", "1048576"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(config_get(&mut con, "seq.*"), defaults, "CONFIG GET seq.*");

    for (name, value) in [
        ("seq.max-payload-bytes", "10"),
        ("seq.max-client-msg-id-bytes", "4"),
        ("seq.dedup-window-ms", "1"),
        ("seq.max-len", "7"),
        ("seq.max-age-ms", "600000"),
        ("seq.failover-gap", "1000"),
    ] {
        config_set(&mut con, name, value);
        assert_eq!(config_get(&mut con, name).get(name).map(String::as_str), Some(value), "CONFIG GET {name}");
    }
    let e = expect_err(&mut con, redis::cmd("CONFIG").arg("SET").arg("seq.max-len").arg("lots"));
    assert!(e.starts_with("ERR"), "CONFIG SET seq.max-len lots: {e}");
    assert_eq!(config_get(&mut con, "seq.max-len")["seq.max-len"], "7", "a refused CONFIG SET changed the value");

    // Limits follow the configs.
    assert_eq!(alloc(&mut con, b"k", b"abcd", Some(b"0123456789")), 1, "id and payload exactly at the limits");
    let e = expect_err(&mut con, redis::cmd("SEQ.ALLOC").arg("k").arg("abcde").arg("p"));
    assert_err_names(&e, &["client-msg-id"], "5-byte id with seq.max-client-msg-id-bytes 4");
    let e = expect_err(&mut con, redis::cmd("SEQ.ALLOC").arg("k").arg("x").arg("0123456789A"));
    assert_err_names(&e, &["payload"], "11-byte payload with seq.max-payload-bytes 10");
    assert_eq!(last(&mut con, b"k"), 1);

    // The de-duplication window (1 ms of log time): after a later append, an old id is new.
    assert_eq!(alloc(&mut con, b"w", b"x", None), 1);
    thread::sleep(Duration::from_millis(30));
    assert_eq!(alloc(&mut con, b"w", b"y", None), 2);
    assert_eq!(alloc(&mut con, b"w", b"x", None), 3, "x's 1 ms window ended 30 ms of log time ago");

    // Retention on append.
    for i in 0..9 {
        alloc(&mut con, b"r", format!("r{i}").as_bytes(), None);
    }
    let info = info_of(&mut con, b"r");
    assert_eq!((info["last"], info["first"], info["length"]), (9, 3, 7), "seq.max-len 7 after 9 appends");
}

#[test]
fn configs_given_at_startup_apply() {
    let (server, _dir) = start_seq(&[
        "--seq.max-len",
        "2",
        "--seq.max-client-msg-id-bytes",
        "3",
        "--seq.dedup-window-ms",
        "5000",
        "--seq.max-payload-bytes",
        "100",
        "--seq.max-age-ms",
        "123456",
        "--seq.failover-gap",
        "50",
    ]);
    let mut con = server.connect();
    let got = config_get(&mut con, "seq.*");
    let want: BTreeMap<String, String> = [
        ("seq.dedup-window-ms", "5000"),
        ("seq.failover-gap", "50"),
        ("seq.max-age-ms", "123456"),
        ("seq.max-client-msg-id-bytes", "3"),
        ("seq.max-len", "2"),
        ("seq.max-payload-bytes", "100"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    let e = expect_err(&mut con, redis::cmd("SEQ.ALLOC").arg("k").arg("abcd"));
    assert_err_names(&e, &["client-msg-id"], "4-byte id with --seq.max-client-msg-id-bytes 3");
    for id in ["a", "b", "c"] {
        alloc(&mut con, b"k", id.as_bytes(), None);
    }
    assert_eq!(seqs(&entries(&mut con, b"k")), vec![2, 3], "--seq.max-len 2");
}

#[test]
fn seq_effect_is_refused_from_an_ordinary_client() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    alloc(&mut con, KEY, b"m1", Some(b"p"));
    let before = db_state(&mut con);
    let forms: Vec<Vec<&[u8]>> = vec![
        vec![b"SEQ.EFFECT", KEY, b"ALLOC", b"2", b"m2", b"1700000000000", b"0", b"payload"],
        vec![b"SEQ.EFFECT", KEY, b"ALLOC", b"1", b"m1", b"1", b"0"],
        vec![b"SEQ.EFFECT", b"newkey", b"ALLOC", b"1", b"id", b"1", b"0", b""],
        vec![b"SEQ.EFFECT", KEY, b"ACK", b"dev", b"1"],
        vec![b"SEQ.EFFECT", KEY, b"TRIM", b"1"],
        vec![b"SEQ.EFFECT", KEY, b"bogus", b"1", b"2", b"3"],
        vec![b"seq.effect", KEY, b"ALLOC", b"2", b"m2", b"1", b"0"],
    ];
    for form in &forms {
        let cmd = cmd_bytes(form);
        let e = expect_err(&mut con, &cmd);
        assert_err_names(&e, &["internal"], &show_cmd(&cmd));
    }
    for form in [vec![&b"SEQ.EFFECT"[..]], vec![b"SEQ.EFFECT", KEY]] {
        let cmd = cmd_bytes(&form);
        let e = expect_err(&mut con, &cmd);
        assert_err_names(&e, &["internal", "wrong number of arguments"], &show_cmd(&cmd));
    }
    // Not through MULTI or a script either.
    let v: Value = redis::pipe()
        .atomic()
        .cmd("SEQ.EFFECT")
        .arg(KEY)
        .arg("ALLOC")
        .arg("2")
        .arg("m2")
        .arg("1")
        .arg("0")
        .query(&mut con)
        .unwrap_or_else(|e| Value::SimpleString(format!("EXEC error: {}", error_text(&e))));
    assert!(format!("{v:?}").to_lowercase().contains("internal"), "SEQ.EFFECT in MULTI: {v:?}");
    let r: redis::RedisResult<Value> = redis::cmd("EVAL")
        .arg("return redis.call('SEQ.EFFECT', KEYS[1], 'ALLOC', '2', 'm2', '1', '0')")
        .arg(1)
        .arg(KEY)
        .query(&mut con);
    match r {
        Ok(v) => panic!("SEQ.EFFECT from a script replied {v:?}"),
        Err(e) => assert!(error_text(&e).to_lowercase().contains("internal"), "script: {}", error_text(&e)),
    }
    assert_same_db(&before, &db_state(&mut con), "after refused SEQ.EFFECT calls");
    assert!(!exists(&mut con, b"newkey"));
    assert_eq!(alloc(&mut con, KEY, b"m2", None), 2);
}

/// (flags, first key, last key, step) from `COMMAND INFO name`.
fn command_info(con: &mut redis::Connection, name: &str) -> (HashSet<String>, i64, i64, i64) {
    let v: Value = redis::cmd("COMMAND").arg("INFO").arg(name).query(con).expect("COMMAND INFO");
    let Value::Array(outer) = v else { panic!("COMMAND INFO {name}: {v:?}") };
    let Some(Value::Array(doc)) = outer.first() else { panic!("COMMAND INFO {name}: unknown command ({outer:?})") };
    let flags: HashSet<String> = match &doc[2] {
        Value::Array(fs) | Value::Set(fs) => fs
            .iter()
            .map(|f| match f {
                Value::SimpleString(s) => s.clone(),
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::Okay => "OK".into(),
                other => panic!("flag {other:?}"),
            })
            .collect(),
        other => panic!("COMMAND INFO {name} flags {other:?}"),
    };
    let int = |v: &Value| match v {
        Value::Int(n) => *n,
        other => panic!("COMMAND INFO {name}: {other:?} is not an integer"),
    };
    (flags, int(&doc[3]), int(&doc[4]), int(&doc[5]))
}

fn getkeys(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut cmd = redis::cmd("COMMAND");
    cmd.arg("GETKEYS");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("COMMAND GETKEYS {args:?}: {}", error_text(&e)))
}

#[test]
fn command_info_and_getkeys_show_flags_and_key_positions() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    // name, flags it must have, flags it must not have, (first, last, step)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], (i64, i64, i64));
    let cases: [Case; 6] = [
        ("seq.alloc", &["write", "denyoom"], &["readonly"], (1, 1, 1)),
        ("seq.range", &["readonly"], &["write"], (1, 1, 1)),
        ("seq.revrange", &["readonly"], &["write"], (1, 1, 1)),
        ("seq.last", &["readonly", "fast"], &["write"], (1, 1, 1)),
        ("seq.mlast", &["readonly", "fast"], &["write"], (1, -1, 1)),
        ("seq.info", &["readonly"], &["write"], (1, 1, 1)),
    ];
    for (name, must, must_not, keys) in cases {
        let (flags, first, last_key, step) = command_info(&mut con, name);
        for f in must {
            assert!(flags.contains(*f), "COMMAND INFO {name}: flag {f} missing from {flags:?}");
        }
        for f in must_not {
            assert!(!flags.contains(*f), "COMMAND INFO {name}: unexpected flag {f} in {flags:?}");
        }
        assert_eq!((first, last_key, step), keys, "COMMAND INFO {name}: first/last/step key positions");
    }
    assert_eq!(getkeys(&mut con, &["SEQ.ALLOC", "conv:{a}", "id", "payload"]), vec!["conv:{a}"]);
    assert_eq!(getkeys(&mut con, &["SEQ.ALLOC", "conv:{a}", "id"]), vec!["conv:{a}"]);
    assert_eq!(getkeys(&mut con, &["SEQ.RANGE", "k1", "-", "+", "COUNT", "3"]), vec!["k1"]);
    assert_eq!(getkeys(&mut con, &["SEQ.REVRANGE", "k1", "+", "-"]), vec!["k1"]);
    assert_eq!(getkeys(&mut con, &["SEQ.LAST", "k1"]), vec!["k1"]);
    assert_eq!(getkeys(&mut con, &["SEQ.INFO", "k1"]), vec!["k1"]);
    assert_eq!(getkeys(&mut con, &["SEQ.MLAST", "a", "b", "c"]), vec!["a", "b", "c"]);
    assert_eq!(getkeys(&mut con, &["SEQ.MLAST", "only"]), vec!["only"]);
}

#[test]
fn info_seq_section_counts_logs_allocations_and_dedup_hits() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    alloc(&mut con, b"a", b"1", None);
    alloc(&mut con, b"a", b"2", None);
    alloc(&mut con, b"a", b"1", None);
    alloc(&mut con, b"b", b"1", None);
    alloc(&mut con, b"b", b"1", None);
    let field = |con: &mut redis::Connection, f: &str| {
        info_field(con, "seq", f).unwrap_or_else(|| panic!("INFO seq has no field {f}"))
    };
    assert_eq!(field(&mut con, "seq_logs"), "2");
    assert_eq!(field(&mut con, "seq_allocations"), "3");
    assert_eq!(field(&mut con, "seq_dedup_hits"), "2");
    for f in ["seq_entries_trimmed", "seq_blocked_clients", "seq_epoch"] {
        field(&mut con, f);
    }
    let everything: String = redis::cmd("INFO").arg("everything").query(&mut con).unwrap();
    assert!(everything.contains("seq_allocations:3"), "INFO everything includes the seq section");
}
