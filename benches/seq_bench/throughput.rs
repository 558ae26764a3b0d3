//! Phase 1: throughput of SEQ.* against INCR, the hand-written Lua script and streams.

use redis::Value;

use crate::common::{seq_stat, Server};
use crate::config::{log, Config, PAYLOAD_LEN};
use crate::data::{bench_payload, pipelined, query_i64, unlink, Rng};
use crate::report::{fmt_rate, Summary, Target};
use crate::rows::{
    add_alloc_cpu_vs_xadd, print_cpu_pairs, print_rows, row_rps, run_rounds, Row, RB_CLIENTS, RB_PIPELINE, RB_RANDOM,
};

/// Key space of the "many keys" row (see `throughput_rows`).
const MANY_KEYS: u64 = 1000;

fn key_list(prefix: &str, n: u64) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{{{i:012}}}")).collect()
}

/// The appends on one hot key: INCR (the floor), the Lua script, XADD and SEQ.ALLOC, each
/// reset before a run. Also measured with the AOF on (`aof.rs`).
pub fn hot_rows(cfg: &Config, sha: &str, payload: &str) -> Vec<Row> {
    let hot_keys = vec!["conv:{hot}".to_string()];
    let lua_keys = vec!["ctr:{hot}".to_string(), "ids:{hot}".to_string(), "log:{hot}".to_string()];
    vec![
        Row::new("incr", "INCR (floor)", cfg.n(2_000_000), &["INCR", "counter:{hot}"])
            .with_reset(|c| unlink(c, &["counter:{hot}".into()])),
        Row::new(
            "lua",
            "Lua script (hot conv)",
            cfg.n(400_000),
            &["EVALSHA", sha, "3", "ctr:{hot}", "ids:{hot}", "log:{hot}", "id:__rand_int__", payload],
        )
        .with_reset(move |c| unlink(c, &lua_keys)),
        Row::new(
            "xadd",
            "XADD (hot stream)",
            cfg.n(1_000_000),
            &["XADD", "xadd:{hot}", "*", "seq", "1", "id", "id:__rand_int__", "payload", payload],
        )
        .with_reset(|c| unlink(c, &["xadd:{hot}".into()])),
        Row::new(
            "alloc_hot",
            "SEQ.ALLOC (hot key)",
            cfg.n(1_000_000),
            &["SEQ.ALLOC", "conv:{hot}", "id:__rand_int__", payload],
        )
        .with_reset(move |c| unlink(c, &hot_keys)),
    ]
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let payload = bench_payload();
    let p = payload.as_str();

    // The long logs: the same messages in both layouts (fields as the Lua script writes).
    log(format!("prefill: conv:long and stream:long, {} entries each, {PAYLOAD_LEN}-byte payloads", cfg.long_len));
    for k in ["conv:long", "stream:long"] {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(k).query(con);
    }
    let mut rng = Rng(7);
    let mut msgs: Vec<(String, String)> = Vec::new();
    let fill_seq = pipelined(
        con,
        cfg.long_len,
        |i| {
            if i as usize >= msgs.len() {
                msgs.push((rng.msg_id(), rng.payload(PAYLOAD_LEN)));
            }
            let (id, pl) = &msgs[i as usize];
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg("conv:long").arg(id).arg(pl);
            c
        },
        |_, _| {},
        Some("conv:long"),
    );
    if let Err(e) = &fill_seq {
        log(format!("  conv:long fill failed: {e}"));
    }
    let mid_seq = cfg.long_len / 2;
    let mut mid_stream_id = String::from("-");
    let fill_stream = pipelined(
        con,
        cfg.long_len,
        |i| {
            let (id, pl) = &msgs[i as usize];
            let mut c = redis::cmd("XADD");
            c.arg("stream:long").arg("*").arg("seq").arg(i + 1).arg("id").arg(id).arg("payload").arg(pl);
            c
        },
        |i, v| {
            if i + 1 == mid_seq {
                if let Value::BulkString(b) = v {
                    mid_stream_id = String::from_utf8_lossy(b).into_owned();
                }
            }
        },
        Some("stream:long"),
    );
    drop(msgs);
    if let Err(e) = &fill_stream {
        log(format!("  stream:long fill failed: {e}"));
    }
    if let (Ok(a), Ok(b)) = (&fill_seq, &fill_stream) {
        log(format!(
            "  filled in {:.1} s (SEQ.ALLOC) and {:.1} s (XADD); page start: seq {mid_seq}, stream id {mid_stream_id}",
            a.as_secs_f64(),
            b.as_secs_f64()
        ));
    }

    let mid = mid_seq.to_string();
    let many_keys = key_list("conv:m", MANY_KEYS);
    let many_id = "id:__rand_int____rand_int__";
    let mut rows = hot_rows(cfg, sha, p);
    rows.extend([
        Row::new(
            "alloc_many",
            format!("SEQ.ALLOC ({MANY_KEYS} keys)"),
            cfg.n(1_000_000),
            &["SEQ.ALLOC", "conv:m{__rand_int__}", many_id, p],
        )
        .with_r(MANY_KEYS)
        .with_reset(move |c| unlink(c, &many_keys)),
        Row::new(
            "range",
            "SEQ.RANGE mid COUNT 100",
            cfg.n(50_000),
            &["SEQ.RANGE", "conv:long", mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "xrange",
            "XRANGE mid COUNT 100",
            cfg.n(50_000),
            &["XRANGE", "stream:long", mid_stream_id.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "revrange",
            "SEQ.REVRANGE tail COUNT 100",
            cfg.n(50_000),
            &["SEQ.REVRANGE", "conv:long", "+", "-", "COUNT", "100"],
        ),
        Row::new(
            "xrevrange",
            "XREVRANGE tail COUNT 100",
            cfg.n(50_000),
            &["XREVRANGE", "stream:long", "+", "-", "COUNT", "100"],
        ),
        Row::new("last", "SEQ.LAST (long log)", cfg.n(2_000_000), &["SEQ.LAST", "conv:long"]),
    ]);
    log(format!("throughput: {} rows x {} rounds, interleaved", rows.len(), cfg.rounds));
    run_rounds(cfg, server, con, &mut rows, "throughput");

    // Sanity: every hot-key SEQ.ALLOC of the last run appended (ids are random in
    // 0..2e9, so a few hundred repeat and are de-duplicated, as in the Lua script).
    let hot_last = query_i64(con, redis::cmd("SEQ.LAST").arg("conv:{hot}")).unwrap_or(-1);
    let lua_last: i64 = redis::cmd("GET").arg("ctr:{hot}").query::<Option<i64>>(con).ok().flatten().unwrap_or(-1);
    let n_hot = rows.iter().find(|r| r.id == "alloc_hot").map(|r| r.n).unwrap_or(0);
    let n_lua = rows.iter().find(|r| r.id == "lua").map(|r| r.n).unwrap_or(0);
    let range_len = redis::cmd("SEQ.RANGE")
        .arg("conv:long")
        .arg(&mid)
        .arg("+")
        .arg("COUNT")
        .arg(100)
        .query::<Vec<Value>>(con)
        .map(|v| v.len() as i64)
        .unwrap_or(-1);
    let xrange_len = redis::cmd("XRANGE")
        .arg("stream:long")
        .arg(&mid_stream_id)
        .arg("+")
        .arg("COUNT")
        .arg(100)
        .query::<Vec<Value>>(con)
        .map(|v| v.len() as i64)
        .unwrap_or(-1);

    print_rows(
        &format!(
            "THROUGHPUT (redis-benchmark -P {RB_PIPELINE} -c {RB_CLIENTS} -r {RB_RANDOM}, except the {MANY_KEYS}-key row: -r {MANY_KEYS}; \
             {} round(s) interleaved, median; long logs of {} entries)",
            cfg.rounds, cfg.long_len
        ),
        &rows,
    );
    print_cpu_pairs(
        "SERVER CPU PER REQUEST (INFO cpu delta / -n; independent of redis-benchmark's own speed)",
        &rows,
        &[
            ("SEQ.ALLOC hot vs Lua script", "alloc_hot", "lua"),
            ("SEQ.ALLOC hot vs INCR", "alloc_hot", "incr"),
            ("SEQ.ALLOC hot vs XADD", "alloc_hot", "xadd"),
            ("XADD vs Lua script (Redis' own append)", "xadd", "lua"),
            ("SEQ.RANGE vs XRANGE (COUNT 100)", "range", "xrange"),
            ("SEQ.REVRANGE vs XREVRANGE (COUNT 100)", "revrange", "xrevrange"),
        ],
    );
    println!(
        "checks: SEQ.LAST conv:{{hot}} after its last run = {hot_last} (of -n {n_hot}); ctr:{{hot}} after the Lua run = {lua_last} (of -n {n_lua}); \
         a SEQ.RANGE page has {range_len} entries, an XRANGE page {xrange_len}; seq_effects_unsent = {} (AOF off, no replica, \
         no backlog: effects are not sent, see docs/design.md \"When an effect is not sent\")",
        seq_stat(con, "seq_effects_unsent")
    );

    let incr = row_rps(&rows, "incr");
    let lua = row_rps(&rows, "lua");
    let xadd = row_rps(&rows, "xadd");
    let hot = row_rps(&rows, "alloc_hot");
    let many = row_rps(&rows, "alloc_many");
    let range = row_rps(&rows, "range");
    let xrange = row_rps(&rows, "xrange");
    let rev = row_rps(&rows, "revrange");
    let xrev = row_rps(&rows, "xrevrange");
    let last = row_rps(&rows, "last");
    sum.add("INCR, one key (floor)", fmt_rate(incr), incr, f64::NAN, "", Target::Info);
    sum.add("Lua script, hot conversation", fmt_rate(lua), lua, lua / incr, "INCR", Target::Info);
    sum.add("XADD, hot stream", fmt_rate(xadd), xadd, xadd / incr, "INCR", Target::Info);
    sum.add("XADD, hot stream vs Lua (Redis' own append)", fmt_rate(xadd), xadd, xadd / lua, "Lua", Target::Info);
    sum.add("SEQ.ALLOC hot key vs Lua", fmt_rate(hot), hot, hot / lua, "Lua", Target::AtLeast(4.0));
    sum.add("SEQ.ALLOC hot key vs INCR", fmt_rate(hot), hot, hot / incr, "INCR", Target::AtLeast(0.7));
    add_alloc_cpu_vs_xadd(sum, "SEQ.ALLOC hot key server CPU vs XADD's", &rows);
    sum.add(&format!("SEQ.ALLOC over {MANY_KEYS} keys"), fmt_rate(many), many, many / lua, "Lua (hot)", Target::Info);
    sum.add("SEQ.RANGE COUNT 100 vs XRANGE", fmt_rate(range), range, range / xrange, "XRANGE", Target::AtLeast(1.2));
    sum.add("SEQ.REVRANGE COUNT 100 vs XREVRANGE", fmt_rate(rev), rev, rev / xrev, "XREVRANGE", Target::Info);
    sum.add("SEQ.LAST", fmt_rate(last), last, last / incr, "INCR", Target::Info);

    for k in ["conv:long", "stream:long"] {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(k).query(con);
    }
}
