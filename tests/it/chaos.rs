//! End to end, with the client crate against real servers: senders whose requests and
//! replies get lost (so they retry with the same client-msg-id), a push channel that
//! drops, duplicates, delays and reorders, three receivers per conversation, a trim,
//! edits and deletions (when the server has SEQ.EDIT/SEQ.DEL), and a fenced failover
//! mid-run: replication is cut (replica SIGSTOPped, its link killed), the master keeps
//! acknowledging allocations the replica never gets, is SIGKILLed, and the replica is
//! promoted with `REPLICAOF NO ONE`; the old master comes back as its replica.
//!
//! At the end every receiver holds exactly the server's entries (from its `first` on) in
//! the server's order; what it holds below the trim point is what it was shown; every
//! message a `WAIT` confirmed is present at its seq; no seq was ever seen with two
//! different messages. One summary line per run; `SEQ_CHAOS_SEED=<n>` reproduces a run's
//! choices.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::*;
use redis::{ConnectionLike, RedisResult, Value};
use seq_client::{self as sc, Action, ConnectWith, Receiver, ReceiverConfig, SendPolicy, Sender, WaitFor};

const GAP: u64 = 1000;
const CONVS: [&str; 2] = ["conv:{chaos1}", "conv:{chaos2}"];
const RECEIVERS_PER_CONV: usize = 3;
const SENDERS: usize = 3;
const STEPS: u64 = 600;
const CUT_AT: u64 = STEPS / 2;
const FAILOVER_AT: u64 = CUT_AT + 30;
const TRIM_AT: u64 = STEPS / 3;
/// Per mille of sender requests lost before reaching the server, and of replies lost after.
const LOSE_REQUEST: u64 = 40;
const LOSE_REPLY: u64 = 80;
/// Per mille of pushes dropped, and of pushes sent twice.
const DROP_PUSH: u64 = 200;
const DUP_PUSH: u64 = 150;
/// A push arrives up to this many steps late.
const MAX_DELAY: u64 = 25;

fn seed() -> u64 {
    match std::env::var("SEQ_CHAOS_SEED") {
        Ok(s) => s.trim().parse().expect("SEQ_CHAOS_SEED must be an integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 | 1)
            .unwrap_or(1),
    }
}

/// A connection that loses a request (never sent) or its reply (sent and applied, then
/// reported as a timeout), as a flaky network would.
struct Flaky {
    inner: redis::Connection,
    rng: Rng,
}

fn lost() -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "chaos: lost on the network").into()
}

impl ConnectionLike for Flaky {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        let roll = self.rng.below(1000);
        if roll < LOSE_REQUEST {
            return Err(lost());
        }
        let reply = self.inner.req_packed_command(cmd)?;
        if roll < LOSE_REQUEST + LOSE_REPLY {
            return Err(lost());
        }
        Ok(reply)
    }
    fn req_packed_commands(&mut self, cmd: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        self.inner.req_packed_commands(cmd, offset, count)
    }
    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }
    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

/// Every (conversation, seq) → client-msg-id anyone saw: a sender's reply, a delivery, a
/// reload, the final state. A second id at a seq is the failure the fence prevents.
#[derive(Default)]
struct History(BTreeMap<(usize, u64), Vec<u8>>);

impl History {
    fn saw(&mut self, conv: usize, seq: u64, id: &[u8], who: &str) {
        let known = self.0.entry((conv, seq)).or_insert_with(|| id.to_vec());
        assert_eq!(
            known.as_slice(),
            id,
            "{who}: {} seq {seq} seen with two messages: {} and {}",
            CONVS[conv],
            show_bytes(known),
            show_bytes(id)
        );
    }
}

/// One device: a receiver, what it holds, its own connection for pulls.
struct Device {
    conv: usize,
    rx: Receiver,
    held: BTreeMap<u64, sc::Entry>,
    con: Option<redis::Connection>,
    /// Entries a reload took back (shown from a master that then lost them).
    retracted: u64,
}

impl Device {
    fn run(&mut self, actions: Vec<Action>, port: u16, history: &mut History) {
        if actions.is_empty() {
            return;
        }
        let con = match self.con.as_mut() {
            Some(con) => con,
            None => match connect_port(port, Duration::from_secs(1)) {
                Ok(con) => self.con.insert(con),
                Err(_) => return fail_all(&mut self.rx, &actions),
            },
        };
        let (conv, held, retracted) = (self.conv, &mut self.held, &mut self.retracted);
        let mut apply = |action: Action| match action {
            Action::Deliver(entries) => {
                for e in entries {
                    history.saw(conv, e.seq, &e.id, "a delivery");
                    assert!(
                        held.keys().next_back().is_none_or(|top| *top < e.seq),
                        "seq {} delivered out of order",
                        e.seq
                    );
                    held.insert(e.seq, e);
                }
            }
            Action::Update(e) => {
                if let Some(h) = held.get_mut(&e.seq) {
                    *h = e;
                }
            }
            Action::Remove(seq) => {
                held.remove(&seq);
            }
            Action::Replace { through, entries } => {
                let above = held.split_off(&(through + 1));
                let kept: BTreeSet<u64> = entries.iter().map(|e| e.seq).collect();
                *retracted += held.keys().filter(|s| !kept.contains(s)).count() as u64;
                *held = above;
                for e in entries {
                    history.saw(conv, e.seq, &e.id, "a reload");
                    held.insert(e.seq, e);
                }
            }
            other => unreachable!("drive hands only application actions over: {other:?}"),
        };
        if sc::drive(con, CONVS[conv].as_bytes(), &mut self.rx, actions, &mut apply).is_err() {
            // The failed request is marked failed; the next tick asks again.
            self.con = None;
        }
    }
}

/// A device that could not even connect: every transport request it was asked for failed.
fn fail_all(rx: &mut Receiver, actions: &[Action]) {
    for a in actions {
        match a {
            Action::Pull(_) => rx.pull_failed(),
            Action::Changes { .. } => rx.changes_failed(),
            Action::Reload { .. } => rx.reload_failed(),
            _ => {}
        }
    }
}

/// The push channel: entries due at a step, for a device.
struct Channel {
    queue: Vec<(u64, usize, sc::Entry)>,
    dropped: u64,
}

impl Channel {
    fn send(&mut self, rng: &mut Rng, now: u64, device: usize, entry: &sc::Entry) {
        if rng.below(1000) < DROP_PUSH {
            self.dropped += 1;
            return;
        }
        let copies = if rng.below(1000) < DUP_PUSH { 2 } else { 1 };
        for _ in 0..copies {
            self.queue.push((now + rng.below(MAX_DELAY), device, entry.clone()));
        }
    }

    /// What is due by `now`, in a random order.
    fn due(&mut self, rng: &mut Rng, now: u64) -> Vec<(usize, sc::Entry)> {
        let (mut due, rest): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|(at, _, _)| *at <= now);
        self.queue = rest;
        for i in (1..due.len()).rev() {
            due.swap(i, rng.below(i as u64 + 1) as usize);
        }
        due.into_iter().map(|(_, d, e)| (d, e)).collect()
    }
}

fn has_command(con: &mut redis::Connection, name: &str) -> bool {
    let info: Value = redis::cmd("COMMAND").arg("INFO").arg(name).query(con).expect("COMMAND INFO");
    matches!(info, Value::Array(ref items) if items.first().is_some_and(|v| *v != Value::Nil))
}

/// Replication to `replica` stops without it receiving anything more: SIGSTOP it, then
/// drop its link on the master (it cannot reconnect while stopped).
fn cut_replication(master: &Server, replica: &Server) {
    signal(replica.pid().expect("replica pid"), "STOP");
    let mut m = master.connect();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).expect("CLIENT KILL");
    assert_eq!(killed, 1, "the master should have dropped its one replica link");
}

fn server_entries(con: &mut redis::Connection, key: &str) -> Vec<sc::Entry> {
    let v: Value = redis::cmd("SEQ.RANGE").arg(key).arg("-").arg("+").query(con).expect("SEQ.RANGE");
    sc::reply::entries(&v).expect("entries")
}

fn server_info(con: &mut redis::Connection, key: &str) -> sc::Info {
    let info: Option<sc::Info> = redis::cmd("SEQ.INFO").arg(key).query(con).expect("SEQ.INFO");
    info.expect("the log exists")
}

/// The seqs where a receiver's entries and the server's differ (the first few).
fn differences(held: &[&sc::Entry], server: &[sc::Entry]) -> String {
    let a: BTreeMap<u64, &sc::Entry> = held.iter().map(|e| (e.seq, *e)).collect();
    let b: BTreeMap<u64, &sc::Entry> = server.iter().map(|e| (e.seq, e)).collect();
    let seqs: BTreeSet<u64> = a.keys().chain(b.keys()).copied().collect();
    let diff: Vec<String> = seqs
        .into_iter()
        .filter(|s| a.get(s) != b.get(s))
        .take(8)
        .map(|s| match (a.get(&s), b.get(&s)) {
            (Some(_), None) => format!("{s}: held, not on the server"),
            (None, Some(_)) => format!("{s}: on the server, not held"),
            _ => format!("{s}: different contents"),
        })
        .collect();
    diff.join("; ")
}

#[test]
fn chaos_converges_to_the_servers_state() {
    let seed = seed();
    println!("chaos seed {seed} (SEQ_CHAOS_SEED={seed} reproduces the run's choices)");
    let started = Instant::now();
    let mut rng = Rng(seed);
    let gap = GAP.to_string();
    let args = ["--enable-debug-command", "local", "--seq.failover-gap", gap.as_str()];
    let (mut first_master, _dir1) = Server::start(&args);
    let (second, _dir2) = Server::start(&args);
    attach_replica(&first_master, &second);
    let mut admin = first_master.connect();
    let lifecycle = has_command(&mut admin, "SEQ.EDIT") && has_command(&mut admin, "SEQ.DEL");
    let master_port = Arc::new(AtomicU16::new(first_master.port));
    let port_now = |p: &AtomicU16| p.load(Ordering::SeqCst);

    let mut senders: Vec<_> = (0..SENDERS)
        .map(|i| {
            let port = master_port.clone();
            let mut flaky_seed = seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1));
            let connector = ConnectWith(move || {
                flaky_seed = flaky_seed.wrapping_add(1);
                Ok(Flaky {
                    inner: connect_port(port.load(Ordering::SeqCst), Duration::from_secs(1))?,
                    rng: Rng(flaky_seed | 1),
                })
            });
            let mut policy = SendPolicy::new(Duration::from_millis(86_400_000));
            policy.backoff = Duration::from_millis(2);
            policy.max_backoff = Duration::from_millis(50);
            policy.wait = Some(WaitFor { replicas: 1, timeout: Duration::from_millis(50) });
            Sender::new(connector, policy)
        })
        .collect();
    let config = ReceiverConfig { page: 7, changes: lifecycle, failover_gap: GAP };
    let mut devices: Vec<Device> = (0..CONVS.len() * RECEIVERS_PER_CONV)
        .map(|i| Device {
            conv: i / RECEIVERS_PER_CONV,
            rx: Receiver::new(config.clone()),
            held: BTreeMap::new(),
            con: None,
            retracted: 0,
        })
        .collect();
    let mut channel = Channel { queue: Vec::new(), dropped: 0 };
    let mut history = History::default();
    let mut waited: Vec<(usize, u64, Vec<u8>)> = Vec::new();
    let mut deleted: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut edited = 0;
    let mut gateway: Option<redis::Connection> = None;
    let mut replica = second;
    // The promotion runs beside the loop, so senders meet the dead master and retry
    // across the failover.
    let mut promotion: Option<JoinHandle<()>> = None;
    let retried_so_far = |senders: &[Sender<_>]| senders.iter().map(|s| s.stats().retried).sum::<u64>();
    let mut retried_across_failover = 0;

    for step in 0..STEPS {
        // One message from one sender.
        let (s, conv) = ((step as usize) % SENDERS, rng.below(CONVS.len() as u64) as usize);
        let id = format!("s{s}-m{step}");
        let payload = format!("payload {step} {}", rng.next());
        let key = CONVS[conv].as_bytes();
        let sent = senders[s].send(key, id.as_bytes(), payload.as_bytes()).expect("a send within the retry bound");
        history.saw(conv, sent.seq, id.as_bytes(), "a sender");
        if sent.replicas.is_some_and(|n| n >= 1) {
            waited.push((conv, sent.seq, id.clone().into_bytes()));
        }
        // The gateway reads the entry and pushes it to the conversation's devices.
        let gw = match gateway.as_mut() {
            Some(g) => Some(g),
            None => connect_port(port_now(&master_port), Duration::from_secs(1)).ok().map(|c| gateway.insert(c)),
        };
        let read: Option<RedisResult<Value>> =
            gw.map(|g| redis::cmd("SEQ.RANGE").arg(key).arg(sent.seq).arg(sent.seq).query(g));
        match read {
            Some(Ok(v)) => {
                for e in sc::reply::entries(&v).expect("entries") {
                    for d in 0..RECEIVERS_PER_CONV {
                        channel.send(&mut rng, step, conv * RECEIVERS_PER_CONV + d, &e);
                    }
                }
            }
            _ => gateway = None,
        }
        // Pushes that are due, shuffled.
        for (d, e) in channel.due(&mut rng, step) {
            let actions = devices[d].rx.push(e);
            devices[d].run(actions, port_now(&master_port), &mut history);
        }
        if step % 20 == 19 {
            for dev in devices.iter_mut() {
                let actions = dev.rx.tick();
                dev.run(actions, port_now(&master_port), &mut history);
            }
        }
        if step == TRIM_AT {
            let removed: i64 =
                redis::cmd("SEQ.TRIM").arg(CONVS[0]).arg("MAXLEN").arg(15).query(&mut admin).expect("SEQ.TRIM");
            assert!(removed > 0, "the trim removed nothing");
        }
        if lifecycle && promotion.is_none() && step % 25 == 24 {
            let conv = rng.below(CONVS.len() as u64) as usize;
            let retained = server_entries(&mut admin, CONVS[conv]);
            if !retained.is_empty() {
                let e = &retained[rng.below(retained.len() as u64) as usize];
                if step % 50 == 49 {
                    let n: i64 = redis::cmd("SEQ.DEL").arg(CONVS[conv]).arg(e.seq).query(&mut admin).expect("SEQ.DEL");
                    assert_eq!(n, 1);
                    deleted.insert((conv, e.seq));
                } else {
                    let _: i64 = redis::cmd("SEQ.EDIT")
                        .arg(CONVS[conv])
                        .arg(e.seq)
                        .arg(format!("edited at {step}"))
                        .query(&mut admin)
                        .expect("SEQ.EDIT");
                    edited += 1;
                }
            }
        }
        if step == CUT_AT {
            cut_replication(&first_master, &replica);
        }
        if step == FAILOVER_AT {
            retried_across_failover = retried_so_far(&senders);
            first_master.kill();
            signal(replica.pid().expect("replica pid"), "CONT");
            let (port, new_master) = (master_port.clone(), replica.port);
            promotion = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150));
                let mut promoted = connect_port(new_master, Duration::from_secs(5)).expect("connect to the replica");
                let _: () =
                    redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut promoted).expect("REPLICAOF NO ONE");
                port.store(new_master, Ordering::SeqCst);
            }));
        }
        if promotion.as_ref().is_some_and(|p| p.is_finished()) {
            promotion.take().map(JoinHandle::join).transpose().expect("the promotion thread");
            retried_across_failover = retried_so_far(&senders) - retried_across_failover;
            admin = replica.connect();
            gateway = None;
            // The gateway learns of the failover (Sentinel, its reconnect): every device
            // re-checks what it holds.
            for dev in devices.iter_mut() {
                let actions = dev.rx.failed_over();
                dev.run(actions, port_now(&master_port), &mut history);
            }
            // The old master returns, empty, as the new one's replica: WAIT works again.
            first_master.start_again();
            attach_replica(&replica, &first_master);
            std::mem::swap(&mut first_master, &mut replica);
        }
    }
    assert!(promotion.is_none(), "the promotion did not finish within the run");

    // Quiesce: every push still in flight arrives, then the devices settle by ticks.
    for (d, e) in channel.due(&mut rng, u64::MAX) {
        let actions = devices[d].rx.push(e);
        devices[d].run(actions, port_now(&master_port), &mut history);
    }
    let finals: Vec<sc::Info> = CONVS.iter().map(|k| server_info(&mut admin, k)).collect();
    let settled = wait_until(Duration::from_secs(10), || {
        for dev in devices.iter_mut() {
            let actions = dev.rx.tick();
            dev.run(actions, port_now(&master_port), &mut history);
        }
        devices.iter().all(|d| {
            let info = &finals[d.conv];
            !d.rx.busy() && d.rx.position() == info.last && (!lifecycle || Some(d.rx.rev()) == info.rev)
        })
    });
    assert!(settled, "the receivers did not reach the servers' last/rev");

    for (conv, key) in CONVS.iter().enumerate() {
        let entries = server_entries(&mut admin, key);
        for e in &entries {
            history.saw(conv, e.seq, &e.id, "the final state");
        }
        let first = finals[conv].first;
        for dev in devices.iter().filter(|d| d.conv == conv) {
            let held: Vec<&sc::Entry> = dev.held.range(first..).map(|(_, e)| e).collect();
            if held != entries.iter().collect::<Vec<_>>() {
                panic!("{key}: a receiver differs from the server: {}", differences(&held, &entries));
            }
        }
        let present: BTreeMap<u64, &[u8]> = entries.iter().map(|e| (e.seq, e.id.as_slice())).collect();
        for (_, seq, id) in
            waited.iter().filter(|(c, s, _)| *c == conv && *s >= first && !deleted.contains(&(conv, *s)))
        {
            assert_eq!(present.get(seq).copied(), Some(id.as_slice()), "{key}: WAITed message at seq {seq} lost");
        }
    }
    let info0 = &finals[0];
    assert!(info0.skipped_seqs.unwrap_or(0) >= GAP, "the failover fence skipped nothing: {info0:?}");

    let sent: u64 = senders.iter().map(|s| s.stats().sent).sum();
    let retried = retried_so_far(&senders);
    let pulled: u64 = devices.iter().map(|d| d.rx.stats().pulls).sum();
    let skipped: u64 = devices.iter().map(|d| d.rx.stats().skipped).sum();
    let retracted: u64 = devices.iter().map(|d| d.retracted).sum();
    let reloads: u64 = devices.iter().map(|d| d.rx.stats().reloads).sum();
    println!(
        "chaos summary: seed={seed} sent={sent} retried={retried} (across the failover {retried_across_failover}) dropped={} pulled={pulled} skipped={skipped} retracted={retracted} reloads={reloads} waited={} edited={edited} deleted={} lifecycle={} in {:.1}s",
        channel.dropped,
        waited.len(),
        deleted.len(),
        if lifecycle { "on" } else { "off (no SEQ.EDIT/SEQ.DEL on this server)" },
        started.elapsed().as_secs_f64()
    );
}
