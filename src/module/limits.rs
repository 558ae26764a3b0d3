//! The size limits every command storing a client's bytes applies (SEQ.ALLOC, SEQ.IMPORT,
//! SEQ.EDIT): one place, so a payload refused by one is refused by all, with the same message.

use super::config;
use super::errors::CmdError;

/// A stored message: its client-msg-id and its payload, each within its limit.
pub fn check_message(id: &[u8], payload: &[u8]) -> Result<(), CmdError> {
    check_client_msg_id(id)?;
    check_payload(payload)
}

/// A client-msg-id must be non-empty and at most `seq.max-client-msg-id-bytes`.
pub fn check_client_msg_id(id: &[u8]) -> Result<(), CmdError> {
    if id.is_empty() {
        return Err(CmdError::EmptyClientMsgId);
    }
    let max_id = config::max_client_msg_id_bytes();
    if id.len() > max_id {
        return Err(CmdError::too_long("client-msg-id", id.len(), "seq.max-client-msg-id-bytes", max_id));
    }
    Ok(())
}

/// A payload must be at most `seq.max-payload-bytes`.
pub fn check_payload(payload: &[u8]) -> Result<(), CmdError> {
    let max_payload = config::max_payload_bytes();
    if payload.len() > max_payload {
        return Err(CmdError::too_long("payload", payload.len(), "seq.max-payload-bytes", max_payload));
    }
    Ok(())
}
