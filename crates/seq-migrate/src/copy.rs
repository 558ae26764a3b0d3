//! `seq-migrate copy`: redis-seq logs from one server to another, logically (for moves
//! between Redis and Valkey, whose RDB files do not load into each other, and for
//! downgrades). Entries come from SEQ.RANGE, which returns each entry with its current
//! payload (an edited one as edited) and no deleted entry: deleted and trimmed seqs
//! become skipped seqs on the target, as they hold nothing there either. Cursors come
//! from SEQ.CURSORS and go to SEQ.ACK.

use redis::{Cmd, Value};

use super::conn::Conn;
use super::conversation::{Conversation, Msg};
use super::source::{bytes, items, ok, show, uint, Read, Source};

/// The module's type name, as SCAN TYPE knows it.
const LOG_TYPE: &str = "seqlog-rs";
/// Entries read per SEQ.RANGE call.
const PAGE: u64 = 1000;

pub struct Copy {
    pub con: Conn,
    pub pattern: String,
}

impl Source for Copy {
    fn list(&mut self) -> Result<Vec<Vec<u8>>, String> {
        self.con.scan(&self.pattern, Some(LOG_TYPE))
    }

    fn read(&mut self, keys: &[Vec<u8>], _with_ids: bool) -> Result<Vec<Result<Read, String>>, String> {
        let mut cmds: Vec<Cmd> = Vec::new();
        for key in keys {
            cmds.push(redis::cmd("SEQ.LAST").arg(key.as_slice()).clone());
            cmds.push(redis::cmd("SEQ.RANGE").arg(key.as_slice()).arg("-").arg("+").arg("COUNT").arg(PAGE).clone());
            cmds.push(redis::cmd("SEQ.CURSORS").arg(key.as_slice()).clone());
        }
        let replies = self.con.pipeline(&cmds)?;
        Ok(keys.iter().zip(replies.chunks(3)).map(|(key, replies)| self.conversation(key, replies)).collect())
    }
}

impl Copy {
    fn conversation(&mut self, key: &[u8], replies: &[Value]) -> Result<Read, String> {
        let [last, first_page, cursors] = replies else { return Err("short pipeline reply".into()) };
        let source_last = uint(ok(last)?).ok_or("SEQ.LAST is not an integer")?;
        let mut msgs = entries(items(first_page)?)?;
        // Further pages, each after the last seq read, up to the `last` read with the first
        // (entries appended since are for the next run).
        let mut page = msgs.len() as u64;
        while page == PAGE {
            let Some(after) = msgs.last().map(|m| m.seq) else { break };
            let more: Value = self
                .con
                .query(redis::cmd("SEQ.RANGE").arg(key).arg(after + 1).arg(source_last).arg("COUNT").arg(PAGE))?;
            let more = entries(items(&more)?)?;
            page = more.len() as u64;
            msgs.extend(more);
        }
        msgs.retain(|m| m.seq <= source_last);
        let cursors = items(cursors)?
            .chunks(2)
            .map(|p| match p {
                [name, cursor] => Some((bytes(name)?.to_vec(), uint(cursor)?)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or("SEQ.CURSORS is not consumer/cursor pairs")?;
        let ids = msgs.iter().map(|m| (m.id.clone(), m.seq)).collect();
        let conversation = Conversation { name: show(key), target_key: key.to_vec(), msgs, source_last, cursors };
        Ok(Read { conversation, ids })
    }
}

fn entries(list: &[Value]) -> Result<Vec<Msg>, String> {
    list.iter().map(entry).collect()
}

fn entry(e: &Value) -> Result<Msg, String> {
    let bad = || format!("not an entry: {e:?}");
    let [seq, id, ts, payload] = items(e)? else { return Err(bad()) };
    Ok(Msg {
        seq: uint(seq).ok_or_else(bad)?,
        ts: uint(ts).ok_or_else(bad)?,
        id: bytes(id).ok_or_else(bad)?.to_vec(),
        payload: bytes(payload).ok_or_else(bad)?.to_vec(),
    })
}
