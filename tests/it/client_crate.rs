//! The seq-client crate against a real server, piece by piece (the chaos test puts them
//! together): typed replies under RESP2 and RESP3, the sender's refusal and retry rules,
//! fan-out replayed, the keyevent notifier and its catch-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::common::*;
use redis::Value;
use seq_client::notifier::{self, Notice};
use seq_client::{self as sc, SendError, SendPolicy, Sender};

fn resp3(server: &Server) -> redis::Connection {
    let client = redis::Client::open(format!("{}?protocol=resp3", server.url())).expect("RESP3 url");
    client.get_connection().expect("RESP3 connection")
}

#[test]
fn typed_replies_are_the_same_under_resp2_and_resp3() {
    let (server, _dir) = start_seq(&[]);
    let mut c2 = server.connect();
    let mut c3 = resp3(&server);
    for i in 1..=3 {
        alloc(&mut c2, "conv:{t}", format!("m{i}"), Some(b"p"));
    }
    let raw3: Value = redis::cmd("SEQ.INFO").arg("conv:{t}").query(&mut c3).unwrap();
    assert!(matches!(raw3, Value::Map(_)), "SEQ.INFO is a map under RESP3: {raw3:?}");
    let i2: sc::Info = redis::cmd("SEQ.INFO").arg("conv:{t}").query(&mut c2).unwrap();
    let i3: sc::Info = redis::cmd("SEQ.INFO").arg("conv:{t}").query(&mut c3).unwrap();
    assert_eq!(i2, i3);
    assert_eq!((i2.last, i2.first, i2.length, i2.dedup_entries), (3, 1, 3, 3));
    let missing: Option<sc::Info> = redis::cmd("SEQ.INFO").arg("conv:{none}").query(&mut c3).unwrap();
    assert_eq!(missing, None);
    for con in [&mut c2, &mut c3] {
        let sync: sc::SyncReply =
            redis::cmd("SEQ.SYNC").arg("conv:{t}").arg("dev").arg("AFTER").arg(1).query(con).unwrap();
        assert_eq!(sync.last, 3);
        assert_eq!(sync.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
        let pulled = sc::pull(con, b"conv:{t}", sc::Pull { from: 2, count: 1 }).unwrap();
        assert_eq!((pulled.last, pulled.entries.len(), pulled.entries[0].id.as_slice()), (3, 1, &b"m2"[..]));
    }
}

#[test]
fn sender_never_retries_a_refusal_and_gets_the_first_seq_on_a_resend() {
    let (server, _dir) = start_seq(&[]);
    let client = redis::Client::open(server.url()).unwrap();
    let mut sender = Sender::new(client, SendPolicy::new(Duration::from_secs(60)));
    let sent = sender.send(b"conv:{s}", b"id-1", b"x").expect("send");
    assert_eq!((sent.seq, sent.attempts, sent.replicas), (1, 1, None));
    assert_eq!(sender.send(b"conv:{s}", b"id-1", b"x").expect("resend").seq, 1, "the same id: the first seq");
    match sender.send(b"conv:{s}", b"", b"x") {
        Err(SendError::Refused(e)) => assert_eq!(e.code(), Some("ERR"), "{e}"),
        other => panic!("an empty client-msg-id is a refusal, not retried: {other:?}"),
    }
    let mut con = server.connect();
    let _: () = redis::cmd("SET").arg("plain").arg("v").query(&mut con).unwrap();
    assert!(matches!(sender.send(b"plain", b"id", b"x"), Err(SendError::Refused(_))), "WRONGTYPE is a refusal");
    assert_eq!(sender.stats().retried, 0);
}

#[test]
fn sender_gives_up_at_half_the_window_on_a_dead_server() {
    let port = free_port();
    let connect_timeout = Duration::from_millis(200);
    let connector = sc::ConnectWith(move || connect_port(port, connect_timeout));
    let mut policy = SendPolicy::new(Duration::from_secs(2));
    policy.backoff = Duration::from_millis(5);
    policy.max_backoff = Duration::from_millis(50);
    let mut sender = Sender::new(connector, policy);
    let started = std::time::Instant::now();
    match sender.send(b"conv:{d}", b"id", b"x") {
        Err(SendError::GaveUp { error, attempts }) => {
            assert!(sc::is_retryable(&error), "{error}");
            assert!(attempts > 1, "it retried");
        }
        other => panic!("nobody listens on {port}: {other:?}"),
    }
    // No attempt starts later than window/2 (1 s) after the first; the last one may
    // take its own connect timeout. Generous bounds both ways.
    let took = started.elapsed();
    assert!(took >= policy.retry_for() - policy.max_backoff, "it gave up early: {took:?}");
    assert!(took < policy.retry_for() + connect_timeout + Duration::from_secs(1), "retries went on: {took:?}");
}

#[test]
fn fanout_replayed_appends_once_per_inbox() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    alloc(&mut con, "inbox:{u2}", "earlier", Some(b"e"));
    let entry = sc::Entry { seq: 7, id: b"m7".to_vec(), ts: 0, payload: b"hi".to_vec() };
    let inboxes: [&[u8]; 3] = [b"inbox:{u1}", b"inbox:{u2}", b"inbox:{u3}"];
    for _ in 0..2 {
        let seqs = sc::fanout(&mut con, b"conv:{g}", &entry, &inboxes).expect("fanout");
        assert_eq!(seqs, vec![1, 2, 1], "a replay gets the first seqs");
    }
    let e = entries(&mut con, "inbox:{u2}");
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].id, sc::inbox_id(b"conv:{g}", 7));
    assert_eq!(e[1].id, b"conv:{g}:7");
}

#[test]
fn notifier_reports_appends_and_asks_for_a_catch_up() {
    let (server, _dir) = start_seq(&["--notify-keyspace-events", "Ed"]);
    let (tx, events) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let client = redis::Client::open(server.url()).unwrap();
    let watchers = notifier::watch_masters(vec![client], tx, stop.clone(), Duration::from_millis(100));
    assert_eq!(events.recv_timeout(Duration::from_secs(10)), Ok(Notice::Subscribed(0)));
    let mut con = server.connect();
    alloc(&mut con, "conv:{n}", "a", None);
    assert_eq!(events.recv_timeout(Duration::from_secs(10)), Ok(Notice::Appended(b"conv:{n}".to_vec())));
    assert_eq!(notifier::catch_up(&mut con, &[b"conv:{n}", b"conv:{none}"]).unwrap(), vec![1, 0]);
    // A dropped subscription comes back and says so: the gateway catches up again.
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query(&mut con).unwrap();
    assert_eq!(killed, 1);
    assert_eq!(events.recv_timeout(Duration::from_secs(10)), Ok(Notice::Subscribed(0)));
    alloc(&mut con, "conv:{n}", "b", None);
    assert_eq!(events.recv_timeout(Duration::from_secs(10)), Ok(Notice::Appended(b"conv:{n}".to_vec())));
    stop.store(true, Ordering::Relaxed);
    for w in watchers {
        w.join().expect("watcher thread");
    }
}

/// On a cluster: fan-out pipelined per node reaches inboxes on every node, the sender's
/// `WAIT` goes to the key's master, and a receiver pulls (LAST, then RANGE: the sync
/// cluster connection does not pipeline).
#[test]
fn cluster_fanout_sender_and_pull() {
    let cluster = Cluster::start(3, &[]);
    let client = cluster.client();
    let mut con = client.get_connection().expect("cluster connection");
    let inboxes: Vec<String> = (0..12).map(|i| format!("inbox:{{u{i}}}")).collect();
    let owners: std::collections::BTreeSet<usize> =
        inboxes.iter().map(|k| cluster.owner_of_slot(cluster.keyslot(k))).collect();
    assert_eq!(owners.len(), 3, "the inboxes span every node");
    let keys: Vec<&[u8]> = inboxes.iter().map(|k| k.as_bytes()).collect();
    let entry = sc::Entry { seq: 3, id: b"m3".to_vec(), ts: 0, payload: b"hi".to_vec() };
    assert_eq!(sc::fanout_cluster(&mut con, b"conv:{g}", &entry, &keys).unwrap(), vec![1; 12]);
    assert_eq!(sc::fanout_cluster(&mut con, b"conv:{g}", &entry, &keys).unwrap(), vec![1; 12], "replayed");

    let mut policy = SendPolicy::new(Duration::from_secs(60));
    policy.wait = Some(sc::WaitFor { replicas: 0, timeout: Duration::from_millis(10) });
    let mut sender = Sender::new(cluster.client(), policy);
    for key in &inboxes {
        let sent = sender.send(key.as_bytes(), b"direct", b"x").expect("send on the cluster");
        assert_eq!((sent.seq, sent.replicas), (2, Some(0)), "{key}");
    }

    let mut rx = sc::Receiver::new(sc::ReceiverConfig::default());
    let mut got = Vec::new();
    let actions = rx.tick();
    sc::drive(&mut con, inboxes[5].as_bytes(), &mut rx, actions, &mut |a| {
        if let sc::Action::Deliver(es) = a {
            got.extend(es.into_iter().map(|e| e.id));
        }
    })
    .expect("pull on the cluster");
    assert_eq!(got, vec![b"conv:{g}:3".to_vec(), b"direct".to_vec()]);
}

#[test]
fn read_loop_moves_its_positions_and_wakes_on_an_append() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    for i in 1..=2 {
        alloc(&mut con, "inbox:{a}", format!("a{i}"), Some(b"p"));
    }
    alloc(&mut con, "inbox:{b}", "b1", Some(b"p"));
    let mut reader = notifier::ReadLoop::new(
        vec![(b"inbox:{a}".to_vec(), 0), (b"inbox:{b}".to_vec(), 0)],
        10,
        Duration::from_millis(300),
    );
    let first = reader.read(&mut con).expect("SEQ.READ");
    assert_eq!(first.0.len(), 2, "both logs have news: {first:?}");
    assert_eq!(reader.positions(), &[(b"inbox:{a}".to_vec(), 2), (b"inbox:{b}".to_vec(), 1)]);
    let quiet = reader.read(&mut con).expect("SEQ.READ BLOCK that times out");
    assert!(quiet.0.is_empty(), "nothing new: {quiet:?}");

    let url = server.url();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
        alloc(&mut con, "inbox:{b}", "b2", Some(b"p"))
    });
    let mut reader = notifier::ReadLoop::new(reader.positions().to_vec(), 10, Duration::from_secs(5));
    let woken = reader.read(&mut con).expect("SEQ.READ BLOCK woken by an append");
    assert_eq!(writer.join().unwrap(), 2);
    assert_eq!(woken.0.len(), 1, "{woken:?}");
    assert_eq!((woken.0[0].key.as_slice(), woken.0[0].entries.len()), (&b"inbox:{b}"[..], 1));
    assert_eq!(woken.0[0].entries[0].id, b"b2".to_vec());
}

#[test]
fn sender_acknowledges_its_own_message() {
    let (server, _dir) = start_seq(&[]);
    let client = redis::Client::open(server.url()).unwrap();
    let mut sender = Sender::new(client, SendPolicy::new(Duration::from_secs(60)));
    assert_eq!(sender.send_acked(b"conv:{s}", b"id-1", b"y", b"me").expect("send ACK").seq, 1);
    let mut con = server.connect();
    assert_eq!(cursors(&mut con, "conv:{s}"), vec![(b"me".to_vec(), 1)]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", "conv:{s}", "me"]), 0, "the sender's own message is read");
}
