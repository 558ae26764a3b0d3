//! Sending commands and reading refusals: command builders, calls that panic with the
//! command and the reply when the reply is not what the call promises, the one rendering
//! of an error reply (`CODE detail`), and the assertions on error texts.

use redis::{Connection, RedisError, Value};

/// Builds a command from string arguments (the first is the command name).
pub fn cmd_of(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// A command from byte-string arguments (the first is the command name).
pub fn cmd_bytes(args: &[&[u8]]) -> redis::Cmd {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name is UTF-8"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd
}

/// A readable rendering of a command's arguments for failure messages.
pub fn show_cmd(cmd: &redis::Cmd) -> String {
    cmd.args_iter()
        .map(|a| match a {
            redis::Arg::Simple(bytes) => show_bytes(bytes),
            redis::Arg::Cursor => "<cursor>".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes as text where printable, `\xNN` otherwise (truncated when long).
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(64) {
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > 64 {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s:?}")))
        .collect()
}

/// The error reply of a failed call as the server sent it: `CODE detail` (the
/// client-side error text when there is no server error code).
pub fn error_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// Runs a command and returns its raw reply; panics (naming the command) on an error reply.
pub fn call(con: &mut Connection, args: &[&str]) -> Value {
    match cmd_of(args).query::<Value>(con) {
        Ok(Value::ServerError(e)) => panic!("{args:?} replied with an error: {} {:?}", e.code(), e.details()),
        Ok(v) => v,
        Err(e) => panic!("{args:?} failed: {}", error_text(&e)),
    }
}

/// A command whose reply must be an integer.
pub fn call_int(con: &mut Connection, args: &[&str]) -> i64 {
    match call(con, args) {
        Value::Int(i) => i,
        other => panic!("{args:?}: expected an integer reply, got {other:?}"),
    }
}

/// Runs a command and returns the reply or the error reply's text (`ERR ...`, `WRONGTYPE ...`).
pub fn try_call(con: &mut Connection, args: &[&str]) -> Result<Value, String> {
    match cmd_of(args).query::<Value>(con) {
        Ok(Value::ServerError(e)) => Err(format!("{} {}", e.code(), e.details().unwrap_or(""))),
        Ok(v) => Ok(v),
        Err(e) => Err(error_text(&e)),
    }
}

/// Runs a command that must be refused and returns the error text, e.g. `ERR wrong number ...`.
pub fn call_err(con: &mut Connection, args: &[&str]) -> String {
    match try_call(con, args) {
        Ok(v) => panic!("{args:?} should have been refused, got {v:?}"),
        Err(e) => e,
    }
}

/// Runs `cmd` and returns its error reply text; fails the test if the call succeeded or
/// failed on the client side (a refusal must come from the server).
pub fn expect_err(con: &mut Connection, cmd: &redis::Cmd) -> String {
    match cmd.query::<Value>(con) {
        Ok(v) => panic!("expected an error reply to {}, got {v:?}", show_cmd(cmd)),
        Err(e) => {
            assert!(
                e.code().is_some(),
                "expected a server error reply to {}, got a client-side error: {e}",
                show_cmd(cmd)
            );
            error_text(&e)
        }
    }
}

/// Asserts that a command is refused with an `ERR ` reply whose text contains every one of
/// `all_of` (case-insensitive); returns the text.
pub fn assert_err(con: &mut Connection, args: &[&str], all_of: &[&str]) -> String {
    let e = call_err(con, args);
    assert!(e.starts_with("ERR "), "{args:?}: expected an `ERR ...` reply, got {e:?}");
    let lower = e.to_lowercase();
    for n in all_of {
        assert!(lower.contains(&n.to_lowercase()), "{args:?}: error {e:?} does not mention {n:?}");
    }
    e
}

/// Asserts an error reply text starts with `ERR ` and names the problem: it contains at
/// least one of `any_of` (case-insensitive; an empty list accepts any `ERR` reply).
pub fn assert_err_names(text: &str, any_of: &[&str], context: &str) {
    assert!(text.starts_with("ERR "), "{context}: error {text:?} does not start with `ERR `");
    let lower = text.to_lowercase();
    assert!(
        any_of.is_empty() || any_of.iter().any(|k| lower.contains(&k.to_lowercase())),
        "{context}: error {text:?} names none of {any_of:?}"
    );
}

/// `CONFIG SET name value`, which must succeed.
pub fn config_set(con: &mut Connection, name: &str, value: &str) {
    let r: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query(con);
    if let Err(e) = r {
        panic!("CONFIG SET {name} {value}: {}", error_text(&e));
    }
}

/// `sub` in pub/sub mode, subscribed to `pattern`, its reads timing out after 2 s (so that
/// `read_messages` returns what came instead of waiting for ever).
pub fn psubscribe<'a>(sub: &'a mut Connection, pattern: &str) -> redis::PubSub<'a> {
    let mut ps = sub.as_pubsub();
    ps.psubscribe(pattern).expect("PSUBSCRIBE");
    ps.set_read_timeout(Some(std::time::Duration::from_secs(2))).expect("pub/sub read timeout");
    ps
}

/// The next `n` pub/sub messages as (channel, payload); fewer if none comes within the
/// subscriber's read timeout. Any other read error fails the test.
pub fn read_messages(ps: &mut redis::PubSub<'_>, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while out.len() < n {
        match ps.get_message() {
            Ok(msg) => out.push((msg.get_channel_name().to_string(), msg.get_payload_bytes().to_vec())),
            Err(e) if e.is_timeout() => break,
            Err(e) => panic!("pub/sub read failed: {e}"),
        }
    }
    out
}
