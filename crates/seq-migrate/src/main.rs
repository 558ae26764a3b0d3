//! seq-migrate: moves conversations into redis-seq without renumbering them.
//!
//! `seq-migrate legacy` imports the hand-written INCR + hash + stream layout with
//! SEQ.IMPORT; `seq-migrate copy` copies redis-seq logs from one server to another. Both
//! are pipelined, resumable (a rerun continues where the target ends), validate each
//! conversation whole before writing any of it, and can `--verify`. docs/migration.md
//! walks through a migration.

mod conn;
mod conversation;
mod copy;
mod legacy;
mod migrate;
mod progress;
mod source;

use std::process::ExitCode;

use conn::Conn;
use legacy::{Layout, Pattern, TsFrom};
use migrate::{OnError, Options};
use source::Source;

const USAGE: &str = "\
usage: seq-migrate legacy --source URL --target URL [options]
       seq-migrate copy   --source URL --target URL [--match GLOB] [options]

URLs: redis://host:port[/db] for a server, redis+cluster://host:port[,host:port...] for a cluster.

legacy (defaults: the benchmark's Lua layout):
  --counter-key PAT   the INCR counter            [ctr:{c}]
  --ids-key PAT       the hash client-msg-id->seq [ids:{c}]
  --log-key PAT       the stream (found by SCAN)  [log:{c}]
  --target-key PAT    the redis-seq log to write  [conv:{c}]
      (in a pattern, {c} is the conversation's name in braces, a hash tag; %c the bare name)
  --seq-field F / --id-field F / --payload-field F   stream fields [seq / id / payload]
  --ts-field F        take each entry's ts (ms) from this stream field
  --ts auto|stream-id|clock   without --ts-field: the stream id's ms (auto: when it looks
                      like a time), or this run's clock                          [auto]
copy:
  --match GLOB        which source keys to copy (SCAN MATCH)                     [*]
both:
  --dry-run           read and check everything, write nothing
  --verify            afterwards, compare source and target (seqs, ids, payloads, cursors)
  --on-error report|stop   bad source data: report the conversation and go on, or stop [report]
  --limit N           stop after N conversations (a rerun continues)
  --batch N           conversations read per pipeline                           [100]
  --pipeline N        commands per pipeline to the target                       [1000]

exit status: 0 done (and verified clean), 1 stopped by an error, 2 some conversations
failed, 3 verification found differences.";

struct Args {
    mode: String,
    source: String,
    target: String,
    layout: Layout,
    pattern: String,
    opts: Options,
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut it = argv.iter();
    let mode = it.next().cloned().ok_or("no mode given")?;
    if mode != "legacy" && mode != "copy" {
        return Err(format!("unknown mode {mode:?} (legacy or copy)"));
    }
    let (mut source, mut target) = (None, None);
    let mut layout = Layout {
        counter: Pattern::parse("ctr:{c}")?,
        ids: Pattern::parse("ids:{c}")?,
        log: Pattern::parse("log:{c}")?,
        target: Pattern::parse("conv:{c}")?,
        seq_field: "seq".into(),
        id_field: "id".into(),
        payload_field: "payload".into(),
        ts: TsFrom::Auto,
    };
    let mut pattern = "*".to_string();
    let mut opts =
        Options { dry_run: false, verify: false, on_error: OnError::Report, limit: None, batch: 100, pipeline: 1000 };
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{flag}: {v:?} is not a number"));
        match flag.as_str() {
            "--source" => source = Some(value()?),
            "--target" => target = Some(value()?),
            "--counter-key" => layout.counter = Pattern::parse(&value()?)?,
            "--ids-key" => layout.ids = Pattern::parse(&value()?)?,
            "--log-key" => layout.log = Pattern::parse(&value()?)?,
            "--target-key" => layout.target = Pattern::parse(&value()?)?,
            "--seq-field" => layout.seq_field = value()?,
            "--id-field" => layout.id_field = value()?,
            "--payload-field" => layout.payload_field = value()?,
            "--ts-field" => layout.ts = TsFrom::Field(value()?),
            "--ts" => {
                layout.ts = match value()?.as_str() {
                    "auto" => TsFrom::Auto,
                    "stream-id" => TsFrom::StreamId,
                    "clock" => TsFrom::Clock,
                    other => return Err(format!("--ts {other:?}: auto, stream-id or clock")),
                }
            }
            "--match" => pattern = value()?,
            "--dry-run" => opts.dry_run = true,
            "--verify" => opts.verify = true,
            "--on-error" => {
                opts.on_error = match value()?.as_str() {
                    "report" => OnError::Report,
                    "stop" => OnError::Stop,
                    other => return Err(format!("--on-error {other:?}: report or stop")),
                }
            }
            "--limit" => opts.limit = Some(number(value()?)?),
            "--batch" => opts.batch = number(value()?)?,
            "--pipeline" => opts.pipeline = number(value()?)?,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let source = source.ok_or("--source is required")?;
    let target = target.ok_or("--target is required")?;
    Ok(Args { mode, source, target, layout, pattern, opts })
}

fn run(args: Args) -> Result<ExitCode, String> {
    let mut target = Conn::open(&args.target)?;
    if !target.has_command("SEQ.IMPORT") {
        return Err(format!(
            "the target {} has no SEQ.IMPORT (is the redis-seq module loaded, and new enough?)",
            args.target
        ));
    }
    let con = Conn::open(&args.source)?;
    let (label, mut source): (&'static str, Box<dyn Source>) = match args.mode.as_str() {
        "legacy" => ("legacy", Box::new(legacy::Legacy { con, layout: args.layout })),
        _ => ("copy", Box::new(copy::Copy { con, pattern: args.pattern })),
    };
    let opts = &args.opts;
    let s = migrate::run(label, source.as_mut(), &mut target, opts)?;
    let secs = s.elapsed.as_secs_f64().max(1e-6);
    let (written, verb) = if opts.dry_run { ("to write", "to import (dry run)") } else { ("written", "imported") };
    println!(
        "{label}: {} conversations ({} {written}, {} already complete, {} failed); {} messages {verb} in {:.2} s \
         ({:.0} messages/s); {} cursors; {} conversations with trailing skipped seqs not carried",
        s.conversations,
        s.imported,
        s.unchanged,
        s.failed,
        s.messages,
        secs,
        s.messages as f64 / secs,
        s.cursors,
        s.trailing
    );
    if s.stopped_at_limit {
        println!("stopped after --limit {} conversations; run again to continue", s.conversations);
    }
    let mut code = if s.failed > 0 { 2 } else { 0 };
    if opts.verify {
        let v = migrate::verify(source.as_mut(), &mut target, opts)?;
        let how = if v.used_lookup { "SEQ.LOOKUP" } else { "SEQ.RANGE (the target has no SEQ.LOOKUP)" };
        println!(
            "verify: {} conversations, {} entries, {} ids checked by {how} ({} out of the window, {} without an entry \
             in the source), {} cursors: {}",
            v.conversations,
            v.entries,
            v.ids,
            v.ids_expired,
            v.ids_without_entry,
            v.cursors,
            if v.problems == 0 { "clean".to_string() } else { format!("{} differences", v.problems) }
        );
        if v.problems > 0 {
            code = 3;
        }
    }
    Ok(ExitCode::from(code))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(&argv) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("seq-migrate: {why}\n\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    run(args).unwrap_or_else(|why| {
        eprintln!("seq-migrate: {why}");
        ExitCode::from(1)
    })
}
