//! redis-seq benchmark: SEQ.* against what an IM team writes by hand (a Lua script over a
//! counter, a hash of client-msg-ids and a stream), side by side in one run, on one
//! `redis-server` that this program starts with the module loaded.
//!
//! The package is a `cdylib`, so this program does not link the module: it drives
//! `redis-server` and `redis-benchmark` as processes and talks to the server with the
//! `redis` crate for fills, memory readings and timings. It is a measurement, not a test:
//! it prints tables and exits 0 whatever the numbers (it stops with an error only when it
//! cannot set up: module missing or stale, server or redis-benchmark not found).
//!
//! It starts the server with the integration tests' harness (`tests/common`, included
//! below by path), so both run the same binaries with the same arguments. The phases are
//! modules of their own: `throughput`, `memory`, `scale`, `lifecycle`, `readstate`
//! (read_state.rs), `aof` (the hot-key appends with the AOF on), `small` (small_logs.rs);
//! `rows` runs redis-benchmark,
//! `report` prints the tables and the SUMMARY.
//!
//! Run (after `cargo build --release`):
//!
//! ```text
//! cargo bench --bench seq_bench                      # full run
//! SEQ_BENCH_QUICK=1 cargo bench --bench seq_bench    # smoke run, well under a minute
//! cargo bench --bench seq_bench -- --quick           # the same
//! ```
//!
//! Environment knobs (all optional; see docs/performance.md):
//! `SEQ_BENCH_QUICK`, `SEQ_BENCH_ROUNDS`, `SEQ_BENCH_N_SCALE`, `SEQ_BENCH_LONG`,
//! `SEQ_BENCH_CONVS`, `SEQ_BENCH_MSGS`, `SEQ_BENCH_BIG`, `SEQ_BENCH_RELOADS`,
//! `SEQ_BENCH_PAYLOAD`, `SEQ_BENCH_IDS`, `SEQ_BENCH_PHASES`, `SEQ_BENCH_SMALL_CONVS`; the binaries and the module as for the tests:
//! `SEQ_TEST_SERVER`, `SEQ_TEST_BENCHMARK`, `SEQ_TEST_MODULE` (`tests/common/binaries.rs`).

mod aof;
#[path = "../../tests/common/mod.rs"]
mod common;
mod config;
mod data;
mod dedup;
mod lifecycle;
mod memory;
mod read_state;
mod report;
mod rows;
mod scale;
mod small_logs;
mod throughput;

use std::fmt::Write as _;
use std::time::Instant;

use common::{binaries, ScratchDir, Server};
use config::{die, log, Config, PAYLOAD_LEN};
use redis::Value;
use report::{print_table, Summary};

use common::legacy::LUA_SCRIPT;

fn main() {
    let cfg = Config::from_env_and_args();
    let started = Instant::now();
    config::clock();

    // setup: binaries, module, server
    let benchmark = binaries::benchmark();
    if benchmark.get_program().is_empty() || binaries::benchmark().arg("--version").output().is_err() {
        die(&format!("`{:?}` not found (apt-get install redis-tools / redis-server)", benchmark.get_program()));
    }
    let module = binaries::module_path();
    let (server, dir) = Server::start(&[]);
    let fail = |server: Server, dir: ScratchDir, msg: &str| -> ! {
        drop(server);
        drop(dir);
        die(msg)
    };
    let mut con = match server.try_connect() {
        Ok(c) => c,
        Err(e) => fail(server, dir, &format!("connect to redis-server: {e}")),
    };
    let version = common::info_field(&mut con, "server", "redis_version").unwrap_or_default();
    let modules: Value = redis::cmd("MODULE").arg("LIST").query(&mut con).unwrap_or(Value::Nil);
    if !format!("{modules:?}").contains("seq") {
        fail(server, dir, &format!("the module did not load as `seq`: MODULE LIST = {modules:?}"));
    }
    match redis::cmd("SEQ.ALLOC").arg("seq-bench:probe").arg("probe-1").arg("x").query::<i64>(&mut con) {
        Ok(1) => {}
        Ok(n) => fail(server, dir, &format!("SEQ.ALLOC on a new key returned {n}, not 1")),
        Err(e) => fail(server, dir, &format!("the module does not answer SEQ.ALLOC: {e}")),
    }
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg("seq-bench:probe").query(&mut con);
    let sha: String = match redis::cmd("SCRIPT").arg("LOAD").arg(LUA_SCRIPT).query(&mut con) {
        Ok(s) => s,
        Err(e) => fail(server, dir, &format!("SCRIPT LOAD: {e}")),
    };

    let mut head = String::new();
    let _ = writeln!(
        head,
        "redis-seq benchmark: redis-server {version} (pid {}, port {}), module {}",
        server.pid().unwrap_or(0),
        server.port,
        module.display()
    );
    let _ =
        writeln!(
        head,
        "mode: {}; rounds {}; -n scale {}; long log {}; memory fill {} x {} ({} payloads; {}); big log {}; DEBUG RELOAD x{}; phases {}",
        if cfg.quick { "QUICK (smoke run: small sizes, 1 round; numbers are indicative only)" } else { "full" },
        cfg.rounds,
        cfg.n_scale,
        cfg.long_len,
        cfg.convs,
        cfg.msgs,
        if cfg.text_payloads { "text-like" } else { "random alphanumeric" },
        cfg.ids.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
        cfg.big_len,
        cfg.reloads,
        cfg.phases.join(",")
    );
    let _ = writeln!(
        head,
        "throughput payload: {PAYLOAD_LEN} bytes (one fixed alphanumeric string); ids id:<12 digits> from redis-benchmark's __rand_int__"
    );
    let _ = writeln!(
        head,
        "the hand-written alternative (SCRIPT LOAD, sha {sha}), called as EVALSHA sha 3 ctr:{{c}} ids:{{c}} log:{{c}} <id> <payload>; \
         its XADD uses an auto id: XADD log:{{c}} * seq <seq> id <id> payload <payload>"
    );
    for l in LUA_SCRIPT.lines() {
        let _ = writeln!(head, "    {l}");
    }
    print!("{head}");
    log("server up; starting");

    let mut sum = Summary { rows: Vec::new() };
    if cfg.phase("throughput") {
        throughput::phase(&cfg, &server, &mut con, &sha, &mut sum);
    }
    if cfg.phase("memory") {
        memory::phase(&cfg, &server, &mut con, &sha, &mut sum);
    }
    if cfg.phase("scale") {
        scale::phase(&cfg, &server, &mut con, &mut sum);
    }
    if cfg.phase("lifecycle") {
        lifecycle::phase(&cfg, &server, &mut con, &mut sum);
    }
    if cfg.phase("readstate") {
        read_state::phase(&cfg, &server, &mut con, &mut sum);
    }
    if cfg.phase("aof") {
        aof::phase(&cfg, &server, &mut con, &sha, &mut sum);
    }
    if cfg.phase("dedup") {
        dedup::phase(&cfg, &server, &mut con, &mut sum);
    }
    if cfg.phase("small") {
        small_logs::phase(&cfg, &server, &mut con, &sha, &mut sum);
    }

    print_table(
        &format!(
            "SUMMARY ({}; {} round(s); ratios are within this one run)",
            if cfg.quick { "QUICK smoke run" } else { "full run" },
            cfg.rounds
        ),
        &["metric", "value", "ratio vs alternative", "target", "met?"],
        &sum.rows,
    );
    let met = sum.rows.iter().filter(|r| r[4] == "yes").count();
    let missed = sum.rows.iter().filter(|r| r[4] == "NO").count();
    let unmeasured = sum.rows.iter().filter(|r| r[4] == "NOT MEASURED").count();
    println!(
        "\ntargets: {met} met, {missed} missed, {unmeasured} not measured; total time {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(con);
    drop(server);
    drop(dir);
}
