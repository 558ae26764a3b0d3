//! Hostile RESTORE payloads reach the module's own decoder: each test DUMPs a real log,
//! damages the value (truncations, flipped bytes, rewritten fields of the module's RDB
//! stream, an unknown encoding version), re-seals it with a correct RDB CRC64 so that
//! Redis's checksum does not reject it first, and RESTOREs it.
//!
//! The contract: a corrupt or newer payload is refused with an error (and creates no key),
//! never loaded half, never a crash. Every attempt is followed by a liveness check; a
//! payload that is accepted must read back as a consistent log (SEQ.INFO agrees with the
//! entries, seqs ascend and stay ≤ last, ts never decreases, cursors within 0..=last), and
//! must survive a DUMP/RESTORE of its own.
//!
//! DUMP format: `type byte, value, RDB version (2 bytes LE), CRC64-jones (8 bytes LE)`
//! over everything before the CRC. A module value (type 7, `RDB_TYPE_MODULE_2`) is its
//! 64-bit module id (name + 10-bit encoding version) as an RDB length, then the fields the
//! module saved, each as `opcode, value` (1 signed, 2 unsigned, 3 float, 4 double,
//! 5 string), then opcode 0 (EOF).

use std::time::Duration;

use crate::common::*;
use redis::{Connection, Value};

const RDB_TYPE_MODULE_2: u8 = 7;

/// CRC-64/Jones as Redis computes it (reflected, poly 0xad93d23594c935a9, init 0).
fn crc64(data: &[u8]) -> u64 {
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
        }
    }
    crc
}

/// A DUMP payload split into the value (`body`) and the RDB version that trails it.
struct Dump {
    body: Vec<u8>,
    version: [u8; 2],
}

fn split_dump(payload: &[u8]) -> Dump {
    assert!(payload.len() > 10, "DUMP payload too short: {payload:?}");
    let n = payload.len();
    let crc = u64::from_le_bytes(payload[n - 8..].try_into().unwrap());
    assert_eq!(crc, crc64(&payload[..n - 8]), "this test's CRC64 does not match Redis's");
    Dump { body: payload[..n - 10].to_vec(), version: [payload[n - 10], payload[n - 9]] }
}

fn seal(body: &[u8], version: [u8; 2]) -> Vec<u8> {
    let mut v = body.to_vec();
    v.extend_from_slice(&version);
    let crc = crc64(&v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

/// An RDB length (`rdbLoadLen`); `Some((value, is_special_encoding))`.
fn read_len(buf: &[u8], pos: &mut usize) -> Option<(u64, bool)> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    match b >> 6 {
        0 => Some(((b & 0x3f) as u64, false)),
        1 => {
            let b2 = *buf.get(*pos)?;
            *pos += 1;
            Some(((((b & 0x3f) as u64) << 8) | b2 as u64, false))
        }
        2 => {
            let width = match b {
                0x80 => 4,
                0x81 => 8,
                _ => return None,
            };
            let bytes = buf.get(*pos..*pos + width)?;
            *pos += width;
            Some((bytes.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64), false))
        }
        _ => Some(((b & 0x3f) as u64, true)),
    }
}

/// `rdbSaveLen`.
fn write_len(v: u64) -> Vec<u8> {
    if v < 1 << 6 {
        vec![v as u8]
    } else if v < 1 << 14 {
        vec![0x40 | (v >> 8) as u8, v as u8]
    } else if v <= u32::MAX as u64 {
        let mut out = vec![0x80];
        out.extend_from_slice(&(v as u32).to_be_bytes());
        out
    } else {
        let mut out = vec![0x81];
        out.extend_from_slice(&v.to_be_bytes());
        out
    }
}

/// One field of the module's value stream: its opcode, byte span in the body, and value.
#[derive(Debug, Clone)]
struct Field {
    op: u64,
    start: usize,
    end: usize,
    num: Option<u64>,
    data: Option<Vec<u8>>,
}

/// Where the module's fields start (after the type byte and the module id) and the id.
fn module_header(body: &[u8]) -> (usize, u64) {
    assert_eq!(body[0], RDB_TYPE_MODULE_2, "the DUMP of a log is not a module value (type 7)");
    let mut pos = 1;
    let (id, special) = read_len(body, &mut pos).expect("module id");
    assert!(!special);
    (pos, id)
}

fn parse_fields(body: &[u8]) -> Vec<Field> {
    let (mut pos, _) = module_header(body);
    let mut fields = Vec::new();
    loop {
        let start = pos;
        let (op, _) = read_len(body, &mut pos).expect("opcode");
        let (num, data) = match op {
            0 => (None, None),
            1 | 2 => (Some(read_len(body, &mut pos).expect("integer field").0), None),
            3 => {
                pos += 4;
                (None, None)
            }
            4 => {
                pos += 8;
                (None, None)
            }
            5 => {
                let (len, special) = read_len(body, &mut pos).expect("string length");
                if special {
                    let s = match len {
                        0 => {
                            pos += 1;
                            (body[pos - 1] as i8).to_string()
                        }
                        1 => {
                            pos += 2;
                            i16::from_le_bytes([body[pos - 2], body[pos - 1]]).to_string()
                        }
                        2 => {
                            pos += 4;
                            i32::from_le_bytes(body[pos - 4..pos].try_into().unwrap()).to_string()
                        }
                        _ => panic!("LZF string in the module stream: start the server with --rdbcompression no"),
                    };
                    (None, Some(s.into_bytes()))
                } else {
                    let d = body[pos..pos + len as usize].to_vec();
                    pos += len as usize;
                    (None, Some(d))
                }
            }
            other => panic!("unknown module opcode {other} at {start}"),
        };
        fields.push(Field { op, start, end: pos, num, data });
        if op == 0 {
            assert_eq!(pos, body.len(), "bytes after the module EOF opcode");
            return fields;
        }
    }
}

fn encode_string(data: &[u8]) -> Vec<u8> {
    let mut out = write_len(5);
    out.extend(write_len(data.len() as u64));
    out.extend_from_slice(data);
    out
}

fn encode_int(op: u64, v: u64) -> Vec<u8> {
    let mut out = write_len(op);
    out.extend(write_len(v));
    out
}

/// Rebuilds a body from the header and a list of field encodings.
fn rebuild(body: &[u8], header_end: usize, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = body[..header_end].to_vec();
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Structured mutations of the module stream, labelled.
fn field_mutations(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let (header_end, _) = module_header(body);
    let fields = parse_fields(body);
    let raw: Vec<Vec<u8>> = fields.iter().map(|f| body[f.start..f.end].to_vec()).collect();
    let k = fields.len() - 1; // the EOF is fields[k]
    let mut out = Vec::new();
    let with = |i: usize, enc: Vec<u8>| {
        let mut parts = raw.clone();
        parts[i] = enc;
        rebuild(body, header_end, &parts)
    };
    for (i, f) in fields.iter().enumerate().take(k) {
        if let Some(v) = f.num {
            let candidates = [
                0,
                1,
                2,
                0x7f,
                0xff,
                0x100,
                0xffff_ffff,
                0x1_0000_0000,
                1 << 62,
                i64::MAX as u64,
                u64::MAX,
                v.wrapping_add(1),
                v.wrapping_sub(1),
                v.wrapping_mul(2),
                v.wrapping_add(1000),
            ];
            for c in candidates {
                if c != v {
                    out.push((format!("field {i} (op {}) {v} -> {c}", f.op), with(i, encode_int(f.op, c))));
                }
            }
            // The same number under the other integer opcode, and as a string.
            let other_op = if f.op == 1 { 2 } else { 1 };
            out.push((format!("field {i} opcode {} -> {other_op}", f.op), with(i, encode_int(other_op, v))));
            out.push((format!("field {i} integer -> string"), with(i, encode_string(v.to_string().as_bytes()))));
        }
        if let Some(d) = &f.data {
            let mut cuts: Vec<usize> = if d.len() <= 64 { (0..d.len()).collect() } else { (0..64).collect() };
            if d.len() > 64 {
                cuts.extend((64..d.len()).step_by((d.len() / 64).max(1)));
            }
            for c in cuts {
                out.push((format!("field {i} string cut to {c} of {}", d.len()), with(i, encode_string(&d[..c]))));
            }
            let mut longer = d.clone();
            longer.push(b'x');
            out.push((format!("field {i} string + 1 byte"), with(i, encode_string(&longer))));
            let mut doubled = d.clone();
            doubled.extend_from_slice(d);
            out.push((format!("field {i} string doubled"), with(i, encode_string(&doubled))));
            out.push((format!("field {i} string -> 4096 x 0xff"), with(i, encode_string(&[0xff; 4096]))));
            for p in (0..d.len()).step_by((d.len() / 128).max(1)) {
                for mask in [0x01u8, 0x80, 0xff] {
                    let mut m = d.clone();
                    m[p] ^= mask;
                    out.push((format!("field {i} string byte {p} ^ {mask:#x}"), with(i, encode_string(&m))));
                }
            }
            out.push((format!("field {i} string -> integer"), with(i, encode_int(2, d.len() as u64))));
        }
        // Remove, duplicate, end the stream after, swap with the next.
        let mut parts = raw.clone();
        parts.remove(i);
        out.push((format!("field {i} removed"), rebuild(body, header_end, &parts)));
        let mut parts = raw.clone();
        parts.insert(i, raw[i].clone());
        out.push((format!("field {i} duplicated"), rebuild(body, header_end, &parts)));
        let mut parts = raw[..i].to_vec();
        parts.push(raw[k].clone());
        out.push((format!("stream ended (EOF) before field {i}"), rebuild(body, header_end, &parts)));
        if i + 1 < k {
            let mut parts = raw.clone();
            parts.swap(i, i + 1);
            out.push((format!("fields {i} and {} swapped", i + 1), rebuild(body, header_end, &parts)));
        }
    }
    // Extra fields before the EOF.
    for extra in [encode_int(2, 0), encode_int(2, u64::MAX), encode_string(b"extra")] {
        let mut parts = raw.clone();
        parts.insert(k, extra);
        out.push(("an extra field before EOF".to_string(), rebuild(body, header_end, &parts)));
    }
    out.retain(|(_, b)| b != body);
    out
}

/// Checks a log that RESTORE accepted; returns the problems found (a crash panics).
fn check_accepted(server: &Server, con: &mut Connection, key: &[u8], label: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut note = |s: String| problems.push(format!("{label}: {s}"));
    let alive = |con: &mut Connection, what: &str| {
        if !answers_ping(server) {
            let log = server.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            panic!("the server died on {what} of the accepted payload [{label}]; log tail:\n{}", tail.join("\n"));
        }
        let _ = con;
    };
    let info: Value = match redis::cmd("SEQ.INFO").arg(key).query(con) {
        Ok(v) => v,
        Err(e) => {
            alive(con, "SEQ.INFO");
            note(format!("SEQ.INFO on the accepted log failed: {}", error_text(&e)));
            return problems;
        }
    };
    let Some(pairs) = field_pairs(&info) else {
        note("SEQ.INFO of the accepted key is nil".into());
        return problems;
    };
    let get = |name: &str| {
        pairs.iter().find(|(k, _)| k == name).and_then(|(_, v)| if let Value::Int(n) = v { Some(*n) } else { None })
    };
    let (Some(l), Some(first), Some(length), Some(first_ts), Some(last_ts), Some(consumers), Some(skipped)) = (
        get("last"),
        get("first"),
        get("length"),
        get("first-ts"),
        get("last-ts"),
        get("consumers"),
        get("skipped-seqs"),
    ) else {
        note(format!("SEQ.INFO lacks integer fields: {pairs:?}"));
        return problems;
    };
    let es = match redis::cmd("SEQ.RANGE").arg(key).arg("-").arg("+").query::<Value>(con) {
        Ok(v) => parse_entries(&v),
        Err(e) => {
            alive(con, "SEQ.RANGE");
            note(format!("SEQ.RANGE on the accepted log failed: {}", error_text(&e)));
            return problems;
        }
    };
    let rev = match redis::cmd("SEQ.REVRANGE").arg(key).arg("+").arg("-").query::<Value>(con) {
        Ok(v) => parse_entries(&v),
        Err(e) => {
            alive(con, "SEQ.REVRANGE");
            note(format!("SEQ.REVRANGE failed: {}", error_text(&e)));
            Vec::new()
        }
    };
    if l < 0 || skipped < 0 || consumers < 0 || length < 0 {
        note(format!("negative counters: {pairs:?}"));
    }
    if length != es.len() as i64 {
        note(format!("SEQ.INFO length {length} but SEQ.RANGE returns {} entries", es.len()));
    }
    if es.windows(2).any(|w| w[0].seq >= w[1].seq) {
        note("seqs do not strictly ascend".into());
    }
    if es.iter().any(|e| e.seq < 1 || e.seq > l) {
        note(format!("an entry's seq is outside 1..=last ({l})"));
    }
    let expect_first = es.first().map(|e| e.seq).unwrap_or(l.saturating_add(1));
    if first != expect_first {
        note(format!("SEQ.INFO first {first}, expected {expect_first}"));
    }
    let (ft, lt) = (es.first().map(|e| e.ts).unwrap_or(0), es.last().map(|e| e.ts).unwrap_or(0));
    if (first_ts, last_ts) != (ft, lt) {
        note(format!("first-ts/last-ts ({first_ts}, {last_ts}) vs entries ({ft}, {lt})"));
    }
    if es.windows(2).any(|w| w[0].ts > w[1].ts) {
        note("ts decreases within the log (invariant 4)".into());
    }
    for problem in lifecycle_problems(con, key, &pairs, &es, l) {
        note(problem);
    }
    let mut r = rev.clone();
    r.reverse();
    if r != es {
        note("SEQ.REVRANGE + - is not SEQ.RANGE - + reversed".into());
    }
    if consumers > 0 {
        match redis::cmd("SEQ.CURSORS").arg(key).query::<Value>(con) {
            Ok(Value::Array(items)) => {
                if items.len() as i64 != 2 * consumers {
                    note(format!("consumers {consumers} but SEQ.CURSORS has {} items", items.len()));
                }
                for c in items.iter().skip(1).step_by(2) {
                    if !matches!(c, Value::Int(n) if *n >= 0 && *n <= l) {
                        note(format!("a cursor {c:?} outside 0..=last ({l})"));
                    }
                }
            }
            Ok(other) => note(format!("SEQ.CURSORS replied {other:?}")),
            Err(e) => {
                alive(con, "SEQ.CURSORS");
                note(format!("SEQ.CURSORS failed: {}", error_text(&e)));
            }
        }
    }
    // It must keep working: an append, a DUMP that RESTOREs to the same log.
    match redis::cmd("SEQ.ALLOC").arg(key).arg("fresh id after restore").query::<Value>(con) {
        Ok(Value::Int(n)) if n == l + 1 => {}
        Ok(other) => note(format!("SEQ.ALLOC on the accepted log replied {other:?}, expected {}", l + 1)),
        Err(e) => {
            alive(con, "SEQ.ALLOC");
            if !error_text(&e).starts_with("ERR ") {
                note(format!("SEQ.ALLOC failed oddly: {}", error_text(&e)));
            }
        }
    }
    alive(con, "SEQ.ALLOC");
    let _ = redis::cmd("DEBUG").arg("DIGEST-VALUE").arg(key).query::<Value>(con);
    alive(con, "DEBUG DIGEST-VALUE");
    match redis::cmd("DUMP").arg(key).query::<Vec<u8>>(con) {
        Ok(p) => {
            let again: redis::RedisResult<String> =
                redis::cmd("RESTORE").arg("corrupt:again").arg(0).arg(&p).arg("REPLACE").query(con);
            alive(con, "re-RESTORE");
            match again {
                Ok(_) => {
                    let a = redis::cmd("SEQ.RANGE").arg("corrupt:again").arg("-").arg("+").query::<Value>(con);
                    let b = redis::cmd("SEQ.RANGE").arg(key).arg("-").arg("+").query::<Value>(con);
                    if a.ok() != b.ok() {
                        note("DUMP/RESTORE of the accepted log changed its entries".into());
                    }
                }
                Err(e) => note(format!("its own DUMP is refused by RESTORE: {}", error_text(&e))),
            }
        }
        Err(e) => {
            alive(con, "DUMP");
            note(format!("DUMP of the accepted log failed: {}", error_text(&e)));
        }
    }
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(key).arg("corrupt:again").query(con);
    problems
}

/// The lifecycle of an accepted log must be consistent with its entries: `rev` and
/// `deleted` present; SEQ.CHANGES from 0 lists (or RESYNCs at a rev ≤ `rev`, and then lists
/// from there) strictly ascending change-revs in `since+1..=rev`, each seq once, an edit's
/// entry exactly as SEQ.RANGE returns it, a deletion's seq returned by no read; an edit of
/// a listed entry then gives `rev + 1` (or is refused at the 63-bit limit, or because the
/// log loaded as damaged).
fn lifecycle_problems(
    con: &mut Connection,
    key: &[u8],
    pairs: &[(String, Value)],
    es: &[Entry],
    last: i64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |name: &str| {
        pairs.iter().find(|(k, _)| k == name).and_then(|(_, v)| if let Value::Int(n) = v { Some(*n) } else { None })
    };
    let (Some(rev), Some(deleted)) = (get("rev"), get("deleted")) else {
        return vec![format!("SEQ.INFO lacks rev or deleted: {pairs:?}")];
    };
    if rev < 0 || deleted < 0 || deleted > last {
        problems.push(format!("rev {rev} / deleted {deleted} out of range (last {last})"));
    }
    let (since, listed) = match changes(con, key, 0, Some(1_000_000)) {
        Ok(reply) => (0, reply),
        Err(e) if e.starts_with("RESYNC ") => {
            let floor = resync_rev(&e);
            if floor > rev || floor < 1 {
                problems.push(format!("RESYNC at rev {floor} but rev is {rev}"));
                return problems;
            }
            match changes(con, key, floor, Some(1_000_000)) {
                Ok(reply) => (floor, reply),
                Err(e) => return vec![format!("SEQ.CHANGES from the RESYNC rev {floor} failed: {e}")],
            }
        }
        Err(e) => return vec![format!("SEQ.CHANGES failed: {e}")],
    };
    let (reply_rev, list) = listed;
    if reply_rev != rev {
        problems.push(format!("SEQ.CHANGES rev {reply_rev}, SEQ.INFO rev {rev}"));
    }
    if list.windows(2).any(|w| w[0].rev >= w[1].rev) || list.iter().any(|c| c.rev <= since || c.rev > rev) {
        problems.push(format!("change revs not ascending within {since}+1..={rev}: {list:?}"));
    }
    let mut listed_seqs: Vec<i64> = list.iter().map(|c| c.seq).collect();
    listed_seqs.sort_unstable();
    if listed_seqs.windows(2).any(|w| w[0] == w[1]) {
        problems.push("a seq is listed twice by SEQ.CHANGES".into());
    }
    for c in &list {
        let read = es.iter().find(|e| e.seq == c.seq);
        if c.entry.as_ref() != read {
            problems.push(format!("change {c:?} disagrees with SEQ.RANGE's {read:?}"));
        }
    }
    if let Some(entry) = list.iter().find_map(|c| c.entry.clone()) {
        let mut payload = entry.payload.clone();
        payload.push(b'!');
        match redis::cmd("SEQ.EDIT").arg(key).arg(entry.seq).arg(&payload).query::<Value>(con) {
            Ok(Value::Int(n)) if Some(n) == rev.checked_add(1) => {}
            // A (corrupt but consistent) rev at the 63-bit limit refuses further changes.
            Err(e) if rev == i64::MAX && error_text(&e).starts_with("ERR ") => {}
            // A flipped flags word can mark the log damaged: a damaged log refuses writes.
            Err(e) if get("damaged") == Some(1) && error_text(&e).contains("is damaged") => {}
            other => {
                problems.push(format!("SEQ.EDIT of listed seq {} replied {other:?}, expected {}", entry.seq, rev + 1))
            }
        }
    }
    problems
}

/// RESTOREs each labelled body; panics on a crash or hang, returns every other problem.
fn try_bodies(
    server: &Server,
    con: &mut Connection,
    version: [u8; 2],
    bodies: &[(String, Vec<u8>)],
) -> (usize, Vec<String>) {
    let mut accepted = 0;
    let mut problems = Vec::new();
    for (label, body) in bodies {
        let key = b"corrupt:key";
        let r: redis::RedisResult<Value> = redis::cmd("RESTORE").arg(key).arg(0).arg(seal(body, version)).query(con);
        if !answers_ping(server) {
            let log = server.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            panic!(
                "the server died (or hung) on RESTORE of [{label}] ({} bytes: {}); log tail:\n{}",
                body.len(),
                hex(body),
                tail.join("\n")
            );
        }
        match r {
            Err(e) if e.code().is_some() => {
                let n: i64 = redis::cmd("EXISTS").arg(key).query(con).expect("EXISTS");
                if n != 0 {
                    problems.push(format!("{label}: refused ({}) but the key exists", error_text(&e)));
                    let _: i64 = redis::cmd("DEL").arg(key).query(con).unwrap();
                }
            }
            Err(e) => panic!("{label}: connection error {e}"),
            Ok(_) => {
                accepted += 1;
                problems.extend(check_accepted(server, con, key, label));
            }
        }
    }
    (accepted, problems)
}

fn report(what: &str, tried: usize, accepted: usize, problems: &[String]) {
    eprintln!("{what}: {tried} payloads, {accepted} accepted, {} problems", problems.len());
    assert!(
        problems.is_empty(),
        "{what}: {} of {tried} damaged payloads were loaded inconsistently; first ones:\n{}",
        problems.len(),
        problems.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// A server whose DUMPs are uncompressed (so the module stream can be rewritten) and a
/// connection that times out instead of hanging.
fn server() -> (Server, crate::common::ScratchDir, Connection) {
    let (server, dir) = start_seq(&["--rdbcompression", "no"]);
    let con = server.connect();
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (server, dir, con)
}

/// A log made by SEQ.ALLOC alone: binary ids and payloads, a retry, an empty payload, and
/// retention (seq.max-len) so that first > 1 and dedup records outlive entries.
fn alloc_only_log(con: &mut Connection) -> Dump {
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.max-len").arg("6").query(con).unwrap();
    let ids: [&[u8]; 9] = [b"m1", b"\x00\xff", b"m3", b"12", b"m5", b"\xc3\x28", b"m7", b"m8", b"-1"];
    for (i, id) in ids.iter().enumerate() {
        let payload: Vec<u8> = (0..(i * 7) as u8).map(|b| b.wrapping_mul(37)).collect();
        alloc(con, b"src", id, Some(&payload));
        if i == 4 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    alloc(con, b"src", b"m3", None);
    alloc(con, b"src", b"m9", Some(b""));
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.max-len").arg("0").query(con).unwrap();
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(con).unwrap();
    split_dump(&payload)
}

#[test]
fn the_test_crc64_is_redis_crc64() {
    assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    let (_server, _dir, mut con) = server();
    let _: () = redis::cmd("SET").arg("s").arg("hello").query(&mut con).unwrap();
    let p: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut con).unwrap();
    split_dump(&p); // asserts the trailer equals our CRC
}

#[test]
fn a_resealed_unchanged_payload_restores_identically() {
    let (_server, _dir, mut con) = server();
    let dump = alloc_only_log(&mut con);
    let _: String =
        redis::cmd("RESTORE").arg("copy").arg(0).arg(seal(&dump.body, dump.version)).query(&mut con).unwrap();
    assert_eq!(log_state(&mut con, b"copy"), log_state(&mut con, b"src"));
    let fields = parse_fields(&dump.body);
    assert!(fields.len() >= 3, "the module stream has {} fields", fields.len());
    // Rebuilding every field with this test's encoder is also accepted (the mutations below
    // change only what they say they change).
    let (header_end, _) = module_header(&dump.body);
    let parts: Vec<Vec<u8>> = fields
        .iter()
        .map(|f| match (&f.num, &f.data) {
            (Some(v), _) => encode_int(f.op, *v),
            (_, Some(d)) => encode_string(d),
            _ => dump.body[f.start..f.end].to_vec(),
        })
        .collect();
    let body = rebuild(&dump.body, header_end, &parts);
    let _: String = redis::cmd("RESTORE").arg("copy2").arg(0).arg(seal(&body, dump.version)).query(&mut con).unwrap();
    assert_eq!(entries(&mut con, b"copy2"), entries(&mut con, b"src"));
}

#[test]
fn newer_or_unknown_encoding_versions_are_refused() {
    let (server, _dir, mut con) = server();
    let dump = alloc_only_log(&mut con);
    let (header_end, id) = module_header(&dump.body);
    let encver = id & 1023;
    eprintln!("module id {id:#x}, encoding version {encver}");
    for v in [encver + 1, encver + 2, 1023] {
        if v > 1023 || v == encver {
            continue;
        }
        let mut body = dump.body[..1].to_vec();
        body.extend(write_len((id & !1023) | v));
        body.extend_from_slice(&dump.body[header_end..]);
        let r: redis::RedisResult<Value> =
            redis::cmd("RESTORE").arg("newer").arg(0).arg(seal(&body, dump.version)).query(&mut con);
        assert!(answers_ping(&server), "the server died on encoding version {v}; log:\n{}", server.log());
        match r {
            Ok(v2) => panic!("RESTORE of encoding version {v} (module's is {encver}) was accepted: {v2:?}"),
            Err(e) => assert!(e.code().is_some(), "{e}"),
        }
        let n: i64 = redis::cmd("EXISTS").arg("newer").query(&mut con).unwrap();
        assert_eq!(n, 0, "a refused RESTORE created the key");
    }
}

#[test]
fn truncated_payloads_are_refused() {
    let (server, _dir, mut con) = server();
    let dump = alloc_only_log(&mut con);
    let bodies: Vec<(String, Vec<u8>)> = (0..dump.body.len())
        .map(|n| (format!("first {n} of {} bytes", dump.body.len()), dump.body[..n].to_vec()))
        .collect();
    let (accepted, problems) = try_bodies(&server, &mut con, dump.version, &bodies);
    assert_eq!(accepted, 0, "a truncated payload was accepted");
    report("truncations", bodies.len(), accepted, &problems);
}

#[test]
fn flipped_bytes_are_refused_or_load_consistently() {
    let (server, _dir, mut con) = server();
    let dump = alloc_only_log(&mut con);
    let mut bodies = Vec::new();
    for pos in 1..dump.body.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = dump.body.clone();
            b[pos] ^= mask;
            bodies.push((format!("byte {pos} ^ {mask:#04x}"), b));
        }
    }
    let (accepted, problems) = try_bodies(&server, &mut con, dump.version, &bodies);
    report("flipped bytes", bodies.len(), accepted, &problems);
}

#[test]
fn rewritten_fields_are_refused_or_load_consistently() {
    let (server, _dir, mut con) = server();
    let dump = alloc_only_log(&mut con);
    let bodies = field_mutations(&dump.body);
    let (accepted, problems) = try_bodies(&server, &mut con, dump.version, &bodies);
    report("field mutations", bodies.len(), accepted, &problems);
}

#[test]
fn damaged_logs_with_cursors_and_trims_are_refused_or_load_consistently() {
    let (server, _dir, mut con) = server();
    for i in 1..=8 {
        alloc(&mut con, b"src", format!("m{i}").as_bytes(), Some(format!("p{i}").as_bytes()));
    }
    for (who, seq) in [(&b"dev:a"[..], 3), (b"dev:\x00b", 8), (b"dev:c", 0)] {
        let _: i64 = redis::cmd("SEQ.ACK").arg("src").arg(who).arg(seq).query(&mut con).expect("SEQ.ACK");
    }
    let _: i64 = redis::cmd("SEQ.TRIM").arg("src").arg("MINSEQ").arg(5).query(&mut con).expect("SEQ.TRIM");
    for i in 1..=2 {
        alloc(&mut con, b"empty", format!("e{i}").as_bytes(), None);
    }
    let _: i64 = redis::cmd("SEQ.TRIM").arg("empty").arg("MAXLEN").arg(0).query(&mut con).expect("SEQ.TRIM");
    let mut total = 0;
    let mut all_problems = Vec::new();
    let mut all_accepted = 0;
    for key in ["src", "empty"] {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut con).unwrap();
        let dump = split_dump(&payload);
        let mut bodies: Vec<(String, Vec<u8>)> =
            (0..dump.body.len()).map(|n| (format!("{key}: first {n} bytes"), dump.body[..n].to_vec())).collect();
        let (acc, p) = try_bodies(&server, &mut con, dump.version, &bodies);
        assert_eq!(acc, 0, "{key}: a truncated payload was accepted");
        all_problems.extend(p);
        total += bodies.len();
        bodies = Vec::new();
        for pos in 1..dump.body.len() {
            for mask in [0x01u8, 0xff] {
                let mut b = dump.body.clone();
                b[pos] ^= mask;
                bodies.push((format!("{key}: byte {pos} ^ {mask:#04x}"), b));
            }
        }
        bodies.extend(field_mutations(&dump.body).into_iter().map(|(l, b)| (format!("{key}: {l}"), b)));
        let (acc, p) = try_bodies(&server, &mut con, dump.version, &bodies);
        all_accepted += acc;
        all_problems.extend(p);
        total += bodies.len();
    }
    report("logs with cursors and trims", total, all_accepted, &all_problems);
}

/// A log of encoding v2's new state: edits (one twice), deletions (the first entry, an
/// edited one), a change trimmed away (a RESYNC floor), a cursor.
fn changed_log(con: &mut Connection) -> Dump {
    for i in 1..=9 {
        alloc(con, b"src", format!("m{i}").as_bytes(), Some(format!("payload {i}").as_bytes()));
    }
    edit(con, b"src", 2, b"edited, then trimmed");
    edit(con, b"src", 5, b"edited");
    edit(con, b"src", 5, b"edited twice");
    edit(con, b"src", 7, b"edited, then deleted");
    del(con, b"src", &[4, 7, 9]);
    let _: i64 = redis::cmd("SEQ.TRIM").arg("src").arg("MINSEQ").arg(3).query(con).expect("SEQ.TRIM");
    del(con, b"src", &[3]);
    let _: i64 = redis::cmd("SEQ.ACK").arg("src").arg("dev").arg(6).query(con).expect("SEQ.ACK");
    let info = info_of(con, b"src");
    assert_eq!((info["rev"], info["deleted"], info["first"]), (8, 4, 5), "{info:?}");
    assert!(changes(con, b"src", 0, None).unwrap_err().starts_with("RESYNC"));
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(con).unwrap();
    split_dump(&payload)
}

#[test]
fn damaged_logs_with_edits_and_deletions_are_refused_or_load_consistently() {
    let (server, _dir, mut con) = server();
    let dump = changed_log(&mut con);
    let _: String =
        redis::cmd("RESTORE").arg("copy").arg(0).arg(seal(&dump.body, dump.version)).query(&mut con).unwrap();
    assert_eq!(log_state(&mut con, b"copy"), log_state(&mut con, b"src"), "the undamaged payload");
    assert_eq!(changes(&mut con, b"copy", 2, None), changes(&mut con, b"src", 2, None));
    let truncated: Vec<(String, Vec<u8>)> = (0..dump.body.len())
        .map(|n| (format!("first {n} of {} bytes", dump.body.len()), dump.body[..n].to_vec()))
        .collect();
    let (accepted, problems) = try_bodies(&server, &mut con, dump.version, &truncated);
    assert_eq!(accepted, 0, "a truncated v2 payload was accepted");
    report("v2 truncations", truncated.len(), accepted, &problems);
    let mut bodies = Vec::new();
    for pos in 1..dump.body.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = dump.body.clone();
            b[pos] ^= mask;
            bodies.push((format!("byte {pos} ^ {mask:#04x}"), b));
        }
    }
    bodies.extend(field_mutations(&dump.body));
    let (accepted, problems) = try_bodies(&server, &mut con, dump.version, &bodies);
    report("v2 flipped bytes and field mutations", bodies.len(), accepted, &problems);
}
