//! SEQ.RANGE key start end [COUNT n] and SEQ.REVRANGE key end start [COUNT n]: entries
//! between two seqs (inclusive; `-` and `+` for lowest and highest), as XRANGE does.

use std::ffi::CStr;

use crate::module::args::{Args, Options};
use crate::module::command::Command;
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::context::Ctx;
use crate::module::errors::CmdError;

pub struct Range;
pub struct RevRange;

const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
const COUNT_ARG: ArgDoc = ArgDoc::new(c"count", ArgKind::Integer).token(c"COUNT").optional();

#[derive(Clone, Copy)]
enum Order {
    /// `SEQ.RANGE key start end`
    Ascending,
    /// `SEQ.REVRANGE key end start`
    Descending,
}

/// Parses the bounds and COUNT, then replies with the entries in `order`.
fn reply_range(ctx: &Ctx, args: &Args, order: Order) -> Result<(), CmdError> {
    let (low_index, high_index) = match order {
        Order::Ascending => (2, 3),
        Order::Descending => (3, 2),
    };
    let low = args.bound(low_index, "start")?;
    let high = args.bound(high_index, "end")?;
    let options = Options::parse(args, 4, &["COUNT"])?;
    let count = options.count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let key = ctx.read_key(args.key(1));
    let reply = ctx.reply();
    match (key.log()?, order) {
        (Some(log), Order::Ascending) => reply.entries(log.range(low, high).take(count)),
        (Some(log), Order::Descending) => reply.entries(log.rev_range(high, low).take(count)),
        (None, _) => reply.array(0),
    }
    Ok(())
}

impl Command for Range {
    const NAME: &'static CStr = c"SEQ.RANGE";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = -4;
    const KEYS: Option<KeyUse> = KEYS;
    const DOCS: Docs = Docs {
        summary: c"Returns the entries with seqs between start and end, ascending",
        complexity: c"O(log N + M) with N chunks in the log and M the entries returned",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"start", ArgKind::String),
            ArgDoc::new(c"end", ArgKind::String),
            COUNT_ARG,
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        reply_range(ctx, args, Order::Ascending)
    }
}

impl Command for RevRange {
    const NAME: &'static CStr = c"SEQ.REVRANGE";
    const FLAGS: &'static CStr = c"readonly";
    const ARITY: i32 = -4;
    const KEYS: Option<KeyUse> = KEYS;
    const DOCS: Docs = Docs {
        summary: c"Returns the entries with seqs between end and start, descending",
        complexity: c"O(log N + M) with N chunks in the log and M the entries returned",
        args: &[
            ArgDoc::new(c"key", ArgKind::Key),
            ArgDoc::new(c"end", ArgKind::String),
            ArgDoc::new(c"start", ArgKind::String),
            COUNT_ARG,
        ],
    };

    fn run(ctx: &Ctx, args: &Args) -> Result<(), CmdError> {
        reply_range(ctx, args, Order::Descending)
    }
}
