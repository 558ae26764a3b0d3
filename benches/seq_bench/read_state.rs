//! Phase `readstate`: read state for groups and one blocking read over many logs.
//!
//! - SEQ.READERS with 10 and with 100,000 consumers (distinct cursors): server µs per call
//!   (INFO commandstats), whose ratio shows the O(log N) count;
//! - SEQ.ALLOC with and without `ACK sender`;
//! - SEQ.READ (non-blocking) over 10 / 100 / 1,000 / 10,000 keys: what one call, and so
//!   one wake-up of a blocked call, costs the server (docs/patterns.md sizes a gateway's
//!   calls from it);
//! - one SEQ.READ BLOCK client watching 1,000 keys, ten watching 100 each, and 1,000
//!   clients each in SEQ.SYNC BLOCK on one key, all woken by the same paced writer
//!   appending to random keys: wake-ups and entries delivered per second, server CPU per
//!   append.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;

use crate::common::{blocked_clients, info_section, Server};
use crate::config::{log, Config};
use crate::data::{bench_payload, flushall, pipelined, server_cpu, unlink};
use crate::report::{fmt_rate, fmt_ratio, print_table, Summary, Target};
use crate::rows::{print_rows, run_rounds, Row};

/// Consumers of the big SEQ.READERS log (and entries in both READERS logs).
const MANY_CONSUMERS: u64 = 100_000;
const FEW_CONSUMERS: u64 = 10;
/// Keys watched in the blocking comparison, and the writer's pace there (a gateway's
/// traffic is sparse: most wake-ups carry one entry).
const WATCHED: usize = 1000;
const APPENDS_PER_SEC: u64 = 2000;

/// `usec_per_call` of `command` in INFO commandstats (NaN if it did not run).
fn usec_per_call(con: &mut redis::Connection, command: &str) -> f64 {
    let stats = info_section(con, "commandstats");
    let want = format!("cmdstat_{command}");
    stats
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&want))
        .and_then(|(_, v)| v.split(',').find_map(|kv| kv.strip_prefix("usec_per_call=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

fn reset_stats(con: &mut redis::Connection) {
    let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("RESETSTAT").query(con);
}

/// Runs each row on its own (commandstats reset before it) and returns the rows with the
/// server's µs per call of `command` for each.
fn rows_with_usec(
    cfg: &Config,
    server: &Server,
    con: &mut redis::Connection,
    rows: Vec<Row>,
    command: &str,
) -> (Vec<Row>, Vec<f64>) {
    let mut done = Vec::new();
    let mut usec = Vec::new();
    for row in rows {
        let mut one = [row];
        reset_stats(con);
        run_rounds(cfg, server, con, &mut one, "readstate");
        usec.push(usec_per_call(con, command));
        let [row] = one;
        done.push(row);
    }
    (done, usec)
}

fn fill(con: &mut redis::Connection, key: &str, n: u64) -> Result<Duration, String> {
    let key = key.to_string();
    pipelined(
        con,
        n,
        |i| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(&key).arg(format!("f{i:09}"));
            c
        },
        |_, _| {},
        None,
    )
}

/// `n` consumers on `key`, each at a distinct cursor spread over `1..=last`.
fn ack_consumers(con: &mut redis::Connection, key: &str, n: u64, last: u64) -> Result<Duration, String> {
    let key = key.to_string();
    pipelined(
        con,
        n,
        |i| {
            let mut c = redis::cmd("SEQ.ACK");
            c.arg(&key).arg(format!("device:{i:08}")).arg(1 + (i * 7919) % last);
            c
        },
        |_, _| {},
        None,
    )
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    flushall(con);
    readers_rows(cfg, server, con, sum);
    flushall(con);
    alloc_rows(cfg, server, con, sum);
    flushall(con);
    read_cost_by_keys(con, sum);
    flushall(con);
    blocking_fan_in(cfg, con, server, sum);
    flushall(con);
}

fn readers_rows(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    let sizes = [FEW_CONSUMERS, 1000, MANY_CONSUMERS];
    log(format!("readstate: SEQ.READERS logs with {sizes:?} consumers"));
    let mut rows = Vec::new();
    for consumers in sizes {
        let key = format!("conv:readers:{consumers}");
        if let Err(e) =
            fill(con, &key, MANY_CONSUMERS).and_then(|_| ack_consumers(con, &key, consumers, MANY_CONSUMERS))
        {
            log(format!("  fill of {key} failed: {e}"));
            sum.add("SEQ.READERS", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
            return;
        }
        rows.push(
            Row::new(
                "readers",
                format!("SEQ.READERS, {consumers} consumers"),
                cfg.n(1_000_000),
                &["SEQ.READERS", key.as_str(), "__rand_int__"],
            )
            .with_r(MANY_CONSUMERS),
        );
    }
    let (rows, usec) = rows_with_usec(cfg, server, con, rows, "SEQ.READERS");
    print_rows(&format!("SEQ.READERS (random seq in 0..{MANY_CONSUMERS}; distinct cursors)"), &rows);
    println!(
        "SEQ.READERS server usec_per_call (INFO commandstats): {}",
        sizes.iter().zip(&usec).map(|(n, us)| format!("{n} consumers {us:.3}")).collect::<Vec<_>>().join(", ")
    );
    for (i, &base) in sizes[..2].iter().enumerate() {
        sum.add(
            &format!("SEQ.READERS usec_per_call, {MANY_CONSUMERS} vs {base} consumers"),
            format!("{:.3} us (vs {:.3} us)", usec[2], usec[i]),
            usec[2],
            usec[2] / usec[i],
            &format!("{base} consumers (O(N): {}x)", MANY_CONSUMERS / base),
            Target::Info,
        );
    }
}

fn alloc_rows(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    log("readstate: SEQ.ALLOC with and without ACK");
    let payload = bench_payload();
    let reset = |key: &'static str| move |c: &mut redis::Connection| unlink(c, &[key.to_string()]);
    let rows = vec![
        Row::new(
            "alloc_plain",
            "SEQ.ALLOC key id payload",
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:alloc:plain", "id:__rand_int__", payload.as_str()],
        )
        .with_reset(reset("conv:alloc:plain")),
        Row::new(
            "alloc_ack",
            "SEQ.ALLOC key id payload ACK sender",
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:alloc:ack", "id:__rand_int__", payload.as_str(), "ACK", "sender"],
        )
        .with_reset(reset("conv:alloc:ack")),
    ];
    let (rows, usec) = rows_with_usec(cfg, server, con, rows, "SEQ.ALLOC");
    print_rows("SEQ.ALLOC WITH AND WITHOUT ACK (one log each, reset before each run)", &rows);
    println!(
        "SEQ.ALLOC server usec_per_call: plain {:.3}, with ACK {:.3} ({})",
        usec[0],
        usec[1],
        fmt_ratio(usec[1] / usec[0])
    );
    sum.add(
        "SEQ.ALLOC ... ACK sender usec_per_call vs plain SEQ.ALLOC",
        format!("{:.3} us (vs {:.3} us)", usec[1], usec[0]),
        usec[1],
        usec[1] / usec[0],
        "plain",
        Target::Info,
    );
}

fn watched_key(i: usize) -> String {
    format!("inbox:{{u{i}}}")
}

/// `SEQ.READ [BLOCK ms] LOGS keys... positions...`.
fn read_cmd(keys: &[String], positions: &[String], block_ms: Option<u64>) -> redis::Cmd {
    let mut c = redis::cmd("SEQ.READ");
    if let Some(ms) = block_ms {
        c.arg("BLOCK").arg(ms);
    }
    c.arg("LOGS").arg(keys).arg(positions);
    c
}

fn read_cost_by_keys(con: &mut redis::Connection, sum: &mut Summary) {
    log("readstate: SEQ.READ cost by the number of keys");
    let sizes = [10usize, 100, 1000, 10_000];
    let keys: Vec<String> = (0..sizes[sizes.len() - 1]).map(watched_key).collect();
    let made = pipelined(
        con,
        keys.len() as u64,
        |i| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(&keys[i as usize]).arg("m1");
            c
        },
        |_, _| {},
        None,
    );
    if let Err(e) = made {
        log(format!("  fill failed: {e}"));
        return;
    }
    let mut body = Vec::new();
    for &k in &sizes {
        let keys = &keys[..k];
        let calls = (200_000 / k).clamp(20, 2000);
        // Nothing new (every position is `$`): what a wake-up that finds nothing costs.
        let dollars = vec!["$".to_string(); k];
        // One key with news, the others at their last: a typical wake-up.
        let mut one_new = vec!["1".to_string(); k];
        one_new[k / 2] = "0".to_string();
        let mut row = vec![k.to_string()];
        for positions in [&dollars, &one_new] {
            reset_stats(con);
            let cmd = read_cmd(keys, positions, None);
            for _ in 0..calls {
                let _: redis::RedisResult<Value> = cmd.query(con);
            }
            let us = usec_per_call(con, "SEQ.READ");
            row.push(format!("{us:.1}"));
            row.push(format!("{:.3}", us / k as f64));
        }
        if k == 1000 {
            sum.add(
                "SEQ.READ over 1,000 keys, one with news (usec_per_call)",
                format!("{} us", row[3]),
                f64::NAN,
                f64::NAN,
                "",
                Target::Info,
            );
        }
        body.push(row);
    }
    print_table(
        "SEQ.READ (no BLOCK) SERVER COST BY KEYS (INFO commandstats usec_per_call; a blocked call's wake-up costs about the same)",
        &["keys", "none new: us/call", "us/key", "one new: us/call", "us/key"],
        &body,
    );
}

/// Counters the readers share with the driver.
#[derive(Default)]
struct Delivered {
    wakeups: AtomicU64,
    entries: AtomicU64,
}

/// The fan-in design: one connection, one SEQ.READ BLOCK over every key.
fn spawn_read_gateway(
    server: &Server,
    keys: Vec<String>,
    stop: Arc<AtomicBool>,
    got: Arc<Delivered>,
) -> thread::JoinHandle<()> {
    let mut con = server.connect();
    thread::spawn(move || {
        let index: HashMap<String, usize> = keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        // The keys do not exist yet: every append is news.
        let mut positions = vec!["0".to_string(); keys.len()];
        while !stop.load(Ordering::Relaxed) {
            let reply: Value = match read_cmd(&keys, &positions, Some(1000)).query(&mut con) {
                Ok(v) => v,
                Err(e) => return log(format!("  the SEQ.READ client stopped: {e}")),
            };
            let Value::Array(items) = reply else { continue };
            got.wakeups.fetch_add(1, Ordering::Relaxed);
            for item in items {
                let Value::Array(parts) = item else { continue };
                let (Some(Value::BulkString(key)), Some(Value::Int(last)), Some(Value::Array(entries))) =
                    (parts.first(), parts.get(1), parts.get(2))
                else {
                    continue;
                };
                if let Some(&i) = index.get(String::from_utf8_lossy(key).as_ref()) {
                    positions[i] = last.to_string();
                }
                got.entries.fetch_add(entries.len() as u64, Ordering::Relaxed);
            }
        }
    })
}

/// The one-connection-per-device design: SEQ.SYNC BLOCK on one key.
fn spawn_sync_client(
    server: &Server,
    key: String,
    stop: Arc<AtomicBool>,
    got: Arc<Delivered>,
) -> thread::JoinHandle<()> {
    let mut con = server.connect();
    thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut after = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let reply: Result<(i64, Vec<Value>), _> = redis::cmd("SEQ.SYNC")
                    .arg(&key)
                    .arg("gateway")
                    .arg("AFTER")
                    .arg(after)
                    .arg("BLOCK")
                    .arg(1000)
                    .query(&mut con);
                let (last, entries) = match reply {
                    Ok(page) => page,
                    Err(e) => return log(format!("  a SEQ.SYNC client stopped: {e}")),
                };
                if !entries.is_empty() {
                    got.wakeups.fetch_add(1, Ordering::Relaxed);
                    got.entries.fetch_add(entries.len() as u64, Ordering::Relaxed);
                    after = last;
                }
            }
        })
        .expect("spawn a SEQ.SYNC client thread")
}

/// What one design delivered while one writer appended to random watched keys for
/// `window`: (appends, wake-ups, entries, server CPU seconds).
fn drive(
    con: &mut redis::Connection,
    server: &Server,
    window: Duration,
    start: impl FnOnce(Arc<AtomicBool>, Arc<Delivered>) -> Vec<thread::JoinHandle<()>>,
    blocked: i64,
) -> (u64, u64, u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(Delivered::default());
    let handles = start(stop.clone(), got.clone());
    let t = Instant::now();
    while blocked_clients(con) < blocked && t.elapsed() < Duration::from_secs(30) {
        thread::sleep(Duration::from_millis(20));
    }
    let mut writer = server.connect();
    let mut rng = crate::data::Rng(7);
    let cpu0 = server_cpu(con);
    let (w0, e0) = (got.wakeups.load(Ordering::Relaxed), got.entries.load(Ordering::Relaxed));
    let t = Instant::now();
    let mut appends = 0u64;
    while t.elapsed() < window {
        let due = Duration::from_micros(appends * 1_000_000 / APPENDS_PER_SEC);
        if let Some(ahead) = due.checked_sub(t.elapsed()) {
            thread::sleep(ahead);
        }
        let key = watched_key((rng.next() % WATCHED as u64) as usize);
        let _: redis::RedisResult<i64> = redis::cmd("SEQ.ALLOC").arg(key).arg(format!("w{appends}")).query(&mut writer);
        appends += 1;
    }
    // Let the readers take what is in flight, then measure.
    thread::sleep(Duration::from_millis(200));
    let cpu = server_cpu(con) - cpu0;
    let (w1, e1) = (got.wakeups.load(Ordering::Relaxed), got.entries.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    (appends, w1 - w0, e1 - e0, cpu)
}

fn blocking_fan_in(cfg: &Config, con: &mut redis::Connection, server: &Server, sum: &mut Summary) {
    let window = Duration::from_secs(if cfg.quick { 3 } else { 10 });
    log(format!(
        "readstate: {WATCHED} watched keys, a writer at {APPENDS_PER_SEC}/s for {:.0} s: SEQ.READ BLOCK over 1000 and 100 keys, SEQ.SYNC BLOCK per key",
        window.as_secs_f64()
    ));
    let keys: Vec<String> = (0..WATCHED).map(watched_key).collect();
    // SEQ.READ BLOCK over every key from `gateways` connections, each with its share.
    let reads = |con: &mut redis::Connection, gateways: usize| {
        flushall(con);
        let share = WATCHED / gateways;
        let start = |stop: Arc<AtomicBool>, got: Arc<Delivered>| {
            keys.chunks(share)
                .map(|part| spawn_read_gateway(server, part.to_vec(), stop.clone(), got.clone()))
                .collect()
        };
        drive(con, server, window, start, gateways as i64)
    };
    let read_one = reads(con, 1);
    let read_ten = reads(con, 10);
    flushall(con);
    let sync = drive(
        con,
        server,
        window,
        |stop, got| keys.iter().map(|k| spawn_sync_client(server, k.clone(), stop.clone(), got.clone())).collect(),
        WATCHED as i64,
    );
    let secs = window.as_secs_f64();
    let per_append = |(appends, _, _, cpu): (u64, u64, u64, f64)| cpu * 1e6 / appends.max(1) as f64;
    let body: Vec<Vec<String>> = [
        (format!("1 x SEQ.READ BLOCK over {WATCHED} keys"), read_one),
        (format!("10 x SEQ.READ BLOCK over {} keys", WATCHED / 10), read_ten),
        (format!("{WATCHED} x SEQ.SYNC BLOCK, 1 key each"), sync),
    ]
    .into_iter()
    .map(|(what, run)| {
        let (appends, wakeups, entries, cpu) = run;
        vec![
            what,
            fmt_rate(appends as f64 / secs),
            fmt_rate(wakeups as f64 / secs),
            fmt_rate(entries as f64 / secs),
            format!("{:.1}", entries as f64 / wakeups.max(1) as f64),
            format!("{:.1}", per_append(run)),
            format!("{:.0}%", cpu / secs * 100.0),
        ]
    })
    .collect();
    print_table(
        &format!(
            "BLOCKING FAN-IN: one writer appends to random keys of {WATCHED} at {APPENDS_PER_SEC}/s for {secs:.0} s (unpipelined); every design delivers every entry"
        ),
        &["design", "appends", "wake-ups", "entries delivered", "entries/wake-up", "server CPU us/append", "server CPU"],
        &body,
    );
    for (what, run) in
        [(format!("1 x SEQ.READ over {WATCHED}"), read_one), (format!("10 x SEQ.READ over {}", WATCHED / 10), read_ten)]
    {
        sum.add(
            &format!("server CPU per append, {what} keys vs {WATCHED} SEQ.SYNC BLOCK clients"),
            format!("{:.1} us (vs {:.1} us)", per_append(run), per_append(sync)),
            per_append(run),
            per_append(run) / per_append(sync),
            "one client per key",
            Target::Info,
        );
    }
}
