//! The process harness: real server processes with the module loaded, on free loopback
//! ports, each in a scratch directory, stopped by PID when their guard drops.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Connection;

use super::{binaries, info};

/// Server arguments that open `DEBUG` (RELOAD, DIGEST, DIGEST-VALUE) to the tests:
/// Redis 7 refuses DEBUG by default.
pub const DEBUG_ON: [&str; 2] = ["--enable-debug-command", "yes"];

/// A port nobody listens on right now (the OS picks it; we release it for the server),
/// and never one this process handed out before: the tests of one binary run side by
/// side, and a server that restarts on its port (`Server::restart`) must find it free.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// A fresh scratch directory under the target dir, unique per call, removed on drop.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/it").join(format!("{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server with the module loaded. Killed (by PID) when dropped.
pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    pub args: Vec<String>,
    child: Option<Child>,
    /// The server binary, when not the suite's (`binaries::server`).
    program: Option<PathBuf>,
}

impl Server {
    /// Starts a server in `dir` with extra server arguments such as
    /// `["--appendonly", "yes"]` or `["--seq.max-len", "10"]` (module configs go after
    /// `--loadmodule`, which this function puts first).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let mut server = Server {
            port: 0,
            dir: dir.to_path_buf(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            program: None,
        };
        server.spawn_on_a_free_port();
        server
    }

    /// Starts a server in a directory of its own, which lives as long as the returned guard.
    pub fn start(extra: &[&str]) -> (Server, ScratchDir) {
        let dir = ScratchDir::new("redis");
        (Server::start_in(&dir.0, extra), dir)
    }

    /// Like `start`, with this server binary (a test that needs Redis and Valkey at once).
    pub fn start_program(program: &Path, extra: &[&str]) -> (Server, ScratchDir) {
        let dir = ScratchDir::new("redis");
        let mut server = Server {
            port: 0,
            dir: dir.0.clone(),
            args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            program: Some(program.to_path_buf()),
        };
        server.spawn_on_a_free_port();
        (server, dir)
    }

    /// `free_port` releases the port it finds before the server binds it, so a test
    /// running beside this one can take it first: then this server fails to bind and is
    /// started again on another port (never answered for by the other test's server:
    /// `wait_ready` checks the process id).
    fn spawn_on_a_free_port(&mut self) {
        for _ in 0..5 {
            self.port = free_port();
            match self.try_spawn() {
                Ok(()) => return,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("the server exited at start; log:\n{log}"),
            }
        }
        panic!("no free port found in 5 tries; log:\n{}", self.log());
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("the server exited at start; log:\n{log}");
        }
    }

    /// Starts the server; Err(its log) if it exited before answering.
    fn try_spawn(&mut self) -> Result<(), String> {
        let module = binaries::module_path();
        let mut cmd = match &self.program {
            Some(program) => std::process::Command::new(program),
            None => binaries::server(),
        };
        cmd.arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--enable-debug-command", "local"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.log_path())
            .arg("--loadmodule")
            .arg(&module)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("spawn {:?} (is it installed? ./test.sh installs redis-server): {e}", cmd.get_program())
        });
        self.child = Some(child);
        self.wait_ready()
    }

    /// Until the server answers PING, and is this one (another test's server may hold
    /// the port, see `spawn_on_a_free_port`).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let Some(child) = self.child.as_mut() else { return Err("no child process".into()) };
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("({status})\n{}", self.log()));
            }
            let pid = child.id().to_string();
            if let Ok(mut con) = self.try_connect() {
                let loading: redis::RedisResult<String> = redis::cmd("PING").query(&mut con);
                if loading.is_ok() && info::info_field(&mut con, "server", "process_id").as_deref() == Some(&pid) {
                    return Ok(());
                }
            }
            assert!(Instant::now() < deadline, "the server did not start; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn try_connect(&self) -> redis::RedisResult<Connection> {
        let client = redis::Client::open(self.url())?;
        client.get_connection_with_timeout(Duration::from_secs(5))
    }

    /// A new connection (RESP2).
    pub fn connect(&self) -> Connection {
        self.try_connect().expect("connect to the server")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("redis-{}.log", self.port))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// SIGKILL: no shutdown save, no AOF flush beyond what fsync already wrote.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Graceful `SHUTDOWN NOSAVE`-free stop: the server saves per its own config.
    pub fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(mut con) = self.try_connect() {
                let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut con);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same server again: same port, same directory, same arguments.
    pub fn restart(&mut self) {
        self.shutdown();
        self.spawn();
    }

    /// Starts it again after a `kill` (or any stop), without a shutdown first.
    pub fn start_again(&mut self) {
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a server with DEBUG enabled plus `extra` arguments.
pub fn start_seq(extra: &[&str]) -> (Server, ScratchDir) {
    let mut args: Vec<&str> = DEBUG_ON.to_vec();
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A connection whose reads give up after `secs`, so a server that never answers fails
/// the test instead of hanging it.
pub fn connect_with_timeout(server: &Server, secs: u64) -> Connection {
    let con = server.connect();
    con.set_read_timeout(Some(Duration::from_secs(secs))).expect("set_read_timeout");
    con.set_write_timeout(Some(Duration::from_secs(secs))).expect("set_write_timeout");
    con
}

/// Whether the server answers PING on a new connection.
pub fn answers_ping(server: &Server) -> bool {
    let Ok(mut con) = server.try_connect() else { return false };
    matches!(redis::cmd("PING").query::<String>(&mut con), Ok(ref s) if s == "PONG")
}

/// Polls `check` until it returns true or `timeout` passes; false on timeout.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Makes `replica` a replica of `master` and waits until the link is up and in sync.
pub fn attach_replica(master: &Server, replica: &Server) {
    let mut con = replica.connect();
    let _: () = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(master.port).query(&mut con).expect("REPLICAOF");
    let linked = wait_until(Duration::from_secs(30), || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut con).unwrap_or_default();
        info.contains("master_link_status:up")
    });
    assert!(linked, "replica never linked; replica log:\n{}", replica.log());
    wait_for_replica_offset(master, replica);
}

/// Waits until the replica has processed everything the master has written so far.
pub fn wait_for_replica_offset(master: &Server, replica: &Server) {
    wait_replica_caught_up(&mut master.connect(), &mut replica.connect());
}

/// Waits (up to 20 s) until the replica has applied everything the master has written so
/// far: the replica's `master_repl_offset` reaches the master's. (A `WAIT` sent on a fresh
/// connection returns at once, since that connection wrote nothing; and right after a
/// diskless full sync the master only starts streaming at the replica's first ACK.)
pub fn wait_replica_caught_up(master: &mut Connection, replica: &mut Connection) {
    let offset = |con: &mut Connection| info::info_field(con, "replication", "master_repl_offset")?.parse().ok();
    let target: i64 = offset(master).expect("master_repl_offset on the master");
    let mut seen = -1;
    let ok = wait_until(Duration::from_secs(20), || {
        seen = offset(replica).unwrap_or(-1);
        seen >= target
    });
    assert!(ok, "replica stuck at offset {seen}, master at {target}");
}
