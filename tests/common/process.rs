//! Processes other than the servers: signals by PID, a command with a deadline, plain
//! connections to a port, and the role a node reports.

use std::process::Command;
use std::time::{Duration, Instant};

use super::replies::info_fields;
use super::ScratchDir;

/// Sends a signal (`"STOP"`, `"CONT"`, `"KILL"`, ...) to one process by PID.
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// The `role` field of `INFO replication` ("master" / "slave"), or None when unreachable.
pub fn role_of(port: u16) -> Option<String> {
    let mut con = connect_port(port, Duration::from_millis(500)).ok()?;
    let text: String = redis::cmd("INFO").arg("replication").query(&mut con).ok()?;
    info_fields(&text).remove("role")
}

/// A plain connection to a loopback port with connect/read/write timeouts.
pub fn connect_port(port: u16, timeout: Duration) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(Duration::from_secs(5)))?;
    con.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(con)
}

/// Last `n` lines of a text.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a command with a deadline, killing it (by PID) when the deadline passes.
/// Returns `(success, stdout, stderr)`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let dir = ScratchDir::new("cmd");
    let out_path = dir.0.join("stdout");
    let err_path = dir.0.join("stderr");
    cmd.stdout(std::fs::File::create(&out_path).unwrap()).stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("spawn command");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    (status.map(|s| s.success()).unwrap_or(false), out, err)
}
