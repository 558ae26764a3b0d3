//! Deterministic data and the plumbing every phase uses: pipelined fills and the
//! server-side readings (memory, CPU, lazy free).

use std::time::{Duration, Instant};

use redis::Value;

use crate::common::info_section;
use crate::config::{log, FILL_BATCH, PAYLOAD_LEN};

/// splitmix64: the same seed gives the same ids and payloads to both layouts.
pub struct Rng(pub u64);

/// What the memory fill's client-msg-ids look like (`SEQ_BENCH_IDS`): the module stores
/// hex ids packed, two digits a byte, so hex alone would overstate what other ids get.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum IdStyle {
    /// 20 lowercase hex digits (`Rng::msg_id`)
    Hex,
    /// 20 mixed-case alphanumerics, at least one past `f` (`Rng::opaque_id`)
    Opaque,
}

impl IdStyle {
    pub fn label(self) -> &'static str {
        match self {
            IdStyle::Hex => "hex ids",
            IdStyle::Opaque => "opaque ids",
        }
    }
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A 20-byte client-msg-id (hex).
    pub fn msg_id(&mut self) -> String {
        format!("{:016x}{:04x}", self.next(), self.next() & 0xffff)
    }

    /// A 20-byte client-msg-id that is not hex: random alphanumerics, mixed case, with one
    /// letter from g-z or G-Z at a random place, so no packing of hex (or UUID) ids applies.
    pub fn opaque_id(&mut self) -> String {
        const NOT_HEX: &[u8] = b"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ";
        let mut id = self.payload(20).into_bytes();
        let at = (self.next() % id.len() as u64) as usize;
        id[at] = NOT_HEX[(self.next() % NOT_HEX.len() as u64) as usize];
        id.into_iter().map(char::from).collect()
    }

    /// A client-msg-id of the given style.
    pub fn id(&mut self, style: IdStyle) -> String {
        match style {
            IdStyle::Hex => self.msg_id(),
            IdStyle::Opaque => self.opaque_id(),
        }
    }

    /// Text-like payload: words drawn from a small vocabulary (LZF finds repeats in it).
    pub fn text(&mut self, len: usize) -> String {
        const WORDS: &[&str] = &[
            "the", "be", "to", "of", "and", "a", "in", "that", "have", "I", "it", "for", "not", "on", "with", "he",
            "as", "you", "do", "at", "this", "but", "his", "by", "from", "they", "we", "say", "her", "she", "or", "an",
            "will", "my", "one", "all", "would", "there", "their", "what", "so", "up", "out", "if", "about", "who",
            "get", "which", "go", "me", "when", "make", "can", "like", "time", "no", "just", "him", "know", "take",
            "people", "into", "year", "your", "good", "some", "could", "them", "see", "other", "than", "then", "now",
            "look", "only", "come", "its", "over", "think", "also", "back", "after", "use", "two", "how", "our",
            "work", "first", "well", "way", "even", "new", "want", "because", "any", "these", "give", "day", "most",
            "us", "ok", "lol", "thanks",
        ];
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(WORDS[(self.next() % WORDS.len() as u64) as usize]);
        }
        s.truncate(len);
        s
    }

    /// Random alphanumerics: neither the RDB's LZF nor anything else can squash them.
    pub fn payload(&mut self, len: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left == 0 {
                bits = self.next();
                left = 8;
            }
            s.push(ALNUM[((bits & 0xff) % 62) as usize] as char);
            bits >>= 8;
            left -= 1;
        }
        s
    }
}

/// Sends `total` commands made by `make(i)` in pipelined batches; `on_reply(i, reply)`
/// sees each reply. Any error reply stops the fill with that error.
pub fn pipelined(
    con: &mut redis::Connection,
    total: u64,
    mut make: impl FnMut(u64) -> redis::Cmd,
    mut on_reply: impl FnMut(u64, &Value),
    progress: Option<&str>,
) -> Result<Duration, String> {
    let t0 = Instant::now();
    let mut next_report = total / 5;
    let mut i = 0u64;
    while i < total {
        let end = (i + FILL_BATCH).min(total);
        let mut p = redis::pipe();
        for j in i..end {
            p.add_command(make(j));
        }
        let replies: Vec<Value> = p.query(con).map_err(|e| format!("at command #{i}..{end}: {e}"))?;
        for (k, v) in replies.iter().enumerate() {
            if let Value::ServerError(e) = v {
                return Err(format!("command #{}: {e:?}", i + k as u64));
            }
            on_reply(i + k as u64, v);
        }
        i = end;
        if let Some(what) = progress {
            if total >= 1_000_000 && i >= next_report && i < total {
                let el = t0.elapsed().as_secs_f64();
                log(format!("  {what}: {i}/{total} ({:.0}/s)", i as f64 / el));
                next_report += total / 5;
            }
        }
    }
    Ok(t0.elapsed())
}

pub fn used_memory(con: &mut redis::Connection) -> (i64, i64) {
    let m = info_section(con, "memory");
    let get = |k: &str| m.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    (get("used_memory"), get("used_memory_rss"))
}

/// Waits (up to 60 s) until `lazyfree_pending_objects` is 0.
pub fn wait_lazyfree(con: &mut redis::Connection) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        let pending = info_section(con, "memory")
            .get("lazyfree_pending_objects")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        if pending == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Seconds of CPU the server has used (user + sys, all threads).
pub fn server_cpu(con: &mut redis::Connection) -> f64 {
    let m = info_section(con, "cpu");
    let get = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    get("used_cpu_user") + get("used_cpu_sys")
}

pub fn query_i64(con: &mut redis::Connection, cmd: &redis::Cmd) -> Result<i64, String> {
    cmd.query::<i64>(con).map_err(|e| e.to_string())
}

pub fn flushall(con: &mut redis::Connection) {
    // values UNLINKed earlier may still be being freed in the background
    wait_lazyfree(con);
    let _: redis::RedisResult<()> = redis::cmd("FLUSHALL").arg("SYNC").query(con);
    wait_lazyfree(con);
}

pub fn unlink(con: &mut redis::Connection, keys: &[String]) {
    for chunk in keys.chunks(1000) {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(chunk).query(con);
    }
}

/// A payload for the redis-benchmark command lines: fixed, printable, no `__rand_int__`.
pub fn bench_payload() -> String {
    Rng(42).payload(PAYLOAD_LEN)
}
