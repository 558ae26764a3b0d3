//! Every refusal a command can reply with, as a value: each names the problem so a user
//! can act on it, and none is sent after any change was made. `Internal` is not a
//! refusal but a failure of the server or the module; its detail goes to the server log
//! and the client gets `INTERNAL_ERROR`.

use std::fmt;

use seq_core::args::ArgError;
use seq_core::SeqError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    /// Answered with Redis' own "wrong number of arguments" reply.
    WrongArity,
    WrongType,
    /// An argument the core's parsers refused (`seq_core::args`).
    Arg(ArgError),
    EmptyClientMsgId,
    /// An argument longer than the config that bounds it.
    TooLong {
        what: &'static str,
        len: usize,
        config: &'static str,
        max: usize,
    },
    /// SEQ.EFFECT called by an ordinary client.
    EffectFromClient,
    UnknownEffect(Vec<u8>),
    Core(SeqError),
    /// A write that would create state while the server is over `maxmemory`.
    OutOfMemory,
    /// The log a blocked call waited on was deleted or replaced while it waited.
    LogReset,
    /// A write to a log marked damaged (`module/damage.rs`); holds the key's name.
    Damaged(Vec<u8>),
    /// The server refused what the module asked (e.g. storing a value in a key).
    Internal(&'static str),
    /// The list after the keyword is not keys followed by as many positions.
    UnpairedKeys(&'static str),
}

/// The reply to an internal failure or a caught panic, logged in full.
pub const INTERNAL_ERROR: &str = "ERR internal error in redis-seq (details in the server log)";

impl CmdError {
    pub fn unknown_effect(given: &[u8]) -> CmdError {
        CmdError::UnknownEffect(given.to_vec())
    }

    pub fn damaged(key: &[u8]) -> CmdError {
        CmdError::Damaged(key.to_vec())
    }

    pub fn too_long(what: &'static str, len: usize, config: &'static str, max: usize) -> CmdError {
        CmdError::TooLong { what, len, config, max }
    }
}

impl From<ArgError> for CmdError {
    fn from(error: ArgError) -> CmdError {
        CmdError::Arg(error)
    }
}

impl From<SeqError> for CmdError {
    fn from(error: SeqError) -> CmdError {
        CmdError::Core(error)
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::WrongArity => write!(f, "ERR wrong number of arguments"),
            CmdError::WrongType => write!(f, "WRONGTYPE Operation against a key holding the wrong kind of value"),
            CmdError::Arg(error) => write_arg_error(f, error),
            CmdError::EmptyClientMsgId => write!(f, "ERR client-msg-id must not be empty"),
            CmdError::TooLong { what, len, config, max } => {
                write!(f, "ERR {what} is {len} bytes, longer than {config} ({max})")
            }
            CmdError::EffectFromClient => {
                write!(f, "ERR SEQ.EFFECT is internal to redis-seq (replication and AOF only)")
            }
            CmdError::UnknownEffect(op) => write!(f, "ERR unknown SEQ.EFFECT op '{}'", String::from_utf8_lossy(op)),
            // The one refusal with its own code: a device tells it apart from every ERR.
            CmdError::Core(error @ SeqError::Resync { .. }) => write!(f, "RESYNC {error}"),
            CmdError::Core(error) => write!(f, "ERR {error}"),
            // Redis' own refusal of a `deny-oom` command, word for word.
            CmdError::OutOfMemory => write!(f, "OOM command not allowed when used memory > 'maxmemory'."),
            CmdError::LogReset => f.write_str(
                "ERR the log was deleted or replaced while waiting (DEL, UNLINK, EXPIRE, eviction, FLUSHALL, \
                 FLUSHDB, a replacing write or a reload of the dataset): a new log under this key restarts its \
                 seqs at 1; reload it from the start",
            ),
            CmdError::Damaged(key) => write!(
                f,
                "ERR log {} is damaged: a replicated or AOF effect did not fit it, so it may miss writes (the \
                 server log says which and why); writes to it are refused. Repair: see \
                 docs/deployment.md#repairing-a-damaged-log",
                shown(key)
            ),
            CmdError::Internal(_) => f.write_str(INTERNAL_ERROR),
            CmdError::UnpairedKeys(keyword) => {
                write!(f, "ERR unbalanced {keyword} list: each key needs one position ($ or a seq)")
            }
        }
    }
}

fn write_arg_error(f: &mut fmt::Formatter<'_>, error: &ArgError) -> fmt::Result {
    match error {
        ArgError::NotAnInteger(what) => write!(f, "ERR {what} is not an integer or out of range"),
        ArgError::Negative(what) => write!(f, "ERR {what} must not be negative"),
        ArgError::UnknownOption { given, one_of } => write!(
            f,
            "ERR unknown option '{}' (expected one of: {})",
            String::from_utf8_lossy(given),
            one_of.join(", ")
        ),
        ArgError::UnknownTrimStrategy(given) => {
            write!(f, "ERR unknown option '{}' (expected MAXLEN, MINSEQ or MAXAGE)", String::from_utf8_lossy(given))
        }
        ArgError::MissingValue(option) => write!(f, "ERR {option} needs a value"),
        ArgError::ZeroCount => write!(f, "ERR COUNT must be at least 1"),
        ArgError::MissingKeyword(keyword) => write!(f, "ERR {keyword} and its keys are missing"),
    }
}

/// A key or argument as text for a reply or a log line: lossy UTF-8, at most 200 bytes.
pub fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes.get(..MAX).unwrap_or(bytes));
    if bytes.len() > MAX {
        format!("'{text}...' ({} bytes)", bytes.len())
    } else {
        format!("'{text}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_documented_ones() {
        assert_eq!(
            CmdError::from(ArgError::UnknownOption { given: b"FOO".to_vec(), one_of: &["AFTER", "COUNT"] }).to_string(),
            "ERR unknown option 'FOO' (expected one of: AFTER, COUNT)"
        );
        assert_eq!(
            CmdError::too_long("payload", 9, "seq.max-payload-bytes", 8).to_string(),
            "ERR payload is 9 bytes, longer than seq.max-payload-bytes (8)"
        );
        assert_eq!(CmdError::Internal("detail").to_string(), INTERNAL_ERROR);
        assert_eq!(
            CmdError::Core(SeqError::Resync { rev: 7 }).to_string(),
            "RESYNC changes up to rev 7 are no longer kept"
        );
        assert_eq!(CmdError::from(ArgError::MissingKeyword("LOGS")).to_string(), "ERR LOGS and its keys are missing");
        assert_eq!(
            CmdError::UnpairedKeys("LOGS").to_string(),
            "ERR unbalanced LOGS list: each key needs one position ($ or a seq)"
        );
        let damaged = CmdError::damaged(b"conv:1").to_string();
        assert!(damaged.starts_with("ERR log 'conv:1' is damaged: "), "{damaged}");
        assert!(damaged.ends_with("docs/deployment.md#repairing-a-damaged-log"), "{damaged}");
        assert_eq!(shown(&[b'k'; 300]), format!("'{}...' (300 bytes)", "k".repeat(200)));
    }
}
