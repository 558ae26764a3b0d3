//! Every refusal a command can reply with. Each message names the problem so a user can
//! act on it; none is sent after any change was made.

use std::fmt;

use seq_core::SeqError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    /// Answered with Redis' own "wrong number of arguments" reply.
    WrongArity,
    WrongType,
    NotAnInteger(String),
    Negative(String),
    Invalid(String),
    Core(SeqError),
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
            CmdError::WrongType => {
                write!(f, "WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::NotAnInteger(what) => {
                write!(f, "ERR {what} is not an integer or out of range")
            }
            CmdError::Negative(what) => write!(f, "ERR {what} must not be negative"),
            CmdError::Invalid(message) => write!(f, "ERR {message}"),
            CmdError::Core(error) => write!(f, "ERR {error}"),
        }
    }
}
