//! A Redis Cluster of module-loading nodes, each a `Server` in a directory of its own,
//! killed (by PID) when the `Cluster` drops; slot moves done the way `redis-cli` does them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::info::info_section;
use super::process::{connect_port, run_with_timeout, tail};
use super::replies::info_fields;
use super::{binaries, wait_until, ScratchDir, Server};

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
        let mut cmd = binaries::cli();
        cmd.arg("--cluster").arg("create");
        for node in &nodes {
            cmd.arg(format!("127.0.0.1:{}", node.port));
        }
        cmd.args(["--cluster-replicas", "0", "--cluster-yes"]).stdin(Stdio::null());
        let out = run_with_timeout(cmd, Duration::from_secs(60));
        assert!(out.0, "cluster create failed:\n{}\n{}", out.1, out.2);
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
            info_section(&mut con, "replication").get("master_link_status").map(String::as_str) == Some("up")
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

/// The arguments every cluster node of these tests starts with, then `extra`.
fn cluster_node_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"];
    args.extend_from_slice(extra);
    args
}
