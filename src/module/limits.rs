//! The size limits every stored message obeys (`seq.max-client-msg-id-bytes`,
//! `seq.max-payload-bytes`), shared by the commands that store one (ALLOC, IMPORT).

use super::config;
use super::errors::CmdError;

pub fn check_message(id: &[u8], payload: &[u8]) -> Result<(), CmdError> {
    if id.is_empty() {
        return Err(CmdError::EmptyClientMsgId);
    }
    let max_id = config::max_client_msg_id_bytes();
    if id.len() > max_id {
        return Err(CmdError::too_long("client-msg-id", id.len(), "seq.max-client-msg-id-bytes", max_id));
    }
    let max_payload = config::max_payload_bytes();
    if payload.len() > max_payload {
        return Err(CmdError::too_long("payload", payload.len(), "seq.max-payload-bytes", max_payload));
    }
    Ok(())
}
