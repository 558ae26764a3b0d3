//! The run both modes share: conversations in batches, each validated whole before any of
//! it is written, imported with pipelined SEQ.IMPORTs after the target's `last` (so a rerun
//! continues where the target ends), cursors with SEQ.ACK; then, with `--verify`, a
//! second read of source and target compared.

use std::collections::HashMap;
use std::time::Duration;

use redis::{Cmd, Value};

use super::conn::Conn;
use super::conversation::{Conversation, Limits, TargetLog};
use super::progress::Progress;
use super::source::{bytes, items, server_error, uint, Read, Source};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    Report,
    Stop,
}

pub struct Options {
    pub dry_run: bool,
    pub verify: bool,
    pub on_error: OnError,
    /// Stop after this many conversations (a partial run, which a rerun continues).
    pub limit: Option<usize>,
    /// Conversations read per pipeline.
    pub batch: usize,
    /// Commands per pipeline to the target.
    pub pipeline: usize,
}

#[derive(Default)]
pub struct Summary {
    pub conversations: usize,
    pub imported: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub messages: u64,
    pub cursors: u64,
    /// Conversations whose source `last` is above their last message (not carried).
    pub trailing: usize,
    pub elapsed: Duration,
    pub stopped_at_limit: bool,
}

/// One command to the target, for conversation `conv` of the batch (`seq`: the entry an
/// import writes; none for a cursor).
struct Write {
    cmd: Cmd,
    conv: usize,
    seq: Option<u64>,
}

struct Refused {
    conv: usize,
    seq: Option<u64>,
    why: String,
}

/// Sends `writes` (but none of a conversation already failed) in pipelines of `size`;
/// returns the first refusal of each conversation.
fn send(target: &mut Conn, writes: &[Write], failed: &[bool], size: usize) -> Result<Vec<Refused>, String> {
    let live: Vec<&Write> = writes.iter().filter(|w| !failed.get(w.conv).copied().unwrap_or(true)).collect();
    let mut refused: Vec<Refused> = Vec::new();
    for chunk in live.chunks(size.max(1)) {
        let cmds: Vec<Cmd> = chunk.iter().map(|w| w.cmd.clone()).collect();
        for (reply, write) in target.pipeline(&cmds)?.iter().zip(chunk) {
            if let Value::ServerError(_) = reply {
                if !refused.iter().any(|r| r.conv == write.conv) {
                    refused.push(Refused { conv: write.conv, seq: write.seq, why: server_error(reply) });
                }
            }
        }
    }
    Ok(refused)
}

/// Notes of one kind printed in full before only their count is.
const SHOWN: usize = 20;

pub fn run(mode: &'static str, source: &mut dyn Source, target: &mut Conn, opts: &Options) -> Result<Summary, String> {
    let limits = Limits {
        max_id: target.config_u64("seq.max-client-msg-id-bytes").map_or(256, |v| v as usize),
        max_payload: target.config_u64("seq.max-payload-bytes").map_or(1 << 20, |v| v as usize),
        dedup_window_ms: target.config_u64("seq.dedup-window-ms").unwrap_or(86_400_000),
    };
    let mut keys = source.list()?;
    if let Some(limit) = opts.limit {
        keys.truncate(limit);
    }
    let mut summary = Summary::default();
    let mut progress = Progress::new(mode, keys.len());
    for batch in keys.chunks(opts.batch.max(1)) {
        let reads = source.read(batch, false)?;
        let convs: Vec<Result<Conversation, String>> = reads.into_iter().map(|r| r.map(|r| r.conversation)).collect();
        let infos = target_logs(target, &convs)?;
        // Each conversation's first import goes alone, ahead of the rest: a target that
        // refuses it (its newest ts is later than SEQ.INFO shows, say) gets nothing of it.
        let mut firsts: Vec<Write> = Vec::new();
        let mut rest_of: Vec<Write> = Vec::new();
        let mut planned = vec![0u64; convs.len()];
        let mut failed = vec![false; convs.len()];
        for (i, (conv, info)) in convs.iter().zip(&infos).enumerate() {
            summary.conversations += 1;
            let plan = conv.as_ref().map_err(String::clone).and_then(|conv| {
                let target_log = info.clone()?;
                conv.validate(&limits)?;
                let rest = conv.remaining(&target_log)?;
                Ok((conv, target_log, rest))
            });
            let (conv, target_log, rest) = match plan {
                Ok(plan) => plan,
                Err(why) => {
                    failed[i] = true;
                    summary.failed += 1;
                    let name = conv.as_ref().map_or_else(|_| super::source::show(&batch[i]), |c| c.name.clone());
                    eprintln!("error: conversation {name}: {why}; nothing of it was imported");
                    if opts.on_error == OnError::Stop {
                        return Err(format!("stopped at the first bad conversation ({name}; --on-error stop)"));
                    }
                    continue;
                }
            };
            let new_last = rest.last().map_or(target_log.last, |m| m.seq);
            if conv.source_last > new_last {
                summary.trailing += 1;
                if summary.trailing <= SHOWN {
                    eprintln!(
                        "note: conversation {}: seqs {}..={} hold no entry in the source and cannot be imported; \
                         the target's last is {new_last}, so SEQ.ALLOC will issue them again (cursors above it are set to it)",
                        conv.name,
                        new_last + 1,
                        conv.source_last
                    );
                }
            }
            planned[i] = rest.len() as u64;
            for (n, msg) in rest.iter().enumerate() {
                let mut cmd = redis::cmd("SEQ.IMPORT");
                cmd.arg(&conv.target_key).arg(msg.seq).arg(msg.ts).arg(&msg.id).arg(&msg.payload);
                let write = Write { cmd, conv: i, seq: Some(msg.seq) };
                if n == 0 {
                    firsts.push(write);
                } else {
                    rest_of.push(write);
                }
            }
            for (consumer, cursor) in &conv.cursors {
                let mut cmd = redis::cmd("SEQ.ACK");
                cmd.arg(&conv.target_key).arg(consumer).arg((*cursor).min(new_last));
                rest_of.push(Write { cmd, conv: i, seq: None });
                summary.cursors += 1;
            }
        }
        let name = |i: usize| convs.get(i).and_then(|c| c.as_ref().ok()).map_or("?", |c| c.name.as_str());
        if !opts.dry_run {
            for refused in send(target, &firsts, &failed, opts.pipeline)? {
                failed[refused.conv] = true;
                planned[refused.conv] = 0;
                summary.failed += 1;
                eprintln!(
                    "error: conversation {}: the target refused its first import: {}; nothing of it was imported",
                    name(refused.conv),
                    refused.why
                );
                if opts.on_error == OnError::Stop {
                    return Err(format!(
                        "stopped at the first refused import ({}; --on-error stop)",
                        name(refused.conv)
                    ));
                }
            }
            for refused in send(target, &rest_of, &failed, opts.pipeline)? {
                failed[refused.conv] = true;
                summary.failed += 1;
                // Possible only if the target log was written by something else meanwhile
                // (an id it holds in its window): the conversation is incomplete there.
                eprintln!(
                    "error: conversation {}: the target refused {}: {}; the conversation is INCOMPLETE on the target \
                     (delete its log there and run again)",
                    name(refused.conv),
                    refused.seq.map_or("a cursor".to_string(), |s| format!("seq {s}")),
                    refused.why
                );
                if opts.on_error == OnError::Stop {
                    return Err(format!(
                        "stopped at the first refused import ({}; --on-error stop)",
                        name(refused.conv)
                    ));
                }
            }
        }
        for (i, count) in planned.iter().enumerate() {
            match (failed[i], *count) {
                (true, _) => {}
                (false, 0) => summary.unchanged += 1,
                (false, n) => {
                    summary.imported += 1;
                    summary.messages += n;
                }
            }
        }
        progress.update(summary.conversations, summary.messages);
    }
    progress.finish();
    if summary.trailing > SHOWN {
        eprintln!("note: {} more conversations with trailing skipped seqs", summary.trailing - SHOWN);
    }
    summary.elapsed = progress.elapsed();
    summary.stopped_at_limit = opts.limit.is_some_and(|limit| summary.conversations >= limit);
    Ok(summary)
}

/// SEQ.INFO of each conversation's target log (pipelined); an error for a bad read.
fn target_logs(
    target: &mut Conn,
    convs: &[Result<Conversation, String>],
) -> Result<Vec<Result<TargetLog, String>>, String> {
    let cmds: Vec<Cmd> = convs
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .map(|c| redis::cmd("SEQ.INFO").arg(&c.target_key).clone())
        .collect();
    let mut replies = target.pipeline(&cmds)?.into_iter();
    Ok(convs
        .iter()
        .map(|c| match c {
            Ok(_) => TargetLog::from_info(&replies.next().unwrap_or(Value::Nil)),
            Err(why) => Err(why.clone()),
        })
        .collect())
}

#[derive(Default)]
pub struct Verified {
    pub conversations: usize,
    pub entries: u64,
    pub ids: u64,
    /// Ids whose entry is no longer in the de-duplication window of the target.
    pub ids_expired: u64,
    /// Source ids whose seq has no entry (a trimmed legacy stream): not carried.
    pub ids_without_entry: u64,
    pub cursors: u64,
    pub problems: u64,
    pub used_lookup: bool,
}

/// Reads source and target again and compares seqs, ids, payloads and cursors, and asks
/// the target for every source id (SEQ.LOOKUP, where the server has it).
pub fn verify(source: &mut dyn Source, target: &mut Conn, opts: &Options) -> Result<Verified, String> {
    let window = target.config_u64("seq.dedup-window-ms").unwrap_or(86_400_000);
    let mut out = Verified { used_lookup: target.has_command("SEQ.LOOKUP"), ..Verified::default() };
    let mut keys = source.list()?;
    if let Some(limit) = opts.limit {
        keys.truncate(limit);
    }
    let mut progress = Progress::new("verify", keys.len());
    for batch in keys.chunks(opts.batch.max(1)) {
        for read in source.read(batch, true)? {
            out.conversations += 1;
            // A conversation the import refused was reported then.
            let Ok(read) = read else { continue };
            let problems = verify_one(target, &read, window, &mut out)?;
            for problem in problems.iter() {
                out.problems += 1;
                if out.problems <= SHOWN as u64 {
                    eprintln!("verify: conversation {}: {problem}", read.conversation.name);
                }
            }
        }
        progress.update(out.conversations, out.entries);
    }
    progress.finish();
    Ok(out)
}

fn verify_one(target: &mut Conn, read: &Read, window: u64, out: &mut Verified) -> Result<Vec<String>, String> {
    let conv = &read.conversation;
    let mut problems = Vec::new();
    let upto = conv.msgs.last().map_or(0, |m| m.seq);
    let key = conv.target_key.as_slice();
    let mut cmds = vec![
        redis::cmd("SEQ.INFO").arg(key).clone(),
        redis::cmd("SEQ.RANGE").arg(key).arg("-").arg(upto).clone(),
        redis::cmd("SEQ.CURSORS").arg(key).clone(),
    ];
    if out.used_lookup {
        cmds.extend(read.ids.iter().map(|(id, _)| redis::cmd("SEQ.LOOKUP").arg(key).arg(id).clone()));
    }
    let replies = target.pipeline(&cmds)?;
    let [info, range, cursors, lookups @ ..] = replies.as_slice() else { return Err("short pipeline reply".into()) };
    let target_log = TargetLog::from_info(info)?;
    let entries = items(range)?;
    let by_seq: HashMap<u64, usize> = conv.msgs.iter().enumerate().map(|(i, m)| (m.seq, i)).collect();
    if entries.len() != conv.msgs.len() {
        problems.push(format!(
            "{} entries up to seq {upto} on the target, {} in the source",
            entries.len(),
            conv.msgs.len()
        ));
    }
    for (entry, msg) in entries.iter().zip(&conv.msgs) {
        out.entries += 1;
        let fields = items(entry)?;
        let (seq, id, payload) =
            (fields.first().and_then(uint), fields.get(1).and_then(bytes), fields.get(3).and_then(bytes));
        if seq != Some(msg.seq) || id != Some(msg.id.as_slice()) || payload != Some(msg.payload.as_slice()) {
            problems.push(format!("entry at seq {} differs: target has seq {seq:?}", msg.seq));
        }
    }
    let window_start = target_log.last_ts.saturating_sub(window);
    for (n, (id, seq)) in read.ids.iter().enumerate() {
        let Some(msg) = by_seq.get(seq).and_then(|&i| conv.msgs.get(i)) else {
            out.ids_without_entry += 1;
            continue;
        };
        out.ids += 1;
        if msg.id != *id {
            problems.push(format!(
                "the source gives seq {seq} to id {}, but its entry has another id",
                super::source::show(id)
            ));
            continue;
        }
        if !out.used_lookup {
            continue; // the entry comparison above covers the id at its seq
        }
        match lookups.get(n).and_then(uint) {
            Some(got) if got == *seq => {}
            None if msg.ts < window_start => out.ids_expired += 1,
            got => problems.push(format!("SEQ.LOOKUP of id {} gives {got:?}, not seq {seq}", super::source::show(id))),
        }
    }
    let target_cursors: HashMap<Vec<u8>, u64> = items(cursors)?
        .chunks(2)
        .filter_map(|p| match p {
            [name, cursor] => Some((bytes(name)?.to_vec(), uint(cursor)?)),
            _ => None,
        })
        .collect();
    for (consumer, cursor) in &conv.cursors {
        out.cursors += 1;
        let want = (*cursor).min(target_log.last);
        // A log with nothing to import is not created, and a cursor at 0 on it is none.
        let missing_at_zero = want == 0 && target_log.last == 0 && !target_cursors.contains_key(consumer);
        if target_cursors.get(consumer) != Some(&want) && !missing_at_zero {
            let got = target_cursors.get(consumer);
            problems.push(format!("cursor {} is {got:?} on the target, wanted {want}", super::source::show(consumer)));
        }
    }
    Ok(problems)
}
