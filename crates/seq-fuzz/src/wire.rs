//! The byte form of `seq_core::encoding`'s stream of integers and strings, for feeding
//! the decoder arbitrary bytes: one byte of encoding version, then each integer as 8
//! little-endian bytes and each string as its length (8 bytes) and its bytes. Fixed-width
//! integers make the mutator's integer rewrites land on whole fields.

use seq_core::encoding::{self, Sink, Source};
use seq_core::{SeqError, SeqLog};

pub struct WireWriter(pub Vec<u8>);

impl Sink for WireWriter {
    fn put_u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn put_bytes(&mut self, bytes: &[u8]) {
        self.put_u64(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }
}

/// Reads the stream; a string longer than what is left is refused before anything is
/// allocated for it, as Redis' RDB reader refuses a string past the payload's end.
pub struct WireReader<'a>(pub &'a [u8]);

impl Source for WireReader<'_> {
    fn get_u64(&mut self) -> Result<u64, SeqError> {
        let (head, rest) = self.0.split_first_chunk::<8>().ok_or(SeqError::InvalidState("truncated integer"))?;
        self.0 = rest;
        Ok(u64::from_le_bytes(*head))
    }
    fn get_bytes(&mut self) -> Result<Vec<u8>, SeqError> {
        let len = self.get_u64()?;
        let len = usize::try_from(len).ok().filter(|&n| n <= self.0.len());
        let (bytes, rest) = self.0.split_at(len.ok_or(SeqError::InvalidState("string past the end"))?);
        self.0 = rest;
        Ok(bytes.to_vec())
    }
}

/// A log in wire form, at the encoding `save` writes.
pub fn encode(log: &SeqLog) -> Vec<u8> {
    let mut out = WireWriter(vec![encoding::LATEST_ENCODING as u8]);
    encoding::save(log, &mut out);
    out.0
}

/// Decodes wire bytes (version byte first); also returns the bytes left unread.
pub fn decode(input: &[u8]) -> Result<(SeqLog, usize), SeqError> {
    let Some((&version, stream)) = input.split_first() else {
        return Err(SeqError::InvalidState("no version byte"));
    };
    let mut reader = WireReader(stream);
    let log = encoding::load(&mut reader, i32::from(version))?;
    Ok((log, reader.0.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seq_core::AllocPlan;

    #[test]
    fn a_log_round_trips_and_every_truncation_is_refused() {
        let mut log = SeqLog::new();
        for (i, id) in [&b"a"[..], b"b", b"c"].iter().enumerate() {
            let Ok(AllocPlan::Append(append)) = log.plan_alloc(id, 1000 + i as u64, &Default::default()) else {
                panic!("plan an append");
            };
            log.apply_append(&append, id, b"payload").expect("append");
        }
        log.ack(b"reader", 2).expect("ack");
        let bytes = encode(&log);
        let (decoded, unread) = decode(&bytes).expect("decode");
        assert_eq!((encode(&decoded), unread), (bytes.clone(), 0));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "a {cut}-byte prefix is refused");
        }
    }
}
