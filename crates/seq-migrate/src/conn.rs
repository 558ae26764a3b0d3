//! A connection to a standalone server or a Redis Cluster, behind one interface: single
//! commands, pipelines whose every reply (errors included) comes back in order, and SCAN
//! over every master.
//!
//! URLs: `redis://host:port[/db]` (or `rediss://`, `unix://`) for a standalone server;
//! `redis+cluster://host:port[,host:port...]` for a cluster, given by one or more of its nodes.

use std::collections::BTreeMap;

use redis::cluster::ClusterClient;
use redis::cluster_routing::get_slot;
use redis::{Arg, Cmd, ConnectionLike, FromRedisValue, Value};

pub struct Conn {
    con: Box<dyn ConnectionLike>,
    cluster: bool,
    /// Where SCAN runs: the server itself, or each master of the cluster.
    scan_urls: Vec<String>,
    pub url: String,
}

const CLUSTER_SCHEME: &str = "redis+cluster://";

impl Conn {
    pub fn open(url: &str) -> Result<Conn, String> {
        let failed = |e: redis::RedisError| format!("cannot connect to {url}: {e}");
        if let Some(nodes) = url.strip_prefix(CLUSTER_SCHEME) {
            let seeds: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
            let client = ClusterClient::new(seeds.clone()).map_err(failed)?;
            let mut con = client.get_connection().map_err(failed)?;
            let scan_urls = cluster_masters(&mut con).map_err(failed)?;
            return Ok(Conn { con: Box::new(con), cluster: true, scan_urls, url: url.to_string() });
        }
        let client = redis::Client::open(url).map_err(failed)?;
        let con = client.get_connection().map_err(failed)?;
        Ok(Conn { con: Box::new(con), cluster: false, scan_urls: vec![url.to_string()], url: url.to_string() })
    }

    pub fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> Result<T, String> {
        cmd.query(&mut *self.con).map_err(|e| format!("{}: {e}", self.url))
    }

    /// Sends `cmds` as one pipeline; each reply in order, an error reply as
    /// `Value::ServerError` (a failed connection fails the whole call).
    pub fn pipeline(&mut self, cmds: &[Cmd]) -> Result<Vec<Value>, String> {
        if !self.cluster {
            return self.send(cmds.iter());
        }
        // A cluster connection sends a pipeline to the node of its first command: one
        // pipeline per slot (every command here has its key first), replies put back in order.
        let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (i, cmd) in cmds.iter().enumerate() {
            let key = match cmd.args_iter().nth(1) {
                Some(Arg::Simple(key)) => key,
                _ => &[][..],
            };
            by_slot.entry(get_slot(key)).or_default().push(i);
        }
        let mut replies = vec![Value::Nil; cmds.len()];
        for indexes in by_slot.values() {
            let got = self.send(indexes.iter().filter_map(|&i| cmds.get(i)))?;
            for (&i, reply) in indexes.iter().zip(got) {
                if let Some(slot) = replies.get_mut(i) {
                    *slot = reply;
                }
            }
        }
        Ok(replies)
    }

    fn send<'c>(&mut self, cmds: impl Iterator<Item = &'c Cmd>) -> Result<Vec<Value>, String> {
        let mut pipe = redis::pipe();
        for cmd in cmds {
            pipe.add_command(cmd.clone());
        }
        let count = pipe.cmd_iter().count();
        if count == 0 {
            return Ok(Vec::new());
        }
        self.con.req_packed_commands(&pipe.get_packed_pipeline(), 0, count).map_err(|e| format!("{}: {e}", self.url))
    }

    /// Every key matching `pattern` (and of `type_name`, if given), from every master.
    pub fn scan(&self, pattern: &str, type_name: Option<&str>) -> Result<Vec<Vec<u8>>, String> {
        let mut keys = Vec::new();
        for url in &self.scan_urls {
            let failed = |e: redis::RedisError| format!("SCAN on {url}: {e}");
            let mut con = redis::Client::open(url.as_str()).and_then(|c| c.get_connection()).map_err(failed)?;
            let mut cursor: u64 = 0;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000);
                if let Some(type_name) = type_name {
                    cmd.arg("TYPE").arg(type_name);
                }
                let (next, batch): (u64, Vec<Vec<u8>>) = cmd.query(&mut con).map_err(failed)?;
                keys.extend(batch);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        // A key SCAN returned twice (it may, across a rehash) is one conversation.
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// Whether the server has `command` (COMMAND INFO answers nil for an unknown one).
    pub fn has_command(&mut self, command: &str) -> bool {
        let info: Result<Vec<Value>, String> = self.query(redis::cmd("COMMAND").arg("INFO").arg(command));
        matches!(info.as_deref(), Ok([Value::Array(_)]))
    }

    /// `CONFIG GET name` as an integer, if the server has it.
    pub fn config_u64(&mut self, name: &str) -> Option<u64> {
        let pairs: Vec<String> = self.query(redis::cmd("CONFIG").arg("GET").arg(name)).ok()?;
        pairs.get(1)?.parse().ok()
    }
}

/// `redis://ip:port` of every master, from CLUSTER NODES.
fn cluster_masters(con: &mut redis::cluster::ClusterConnection) -> redis::RedisResult<Vec<String>> {
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(con)?;
    let masters = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = fields.get(2)?;
            let is_master = flags.split(',').any(|f| f == "master") && !flags.contains("fail");
            let addr = fields.get(1)?.split('@').next()?;
            is_master.then(|| format!("redis://{addr}"))
        })
        .collect();
    Ok(masters)
}
