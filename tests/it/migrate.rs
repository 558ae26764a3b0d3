//! seq-migrate against real servers: the legacy layout (the benchmark's Lua script) with
//! gaps, retried ids, deleted stream entries and trailing skipped seqs, imported in a
//! limited run, a killed run and a final run, verified, then continued by SEQ.ALLOC; bad
//! source data reported or stopping the run with nothing of it imported; copies between
//! two servers (Redis to Redis, Redis to Valkey) verified clean; a cluster as target and
//! as source, by its URL.
//!
//! Every check here reads both servers itself: the tool's own `--verify` is asserted
//! too, but never trusted alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::binaries::{migrate_tool, valkey_server};
use crate::common::*;
use redis::{Connection, Value};

// The benchmark's script: a retried id returns its seq and writes nothing; else INCR,
// HSET and XADD with an auto (time) id.
use crate::common::legacy::LUA_SCRIPT as LUA;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn tool(args: &[&str]) -> Command {
    let mut cmd = Command::new(migrate_tool());
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Runs the tool to its end (at most 120 s).
fn run(args: &[&str]) -> Run {
    let child = tool(args).spawn().expect("spawn seq-migrate");
    finish(child, Duration::from_secs(120))
}

fn finish(mut child: Child, timeout: Duration) -> Run {
    let deadline = Instant::now() + timeout;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("seq-migrate did not finish in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("seq-migrate output");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_ok(run: &Run, what: &str) {
    assert_eq!(run.code, Some(0), "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}", run.code, run.stdout, run.stderr);
}

/// One legacy conversation as the test wrote it.
#[derive(Default)]
struct LegacyConv {
    /// The counter after the last call (above the stream's last seq: trailing skipped seqs).
    counter: i64,
    /// Every id the script gave a seq, with it.
    ids: Vec<(String, i64)>,
    /// Seqs whose stream entry was deleted (XDEL).
    deleted: Vec<i64>,
}

fn script(con: &mut Connection, conv: &str, id: &str, payload: &str) -> i64 {
    redis::cmd("EVAL")
        .arg(LUA)
        .arg(3)
        .arg(format!("ctr:{{{conv}}}"))
        .arg(format!("ids:{{{conv}}}"))
        .arg(format!("log:{{{conv}}}"))
        .arg(id)
        .arg(payload)
        .query(con)
        .expect("the legacy script")
}

/// `n` conversations: 1-12 messages each; every 5th has retried ids, every 7th a lost
/// write (a seq taken by INCR, never stored), every 11th a deleted stream entry, every
/// 50th a trailing skipped seq.
fn legacy_data(con: &mut Connection, n: usize) -> BTreeMap<String, LegacyConv> {
    let mut rng = Rng(0x5eed_1e9a);
    let mut all = BTreeMap::new();
    for c in 0..n {
        let name = format!("c{c:04}");
        let mut conv = LegacyConv::default();
        let messages = 1 + rng.below(12) as usize;
        for m in 0..messages {
            if c % 7 == 3 && m == 1 {
                let _: i64 = redis::cmd("INCR").arg(format!("ctr:{{{name}}}")).query(con).unwrap();
            }
            let id = format!("{name}-m{m}");
            let seq = script(con, &name, &id, &format!("payload {m} of {name}"));
            conv.ids.push((id.clone(), seq));
            if c % 5 == 0 {
                // A client retrying: the script answers the first seq and writes nothing.
                assert_eq!(script(con, &name, &id, "retried"), seq);
            }
        }
        if c % 11 == 0 && messages > 2 {
            let entries: Vec<Value> =
                redis::cmd("XRANGE").arg(format!("log:{{{name}}}")).arg("-").arg("+").query(con).unwrap();
            let (stream_id, seq) = stream_entry(&entries[1]);
            let _: i64 = redis::cmd("XDEL").arg(format!("log:{{{name}}}")).arg(stream_id).query(con).unwrap();
            conv.deleted.push(seq);
        }
        if c % 50 == 7 {
            let _: i64 = redis::cmd("INCR").arg(format!("ctr:{{{name}}}")).query(con).unwrap();
        }
        conv.counter = redis::cmd("GET").arg(format!("ctr:{{{name}}}")).query(con).unwrap();
        all.insert(name, conv);
    }
    all
}

/// (stream id, seq field) of an XRANGE entry.
fn stream_entry(entry: &Value) -> (String, i64) {
    let parts = array(entry);
    let fields: Vec<String> = array(&parts[1]).iter().map(text).collect();
    let seq = fields.iter().position(|f| f == "seq").map(|i| fields[i + 1].parse().unwrap()).expect("seq field");
    (text(&parts[0]), seq)
}

/// The source stream as (seq, id, ts, payload), ts from the stream id's milliseconds.
fn source_entries(con: &mut Connection, name: &str) -> Vec<(i64, String, i64, Vec<u8>)> {
    let entries: Vec<Value> = redis::cmd("XRANGE").arg(format!("log:{{{name}}}")).arg("-").arg("+").query(con).unwrap();
    entries
        .iter()
        .map(|e| {
            let parts = array(e);
            let fields: Vec<String> = array(&parts[1]).iter().map(text).collect();
            let get = |f: &str| fields[fields.iter().position(|x| x == f).expect(f) + 1].clone();
            let ms: i64 = text(&parts[0]).split('-').next().unwrap().parse().unwrap();
            (get("seq").parse().unwrap(), get("id"), ms, get("payload").into_bytes())
        })
        .collect()
}

fn target_entries(con: &mut impl redis::ConnectionLike, key: &str) -> Vec<(i64, String, i64, Vec<u8>)> {
    entries(con, key).into_iter().map(|e| (e.seq, e.id_str(), e.ts, e.payload.clone())).collect()
}

fn dbsize(con: &mut Connection) -> i64 {
    redis::cmd("DBSIZE").query(con).unwrap()
}

#[test]
fn legacy_import_limited_killed_resumed_verified_then_continued_by_alloc() {
    let (source, _ds) = start_seq(&[]);
    let (target, _dt) = start_seq(&[]);
    let mut src = source.connect();
    let mut dst = target.connect();
    let data = legacy_data(&mut src, 1_000);
    let (s_url, t_url) = (source.url(), target.url());
    let base = ["legacy", "--source", &s_url, "--target", &t_url];
    let with = |extra: &[&'static str]| -> Vec<String> { base.iter().chain(extra).map(|s| s.to_string()).collect() };
    let run_with = |extra: &[&'static str]| {
        let args = with(extra);
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let total: usize = data.values().map(|c| c.ids.len() - c.deleted.len()).sum();
    let trailing = data.values().filter(|c| c.counter > c.ids.last().unwrap().1).count();
    assert!(trailing > 0 && data.values().any(|c| !c.deleted.is_empty()));

    // A dry run reads and checks everything and writes nothing.
    let dry = run_with(&["--dry-run"]);
    assert_ok(&dry, "dry run");
    assert!(dry.stdout.contains("1000 conversations"), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("{total} messages to import (dry run)")), "{}", dry.stdout);
    assert_eq!(dbsize(&mut dst), 0, "a dry run writes nothing");

    // A run stopped after 300 conversations: exactly those are on the target.
    let limited = run_with(&["--limit", "300"]);
    assert_ok(&limited, "limited run");
    assert!(limited.stdout.contains("stopped after --limit 300"), "{}", limited.stdout);
    assert_eq!(dbsize(&mut dst), 300);
    // A run killed mid-way (one command per pipeline, so it is slow enough to catch):
    // some conversations further on, possibly one of them half imported.
    let mut child = tool(&with(&["--batch", "1", "--pipeline", "1"]).iter().map(String::as_str).collect::<Vec<_>>())
        .spawn()
        .expect("spawn seq-migrate");
    let caught = wait_until(Duration::from_secs(60), || dbsize(&mut dst) >= 400);
    child.kill().expect("kill seq-migrate");
    let killed = finish(child, Duration::from_secs(10));
    assert!(caught, "the killed run never reached 400 conversations: {}", killed.stderr);
    let at_kill = dbsize(&mut dst);
    assert!(killed.code.is_none() && at_kill < 1_000, "the run finished ({at_kill} conversations) before the kill");
    eprintln!("killed with {at_kill} conversations on the target");

    // The rerun continues where the target ends and verifies clean.
    let full = run_with(&["--verify"]);
    assert_ok(&full, "resumed run with --verify");
    assert!(full.stdout.contains("verify: 1000 conversations"), "{}", full.stdout);
    assert!(full.stdout.contains(": clean"), "{}", full.stdout);
    assert!(full.stdout.contains(&format!("{trailing} conversations with trailing skipped seqs")), "{}", full.stdout);
    let already: usize =
        full.stdout.split(" already complete").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(already >= 300, "the rerun redid conversations: {}", full.stdout);
    assert_eq!(dbsize(&mut dst), 1_000);

    for (name, conv) in &data {
        let key = format!("conv:{{{name}}}");
        assert_eq!(target_entries(&mut dst, &key), source_entries(&mut src, name), "{name}: entries");
        let stream_last = conv.ids.iter().map(|(_, s)| *s).filter(|s| !conv.deleted.contains(s)).max().unwrap();
        let info = info_of(&mut dst, &key);
        assert_eq!(field(&info, "last"), stream_last, "{name}");
        assert_eq!(field(&info, "skipped-seqs"), stream_last - field(&info, "length"), "{name}");
        // Every old id retried gets its old seq (an id whose entry was deleted from the
        // stream is not carried: it has no entry to import).
        for (id, seq) in &conv.ids {
            if !conv.deleted.contains(seq) {
                assert_eq!(alloc(&mut dst, &key, id, Some(b"retry")), *seq, "{name}: retried {id}");
            }
        }
        // New messages continue after the counter, or, where the source's last seqs hold
        // no entry, after the last imported one (those seqs are issued again).
        let next = alloc(&mut dst, &key, format!("{name}-new"), Some(b"new"));
        let want = if conv.counter > stream_last { stream_last + 1 } else { conv.counter + 1 };
        assert_eq!(next, want, "{name}: first SEQ.ALLOC after the migration");
    }
}

#[test]
fn bad_source_data_is_reported_or_stops_the_run_and_nothing_of_it_is_imported() {
    let (source, _ds) = start_seq(&[]);
    let (target, _dt) = start_seq(&[]);
    let mut src = source.connect();
    let mut dst = target.connect();
    let xadd = |con: &mut Connection, conv: &str, fields: &[(&str, &str)]| {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(format!("log:{{{conv}}}")).arg("*");
        for (f, v) in fields {
            cmd.arg(*f).arg(*v);
        }
        let _: String = cmd.query(con).unwrap();
    };
    for good in ["g1", "g2", "g3"] {
        for seq in 1..=3 {
            let (s, id) = (seq.to_string(), format!("{good}-{seq}"));
            xadd(&mut src, good, &[("seq", &s), ("id", &id), ("payload", "p"), ("ts", &(1_000 + seq).to_string())]);
        }
    }
    // The bad ones: each is fine up to a later entry, so nothing of it may be written.
    xadd(&mut src, "b-noseq", &[("seq", "1"), ("id", "a"), ("payload", "p"), ("ts", "1000")]);
    xadd(&mut src, "b-noseq", &[("id", "b"), ("payload", "p"), ("ts", "1001")]);
    xadd(&mut src, "b-order", &[("seq", "2"), ("id", "a"), ("payload", "p"), ("ts", "1000")]);
    xadd(&mut src, "b-order", &[("seq", "1"), ("id", "b"), ("payload", "p"), ("ts", "1001")]);
    xadd(&mut src, "b-tsback", &[("seq", "1"), ("id", "a"), ("payload", "p"), ("ts", "1000")]);
    xadd(&mut src, "b-tsback", &[("seq", "2"), ("id", "b"), ("payload", "p"), ("ts", "999")]);
    let (s_url, t_url) = (source.url(), target.url());
    let base = ["legacy", "--source", s_url.as_str(), "--target", t_url.as_str(), "--ts-field", "ts"];

    let report = run(&base);
    assert_eq!(report.code, Some(2), "some conversations failed: {}\n{}", report.stdout, report.stderr);
    for (conv, why) in
        [("b-noseq", "has no seq field \"seq\""), ("b-order", "seqs out of order"), ("b-tsback", "ts goes back")]
    {
        let line = report.stderr.lines().find(|l| l.contains(&format!("log:{{{conv}}}"))).unwrap_or_else(|| {
            panic!("no error line for {conv}: {}", report.stderr);
        });
        assert!(line.contains(why) && line.contains("nothing of it was imported"), "{line}");
        assert!(!exists(&mut dst, format!("conv:{{{conv}}}")), "{conv} was partly imported");
    }
    for good in ["g1", "g2", "g3"] {
        let es = target_entries(&mut dst, &format!("conv:{{{good}}}"));
        assert_eq!(es.iter().map(|e| (e.0, e.2)).collect::<Vec<_>>(), vec![(1, 1_001), (2, 1_002), (3, 1_003)]);
    }
    assert!(report.stdout.contains("6 conversations (3 written, 0 already complete, 3 failed)"), "{}", report.stdout);

    // --on-error stop: the run ends at the first bad conversation (b-noseq sorts first).
    let _: () = redis::cmd("FLUSHALL").query(&mut dst).unwrap();
    let mut args = base.to_vec();
    args.extend(["--on-error", "stop", "--batch", "1"]);
    let stop = run(&args);
    assert_eq!(stop.code, Some(1), "{}\n{}", stop.stdout, stop.stderr);
    assert!(stop.stderr.contains("stopped at the first bad conversation (log:{b-noseq}"), "{}", stop.stderr);
    assert_eq!(dbsize(&mut dst), 0, "b-noseq sorts before every good conversation: nothing written");
}

/// A redis-seq source: ALLOCs, imported gaps, trimmed heads, a log trimmed empty (its
/// `last` above every entry), cursors.
fn seq_data(con: &mut Connection, logs: usize) -> Vec<String> {
    let now = server_time_ms(con);
    let mut keys = Vec::new();
    for l in 0..logs {
        let key = format!("conv:{{k{l:03}}}");
        if l % 4 == 1 {
            call(con, &["SEQ.IMPORT", &key, "5", &(now - 1_000).to_string(), "imp-5", "imported"]);
        }
        for m in 0..(3 + l % 9) {
            alloc(con, &key, format!("k{l}-m{m}"), Some(format!("payload {m}").as_bytes()));
        }
        if l % 6 == 2 {
            call(con, &["SEQ.TRIM", &key, "MINSEQ", "3"]);
        }
        if l % 10 == 9 {
            call(con, &["SEQ.TRIM", &key, "MAXLEN", "0"]);
        }
        let last = last(con, &key);
        call(con, &["SEQ.ACK", &key, "phone", &(last / 2).to_string()]);
        call(con, &["SEQ.ACK", &key, "web", &last.to_string()]);
        keys.push(key);
    }
    keys
}

fn assert_copied(src: &mut Connection, dst: &mut Connection, keys: &[String]) {
    for key in keys {
        let source_entries = target_entries(src, key);
        assert_eq!(target_entries(dst, key), source_entries, "{key}: entries");
        let source_last = last(src, key);
        let expected_last = source_entries.last().map_or(0, |e| e.0);
        let target_last = if source_entries.is_empty() { 0 } else { last(dst, key) };
        assert_eq!(target_last, expected_last, "{key}: last is the last entry's seq");
        let want: Vec<(Vec<u8>, i64)> = cursors(src, key).into_iter().map(|(c, s)| (c, s.min(expected_last))).collect();
        if !source_entries.is_empty() {
            assert_eq!(cursors(dst, key), want, "{key}: cursors (above the last entry: at it)");
        }
        if source_last == expected_last && !source_entries.is_empty() {
            for e in &source_entries {
                assert_eq!(call_int(dst, &["SEQ.ALLOC", key, &e.1, "retry"]), e.0, "{key}: retried {}", e.1);
            }
            assert_eq!(alloc(dst, key, "after-copy", None), source_last + 1, "{key}: ALLOC continues");
        }
    }
}

fn copy_between(source: &Server, target: &Server, logs: usize) {
    let mut src = source.connect();
    let mut dst = target.connect();
    let keys = seq_data(&mut src, logs);
    let (s_url, t_url) = (source.url(), target.url());
    let base = ["copy", "--source", s_url.as_str(), "--target", t_url.as_str(), "--match", "conv:*"];
    let mut limited = base.to_vec();
    limited.extend(["--limit", "50"]);
    assert_ok(&run(&limited), "limited copy");
    let mut verified = base.to_vec();
    verified.push("--verify");
    let full = run(&verified);
    assert_ok(&full, "copy with --verify");
    assert!(full.stdout.contains(&format!("verify: {logs} conversations")), "{}", full.stdout);
    assert!(full.stdout.contains(": clean"), "{}", full.stdout);
    // The 50 of the first run, and the logs trimmed empty (nothing to import) after them.
    let emptied = keys.iter().enumerate().filter(|(l, _)| l % 10 == 9).count();
    let emptied_later = keys.iter().enumerate().filter(|(l, _)| *l >= 50 && l % 10 == 9).count();
    let already = format!("{} already complete", 50 + emptied_later);
    assert!(full.stdout.contains(&already), "{}", full.stdout);
    assert!(full.stdout.contains(&format!("{emptied} conversations with trailing skipped seqs")), "{}", full.stdout);
    assert_copied(&mut src, &mut dst, &keys);
}

#[test]
fn copy_redis_to_redis_verified() {
    let (source, _ds) = start_seq(&[]);
    let (target, _dt) = start_seq(&[]);
    copy_between(&source, &target, 200);
}

#[test]
fn copy_redis_to_valkey_verified() {
    let valkey = valkey_server();
    let (source, _ds) = Server::start_program(Path::new("redis-server"), &DEBUG_ON);
    let (target, _dt) = Server::start_program(&valkey, &DEBUG_ON);
    let version = info_field(&mut target.connect(), "server", "valkey_version");
    assert!(version.is_some(), "the target is not Valkey: {valkey:?}");
    copy_between(&source, &target, 200);
}

#[test]
fn legacy_into_a_cluster_and_copied_back_out_by_cluster_url() {
    let (source, _ds) = start_seq(&[]);
    let cluster = Cluster::start(3, &[]);
    let (back, _db) = start_seq(&[]);
    let mut src = source.connect();
    let data = legacy_data(&mut src, 120);
    let cluster_url = format!(
        "redis+cluster://{}",
        cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect::<Vec<_>>().join(",")
    );
    let (s_url, b_url) = (source.url(), back.url());
    let into = run(&["legacy", "--source", &s_url, "--target", &cluster_url, "--verify"]);
    assert_ok(&into, "legacy into the cluster");
    assert!(into.stdout.contains("verify: 120 conversations") && into.stdout.contains(": clean"), "{}", into.stdout);
    let mut con = cluster.client().get_connection().expect("cluster connection");
    let mut per_node = Vec::new();
    for node in &cluster.nodes {
        per_node.push(dbsize(&mut node.connect()));
    }
    assert!(per_node.iter().all(|&n| n > 0) && per_node.iter().sum::<i64>() == 120, "logs per node {per_node:?}");
    for name in data.keys() {
        let key = format!("conv:{{{name}}}");
        assert_eq!(target_entries(&mut con, &key), source_entries(&mut src, name), "{name}");
    }
    // And out again: copy SCANs every master of the cluster.
    let out = run(&["copy", "--source", &cluster_url, "--target", &b_url, "--verify"]);
    assert_ok(&out, "copy out of the cluster");
    assert!(out.stdout.contains("verify: 120 conversations") && out.stdout.contains(": clean"), "{}", out.stdout);
    let mut dst = back.connect();
    for name in data.keys() {
        let key = format!("conv:{{{name}}}");
        assert_eq!(target_entries(&mut dst, &key), source_entries(&mut src, name), "{name}");
    }
}

#[test]
fn a_target_refusing_a_conversation_gets_nothing_of_it() {
    let (source, _ds) = start_seq(&[]);
    let (target, _dt) = start_seq(&[]);
    let mut src = source.connect();
    let mut dst = target.connect();
    for conv in ["x", "y"] {
        for m in 0..3 {
            script(&mut src, conv, &format!("{conv}{m}"), "p");
        }
    }
    // conv:{x} was written by something else: seq 1 far in the future, then trimmed empty,
    // so SEQ.INFO shows no last-ts and only the server's refusal tells.
    call(&mut dst, &["SEQ.IMPORT", "conv:{x}", "1", "9000000000000", "foreign", "p"]);
    call(&mut dst, &["SEQ.TRIM", "conv:{x}", "MAXLEN", "0"]);
    let (s_url, t_url) = (source.url(), target.url());
    let r = run(&["legacy", "--source", &s_url, "--target", &t_url]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("log:{x}: the target refused its first import: ERR cannot import ts"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing of it was imported"), "{}", r.stderr);
    assert_eq!((last(&mut dst, "conv:{x}"), field(&info_of(&mut dst, "conv:{x}"), "length")), (1, 0));
    assert_eq!(seqs(&entries(&mut dst, "conv:{y}")), vec![1, 2, 3]);
    assert!(r.stdout.contains("2 conversations (1 written, 0 already complete, 1 failed); 3 messages"), "{}", r.stdout);
}
