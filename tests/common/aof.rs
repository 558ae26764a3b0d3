//! The AOF as the tests see it: a rewrite run to its end, the rewrite's base file in the
//! multi-part AOF directory, and AOF bytes as commands (RESP arrays of bulk strings) and
//! back, to read what a rewrite wrote or to write what an older module's rewrite held
//! (`plain_chunk`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::{Connection, Value};

use super::info::info_field;
use super::replies::Entry;
use super::server::wait_until;

/// BGREWRITEAOF, waiting for it (and any rewrite already under way) to finish, and
/// asserting it succeeded.
pub fn rewrite_aof(con: &mut Connection) {
    let rewrites = |con: &mut Connection| -> i64 {
        info_field(con, "persistence", "aof_rewrites").and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    let idle = |con: &mut Connection| {
        info_field(con, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(con, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
    };
    assert!(wait_until(Duration::from_secs(30), || idle(con)), "a startup rewrite never finished");
    let n = rewrites(con);
    let _: Value = redis::cmd("BGREWRITEAOF").query(con).expect("BGREWRITEAOF");
    let done = wait_until(Duration::from_secs(30), || rewrites(con) > n && idle(con));
    assert!(done, "BGREWRITEAOF did not finish");
    assert_eq!(
        info_field(con, "persistence", "aof_last_bgrewrite_status").as_deref(),
        Some("ok"),
        "BGREWRITEAOF failed"
    );
}

/// The base file of the multi-part AOF in a server's `dir` written without the RDB
/// preamble (`*.base.aof` in `appendonlydir`).
pub fn aof_base_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("appendonlydir"))
        .expect("an appendonlydir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".base.aof"))
        .expect("a *.base.aof file (aof-use-rdb-preamble no)")
}

/// The commands of an AOF file (RESP arrays of bulk strings).
pub fn aof_commands(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut pos = 0;
    let line = |pos: &mut usize, marker: u8| -> usize {
        assert_eq!(bytes[*pos], marker, "AOF byte {pos}: expected {:?}", marker as char);
        let end = *pos + bytes[*pos..].windows(2).position(|w| w == b"\r\n").expect("a CRLF");
        let n = std::str::from_utf8(&bytes[*pos + 1..end]).unwrap().parse().unwrap();
        *pos = end + 2;
        n
    };
    let mut commands = Vec::new();
    while pos < bytes.len() {
        let argc = line(&mut pos, b'*');
        let command = (0..argc)
            .map(|_| {
                let len = line(&mut pos, b'$');
                let arg = bytes[pos..pos + len].to_vec();
                pos += len + 2;
                arg
            })
            .collect();
        commands.push(command);
    }
    commands
}

/// Commands as AOF bytes, the inverse of `aof_commands`.
pub fn aof_bytes(commands: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for command in commands {
        out.extend(format!("*{}\r\n", command.len()).into_bytes());
        for arg in command {
            out.extend(format!("${}\r\n", arg.len()).into_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The chunk bytes of `entries` as a module before encoding v4 wrote them (the AOF
/// rewrite's `RESTORE-CHUNK`, RDB encodings v1 to v3): per entry `varint(ts delta)
/// varint(id len) id varint(payload len) payload`, the ids as the client gave them, the
/// first entry's delta 0 (the chunk's first ts is an operand of its own).
pub fn plain_chunk(entries: &[Entry]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut n: u64) {
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let mut out = Vec::new();
    let mut previous_ts = entries.first().map_or(0, |e| e.ts);
    for e in entries {
        varint(&mut out, (e.ts - previous_ts) as u64);
        previous_ts = e.ts;
        for field in [&e.id, &e.payload] {
            varint(&mut out, field.len() as u64);
            out.extend_from_slice(field);
        }
    }
    out
}
