//! `seq-migrate legacy`: the hand-written layout of an INCR counter, a hash of
//! client-msg-id → seq and a stream of entries with the fields seq, id and payload per
//! conversation (the benchmark's Lua script writes `ctr:{c}`, `ids:{c}` and
//! `log:{c}`, its stream with auto ids). Conversations are found by SCAN over the
//! stream keys.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{Cmd, Value};

use super::conn::Conn;
use super::conversation::{Conversation, Msg};
use super::source::{bytes, items, ok, show, uint, Read, Source};

/// A key pattern: `{c}` stands for the conversation's name in braces (a hash tag, kept in
/// the key), `%c` for the bare name. `ctr:{c}` is `ctr:{chat42}` for the name `chat42`.
#[derive(Clone)]
pub struct Pattern {
    before: String,
    after: String,
    braced: bool,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let (at, braced) = match (text.find("{c}"), text.find("%c")) {
            (Some(at), None) => (at, true),
            (None, Some(at)) => (at, false),
            _ => return Err(format!("key pattern {text:?} needs exactly one {{c}} or %c")),
        };
        let before = text.get(..at).unwrap_or_default().to_string();
        let placeholder = if braced { "{c}" } else { "%c" };
        let after = text.get(at + placeholder.len()..).unwrap_or_default().to_string();
        Ok(Pattern { before, after, braced })
    }

    pub fn key(&self, name: &[u8]) -> Vec<u8> {
        let mut key = self.before.as_bytes().to_vec();
        if self.braced {
            key.push(b'{');
        }
        key.extend_from_slice(name);
        if self.braced {
            key.push(b'}');
        }
        key.extend_from_slice(self.after.as_bytes());
        key
    }

    /// The name in `key`, if the key matches.
    pub fn name<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        let (open, close): (&[u8], &[u8]) = if self.braced { (b"{", b"}") } else { (b"", b"") };
        let inner = key.strip_prefix(self.before.as_bytes())?.strip_prefix(open)?;
        let inner = inner.strip_suffix(self.after.as_bytes())?.strip_suffix(close)?;
        (!inner.is_empty()).then_some(inner)
    }

    /// The SCAN MATCH glob for every key of this pattern.
    pub fn glob(&self) -> String {
        let escape = |s: &str| {
            s.chars().flat_map(|c| if "*?[]\\".contains(c) { vec!['\\', c] } else { vec![c] }).collect::<String>()
        };
        let (open, close) = if self.braced { ("{", "}") } else { ("", "") };
        format!("{}{open}*{close}{}", escape(&self.before), escape(&self.after))
    }
}

/// Where an imported entry's ts comes from.
#[derive(Clone)]
pub enum TsFrom {
    /// A stream field holding milliseconds.
    Field(String),
    /// The stream id's milliseconds (for streams with time ids, `XADD key *`).
    StreamId,
    /// The migration's own clock, read once per conversation.
    Clock,
    /// The stream id where it looks like a time (after 1973), else the clock.
    Auto,
}

pub struct Layout {
    pub counter: Pattern,
    pub ids: Pattern,
    pub log: Pattern,
    pub target: Pattern,
    pub seq_field: String,
    pub id_field: String,
    pub payload_field: String,
    pub ts: TsFrom,
}

pub struct Legacy {
    pub con: Conn,
    pub layout: Layout,
}

/// Stream entries read per XRANGE call.
const PAGE: usize = 1000;
/// Stream ids below this many milliseconds (1973-03) are not taken for times.
const TIME_ID_MIN_MS: u64 = 100_000_000_000;

impl Source for Legacy {
    fn list(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let keys = self.con.scan(&self.layout.log.glob(), Some("stream"))?;
        Ok(keys.into_iter().filter(|k| self.layout.log.name(k).is_some()).collect())
    }

    fn read(&mut self, keys: &[Vec<u8>], with_ids: bool) -> Result<Vec<Result<Read, String>>, String> {
        let layout = &self.layout;
        let mut cmds: Vec<Cmd> = Vec::new();
        for key in keys {
            let name = layout.log.name(key).unwrap_or(key);
            cmds.push(redis::cmd("XRANGE").arg(key.as_slice()).arg("-").arg("+").arg("COUNT").arg(PAGE).clone());
            cmds.push(redis::cmd("GET").arg(layout.counter.key(name)).clone());
            if with_ids {
                cmds.push(redis::cmd("HGETALL").arg(layout.ids.key(name)).clone());
            }
        }
        let replies = self.con.pipeline(&cmds)?;
        let per_key = if with_ids { 3 } else { 2 };
        let mut out = Vec::with_capacity(keys.len());
        for (key, replies) in keys.iter().zip(replies.chunks(per_key)) {
            out.push(self.conversation(key, replies));
        }
        Ok(out)
    }
}

impl Legacy {
    fn conversation(&mut self, key: &[u8], replies: &[Value]) -> Result<Read, String> {
        let [stream, counter, rest @ ..] = replies else { return Err("short pipeline reply".into()) };
        let mut entries: Vec<Value> = items(stream).map_err(|e| format!("XRANGE: {e}"))?.to_vec();
        // A long stream: the rest page by page, after the last id read.
        let mut page = entries.len();
        while page == PAGE {
            let after = entries.last().and_then(|e| items(e).ok()?.first().and_then(bytes).map(<[u8]>::to_vec));
            let Some(after) = after else { break };
            let mut start = b"(".to_vec();
            start.extend_from_slice(&after);
            let more: Vec<Value> =
                self.con.query(redis::cmd("XRANGE").arg(key).arg(start).arg("+").arg("COUNT").arg(PAGE))?;
            page = more.len();
            entries.extend(more);
        }
        let clock = now_ms();
        let msgs = entries.iter().map(|e| self.msg(e, clock)).collect::<Result<Vec<_>, _>>()?;
        let last_msg = msgs.last().map_or(0, |m| m.seq);
        let source_last = match ok(counter).map_err(|e| format!("GET counter: {e}"))? {
            Value::Nil => last_msg,
            value => uint(value).ok_or_else(|| format!("the counter is not an integer: {value:?}"))?,
        };
        let ids = match rest.first() {
            Some(hash) => {
                let pairs = items(hash).map_err(|e| format!("HGETALL ids: {e}"))?;
                pairs
                    .chunks(2)
                    .map(|p| match p {
                        [id, seq] => Some((bytes(id)?.to_vec(), uint(seq)?)),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or("the ids hash holds a seq that is not an integer")?
            }
            None => Vec::new(),
        };
        let name = self.layout.log.name(key).unwrap_or(key);
        let conversation = Conversation {
            name: show(key),
            target_key: self.layout.target.key(name),
            msgs,
            source_last,
            cursors: Vec::new(),
        };
        Ok(Read { conversation, ids })
    }

    fn msg(&self, entry: &Value, clock: u64) -> Result<Msg, String> {
        let layout = &self.layout;
        let [stream_id, fields] = items(entry)? else { return Err(format!("not a stream entry: {entry:?}")) };
        let stream_id = bytes(stream_id).map(show).unwrap_or_default();
        let fields = items(fields)?;
        let field = |name: &str| {
            fields.chunks(2).find_map(|p| match p {
                [k, v] if bytes(k) == Some(name.as_bytes()) => bytes(v),
                _ => None,
            })
        };
        let missing = |what: &str, name: &str| format!("stream entry {stream_id} has no {what} field {name:?}");
        let number = |what: &str, name: &str| -> Result<u64, String> {
            let text = field(name).ok_or_else(|| missing(what, name))?;
            std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("stream entry {stream_id}: {what} field {name:?} is not an integer"))
        };
        let seq = number("seq", &layout.seq_field)?;
        let id = field(&layout.id_field).ok_or_else(|| missing("id", &layout.id_field))?.to_vec();
        // A message stored without a payload has an empty one, as SEQ.ALLOC without one.
        let payload = field(&layout.payload_field).unwrap_or_default().to_vec();
        let id_ms = stream_id.split('-').next().and_then(|ms| ms.parse::<u64>().ok());
        let ts = match &layout.ts {
            TsFrom::Field(name) => number("ts", name)?,
            TsFrom::StreamId => id_ms.ok_or_else(|| format!("stream id {stream_id} has no milliseconds"))?,
            TsFrom::Clock => clock,
            TsFrom::Auto => id_ms.filter(|&ms| ms >= TIME_ID_MIN_MS).unwrap_or(clock),
        };
        Ok(Msg { seq, ts, id, payload })
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn patterns_fill_match_and_glob() {
        let p = Pattern::parse("log:{c}").unwrap();
        assert_eq!(p.key(b"c7"), b"log:{c7}");
        assert_eq!(p.name(b"log:{c7}"), Some(&b"c7"[..]));
        assert_eq!(p.name(b"log:c7"), None);
        assert_eq!(p.glob(), "log:{*}");
        let bare = Pattern::parse("chat:%c:stream").unwrap();
        assert_eq!(bare.key(b"9"), b"chat:9:stream");
        assert_eq!(bare.name(b"chat:9:stream"), Some(&b"9"[..]));
        assert_eq!(bare.glob(), "chat:*:stream");
        assert_eq!(Pattern::parse("x[*]:{c}").unwrap().glob(), "x\\[\\*\\]:{*}");
        assert!(Pattern::parse("nothing").is_err());
    }
}
