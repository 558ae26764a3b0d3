//! SEQ.RANGE key start end [COUNT n] and SEQ.REVRANGE key end start [COUNT n]: entries
//! between two seqs (inclusive; `-` and `+` for lowest and highest), as XRANGE does.

use std::ffi::CStr;

use redis_module::raw::RedisModuleCtx;

use crate::module::args::{Args, Options};
use crate::module::command_docs::{ArgDoc, ArgKind, Docs, KeyUse, READS};
use crate::module::errors::CmdError;
use crate::module::keys::LogKey;
use crate::module::reply::Reply;
use crate::module::Command;

pub struct Range;
pub struct RevRange;

const KEYS: Option<KeyUse> = KeyUse::first_arg(READS);
const COUNT_ARG: ArgDoc =
    ArgDoc::new(c"count", ArgKind::Integer).token(c"COUNT").optional();

/// The parsed request: bounds in ascending order, and the reply cap.
struct Request {
    low: u64,
    high: u64,
    count: usize,
}

fn parse(args: &Args, low_index: usize, high_index: usize) -> Result<Request, CmdError> {
    if args.len() < 4 {
        return Err(CmdError::WrongArity);
    }
    let low = args.bound(low_index, "start")?;
    let high = args.bound(high_index, "end")?;
    let options = Options::parse(args, 4, &["COUNT"])?;
    let count = options.count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Request { low, high, count })
}

impl Command for Range {
    const NAME: &'static CStr = c"SEQ.RANGE";
    const FLAGS: &'static CStr = c"readonly";
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

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        let request = parse(args, 2, 3)?;
        let key = LogKey::read(ctx, args.raw(1));
        let reply = Reply::new(ctx);
        match key.log()? {
            Some(log) => reply.entries(log.range(request.low, request.high).take(request.count)),
            None => reply.array(0),
        }
        Ok(())
    }
}

impl Command for RevRange {
    const NAME: &'static CStr = c"SEQ.REVRANGE";
    const FLAGS: &'static CStr = c"readonly";
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

    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError> {
        let request = parse(args, 3, 2)?;
        let key = LogKey::read(ctx, args.raw(1));
        let reply = Reply::new(ctx);
        match key.log()? {
            Some(log) => reply.entries(log.rev_range(request.high, request.low).take(request.count)),
            None => reply.array(0),
        }
        Ok(())
    }
}
