//! The de-duplication index past 2^24 ids (issue 14): one log is filled, pipelined with
//! empty payloads, until more than 16,777,216 ids are inside its window. Then single
//! SEQ.ALLOC calls still answer fast (no call rebuilds the whole index), SLOWLOG shows no
//! stall over the whole run, and the oldest id, one from the middle and the newest still
//! get their first seqs.
//!
//! Latency bounds are generous (the issue asks for < 10 ms per call; the median is held
//! to that and every call to 200 ms, so a loaded machine does not fail it, while the old
//! 1.4-3.8 s rebuild per call would): every measurement is printed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;

const KEY: &str = "conv:big";
/// Ids past the compact slots' 24-bit range, with room to spare.
const IDS: u64 = (1 << 24) + 300_000;
/// SLOWLOG threshold: 10 ms, in microseconds.
const SLOW_US: i64 = 10_000;
/// A single call timed by the client may take this long on a loaded machine.
const STALL: Duration = Duration::from_millis(200);
/// No call in SLOWLOG may come near the old rebuild (1.4-3.8 s per call), even when the
/// machine preempts the server for a while.
const SLOWLOG_STALL_US: i64 = 1_000_000;

fn id(n: u64) -> String {
    format!("m{n}")
}

/// SEQ.ALLOC entries of SLOWLOG: (duration in µs, arguments).
fn slow_allocs(con: &mut redis::Connection) -> Vec<(i64, Vec<String>)> {
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(-1).query(con).expect("SLOWLOG GET");
    entries
        .iter()
        .filter_map(|entry| {
            let redis::Value::Array(fields) = entry else { return None };
            let micros: i64 = redis::from_redis_value(fields.get(2)?).ok()?;
            let args: Vec<String> = redis::from_redis_value(fields.get(3)?).ok()?;
            args.first().is_some_and(|c| c.eq_ignore_ascii_case("SEQ.ALLOC")).then_some((micros, args))
        })
        .collect()
}

fn timed_alloc(con: &mut redis::Connection, id: &str) -> (i64, Duration) {
    let t = Instant::now();
    let seq: i64 = redis::cmd("SEQ.ALLOC").arg(KEY).arg(id).query(con).expect("SEQ.ALLOC");
    (seq, t.elapsed())
}

/// SEQ.ALLOC KEY m1 .. m{IDS}, pipelined on a raw connection: one thread writes the
/// commands while this one reads the replies, so the server never waits for the client;
/// each new id must get the next seq.
fn fill(server: &Server) {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let mut writer = stream.try_clone().expect("clone the connection");
    let sender = std::thread::spawn(move || {
        let mut buf = Vec::with_capacity(1 << 17);
        for n in 1..=IDS {
            let id = id(n);
            write!(buf, "*3\r\n$9\r\nSEQ.ALLOC\r\n${}\r\n{KEY}\r\n${}\r\n{id}\r\n", KEY.len(), id.len())
                .expect("format");
            if buf.len() >= 1 << 16 {
                writer.write_all(&buf).expect("send");
                buf.clear();
            }
        }
        writer.write_all(&buf).expect("send");
    });
    let mut replies = BufReader::with_capacity(1 << 16, stream);
    let mut line = String::new();
    for n in 1..=IDS {
        line.clear();
        replies.read_line(&mut line).expect("read a reply");
        assert_eq!(line, format!(":{n}\r\n"), "SEQ.ALLOC {KEY} {}: a new id gets the next seq", id(n));
    }
    sender.join().expect("the sending thread");
}

#[test]
fn alloc_stays_fast_and_exact_past_2_pow_24_ids_in_the_window() {
    let slow = SLOW_US.to_string();
    let (server, _dir) = Server::start(&["--slowlog-log-slower-than", slow.as_str(), "--slowlog-max-len", "100000"]);
    let mut con = server.connect();

    let t0 = Instant::now();
    fill(&server);
    let fill = t0.elapsed();
    println!("filled {IDS} ids in {fill:?} ({:.0} allocations/s)", IDS as f64 / fill.as_secs_f64());

    let mut latencies = Vec::new();
    for n in IDS + 1..=IDS + 20 {
        let (seq, took) = timed_alloc(&mut con, &id(n));
        assert_eq!(seq as u64, n, "a new id after the fill");
        latencies.push(took);
    }
    println!("single SEQ.ALLOC after the fill: {latencies:?}");
    let mut sorted = latencies.clone();
    sorted.sort();
    assert!(sorted[sorted.len() / 2] < Duration::from_millis(10), "median SEQ.ALLOC latency: {latencies:?}");
    assert!(sorted.iter().all(|&l| l < STALL), "a single SEQ.ALLOC stalled: {latencies:?}");

    // Retries inside the window get their first seqs: the oldest, one from the middle,
    // the newest of the fill.
    for n in [1, 2, IDS / 2, (1 << 24) + 1, IDS] {
        let (seq, took) = timed_alloc(&mut con, &id(n));
        assert_eq!(seq as u64, n, "retry of {} (first seq {n}), answered in {took:?}", id(n));
    }
    let info = info_of(&mut con, KEY);
    let entries = info.get("dedup-entries").copied().unwrap_or(0);
    assert_eq!(entries as u64, IDS + 20, "dedup-entries: {info:?}");
    assert!(entries > 1 << 24, "{info:?}");
    assert_eq!(info.get("last").copied(), Some((IDS + 20) as i64), "retries issue nothing: {info:?}");

    let bytes: i64 = redis::cmd("MEMORY").arg("USAGE").arg(KEY).query(&mut con).expect("MEMORY USAGE");
    println!("MEMORY USAGE {KEY}: {bytes} bytes, {:.1} bytes per id", bytes as f64 / entries as f64);

    let slow = slow_allocs(&mut con);
    let worst = slow.iter().map(|(us, _)| *us).max().unwrap_or(0);
    println!("SLOWLOG: {} SEQ.ALLOC calls above {SLOW_US} µs over the whole run, worst {worst} µs", slow.len());
    for (us, args) in &slow {
        println!("  {us} µs: {args:?}");
    }
    assert!(worst < SLOWLOG_STALL_US, "a SEQ.ALLOC stalled the server: {slow:?}");
    // The old index rebuilt itself on every call past 2^24 ids (300,000 calls here, each
    // over a second); a machine preempting the server shows as scattered calls of 10-30 ms
    // (9-86 on an idle 2-core machine, 5,631 with a load average of 14): at most 0.1%.
    assert!(slow.len() as u64 <= IDS / 1_000, "{} SEQ.ALLOC calls above {SLOW_US} µs: {slow:?}", slow.len());
    println!("dedup past 2^24 ids: {:?} in all", t0.elapsed());
}
