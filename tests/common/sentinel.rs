//! Sentinels monitoring one master, each killed (by PID) when dropped, and a
//! Sentinel-aware client written by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::process::{connect_port, tail};
use super::replies::info_fields;
use super::{binaries, free_port, wait_until, ScratchDir};

/// A running Sentinel (`binaries::sentinel`), monitoring one master. Killed (by PID) when dropped.
pub struct Sentinel {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

/// Settings for the monitored master.
#[derive(Clone, Debug)]
pub struct SentinelSettings {
    pub master_name: String,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
}

impl Default for SentinelSettings {
    fn default() -> Self {
        SentinelSettings { master_name: "mymaster".into(), quorum: 2, down_after_ms: 1000, failover_timeout_ms: 5000 }
    }
}

impl Sentinel {
    /// Starts a sentinel in `dir` (its config file is written there: sentinels rewrite it)
    /// monitoring `127.0.0.1:master_port`.
    pub fn start(dir: &Path, master_port: u16, settings: &SentinelSettings) -> Sentinel {
        let port = free_port();
        let conf = dir.join(format!("sentinel-{port}.conf"));
        let name = &settings.master_name;
        let text = format!(
            "port {port}\n\
             bind 127.0.0.1\n\
             daemonize no\n\
             dir {dir}\n\
             logfile {log}\n\
             sentinel resolve-hostnames no\n\
             sentinel monitor {name} 127.0.0.1 {master_port} {quorum}\n\
             sentinel down-after-milliseconds {name} {down}\n\
             sentinel failover-timeout {name} {fo}\n\
             sentinel parallel-syncs {name} 1\n",
            dir = dir.display(),
            log = dir.join(format!("sentinel-{port}.log")).display(),
            quorum = settings.quorum,
            down = settings.down_after_ms,
            fo = settings.failover_timeout_ms,
        );
        std::fs::write(&conf, text).expect("write sentinel conf");
        let child = binaries::sentinel(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn the sentinel (SEQ_TEST_SENTINEL): {e}"));
        let mut s = Sentinel { port, dir: dir.to_path_buf(), child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(child) = s.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("the sentinel exited at start ({status}); log:\n{}", s.log());
                }
            }
            if let Ok(mut con) = connect_port(port, Duration::from_secs(1)) {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "the sentinel did not start; log:\n{}", s.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("sentinel-{}.log", self.port))).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn connect(&self) -> redis::RedisResult<redis::Connection> {
        connect_port(self.port, Duration::from_secs(2))
    }

    /// `SENTINEL master <name>` as field -> value.
    pub fn master_state(&self, name: &str) -> BTreeMap<String, String> {
        let Ok(mut con) = self.connect() else { return BTreeMap::new() };
        let v: redis::RedisResult<Vec<String>> = redis::cmd("SENTINEL").arg("MASTER").arg(name).query(&mut con);
        let mut out = BTreeMap::new();
        if let Ok(items) = v {
            for pair in items.chunks(2) {
                if pair.len() == 2 {
                    out.insert(pair[0].clone(), pair[1].clone());
                }
            }
        }
        out
    }

    /// `SENTINEL get-master-addr-by-name <name>`.
    pub fn master_addr(&self, name: &str) -> Option<(String, u16)> {
        let mut con = self.connect().ok()?;
        let v: Option<(String, u16)> =
            redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(name).query(&mut con).ok()?;
        v
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` sentinels monitoring one master, started in one scratch dir.
pub struct Sentinels {
    pub sentinels: Vec<Sentinel>,
    pub settings: SentinelSettings,
    dir: ScratchDir,
}

impl Sentinels {
    pub fn start(n: usize, master_port: u16, settings: SentinelSettings) -> Sentinels {
        let dir = ScratchDir::new("sentinel");
        let sentinels = (0..n).map(|_| Sentinel::start(&dir.0, master_port, &settings)).collect();
        Sentinels { sentinels, settings, dir }
    }

    pub fn ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    pub fn client(&self) -> SentinelClient {
        SentinelClient::new(self.ports(), &self.settings.master_name)
    }

    /// Waits until every sentinel knows the other sentinels and `replicas` replicas (so a
    /// failover can be authorised and has a candidate).
    pub fn wait_discovered(&self, replicas: usize, timeout: Duration) -> bool {
        let others = (self.sentinels.len() - 1).to_string();
        let replicas = replicas.to_string();
        wait_until(timeout, || {
            self.sentinels.iter().all(|s| {
                let st = s.master_state(&self.settings.master_name);
                st.get("num-other-sentinels") == Some(&others) && st.get("num-slaves") == Some(&replicas)
            })
        })
    }

    /// Waits until a majority of sentinels report `port` as the master's address.
    pub fn wait_master_port(&self, port: u16, timeout: Duration) -> bool {
        let name = self.settings.master_name.clone();
        wait_until(timeout, || {
            let agree = self.sentinels.iter().filter(|s| s.master_addr(&name).map(|(_, p)| p) == Some(port)).count();
            agree * 2 > self.sentinels.len()
        })
    }

    pub fn logs(&self) -> String {
        self.sentinels
            .iter()
            .map(|s| format!("--- sentinel :{} ---\n{}", s.port, tail(&s.log(), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn dir(&self) -> &Path {
        &self.dir.0
    }
}

/// A Sentinel-aware client, by hand: ask the sentinels for the master's address, connect,
/// check that the node really is a master (the sentinels name the old master until the
/// failover is over), and rediscover on any error.
#[derive(Clone)]
pub struct SentinelClient {
    pub sentinel_ports: Vec<u16>,
    pub master_name: String,
}

impl SentinelClient {
    pub fn new(sentinel_ports: Vec<u16>, master_name: &str) -> Self {
        SentinelClient { sentinel_ports, master_name: master_name.to_string() }
    }

    /// The master's address according to the first sentinel that answers.
    pub fn master_addr(&self) -> Option<(String, u16)> {
        for port in &self.sentinel_ports {
            let Ok(mut con) = connect_port(*port, Duration::from_millis(500)) else { continue };
            let r: redis::RedisResult<Option<(String, u16)>> =
                redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(&self.master_name).query(&mut con);
            if let Ok(Some(addr)) = r {
                return Some(addr);
            }
        }
        None
    }

    /// Connects to the current master, retrying discovery until `timeout` passes.
    /// Returns the master's port and the connection.
    pub fn connect_master(&self, timeout: Duration) -> Option<(u16, redis::Connection)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some((_host, port)) = self.master_addr() {
                if let Ok(mut con) = connect_port(port, Duration::from_millis(500)) {
                    let role: redis::RedisResult<String> = redis::cmd("INFO").arg("replication").query(&mut con);
                    if let Ok(text) = role {
                        if info_fields(&text).get("role").map(String::as_str) == Some("master") {
                            return Some((port, con));
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}
