//! Phase: the hot-key appends again with `appendonly yes appendfsync everysec`, what
//! deployments run (issue 11): every write is also appended to the AOF, so a command's
//! replication stream (what SEQ.ALLOC emits) is paid for once more. Automatic rewrites
//! are off while the rows run: one would start whenever the AOF had doubled, during
//! whichever row was running then, and its child (LZF over the whole data set) and the
//! copy-on-write faults it causes in the server would be charged to that row alone.

use std::time::Duration;

use crate::common::{info_field, seq_stat, wait_until, Server};
use crate::config::{log, Config};
use crate::data::bench_payload;
use crate::report::{fmt_rate, Summary, Target};
use crate::rows::{
    add_alloc_cpu_vs_xadd, print_cpu_pairs, print_rows, row_rps, run_rounds, RB_CLIENTS, RB_PIPELINE, RB_RANDOM,
};
use crate::throughput::hot_rows;

fn config_set(con: &mut redis::Connection, name: &str, value: &str) -> redis::RedisResult<()> {
    redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query(con)
}

fn config_get(con: &mut redis::Connection, name: &str) -> Option<String> {
    let reply: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con).ok()?;
    reply.get(1).cloned()
}

/// Waits for the rewrite that `CONFIG SET appendonly yes` starts.
fn aof_ready(con: &mut redis::Connection) -> bool {
    wait_until(Duration::from_secs(60), || {
        info_field(con, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(con, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
    })
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let payload = bench_payload();
    let auto_rewrite = config_get(con, "auto-aof-rewrite-percentage");
    let on = config_set(con, "appendfsync", "everysec")
        .and_then(|()| config_set(con, "auto-aof-rewrite-percentage", "0"))
        .and_then(|()| config_set(con, "appendonly", "yes"));
    if let Err(e) = on {
        log(format!("aof: could not turn the AOF on: {e}"));
        return;
    }
    if !aof_ready(con) {
        log("aof: the first AOF rewrite did not finish within 60 s");
    }
    let unsent_before = seq_stat(con, "seq_effects_unsent");
    let mut rows = hot_rows(cfg, sha, &payload);
    log(format!("aof: {} rows x {} rounds, interleaved, appendonly yes appendfsync everysec", rows.len(), cfg.rounds));
    run_rounds(cfg, server, con, &mut rows, "aof");
    let unsent = seq_stat(con, "seq_effects_unsent") - unsent_before;
    let off = config_set(con, "appendonly", "no")
        .and_then(|()| config_set(con, "auto-aof-rewrite-percentage", auto_rewrite.as_deref().unwrap_or("100")));
    if let Err(e) = off {
        log(format!("aof: could not turn the AOF off: {e}"));
    }
    print_rows(
        &format!(
            "THROUGHPUT WITH THE AOF (appendonly yes, appendfsync everysec; redis-benchmark -P {RB_PIPELINE} -c {RB_CLIENTS} -r {RB_RANDOM}; \
             automatic rewrites off; {} round(s) interleaved, median)",
            cfg.rounds
        ),
        &rows,
    );
    print_cpu_pairs(
        "SERVER CPU PER REQUEST WITH THE AOF (INFO cpu delta / -n)",
        &rows,
        &[
            ("SEQ.ALLOC hot vs Lua script", "alloc_hot", "lua"),
            ("SEQ.ALLOC hot vs INCR", "alloc_hot", "incr"),
            ("SEQ.ALLOC hot vs XADD", "alloc_hot", "xadd"),
            ("XADD vs Lua script (Redis' own append)", "xadd", "lua"),
        ],
    );
    println!("checks: effects unsent while the AOF was on = {unsent} (every effect goes to the AOF)");
    let (incr, lua, hot) = (row_rps(&rows, "incr"), row_rps(&rows, "lua"), row_rps(&rows, "alloc_hot"));
    let xadd = row_rps(&rows, "xadd");
    sum.add("AOF everysec: INCR (floor)", fmt_rate(incr), incr, f64::NAN, "", Target::Info);
    sum.add("AOF everysec: XADD, hot stream", fmt_rate(xadd), xadd, xadd / incr, "INCR", Target::Info);
    sum.add("AOF everysec: XADD vs Lua (Redis' own append)", fmt_rate(xadd), xadd, xadd / lua, "Lua", Target::Info);
    sum.add("AOF everysec: SEQ.ALLOC hot key vs Lua", fmt_rate(hot), hot, hot / lua, "Lua", Target::AtLeast(4.0));
    add_alloc_cpu_vs_xadd(sum, "AOF everysec: SEQ.ALLOC server CPU vs XADD's", &rows);
}
