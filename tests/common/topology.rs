//! Multi-process topologies for the integration tests: a Redis Cluster of module-loading
//! nodes, Sentinels, a Sentinel-aware client, and signal helpers. Every process started
//! here is owned by a guard that kills it (by PID) when dropped, as `Server` does.

use super::{wait_until, ScratchDir, Server};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sends a signal (`"STOP"`, `"CONT"`, `"KILL"`, ...) to one process by PID.
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// Parses `INFO <section>` text into field -> value.
pub fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `INFO <section>` of a connection, parsed.
pub fn info(con: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    info_fields(&text)
}

/// The `role` field of `INFO replication` ("master" / "slave"), or None when unreachable.
pub fn role_of(port: u16) -> Option<String> {
    let mut con = connect_port(port, Duration::from_millis(500)).ok()?;
    let text: String = redis::cmd("INFO").arg("replication").query(&mut con).ok()?;
    info_fields(&text).get("role").cloned()
}

/// A plain connection to a loopback port with connect/read/write timeouts.
pub fn connect_port(port: u16, timeout: Duration) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(Duration::from_secs(5)))?;
    con.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(con)
}

/// `SEQ.INFO key` as field -> integer (fields whose value is not an integer are skipped).
/// An empty map for a missing key (nil reply).
pub fn seq_info(con: &mut redis::Connection, key: &str) -> HashMap<String, i64> {
    let v: redis::Value = redis::cmd("SEQ.INFO").arg(key).query(con).expect("SEQ.INFO");
    let mut out = HashMap::new();
    let pairs: Vec<(redis::Value, redis::Value)> = match v {
        redis::Value::Nil => return out,
        redis::Value::Array(items) => {
            let mut it = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            pairs
        }
        redis::Value::Map(pairs) => pairs,
        other => panic!("SEQ.INFO {key}: unexpected reply {other:?}"),
    };
    for (k, v) in pairs {
        let k: String = redis::from_redis_value(&k).expect("SEQ.INFO field name");
        if let Ok(n) = redis::from_redis_value::<i64>(&v) {
            out.insert(k, n);
        }
    }
    out
}

/// One entry of a range reply: `(seq, client-msg-id, ts, payload)`.
pub type LogEntry = (i64, String, i64, Vec<u8>);

/// `SEQ.RANGE key - +` (the whole retained log).
pub fn seq_range_all(con: &mut redis::Connection, key: &str) -> Vec<LogEntry> {
    redis::cmd("SEQ.RANGE").arg(key).arg("-").arg("+").query(con).expect("SEQ.RANGE - +")
}

// ------------------------------------------------------------------------------------
// Redis Cluster
// ------------------------------------------------------------------------------------

/// A Redis Cluster of `n` masters (no replicas), every node loading the module, each in
/// a directory of its own under one scratch dir. Nodes are killed when this is dropped.
pub struct Cluster {
    pub nodes: Vec<Server>,
    pub ids: Vec<String>,
    dir: ScratchDir,
}

impl Cluster {
    /// Starts `n` cluster-enabled nodes with `extra` module/server arguments and joins
    /// them with `redis-cli --cluster create ... --cluster-yes`; returns once every node
    /// reports `cluster_state:ok` and all agree on the slot map.
    pub fn start(n: usize, extra: &[&str]) -> Cluster {
        let dir = ScratchDir::new("cluster");
        let mut nodes = Vec::new();
        for i in 0..n {
            let node_dir = dir.0.join(format!("node-{i}"));
            std::fs::create_dir_all(&node_dir).expect("create node dir");
            let mut args = cluster_node_args(extra);
            args.extend_from_slice(&["--cluster-require-full-coverage", "yes"]);
            nodes.push(Server::start_in(&node_dir, &args));
        }
        let mut ids = Vec::new();
        for node in &nodes {
            let mut con = node.connect();
            let id: String = redis::cmd("CLUSTER").arg("MYID").query(&mut con).expect("CLUSTER MYID");
            ids.push(id);
        }
        let mut cmd = Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for node in &nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port));
        }
        cmd.args(["--cluster-replicas", "0", "--cluster-yes"]).stdin(Stdio::null());
        let out = run_with_timeout(cmd, Duration::from_secs(60));
        assert!(out.0, "redis-cli --cluster create failed:\n{}\n{}", out.1, out.2);
        let cluster = Cluster { nodes, ids, dir };
        cluster.wait_consistent(Duration::from_secs(30));
        cluster
    }

    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// A cluster client over all nodes (it follows MOVED and ASK).
    pub fn client(&self) -> redis::cluster::ClusterClient {
        redis::cluster::ClusterClient::builder(self.urls())
            .retries(20)
            .connection_timeout(Duration::from_secs(5))
            .response_timeout(Duration::from_secs(10))
            .build()
            .expect("cluster client")
    }

    /// `CLUSTER KEYSLOT key`.
    pub fn keyslot(&self, key: &str) -> u16 {
        let mut con = self.nodes[0].connect();
        redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut con).expect("CLUSTER KEYSLOT")
    }

    /// Slot ranges per node as seen by node `viewer`: `(start, end, port)`.
    pub fn slot_map(&self, viewer: usize) -> Vec<(u16, u16, u16)> {
        let mut con = self.nodes[viewer].connect();
        let v: redis::Value = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).expect("CLUSTER SLOTS");
        let mut out = Vec::new();
        if let redis::Value::Array(ranges) = v {
            for r in ranges {
                if let redis::Value::Array(items) = r {
                    let start: u16 = redis::from_redis_value(&items[0]).unwrap();
                    let end: u16 = redis::from_redis_value(&items[1]).unwrap();
                    let master: Vec<redis::Value> = redis::from_redis_value(&items[2]).unwrap();
                    let port: u16 = redis::from_redis_value(&master[1]).unwrap();
                    out.push((start, end, port));
                }
            }
        }
        out.sort();
        out
    }

    /// Index of the node that owns `slot`, per node 0's view.
    pub fn owner_of_slot(&self, slot: u16) -> usize {
        let port = self
            .slot_map(0)
            .into_iter()
            .find(|(s, e, _)| *s <= slot && slot <= *e)
            .map(|(_, _, p)| p)
            .expect("slot not covered");
        self.nodes.iter().position(|n| n.port == port).expect("owner is one of ours")
    }

    /// Waits until every node reports `cluster_state:ok` and the same slot map, covering
    /// all 16384 slots.
    pub fn wait_consistent(&self, timeout: Duration) {
        let ok = wait_until(timeout, || {
            for node in &self.nodes {
                let Ok(mut con) = connect_port(node.port, Duration::from_secs(2)) else { return false };
                let Ok(text) = redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con) else {
                    return false;
                };
                if info_fields(&text).get("cluster_state").map(String::as_str) != Some("ok") {
                    return false;
                }
            }
            let first = self.slot_map(0);
            let covered: u32 = first.iter().map(|(s, e, _)| (*e - *s) as u32 + 1).sum();
            covered == 16384 && (1..self.nodes.len()).all(|i| self.slot_map(i) == first)
        });
        assert!(ok, "cluster did not become consistent in {timeout:?}");
    }

    /// Starts one more cluster node (same `extra` arguments as the masters), joins it with
    /// CLUSTER MEET and makes it a replica of master `master` (CLUSTER REPLICATE); returns
    /// once its replication link is up. The caller owns it (drop it before the cluster).
    pub fn add_replica(&self, master: usize, extra: &[&str]) -> Server {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let node_dir = self.dir.0.join(format!("replica-{n}"));
        std::fs::create_dir_all(&node_dir).expect("create replica dir");
        let args = cluster_node_args(extra);
        let replica = Server::start_in(&node_dir, &args);
        let mut con = replica.connect();
        let _: () = redis::cmd("CLUSTER")
            .arg("MEET")
            .arg("127.0.0.1")
            .arg(self.nodes[master].port)
            .query(&mut con)
            .expect("CLUSTER MEET");
        let master_id = self.ids[master].clone();
        let known = wait_until(Duration::from_secs(20), || {
            redis::cmd("CLUSTER")
                .arg("NODES")
                .query::<String>(&mut con)
                .map(|t| t.contains(&master_id))
                .unwrap_or(false)
        });
        assert!(known, "the new node never learned the master's id");
        let replicated = wait_until(Duration::from_secs(20), || {
            redis::cmd("CLUSTER").arg("REPLICATE").arg(&master_id).query::<()>(&mut con).is_ok()
        });
        assert!(replicated, "CLUSTER REPLICATE {master_id} kept failing");
        let up = wait_until(Duration::from_secs(30), || {
            info(&mut con, "replication").get("master_link_status").map(String::as_str) == Some("up")
        });
        assert!(up, "cluster replica never linked; log:\n{}", tail(&replica.log(), 30));
        replica
    }

    /// Moves one slot from node `from` to node `to` the way `redis-cli --cluster reshard`
    /// does: SETSLOT IMPORTING on the target, MIGRATING on the source, `MIGRATE ... KEYS`
    /// in batches until the slot is empty on the source, then SETSLOT NODE everywhere.
    /// Returns the number of keys moved. `between_batches` runs after each MIGRATE batch.
    pub fn move_slot(&self, slot: u16, from: usize, to: usize, mut between_batches: impl FnMut()) -> usize {
        let mut src = self.nodes[from].connect();
        let mut dst = self.nodes[to].connect();
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&self.ids[from])
            .query(&mut dst)
            .expect("SETSLOT IMPORTING");
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&self.ids[to])
            .query(&mut src)
            .expect("SETSLOT MIGRATING");
        let mut moved = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(1) // one key per batch: lets the writers interleave with the move
                .query(&mut src)
                .expect("GETKEYSINSLOT");
            if keys.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "slot {slot} did not drain in 60 s");
            let r: redis::RedisResult<String> = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(self.nodes[to].port)
                .arg("")
                .arg(0)
                .arg(10_000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut src);
            match r {
                Ok(_) => moved += keys.len(),
                Err(e) => panic!(
                    "MIGRATE of {keys:?} from :{} to :{} failed: {e}\nsource log tail:\n{}\ntarget log tail:\n{}",
                    self.nodes[from].port,
                    self.nodes[to].port,
                    tail(&self.nodes[from].log(), 30),
                    tail(&self.nodes[to].log(), 30)
                ),
            }
            between_batches();
        }
        // Target first, then source, then the rest (as redis-cli does).
        let mut order = vec![to, from];
        order.extend((0..self.nodes.len()).filter(|i| *i != to && *i != from));
        for i in order {
            let mut con = self.nodes[i].connect();
            let _: () = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("NODE")
                .arg(&self.ids[to])
                .query(&mut con)
                .expect("SETSLOT NODE");
        }
        moved
    }
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

// ------------------------------------------------------------------------------------
// Sentinel
// ------------------------------------------------------------------------------------

/// A running `redis-sentinel`, monitoring one master. Killed (by PID) when dropped.
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
        let port = super::free_port();
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
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-sentinel");
        let mut s = Sentinel { port, dir: dir.to_path_buf(), child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(child) = s.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("redis-sentinel exited at start ({status}); log:\n{}", s.log());
                }
            }
            if let Ok(mut con) = connect_port(port, Duration::from_secs(1)) {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "redis-sentinel did not start; log:\n{}", s.log());
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
    pub fn master_state(&self, name: &str) -> HashMap<String, String> {
        let Ok(mut con) = self.connect() else { return HashMap::new() };
        let v: redis::RedisResult<Vec<String>> = redis::cmd("SENTINEL").arg("MASTER").arg(name).query(&mut con);
        let mut out = HashMap::new();
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

/// The arguments every cluster node of these tests starts with, then `extra`.
fn cluster_node_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"];
    args.extend_from_slice(extra);
    args
}
