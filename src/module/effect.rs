//! The replication protocol: what replicas and the AOF receive is the resolved effect of
//! each write, as one internal command, `SEQ.EFFECT key <op> <operands>`. This file owns
//! every op: its operands, its encoding, its decoding and the step that applies it, which
//! the master (after a command decided the effect) and a replica or the AOF loader (on
//! receiving it) share. Adding an op is a line in `ops!` and a variant of `Effect`, both
//! here; the compiler then asks for every match that must handle it.
//!
//! Ops: `APPEND packed id payload` (packed: seq, ts, epoch, dedup floor, retention trim
//! point and the seqs skipped before it as six varints, see
//! `seq_core::encoding::pack_append`; AOF files written before the skip was declared hold
//! five and still replay, checked only for `seq > last`), `IMPORT packed id payload` (the
//! same, from SEQ.IMPORT: applied alike, announced as `seq.import`), `TRIM keep-from`,
//! `ACK consumer cursor`, `FORGET consumer`, `EDIT seq payload`, `DEL packed-seqs`
//! (`seq_core::encoding::pack_seqs`: the seqs actually deleted),
//! `APPEND-ACK packed id payload consumer` (an APPEND and its sender's ACK at once), and
//! the AOF rewrite's
//! `RESTORE-HEADER last skipped epoch last-ts dedup-floor node-epoch [rev resync-floor]`,
//! `RESTORE-RETIRED seq ts id`,
//! `RESTORE-CHUNK first-seq skipped-before first-ts len bytes [packed-changes]`
//! (the bracketed operands came with the message lifecycle; a rewrite by an older module
//! lacks them and means rev 0, no changes), `RESTORE-DAMAGED` (the log is damaged, see
//! `damage.rs`), and `RESTORE-PACKED-CHUNK`, `RESTORE-CHUNK`'s operands with the chunk's
//! bytes as it stores them (client-msg-ids packed, `seq_core::StoredId`), which rewrites
//! write since encoding v4; a `RESTORE-CHUNK` of an older rewrite is converted.
//!
//! A received effect that does not fit its log (an APPEND whose seq is not `last + 1 +`
//! its declared skip, a TRIM beyond `last`, an ACK beyond `last`, an EDIT or DEL of an
//! entry that is not there, ...) is never skipped quietly: `damage::record` marks the log
//! damaged.
//!
//! Operands go out as integers and raw buffers, and an appended entry's id and payload as
//! the client's own argument strings (shared, not copied): no strings are built for them.

use std::ffi::CStr;
use std::os::raw::{c_char, c_longlong};
use std::sync::OnceLock;

use redis_module::raw::{RedisModuleIO, RedisModuleString};

use super::args::{Arg, Args, KeyName};
use super::context::Ctx;
use super::errors::CmdError;
use super::keys::LogKey;
use super::{fence, propagation, stats};
use seq_core::encoding;
use seq_core::{Append, Chunk, EntryFormat, LogHeader, SeqError, SeqLog};

pub const EFFECT_COMMAND: &CStr = c"SEQ.EFFECT";

/// Declares the ops once: the enum, each op's name on the wire (also as a shared Redis
/// string), and `Op::ALL`.
macro_rules! ops {
    ($($op:ident = $name:literal),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            $($op),+
        }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$op),+];

            pub fn name(self) -> &'static CStr {
                match self {
                    $(Op::$op => $name),+
                }
            }

            /// The op's name as a Redis string made once per process and never freed:
            /// sent with "s", Redis only counts a reference to it, where "c" would build
            /// (and free) a string object for it on every effect. Same bytes on the wire.
            fn shared_name(self) -> *mut RedisModuleString {
                match self {
                    $(Op::$op => {
                        static NAME: OnceLock<SharedName> = OnceLock::new();
                        NAME.get_or_init(|| SharedName::new($name)).0
                    }),+
                }
            }
        }
    };
}

ops! {
    Append = c"APPEND",
    Trim = c"TRIM",
    Ack = c"ACK",
    Forget = c"FORGET",
    RestoreHeader = c"RESTORE-HEADER",
    RestoreRetired = c"RESTORE-RETIRED",
    RestoreChunk = c"RESTORE-CHUNK",
    Edit = c"EDIT",
    Del = c"DEL",
    AppendAck = c"APPEND-ACK",
    Import = c"IMPORT",
    RestoreDamaged = c"RESTORE-DAMAGED",
    RestorePackedChunk = c"RESTORE-PACKED-CHUNK",
}

impl Op {
    fn named(name: &[u8]) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name().to_bytes() == name)
    }
}

/// An op's name as a Redis string made once per process and never freed (see
/// `Op::shared_name`).
struct SharedName(*mut RedisModuleString);

impl SharedName {
    fn new(name: &CStr) -> SharedName {
        let name = name.to_bytes();
        // SAFETY: a plain string constructor; with a NULL context no context frees the
        // string. It never returns NULL (Redis aborts when out of memory).
        SharedName(unsafe { api!(RedisModule_CreateString)(std::ptr::null_mut(), name.as_ptr().cast(), name.len()) })
    }
}

// SAFETY: the string is never changed or freed. Redis counts references to it only while
// a command (or the AOF rewrite, in its own process) emits an effect, and commands run one
// at a time on Redis' main thread.
unsafe impl Send for SharedName {}
unsafe impl Sync for SharedName {}

/// One write's resolved effect on one log.
#[derive(Clone, Copy)]
pub enum Effect<'a> {
    /// An entry appended as planned (`SeqLog::plan_alloc`); `payload` absent is empty.
    Append {
        append: Append,
        id: Arg<'a>,
        payload: Option<Arg<'a>>,
    },
    /// Entries below `keep_from` removed.
    Trim {
        keep_from: u64,
    },
    /// The consumer's cursor raised to `cursor` (a cursor never moves back).
    Ack {
        consumer: &'a [u8],
        cursor: u64,
    },
    Forget {
        consumer: &'a [u8],
    },
    /// The AOF rewrite's first effect of a key: a new, empty log with this header.
    RestoreHeader {
        header: LogHeader,
        node_epoch: u64,
        rev: u64,
        resync_floor: u64,
    },
    RestoreRetired {
        seq: u64,
        ts: u64,
        id: &'a [u8],
    },
    RestoreChunk {
        first_seq: u64,
        skipped_before: u64,
        first_ts: u64,
        len: u32,
        bytes: &'a [u8],
        /// The chunk's change records, `SeqLog::packed_changes`.
        changes: &'a [u8],
        /// How `bytes` hold ids: `RESTORE-CHUNK` as the client gave them (rewrites by
        /// modules before encoding v4), `RESTORE-PACKED-CHUNK` as the chunk stores them.
        format: EntryFormat,
    },
    /// The retained, not deleted entry `seq` now has this payload (it had another).
    Edit {
        seq: u64,
        payload: Arg<'a>,
    },
    /// These entries (`pack_seqs`, ascending, each retained and not deleted) are deleted.
    Del {
        packed_seqs: &'a [u8],
    },
    /// An `Append` and the sender's acknowledgement of it (SEQ.ALLOC ... ACK): `consumer`'s
    /// cursor becomes the new seq. One effect, so no replica or AOF ever holds the entry
    /// without the cursor or the other way round.
    AppendAck {
        append: Append,
        id: Arg<'a>,
        payload: Arg<'a>,
        consumer: Arg<'a>,
    },
    /// An entry appended as SEQ.IMPORT planned it (`SeqLog::plan_import`): an append
    /// in every respect but its announcement and counter.
    Import {
        append: Append,
        id: Arg<'a>,
        payload: Option<Arg<'a>>,
    },
    /// The AOF rewrite's mark of a damaged log, after its other RESTORE-* effects.
    RestoreDamaged,
}

/// What applying an effect did: the result its command replies with, and whether the
/// log changed (an unchanged log sends nothing to replicas).
struct Outcome {
    result: u64,
    changed: bool,
}

impl Outcome {
    fn changed(result: u64) -> Outcome {
        Outcome { result, changed: true }
    }
}

/// Where an effect goes: replicas + AOF (from a command), or the AOF being rewritten.
#[derive(Clone, Copy)]
enum Target {
    Replicas(*mut redis_module::raw::RedisModuleCtx),
    Rewrite(*mut RedisModuleIO),
}

fn ll(value: u64) -> c_longlong {
    c_longlong::try_from(value).unwrap_or(c_longlong::MAX)
}

fn buf(bytes: &[u8]) -> (*const c_char, usize) {
    (bytes.as_ptr().cast::<c_char>(), bytes.len())
}

/// Sends `SEQ.EFFECT <fmt args>`; `$fmt` is RedisModule_Replicate's format string.
macro_rules! emit {
    ($target:expr, $fmt:expr, $($arg:expr),+) => {{
        // SAFETY: the format string matches the arguments' C types one for one; the
        // context or IO is the running callback's.
        unsafe {
            match $target {
                Target::Replicas(ctx) => api!(RedisModule_Replicate)(ctx, EFFECT_COMMAND.as_ptr(), $fmt.as_ptr(), $($arg),+),
                Target::Rewrite(io) => {
                    api!(RedisModule_EmitAOF)(io, EFFECT_COMMAND.as_ptr(), $fmt.as_ptr(), $($arg),+);
                    0
                }
            }
        };
    }};
}

/// The operands of a SEQ.EFFECT call, `N` of them after `key op`.
fn operands<'a, const N: usize>(args: &Args<'a>) -> Result<[Arg<'a>; N], CmdError> {
    if args.len() != 3 + N {
        return Err(CmdError::WrongArity);
    }
    Ok(std::array::from_fn(|i| args.arg(3 + i)))
}

fn int(arg: Arg<'_>) -> Result<u64, CmdError> {
    Ok(seq_core::args::parse_u64(arg.bytes(), "effect argument")?)
}

/// `append`'s operand as sent: its fields packed as varints into `packed`.
fn pack(append: &Append, packed: &mut [u8; encoding::PACKED_APPEND_MAX]) -> (*const c_char, usize) {
    let packed_len = encoding::pack_append(append, packed);
    buf(packed.get(..packed_len).unwrap_or_default())
}

/// An append's change to the log (creating it if missing) and the node's books.
#[inline(always)]
fn append_entry(
    key: &mut LogKey<'_>,
    append: &Append,
    id: Arg<'_>,
    payload: &[u8],
    imported: bool,
) -> Result<(), CmdError> {
    let trimmed = key.log_or_create()?.apply_append(append, id.bytes(), payload)?;
    fence::observe_epoch(append.epoch);
    if imported {
        stats::imported();
    } else {
        stats::allocated();
    }
    stats::trimmed(trimmed);
    Ok(())
}

/// The log an effect on an existing log applies to.
fn existing<'k>(key: &'k mut LogKey<'_>) -> Result<&'k mut SeqLog, CmdError> {
    key.log_mut()?.ok_or_else(|| SeqError::InvalidState("effect on a missing log").into())
}

impl<'a> Effect<'a> {
    fn op(&self) -> Op {
        match self {
            Effect::Append { .. } => Op::Append,
            Effect::Trim { .. } => Op::Trim,
            Effect::Ack { .. } => Op::Ack,
            Effect::Forget { .. } => Op::Forget,
            Effect::RestoreHeader { .. } => Op::RestoreHeader,
            Effect::RestoreRetired { .. } => Op::RestoreRetired,
            Effect::RestoreChunk { format: EntryFormat::PlainIds, .. } => Op::RestoreChunk,
            Effect::RestoreChunk { format: EntryFormat::StoredIds, .. } => Op::RestorePackedChunk,
            Effect::Edit { .. } => Op::Edit,
            Effect::Del { .. } => Op::Del,
            Effect::AppendAck { .. } => Op::AppendAck,
            Effect::Import { .. } => Op::Import,
            Effect::RestoreDamaged => Op::RestoreDamaged,
        }
    }

    /// Reads `SEQ.EFFECT key op operands...`; each op checks its own arity.
    pub fn decode(args: &Args<'a>) -> Result<Effect<'a>, CmdError> {
        let name = args.bytes(2);
        let op = Op::named(name).ok_or_else(|| CmdError::unknown_effect(name))?;
        Ok(match op {
            Op::Append | Op::Import => {
                let [packed, id, payload] = operands(args)?;
                let append = encoding::unpack_append(packed.bytes())?;
                match op {
                    Op::Import => Effect::Import { append, id, payload: Some(payload) },
                    _ => Effect::Append { append, id, payload: Some(payload) },
                }
            }
            Op::Trim => {
                let [keep_from] = operands(args)?;
                Effect::Trim { keep_from: int(keep_from)? }
            }
            Op::Ack => {
                let [consumer, cursor] = operands(args)?;
                Effect::Ack { consumer: consumer.bytes(), cursor: int(cursor)? }
            }
            Op::Forget => {
                let [consumer] = operands(args)?;
                Effect::Forget { consumer: consumer.bytes() }
            }
            Op::RestoreHeader => {
                let (head, lifecycle) = match args.len() {
                    9 => (operands::<6>(args)?, None),
                    _ => {
                        let [last, skipped, epoch, last_ts, dedup_floor, node_epoch, rev, resync_floor] =
                            operands(args)?;
                        ([last, skipped, epoch, last_ts, dedup_floor, node_epoch], Some((rev, resync_floor)))
                    }
                };
                let [last, skipped, epoch, last_ts, dedup_floor, node_epoch] = head;
                let (rev, resync_floor) = match lifecycle {
                    Some((rev, resync_floor)) => (int(rev)?, int(resync_floor)?),
                    None => (0, 0),
                };
                let header = LogHeader {
                    last: int(last)?,
                    skipped: int(skipped)?,
                    epoch: int(epoch)?,
                    last_ts: int(last_ts)?,
                    dedup_floor: int(dedup_floor)?,
                };
                Effect::RestoreHeader { header, node_epoch: int(node_epoch)?, rev, resync_floor }
            }
            Op::RestoreRetired => {
                let [seq, ts, id] = operands(args)?;
                Effect::RestoreRetired { seq: int(seq)?, ts: int(ts)?, id: id.bytes() }
            }
            Op::RestoreChunk | Op::RestorePackedChunk => {
                let ([first_seq, skipped_before, first_ts, len, bytes], changes) = match args.len() {
                    8 => (operands::<5>(args)?, &[][..]),
                    _ => {
                        let [first_seq, skipped_before, first_ts, len, bytes, changes] = operands(args)?;
                        ([first_seq, skipped_before, first_ts, len, bytes], changes.bytes())
                    }
                };
                Effect::RestoreChunk {
                    first_seq: int(first_seq)?,
                    skipped_before: int(skipped_before)?,
                    first_ts: int(first_ts)?,
                    len: u32::try_from(int(len)?).map_err(|_| SeqError::InvalidState("chunk length"))?,
                    bytes: bytes.bytes(),
                    changes,
                    format: if op == Op::RestoreChunk { EntryFormat::PlainIds } else { EntryFormat::StoredIds },
                }
            }
            Op::Edit => {
                let [seq, payload] = operands(args)?;
                Effect::Edit { seq: int(seq)?, payload }
            }
            Op::Del => {
                let [packed_seqs] = operands(args)?;
                Effect::Del { packed_seqs: packed_seqs.bytes() }
            }
            Op::AppendAck => {
                let [packed, id, payload, consumer] = operands(args)?;
                Effect::AppendAck { append: encoding::unpack_append(packed.bytes())?, id, payload, consumer }
            }
            Op::RestoreDamaged => {
                let [] = operands(args)?;
                Effect::RestoreDamaged
            }
        })
    }

    fn emit(&self, target: Target, key: *mut RedisModuleString) {
        let op = self.op().shared_name();
        match *self {
            Effect::Append { append, id, payload } | Effect::Import { append, id, payload } => {
                let mut packed = [0u8; encoding::PACKED_APPEND_MAX];
                let (ptr, len) = pack(&append, &mut packed);
                match payload {
                    Some(payload) => emit!(target, c"ssbss", key, op, ptr, len, id.raw(), payload.raw()),
                    None => emit!(target, c"ssbsc", key, op, ptr, len, id.raw(), c"".as_ptr()),
                }
            }
            Effect::Trim { keep_from } => emit!(target, c"ssl", key, op, ll(keep_from)),
            Effect::Ack { consumer, cursor } => {
                let (ptr, len) = buf(consumer);
                emit!(target, c"ssbl", key, op, ptr, len, ll(cursor));
            }
            Effect::Forget { consumer } => {
                let (ptr, len) = buf(consumer);
                emit!(target, c"ssb", key, op, ptr, len);
            }
            Effect::RestoreHeader { header: h, node_epoch, rev, resync_floor } => emit!(
                target,
                c"ssllllllll",
                key,
                op,
                ll(h.last),
                ll(h.skipped),
                ll(h.epoch),
                ll(h.last_ts),
                ll(h.dedup_floor),
                ll(node_epoch),
                ll(rev),
                ll(resync_floor)
            ),
            Effect::RestoreRetired { seq, ts, id } => {
                let (ptr, len) = buf(id);
                emit!(target, c"ssllb", key, op, ll(seq), ll(ts), ptr, len);
            }
            Effect::RestoreChunk { first_seq, skipped_before, first_ts, len, bytes, changes, .. } => {
                let (ptr, blen) = buf(bytes);
                let (changes_ptr, changes_len) = buf(changes);
                emit!(
                    target,
                    c"ssllllbb",
                    key,
                    op,
                    ll(first_seq),
                    ll(skipped_before),
                    ll(first_ts),
                    ll(u64::from(len)),
                    ptr,
                    blen,
                    changes_ptr,
                    changes_len
                );
            }
            Effect::Edit { seq, payload } => emit!(target, c"ssls", key, op, ll(seq), payload.raw()),
            Effect::Del { packed_seqs } => {
                let (ptr, len) = buf(packed_seqs);
                emit!(target, c"ssb", key, op, ptr, len);
            }
            Effect::AppendAck { append, id, payload, consumer } => {
                let mut packed = [0u8; encoding::PACKED_APPEND_MAX];
                let (ptr, len) = pack(&append, &mut packed);
                emit!(target, c"ssbsss", key, op, ptr, len, id.raw(), payload.raw(), consumer.raw());
            }
            Effect::RestoreDamaged => emit!(target, c"ss", key, op),
        }
    }

    /// Changes the log and keeps the node's books (fence epoch, INFO counters).
    // Inlined (with `commit`) into SEQ.ALLOC: measured, it keeps the hot path at the
    // instruction count it had before this type existed.
    #[inline]
    fn apply(&self, key: &mut LogKey<'_>) -> Result<Outcome, CmdError> {
        match *self {
            Effect::Append { append, id, payload } | Effect::Import { append, id, payload } => {
                let imported = matches!(self, Effect::Import { .. });
                append_entry(key, &append, id, payload.map_or(&[][..], Arg::bytes), imported)?;
                Ok(Outcome::changed(append.seq))
            }
            Effect::Trim { keep_from } => {
                let log = existing(key)?;
                // The master never trims past `last + 1` (SeqLog::plan_trim).
                if keep_from > log.last().saturating_add(1) {
                    return Err(SeqError::InvalidState("trim beyond last").into());
                }
                let removed = log.trim_before(keep_from);
                stats::trimmed(removed);
                Ok(Outcome { result: removed, changed: removed > 0 })
            }
            Effect::Ack { consumer, cursor } => {
                let (cursor, changed) = existing(key)?.ack(consumer, cursor)?;
                Ok(Outcome { result: cursor, changed })
            }
            Effect::Forget { consumer } => {
                let removed = existing(key)?.forget(consumer);
                Ok(Outcome { result: u64::from(removed), changed: removed })
            }
            Effect::RestoreHeader { header, node_epoch, rev, resync_floor } => {
                let mut log = SeqLog::from_header(header)?;
                log.restore_rev(rev, resync_floor)?;
                fence::observe_epoch(header.epoch.max(node_epoch));
                key.set(log)?;
                Ok(Outcome::changed(1))
            }
            Effect::RestoreRetired { seq, ts, id } => {
                existing(key)?.push_retired(seq, ts, id)?;
                Ok(Outcome::changed(1))
            }
            Effect::RestoreChunk { first_seq, skipped_before, first_ts, len, bytes, changes, format } => {
                let chunk = Chunk::from_parts(first_seq, skipped_before, first_ts, len, bytes.to_vec(), format);
                existing(key)?.push_changed_chunk(chunk, changes)?;
                Ok(Outcome::changed(1))
            }
            Effect::Edit { seq, payload } => Ok(Outcome::changed(existing(key)?.apply_edit(seq, payload.bytes())?)),
            Effect::Del { packed_seqs } => {
                let seqs = encoding::unpack_seqs(packed_seqs)?;
                Ok(Outcome::changed(existing(key)?.apply_delete(&seqs)?))
            }
            Effect::AppendAck { append, id, payload, consumer } => {
                append_entry(key, &append, id, payload.bytes(), false)?;
                // Cannot fail: the new seq is the log's `last` now.
                existing(key)?.ack(consumer.bytes(), append.seq)?;
                Ok(Outcome::changed(append.seq))
            }
            Effect::RestoreDamaged => {
                super::damage::mark(key)?;
                Ok(Outcome::changed(1))
            }
        }
    }

    /// Tells subscribers and blocked readers about the change.
    fn announce(&self, ctx: &Ctx, key: KeyName<'_>) {
        match self {
            // Subscribers get `seq.alloc` (module class); SEQ.SYNC BLOCK waiters wake up.
            Effect::Append { .. } | Effect::AppendAck { .. } => {
                ctx.notify(c"seq.alloc", key);
                ctx.signal_ready(key);
            }
            Effect::Edit { .. } => ctx.notify(c"seq.edit", key),
            Effect::Del { .. } => ctx.notify(c"seq.del", key),
            Effect::Import { .. } => {
                ctx.notify(c"seq.import", key);
                ctx.signal_ready(key);
            }
            Effect::Trim { .. }
            | Effect::Ack { .. }
            | Effect::Forget { .. }
            | Effect::RestoreHeader { .. }
            | Effect::RestoreRetired { .. }
            | Effect::RestoreChunk { .. }
            | Effect::RestoreDamaged => {}
        }
    }

    /// The master's path: applies the effect a command decided, sends it to replicas and
    /// the AOF if it changed the log, and returns the command's result. (An ACK that
    /// changed the log set the cursor to exactly the one it carries.) Refused on a
    /// damaged log: every write to it waits for its repair.
    #[inline]
    pub fn commit(&self, ctx: &Ctx, key: &mut LogKey<'_>) -> Result<u64, CmdError> {
        if key.log()?.is_some_and(SeqLog::is_damaged) {
            return Err(CmdError::damaged(key.name().bytes()));
        }
        let outcome = self.apply(key)?;
        if outcome.changed {
            if propagation::something_receives(ctx.raw()) {
                self.emit(Target::Replicas(ctx.raw()), key.raw_name());
            } else {
                // Queues nothing (nothing receives), but counts the write for save points.
                ctx.replicate_verbatim();
                stats::effect_unsent();
            }
        }
        self.announce(ctx, key.name());
        Ok(outcome.result)
    }

    /// A replica's and the AOF loader's path: applies a received effect (the caller
    /// passes it on as it came, to this node's replicas and its own AOF).
    pub fn replay(&self, ctx: &Ctx, key: &mut LogKey<'_>) -> Result<(), CmdError> {
        self.apply(key)?;
        self.announce(ctx, key.name());
        Ok(())
    }

    /// Writes the effect into the AOF being rewritten (from the type's rewrite callback).
    pub(super) fn rewrite(&self, aof: *mut RedisModuleIO, key: *mut RedisModuleString) {
        self.emit(Target::Rewrite(aof), key);
    }
}

#[cfg(test)]
mod tests {
    use super::Op;

    #[test]
    fn every_op_is_found_by_its_own_name_only() {
        for &op in Op::ALL {
            assert_eq!(Op::named(op.name().to_bytes()), Some(op));
        }
        assert_eq!(Op::named(b"append"), None, "names are case-sensitive on the wire");
        assert_eq!(Op::named(b"ALLOC"), None);
    }
}
