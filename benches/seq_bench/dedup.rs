//! The de-duplication index past 2^24 ids in one window: SEQ.ALLOC's rate on one log with
//! just under 2^24 ids in its window and with far more (the old index stalled every call
//! there). Opt-in (`SEQ_BENCH_PHASES=dedup`): the fill alone is ~25 M pipelined ALLOCs.

use crate::common::Server;
use crate::config::{log, Config};
use crate::data::{flushall, pipelined};
use crate::report::{fmt_rate, Summary, Target};
use crate::rows::{print_cpu_pairs, print_rows, row_rps, run_rounds, Row};

const KEY: &str = "conv:dedup";
/// Ids in the window for the "just below" row: the row's own appends keep it under 2^24.
const BELOW: u64 = 16_000_000;
/// Ids in the window for the "far above" row.
const ABOVE: u64 = 25_000_000;

/// Appends ids `from..to` (empty payloads) to the log, pipelined.
fn fill(con: &mut redis::Connection, from: u64, to: u64) -> Result<(), String> {
    pipelined(
        con,
        to - from,
        |i| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(KEY).arg(format!("d{:09}", from + i));
            c
        },
        |_, _| {},
        Some(&format!("fill {KEY} to {to}")),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

fn alloc_row(name: &'static str, ids: u64, cfg: &Config) -> Row {
    Row::new(
        name,
        format!("SEQ.ALLOC, ~{ids} ids in the window"),
        cfg.n(300_000),
        &["SEQ.ALLOC", KEY, "id:__rand_int__"],
    )
}

pub fn phase(cfg: &Config, server: &Server, con: &mut redis::Connection, sum: &mut Summary) {
    flushall(con);
    log(format!("dedup: filling {KEY} to {BELOW} ids (0-byte payloads)"));
    if let Err(e) = fill(con, 0, BELOW) {
        log(format!("  fill failed: {e}"));
        sum.add("dedup phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
        return;
    }
    let mut below = vec![alloc_row("alloc_below", BELOW, cfg)];
    run_rounds(cfg, server, con, &mut below, "dedup");
    log(format!("dedup: filling {KEY} on to {ABOVE} ids"));
    if let Err(e) = fill(con, BELOW, ABOVE) {
        log(format!("  fill failed: {e}"));
        sum.add("dedup phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
        return;
    }
    let mut rows = vec![alloc_row("alloc_above", ABOVE, cfg)];
    run_rounds(cfg, server, con, &mut rows, "dedup");
    rows.extend(below);
    print_rows(
        &format!("DE-DUPLICATION PAST 2^24 IDS (one log, every id inside the window; {} round(s))", cfg.rounds),
        &rows,
    );
    print_cpu_pairs(
        &format!(
            "SERVER CPU PER REQUEST, {ABOVE} ids (ours) vs {BELOW} ids (alternative): about 1.00x means the same cost"
        ),
        &rows,
        &[("SEQ.ALLOC", "alloc_above", "alloc_below")],
    );
    let (below_rps, above_rps) = (row_rps(&rows, "alloc_below"), row_rps(&rows, "alloc_above"));
    sum.add(
        &format!("SEQ.ALLOC with {ABOVE} vs {BELOW} ids in the window"),
        format!("{} (vs {})", fmt_rate(above_rps), fmt_rate(below_rps)),
        above_rps,
        above_rps / below_rps,
        &format!("{BELOW} ids"),
        Target::AtLeast(0.9),
    );
}
