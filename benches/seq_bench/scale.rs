//! Phase 3: cost independent of the log's length, and UNLINK of a big log.

use std::time::{Duration, Instant};

use crate::common::{info_section, Server};
use crate::config::{log, Config};
use crate::data::{flushall, pipelined, query_i64, unlink, used_memory};
use crate::report::{fmt_rate, Summary, Target};
use crate::rows::{print_cpu_pairs, print_rows, row_rps, run_rounds, Row};

/// Records that the scale phase could not run because filling `log` failed.
fn scale_not_measured(sum: &mut Summary, log_name: &str, error: &dyn std::fmt::Display) {
    log(format!("  {log_name} fill failed: {error}"));
    sum.add("scale phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
}

fn fill_log(con: &mut redis::Connection, key: &str, n: u64, prefix: char) -> Result<Duration, String> {
    let key = key.to_string();
    pipelined(
        con,
        n,
        |i| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(&key).arg(format!("{prefix}{i:09}"));
            c
        },
        |_, _| {},
        Some(&format!("fill {key}")),
    )
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    flushall(con);
    let small = cfg.small_len;
    let big = cfg.big_len;
    log(format!("scale: filling conv:small ({small}) and conv:big ({big}) with 0-byte payloads"));
    if let Err(e) = fill_log(con, "conv:small", small, 's') {
        scale_not_measured(sum, "conv:small", &e);
        return;
    }
    let (m0, _) = used_memory(con);
    // Prefixes that are not hex digits: both logs store their ids as given (hex ones would
    // be packed, and unpacked in every reply), so the two differ only in length.
    let fill = match fill_log(con, "conv:big", big, 'L') {
        Ok(d) => d,
        Err(e) => {
            scale_not_measured(sum, "conv:big", &e);
            return;
        }
    };
    let (m1, _) = used_memory(con);
    log(format!(
        "  conv:big filled in {:.1} s ({:.0}/s), {:.1} B/entry used_memory",
        fill.as_secs_f64(),
        big as f64 / fill.as_secs_f64(),
        (m1 - m0) as f64 / big as f64
    ));
    sum.add(
        &format!("fill of a {big}-entry log (pipelined SEQ.ALLOC, 0 B payload)"),
        format!("{:.1} s, {:.0} B/entry", fill.as_secs_f64(), (m1 - m0) as f64 / big as f64),
        f64::NAN,
        f64::NAN,
        "",
        Target::Info,
    );

    let small_mid = (small / 2).to_string();
    let big_mid = (big / 2).to_string();
    let mut rows = vec![
        Row::new(
            "alloc_small",
            format!("SEQ.ALLOC, {small}-entry log"),
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:small:w", "id:__rand_int__"],
        )
        .with_reset(move |c| {
            unlink(c, &["conv:small:w".into()]);
            let _ = fill_log(c, "conv:small:w", small, 'w');
        }),
        Row::new(
            "alloc_big",
            format!("SEQ.ALLOC, {big}-entry log"),
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:big", "id:__rand_int__"],
        ),
        Row::new(
            "range_small",
            format!("SEQ.RANGE mid page, {small}"),
            cfg.n(100_000),
            &["SEQ.RANGE", "conv:small", small_mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "range_big",
            format!("SEQ.RANGE mid page, {big}"),
            cfg.n(100_000),
            &["SEQ.RANGE", "conv:big", big_mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "rev_small",
            format!("SEQ.REVRANGE tail page, {small}"),
            cfg.n(100_000),
            &["SEQ.REVRANGE", "conv:small", "+", "-", "COUNT", "100"],
        ),
        Row::new(
            "rev_big",
            format!("SEQ.REVRANGE tail page, {big}"),
            cfg.n(100_000),
            &["SEQ.REVRANGE", "conv:big", "+", "-", "COUNT", "100"],
        ),
        Row::new("last_small", format!("SEQ.LAST, {small}"), cfg.n(1_000_000), &["SEQ.LAST", "conv:small"]),
        Row::new("last_big", format!("SEQ.LAST, {big}"), cfg.n(1_000_000), &["SEQ.LAST", "conv:big"]),
    ];
    run_rounds(cfg, server, con, &mut rows, "scale");
    print_rows(
        &format!(
            "SCALE ({small}-entry vs {big}-entry log, 0-byte payloads; the small ALLOC log is reset to {small} entries before each run, \
             the big one grows by -n per run; {} round(s) interleaved)",
            cfg.rounds
        ),
        &rows,
    );
    print_cpu_pairs(
        &format!("SERVER CPU PER REQUEST, {big}-entry log (ours) vs {small}-entry log (alternative): about 1.00x means the same cost"),
        &rows,
        &[
            ("SEQ.ALLOC", "alloc_big", "alloc_small"),
            ("SEQ.RANGE page", "range_big", "range_small"),
            ("SEQ.REVRANGE page", "rev_big", "rev_small"),
            ("SEQ.LAST", "last_big", "last_small"),
        ],
    );
    for (what, s, b) in [
        ("SEQ.ALLOC", "alloc_small", "alloc_big"),
        ("SEQ.RANGE page (COUNT 100)", "range_small", "range_big"),
        ("SEQ.REVRANGE page (COUNT 100)", "rev_small", "rev_big"),
        ("SEQ.LAST", "last_small", "last_big"),
    ] {
        let (vs, vb) = (row_rps(&rows, s), row_rps(&rows, b));
        sum.add(
            &format!("{what} on {big} vs {small} entries"),
            format!("{} (vs {})", fmt_rate(vb), fmt_rate(vs)),
            vb,
            vb / vs,
            &format!("{small}-entry"),
            Target::AtLeast(0.9),
        );
    }

    // UNLINK of the big log: client-side time of the reply, then a PING right after it.
    let before = info_section(con, "memory");
    let len_before = query_i64(con, redis::cmd("SEQ.LAST").arg("conv:big")).unwrap_or(-1);
    let t = Instant::now();
    let unlinked = redis::cmd("UNLINK").arg("conv:big").query::<i64>(con);
    let unlink_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let _ = redis::cmd("PING").query::<String>(con);
    let ping_ms = t.elapsed().as_secs_f64() * 1000.0;
    let pending_after = info_section(con, "memory").get("lazyfree_pending_objects").cloned().unwrap_or_default();
    let t = Instant::now();
    let mem_before = before.get("used_memory").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let mut freed_ms = f64::NAN;
    while t.elapsed() < Duration::from_secs(120) {
        let m = info_section(con, "memory");
        let pending = m.get("lazyfree_pending_objects").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if pending == 0 {
            freed_ms = t.elapsed().as_secs_f64() * 1000.0;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mem_after, _) = used_memory(con);
    println!(
        "\nUNLINK conv:big (SEQ.LAST {len_before}): reply {unlinked:?} in {unlink_ms:.2} ms; PING right after: {ping_ms:.2} ms; \
         lazyfree_pending_objects right after: {pending_after}; background free done {freed_ms:.0} ms later; \
         used_memory {:.1} MB -> {:.1} MB",
        mem_before as f64 / 1e6,
        mem_after as f64 / 1e6
    );
    sum.add(
        &format!("UNLINK of the {big}-entry log"),
        format!("{unlink_ms:.2} ms"),
        unlink_ms,
        f64::NAN,
        "",
        Target::ValueAtMost(10.0),
    );
    sum.add(
        "PING right after that UNLINK",
        format!("{ping_ms:.2} ms"),
        ping_ms,
        f64::NAN,
        "",
        Target::ValueAtMost(10.0),
    );
    flushall(con);
}
