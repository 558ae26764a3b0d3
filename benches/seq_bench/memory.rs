//! Phase 2: memory per message and DEBUG RELOAD time, SEQ.ALLOC against the Lua layout.

use std::time::{Duration, Instant};

use redis::Value;

use crate::common::Server;
use crate::config::{log, Config, PAYLOAD_LEN};
use crate::data::{flushall, pipelined, query_i64, used_memory, IdStyle, Rng};
use crate::report::{median, print_table, Summary, Target};

/// jemalloc's default `dirty_decay_ms` (10 s), and a second to spare.
const RSS_SETTLE: Duration = Duration::from_secs(11);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    Seq,
    Lua,
}

#[derive(Default, Debug)]
struct MemResult {
    fill_s: f64,
    bytes_per_msg: f64,
    rss_per_msg: f64,
    after_reload_per_msg: f64,
    memory_usage_conv: i64,
    reload_ms: Vec<f64>,
    /// the same with `CONFIG SET rdbcompression no`: LZF is most of a reload's time when
    /// the payloads do not compress
    reload_nocomp_ms: Vec<f64>,
    rdb_bytes: u64,
    error: Option<String>,
}

fn mem_run(
    cfg: &Config,
    server: &Server,
    con: &mut redis::Connection,
    sha: &str,
    layout: Layout,
    payload_len: usize,
    ids: IdStyle,
) -> MemResult {
    let mut r = MemResult::default();
    flushall(con);
    std::thread::sleep(Duration::from_millis(200));
    let (m0, rss0) = used_memory(con);
    let total = cfg.convs * cfg.msgs;
    let mut rng = Rng(1234 + payload_len as u64);
    let convs = cfg.convs;
    let text = cfg.text_payloads;
    log(format!(
        "memory: {} convs x {} msgs, {payload_len}-byte payloads, {}, via {}",
        cfg.convs,
        cfg.msgs,
        ids.label(),
        if layout == Layout::Seq { "SEQ.ALLOC" } else { "the Lua script" }
    ));
    let fill = pipelined(
        con,
        total,
        |i| {
            // message-major order: message m of every conversation, then m + 1
            let conv = i % convs;
            let id = rng.id(ids);
            let pl = if text { rng.text(payload_len) } else { rng.payload(payload_len) };
            match layout {
                Layout::Seq => {
                    let mut c = redis::cmd("SEQ.ALLOC");
                    c.arg(format!("conv:{{c{conv}}}")).arg(id).arg(pl);
                    c
                }
                Layout::Lua => {
                    let mut c = redis::cmd("EVALSHA");
                    c.arg(sha)
                        .arg(3)
                        .arg(format!("ctr:{{c{conv}}}"))
                        .arg(format!("ids:{{c{conv}}}"))
                        .arg(format!("log:{{c{conv}}}"))
                        .arg(id)
                        .arg(pl);
                    c
                }
            }
        },
        |_, _| {},
        Some("fill"),
    );
    match fill {
        Ok(d) => r.fill_s = d.as_secs_f64(),
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    }
    let (m1, _) = used_memory(con);
    r.bytes_per_msg = (m1 - m0) as f64 / total as f64;
    // The pages freed during the fill (buffers outgrown, tables replaced) stay resident
    // until jemalloc's dirty-page decay returns them; read RSS once it has.
    std::thread::sleep(RSS_SETTLE);
    let (_, rss1) = used_memory(con);
    r.rss_per_msg = (rss1 - rss0) as f64 / total as f64;
    // MEMORY USAGE of conversation 0, all its keys, every element sampled
    let keys: Vec<String> = match layout {
        Layout::Seq => vec!["conv:{c0}".into()],
        Layout::Lua => vec!["ctr:{c0}".into(), "ids:{c0}".into(), "log:{c0}".into()],
    };
    r.memory_usage_conv = keys
        .iter()
        .map(|k| {
            redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(k)
                .arg("SAMPLES")
                .arg(0)
                .query::<Option<i64>>(con)
                .ok()
                .flatten()
                .unwrap_or(0)
        })
        .sum();
    // check that every message landed
    let last = last_seq_of_first_conversation(con, layout);
    if last != cfg.msgs as i64 {
        r.error = Some(format!("conversation 0 has last = {last}, expected {}", cfg.msgs));
    }
    match time_reloads(con, cfg.reloads) {
        Ok(ms) => r.reload_ms = ms,
        Err(e) => r.error = Some(format!("DEBUG RELOAD: {e}")),
    }
    r.rdb_bytes = std::fs::metadata(server.dir.join("dump.rdb")).map(|m| m.len()).unwrap_or(0);
    if r.error.is_none() {
        set_rdbcompression(con, false);
        match time_reloads(con, cfg.reloads) {
            Ok(ms) => r.reload_nocomp_ms = ms,
            Err(e) => r.error = Some(format!("DEBUG RELOAD (rdbcompression no): {e}")),
        }
        set_rdbcompression(con, true);
    }
    let (m2, _) = used_memory(con);
    r.after_reload_per_msg = (m2 - m0) as f64 / total as f64;
    let last2 = last_seq_of_first_conversation(con, layout);
    if last2 != last && r.error.is_none() {
        r.error = Some(format!("after DEBUG RELOAD conversation 0 has last = {last2}, before {last}"));
    }
    log(format!(
        "  {:.0} B/msg used_memory, {:.0} B/msg RSS, fill {:.1} s, DEBUG RELOAD {:?} ms, with rdbcompression no {:?} ms",
        r.bytes_per_msg,
        r.rss_per_msg,
        r.fill_s,
        r.reload_ms.iter().map(|x| x.round()).collect::<Vec<_>>(),
        r.reload_nocomp_ms.iter().map(|x| x.round()).collect::<Vec<_>>()
    ));
    let _ = std::fs::remove_file(server.dir.join("dump.rdb"));
    flushall(con);
    r
}

fn set_rdbcompression(con: &mut redis::Connection, on: bool) {
    let _: redis::RedisResult<()> =
        redis::cmd("CONFIG").arg("SET").arg("rdbcompression").arg(if on { "yes" } else { "no" }).query(con);
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let mut table = Vec::new();
    // the hex sets first, as before the opaque one existed
    let sets = [(PAYLOAD_LEN, IdStyle::Hex), (0, IdStyle::Hex), (PAYLOAD_LEN, IdStyle::Opaque)];
    let sets = sets.into_iter().filter(|(_, ids)| cfg.ids.contains(ids));
    for (k, (payload_len, ids)) in sets.enumerate() {
        // alternate which layout goes first
        let order = if k % 2 == 0 { [Layout::Seq, Layout::Lua] } else { [Layout::Lua, Layout::Seq] };
        let mut seq = MemResult::default();
        let mut lua = MemResult::default();
        for layout in order {
            let res = mem_run(cfg, server, con, sha, layout, payload_len, ids);
            match layout {
                Layout::Seq => seq = res,
                Layout::Lua => lua = res,
            }
        }
        for (name, r) in [("SEQ.ALLOC", &seq), ("Lua layout", &lua)] {
            table.push(vec![
                format!("{payload_len} B"),
                ids.label().to_string(),
                name.to_string(),
                format!("{:.1}", r.bytes_per_msg),
                format!("{:.1}", r.rss_per_msg),
                format!("{:.1}", r.after_reload_per_msg),
                r.memory_usage_conv.to_string(),
                format!("{:.1}", r.fill_s),
                r.reload_ms.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
                r.reload_nocomp_ms.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1}", r.rdb_bytes as f64 / 1e6),
                r.error.clone().unwrap_or_default(),
            ]);
        }
        let per = |r: &MemResult| {
            if r.error.is_some() && r.bytes_per_msg == 0.0 {
                f64::NAN
            } else {
                r.bytes_per_msg
            }
        };
        let rel = |r: &MemResult| median(&r.reload_ms);
        let rel_nc = |r: &MemResult| median(&r.reload_nocomp_ms);
        let (s_b, l_b) = (per(&seq), per(&lua));
        let (s_r, l_r) = (rel(&seq), rel(&lua));
        let (s_n, l_n) = (rel_nc(&seq), rel_nc(&lua));
        // the targets were set with hex ids; opaque ids show what ids that cannot be packed
        // cost, for information, in one line
        let is_main = payload_len == PAYLOAD_LEN && ids == IdStyle::Hex;
        let suffix = if ids == IdStyle::Hex { "" } else { ", opaque ids" };
        sum.add(
            &format!("used_memory per message, {payload_len} B payload{suffix}"),
            format!("{s_b:.0} B (Lua {l_b:.0} B)"),
            s_b,
            s_b / l_b,
            "Lua layout",
            if is_main { Target::AtMost(0.55) } else { Target::Info },
        );
        if ids != IdStyle::Hex {
            continue;
        }
        sum.add(
            &format!("DEBUG RELOAD, {payload_len} B payload set"),
            format!("{s_r:.0} ms (Lua {l_r:.0} ms)"),
            s_r,
            s_r / l_r,
            "Lua layout",
            if is_main { Target::AtMost(0.5) } else { Target::Info },
        );
        sum.add(
            &format!("DEBUG RELOAD, {payload_len} B payload set, rdbcompression no"),
            format!("{s_n:.0} ms (Lua {l_n:.0} ms)"),
            s_n,
            s_n / l_n,
            "Lua layout",
            Target::Info,
        );
    }
    print_table(
        &format!(
            "MEMORY ({} conversations x {} messages, 20-byte client-msg-ids (hex: 0-9a-f; opaque: mixed-case \
             alphanumerics, not all hex), {} payloads; \
             used_memory and RSS deltas over the fill, divided by messages; DEBUG RELOAD x{} with FLUSHALL between data sets, \
             then again with rdbcompression no)",
            cfg.convs,
            cfg.msgs,
            if cfg.text_payloads { "text-like (SEQ_BENCH_PAYLOAD=text)" } else { "random alphanumeric" },
            cfg.reloads
        ),
        &[
            "payload",
            "ids",
            "layout",
            "used_memory B/msg",
            "RSS B/msg",
            "after reload B/msg",
            "MEMORY USAGE conv 0",
            "fill s",
            "DEBUG RELOAD ms",
            "same, no LZF",
            "RDB MB",
            "error",
        ],
        &table,
    );
}

/// `last` of the memory fill's first conversation, read the layout's way (-1 if none).
fn last_seq_of_first_conversation(con: &mut redis::Connection, layout: Layout) -> i64 {
    match layout {
        Layout::Seq => query_i64(con, redis::cmd("SEQ.LAST").arg("conv:{c0}")).unwrap_or(-1),
        Layout::Lua => redis::cmd("GET").arg("ctr:{c0}").query::<Option<i64>>(con).ok().flatten().unwrap_or(-1),
    }
}

/// Times `n` DEBUG RELOADs, in ms each.
fn time_reloads(con: &mut redis::Connection, n: usize) -> redis::RedisResult<Vec<f64>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        redis::cmd("DEBUG").arg("RELOAD").query::<Value>(con)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}
