//! Phase: small logs (issue 11). Most conversations of a messaging service are a handful
//! of messages, millions of them per node, so what a log costs beyond its bytes matters
//! more than per-message overhead. Per conversation of 1, 3 and 10 messages (20-byte ids,
//! 100-byte payloads): the `used_memory` it adds, as SEQ.ALLOC, as the Lua layout and as
//! the floor, one `SET key <the same bytes>` (ids and payloads concatenated); MEMORY
//! USAGE of one such conversation; DEBUG RELOAD time of each data set.

use std::time::{Duration, Instant};

use crate::common::Server;
use crate::config::{log, Config, PAYLOAD_LEN};
use crate::data::{flushall, pipelined, used_memory, Rng};
use crate::report::{median, print_table, Summary, Target};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    Seq,
    Lua,
    Set,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Seq => "SEQ.ALLOC",
            Layout::Lua => "Lua layout",
            Layout::Set => "SET floor",
        }
    }

    /// The keys one conversation occupies.
    fn keys(self, conv: u64) -> Vec<String> {
        match self {
            Layout::Seq | Layout::Set => vec![format!("conv:{{c{conv}}}")],
            Layout::Lua => vec![format!("ctr:{{c{conv}}}"), format!("ids:{{c{conv}}}"), format!("log:{{c{conv}}}")],
        }
    }
}

#[derive(Default)]
struct SmallResult {
    per_conv: f64,
    memory_usage: i64,
    reload_ms: Vec<f64>,
    error: Option<String>,
}

fn fill(con: &mut redis::Connection, sha: &str, layout: Layout, convs: u64, msgs: u64) -> Result<Duration, String> {
    let mut rng = Rng(77 + msgs);
    if layout == Layout::Set {
        return pipelined(
            con,
            convs,
            |conv| {
                let bytes: String = (0..msgs).map(|_| rng.msg_id() + &rng.payload(PAYLOAD_LEN)).collect();
                let mut c = redis::cmd("SET");
                c.arg(format!("conv:{{c{conv}}}")).arg(bytes);
                c
            },
            |_, _| {},
            Some("fill"),
        );
    }
    // message-major order, as the long-log memory phase: message m of every conversation
    pipelined(
        con,
        convs * msgs,
        |i| {
            let conv = i % convs;
            let (id, payload) = (rng.msg_id(), rng.payload(PAYLOAD_LEN));
            let mut c;
            if layout == Layout::Seq {
                c = redis::cmd("SEQ.ALLOC");
                c.arg(format!("conv:{{c{conv}}}"));
            } else {
                c = redis::cmd("EVALSHA");
                c.arg(sha).arg(3).arg(layout.keys(conv));
            }
            c.arg(id).arg(payload);
            c
        },
        |_, _| {},
        Some("fill"),
    )
}

fn run(
    cfg: &Config,
    server: &Server,
    con: &mut redis::Connection,
    sha: &str,
    layout: Layout,
    msgs: u64,
) -> SmallResult {
    let mut r = SmallResult::default();
    let convs = cfg.small_convs;
    flushall(con);
    std::thread::sleep(Duration::from_millis(200));
    let (m0, _) = used_memory(con);
    log(format!("small logs: {convs} convs x {msgs} msgs via {}", layout.name()));
    if let Err(e) = fill(con, sha, layout, convs, msgs) {
        r.error = Some(e);
        return r;
    }
    let (m1, _) = used_memory(con);
    r.per_conv = (m1 - m0) as f64 / convs as f64;
    r.memory_usage = layout
        .keys(0)
        .iter()
        .map(|k| {
            let usage = redis::cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(0).query::<Option<i64>>(con);
            usage.ok().flatten().unwrap_or(0)
        })
        .sum();
    for _ in 0..cfg.reloads {
        let t = Instant::now();
        match redis::cmd("DEBUG").arg("RELOAD").query::<()>(con) {
            Ok(()) => r.reload_ms.push(t.elapsed().as_secs_f64() * 1e3),
            Err(e) => {
                r.error = Some(format!("DEBUG RELOAD: {e}"));
                break;
            }
        }
    }
    let _ = std::fs::remove_file(server.dir.join("dump.rdb"));
    flushall(con);
    r
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let mut table = Vec::new();
    for msgs in [1, 3, 10] {
        let [seq, lua, set] = [Layout::Seq, Layout::Lua, Layout::Set].map(|l| run(cfg, server, con, sha, l, msgs));
        for (layout, r) in [(Layout::Seq, &seq), (Layout::Lua, &lua), (Layout::Set, &set)] {
            table.push(vec![
                msgs.to_string(),
                layout.name().to_string(),
                format!("{:.0}", r.per_conv),
                format!("{:.2}", r.per_conv / set.per_conv),
                r.memory_usage.to_string(),
                r.reload_ms.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
                r.error.clone().unwrap_or_default(),
            ]);
        }
        let target = match msgs {
            1 => Target::AtMost(1.6),
            10 => Target::AtMost(1.3),
            _ => Target::Info,
        };
        sum.add(
            &format!("used_memory per {msgs}-message conversation"),
            format!("{:.0} B (SET {:.0} B, Lua {:.0} B)", seq.per_conv, set.per_conv, lua.per_conv),
            seq.per_conv,
            seq.per_conv / set.per_conv,
            "SET floor",
            target,
        );
        sum.add(
            &format!("DEBUG RELOAD, {msgs}-message conversations"),
            format!("{:.0} ms (Lua {:.0} ms)", median(&seq.reload_ms), median(&lua.reload_ms)),
            median(&seq.reload_ms),
            median(&seq.reload_ms) / median(&lua.reload_ms),
            "Lua layout",
            Target::Info,
        );
    }
    print_table(
        &format!(
            "SMALL LOGS ({} conversations per data set, 20-byte client-msg-ids, {PAYLOAD_LEN}-byte random payloads; \
             used_memory delta over the fill per conversation; MEMORY USAGE of conversation 0, all its keys; DEBUG RELOAD x{})",
            cfg.small_convs, cfg.reloads
        ),
        &["msgs", "layout", "used_memory B/conv", "x SET floor", "MEMORY USAGE conv 0", "DEBUG RELOAD ms", "error"],
        &table,
    );
}
