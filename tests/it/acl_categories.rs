//! ACL categories of the SEQ.* commands, and the least-privilege users of
//! docs/deployment.md ("ACL users"), run from that file.
//!
//! Where the server lets a module set categories (Redis 7.2+, Valkey) each command is in
//! `@read` or `@write`, `@fast` or `@slow`, and `@blocking`, as its flags say; where it
//! lets a module add one (Redis 7.4+, Valkey 8), also in `@seq`. Redis 7.0 has neither,
//! and the same tests show it there: the categories grant no SEQ.* command, `@seq` is an
//! unknown category, and users are granted the commands by name. `support()` writes down
//! which server offers what.
//!
//! Permissions are read with `ACL DRYRUN user command args...` (nothing runs), for every
//! command; each documented user then also makes its service's real calls.

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::{Connection, Value};

/// What this server lets the module do with ACL categories.
#[derive(Clone, Copy, Debug)]
struct Support {
    /// RedisModule_SetCommandACLCategories: Redis 7.2+, every Valkey (forked from 7.2).
    categories: bool,
    /// RedisModule_AddACLCategory (`@seq`): Redis 7.4+, Valkey 8.0+.
    module_category: bool,
}

fn support() -> Support {
    let server = server_version();
    if server.valkey {
        Support { categories: true, module_category: server.version >= (8, 0, 0) }
    } else {
        Support { categories: server.version >= (7, 2, 0), module_category: server.version >= (7, 4, 0) }
    }
}

/// A command, its categories from the contract's flags (without `@seq`), and a call of it
/// with the right arity whose key is `conv:{g1}` (what `ACL DRYRUN` checks).
struct Probe {
    name: &'static str,
    categories: &'static [&'static str],
    call: &'static [&'static str],
}

const COMMANDS: [Probe; 20] = [
    Probe { name: "SEQ.ALLOC", categories: &["write", "slow"], call: &["SEQ.ALLOC", "conv:{g1}", "m1", "hi"] },
    Probe { name: "SEQ.RANGE", categories: &["read", "slow"], call: &["SEQ.RANGE", "conv:{g1}", "-", "+"] },
    Probe { name: "SEQ.REVRANGE", categories: &["read", "slow"], call: &["SEQ.REVRANGE", "conv:{g1}", "+", "-"] },
    Probe { name: "SEQ.LAST", categories: &["read", "fast"], call: &["SEQ.LAST", "conv:{g1}"] },
    Probe { name: "SEQ.MLAST", categories: &["read", "fast"], call: &["SEQ.MLAST", "conv:{g1}", "inbox:{u1}"] },
    Probe { name: "SEQ.INFO", categories: &["read", "slow"], call: &["SEQ.INFO", "conv:{g1}"] },
    Probe { name: "SEQ.TRIM", categories: &["write", "slow"], call: &["SEQ.TRIM", "conv:{g1}", "MAXLEN", "10"] },
    Probe { name: "SEQ.ACK", categories: &["write", "slow"], call: &["SEQ.ACK", "conv:{g1}", "phone", "1"] },
    Probe {
        name: "SEQ.SYNC",
        categories: &["write", "slow", "blocking"],
        call: &["SEQ.SYNC", "conv:{g1}", "phone", "BLOCK", "0"],
    },
    Probe { name: "SEQ.UNREAD", categories: &["read", "slow"], call: &["SEQ.UNREAD", "conv:{g1}", "phone"] },
    Probe { name: "SEQ.CURSORS", categories: &["read", "slow"], call: &["SEQ.CURSORS", "conv:{g1}"] },
    Probe { name: "SEQ.FORGET", categories: &["write", "slow"], call: &["SEQ.FORGET", "conv:{g1}", "phone"] },
    Probe { name: "SEQ.EFFECT", categories: &["write", "slow"], call: &["SEQ.EFFECT", "conv:{g1}", "TRIM", "1"] },
    Probe { name: "SEQ.EDIT", categories: &["write", "slow"], call: &["SEQ.EDIT", "conv:{g1}", "1", "hello"] },
    Probe { name: "SEQ.DEL", categories: &["write", "slow"], call: &["SEQ.DEL", "conv:{g1}", "1"] },
    Probe { name: "SEQ.CHANGES", categories: &["read", "slow"], call: &["SEQ.CHANGES", "conv:{g1}", "0"] },
    Probe { name: "SEQ.LOOKUP", categories: &["read", "fast"], call: &["SEQ.LOOKUP", "conv:{g1}", "m1"] },
    Probe { name: "SEQ.READERS", categories: &["read", "fast"], call: &["SEQ.READERS", "conv:{g1}", "1"] },
    Probe {
        name: "SEQ.READ",
        categories: &["read", "slow", "blocking"],
        call: &["SEQ.READ", "BLOCK", "0", "LOGS", "conv:{g1}", "$"],
    },
    Probe {
        name: "SEQ.IMPORT",
        categories: &["write", "slow"],
        call: &["SEQ.IMPORT", "conv:{g1}", "9", "1", "m9", "hi"],
    },
];

/// Built-in commands the documented users may or may not run, and a SEQ.* call on a key
/// outside their key patterns.
const OTHER_PROBES: [(&str, &[&str]); 9] = [
    ("WAIT", &["WAIT", "0", "0"]),
    ("PING", &["PING"]),
    ("INFO", &["INFO", "seq"]),
    ("SLOWLOG GET", &["SLOWLOG", "GET"]),
    ("GET", &["GET", "conv:{g1}"]),
    ("KEYS", &["KEYS", "*"]),
    ("FLUSHALL", &["FLUSHALL"]),
    ("CONFIG SET", &["CONFIG", "SET", "seq.max-len", "5"]),
    ("SEQ.ALLOC other:*", &["SEQ.ALLOC", "other:{x}", "m1", "hi"]),
];

/// Whether `user` may run `call`, by `ACL DRYRUN` (OK, or a text naming the refusal).
fn may_run(admin: &mut Connection, user: &str, call_args: &[&str]) -> bool {
    let mut full = vec!["ACL", "DRYRUN", user];
    full.extend_from_slice(call_args);
    let reply = call(admin, &full);
    if reply == Value::Okay {
        return true;
    }
    let why = text(&reply);
    assert!(why.contains("no permissions"), "ACL DRYRUN {user} {call_args:?}: {why:?}");
    false
}

/// The labels of every probe `user` may run.
fn grants(admin: &mut Connection, user: &str) -> BTreeSet<String> {
    let seq = COMMANDS.iter().map(|p| (p.name, p.call));
    seq.chain(OTHER_PROBES).filter(|(_, c)| may_run(admin, user, c)).map(|(label, _)| label.to_string()).collect()
}

fn set_of(labels: &[&str]) -> BTreeSet<String> {
    labels.iter().map(|s| s.to_string()).collect()
}

/// The reply as text items (`COMMAND LIST`, `ACL CAT`, categories in `COMMAND INFO`),
/// upper-cased: servers differ in the case of module command names.
fn upper_set(v: &Value) -> BTreeSet<String> {
    array(v).iter().map(|x| text(x).to_uppercase()).collect()
}

fn module_commands(con: &mut Connection) -> BTreeSet<String> {
    upper_set(&call(con, &["COMMAND", "LIST", "FILTERBY", "MODULE", "seq"]))
}

fn categories_of(con: &mut Connection, command: &str) -> BTreeSet<String> {
    let reply = call(con, &["COMMAND", "INFO", command]);
    let info = array(&array(&reply)[0]);
    upper_set(&info[6])
}

fn as_user(server: &Server, user: &str, password: &str) -> Connection {
    let mut con = connect_with_timeout(server, 10);
    assert_eq!(call(&mut con, &["AUTH", user, password]), Value::Okay, "AUTH {user}");
    con
}

fn refused(con: &mut Connection, args: &[&str]) -> bool {
    matches!(try_call(con, args), Err(e) if e.starts_with("NOPERM"))
}

#[test]
fn command_info_shows_each_commands_categories() {
    let support = support();
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    // `support()` judges by the binary's --version: the running server must be that one.
    let running = server_version();
    let (field, name) = if running.valkey { ("valkey_version", Some("valkey")) } else { ("redis_version", None) };
    let (major, minor, patch) = running.version;
    assert_eq!(info_field(&mut con, "server", field), Some(format!("{major}.{minor}.{patch}")), "{running:?}");
    assert_eq!(info_field(&mut con, "server", "server_name").as_deref(), name, "{running:?}");
    for probe in &COMMANDS {
        let mut want: BTreeSet<String> = BTreeSet::new();
        if support.categories {
            want.extend(probe.categories.iter().map(|c| format!("@{c}").to_uppercase()));
        }
        if support.module_category {
            want.insert("@SEQ".to_string());
        }
        assert_eq!(categories_of(&mut con, probe.name), want, "{} on {support:?}", probe.name);
    }
    // Every command of the module (also ones added after this list), by the same rule.
    for command in module_commands(&mut con) {
        let got = categories_of(&mut con, &command);
        let count = |names: &[&str]| names.iter().filter(|n| got.contains(**n)).count();
        let want = usize::from(support.categories);
        assert_eq!(count(&["@READ", "@WRITE"]), want, "{command}: one of @read/@write: {got:?}");
        assert_eq!(count(&["@FAST", "@SLOW"]), want, "{command}: one of @fast/@slow: {got:?}");
        assert_eq!(got.contains("@SEQ"), support.module_category, "{command} in @seq: {got:?}");
    }
    // A server without the API gets a notice line at load, naming what is missing.
    let log = server.log();
    for (function, offered) in [
        ("RedisModule_SetCommandACLCategories", support.categories),
        ("RedisModule_AddACLCategory", support.module_category),
    ] {
        assert_eq!(!log.contains(&format!("{function} unavailable")), offered, "{function} in the log:\n{log}");
    }
}

#[test]
fn acl_cat_seq_lists_the_module_commands() {
    let support = support();
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let all = upper_set(&call(&mut con, &["ACL", "CAT"]));
    assert_eq!(all.contains("SEQ"), support.module_category, "ACL CAT: {all:?}");
    if support.module_category {
        let listed = upper_set(&call(&mut con, &["ACL", "CAT", "seq"]));
        assert_eq!(listed, module_commands(&mut con), "ACL CAT seq is every command of the module");
        assert!(COMMANDS.iter().all(|p| listed.contains(p.name)), "ACL CAT seq: {listed:?}");
    } else {
        // Redis 7.0 and 7.2: the module cannot add a category.
        assert_err(&mut con, &["ACL", "CAT", "seq"], &["unknown category"]);
        let e = call_err(&mut con, &["ACL", "SETUSER", "u", "on", ">pw", "~*", "+@seq"]);
        assert!(e.contains("Unknown command or category"), "{e}");
    }
}

#[test]
fn categories_grant_the_commands_in_them() {
    let support = support();
    let (server, _dir) = Server::start(&[]);
    let mut admin = connect_with_timeout(&server, 10);
    let mut users = vec!["read", "write", "fast", "slow", "blocking"];
    if support.module_category {
        users.push("seq");
    }
    for category in &users {
        let plus = format!("+@{category}");
        call(&mut admin, &["ACL", "SETUSER", category, "on", ">pw", "~*", "-@all", &plus]);
        for probe in &COMMANDS {
            let in_category = match *category {
                "seq" => true,
                c => support.categories && probe.categories.contains(&c),
            };
            assert_eq!(
                may_run(&mut admin, category, probe.call),
                in_category,
                "{plus} and {} ({support:?})",
                probe.name
            );
        }
    }

    // The same, through real calls: `+@read` reads and does not append; `+@write` appends.
    alloc(&mut admin, "conv:{g1}", "m1", Some(b"hi".as_slice()));
    let mut reader = as_user(&server, "read", "pw");
    let mut writer = as_user(&server, "write", "pw");
    if support.categories {
        assert_eq!(call_int(&mut reader, &["SEQ.LAST", "conv:{g1}"]), 1);
        assert_eq!(entries(&mut reader, "conv:{g1}").len(), 1);
        assert!(refused(&mut reader, &["SEQ.ALLOC", "conv:{g1}", "m2"]));
        assert_eq!(call_int(&mut writer, &["SEQ.ALLOC", "conv:{g1}", "m2"]), 2);
        assert!(refused(&mut writer, &["SEQ.LAST", "conv:{g1}"]));
    } else {
        // Redis 7.0: a module command is in no category, so neither user may run any.
        assert!(refused(&mut reader, &["SEQ.LAST", "conv:{g1}"]));
        assert!(refused(&mut writer, &["SEQ.ALLOC", "conv:{g1}", "m2"]));
    }
    if support.module_category {
        let mut all = as_user(&server, "seq", "pw");
        assert_eq!(call_int(&mut all, &["SEQ.ALLOC", "conv:{g1}", "m3"]), 2 + i64::from(support.categories));
        assert!(refused(&mut all, &["GET", "conv:{g1}"]), "@seq is the module's commands only");
    }
}

/// The `ACL SETUSER` lines of the code block after `heading` in docs/deployment.md, one
/// per documented user.
fn documented_acl_lines(heading: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deployment.md");
    let doc = std::fs::read_to_string(path).expect("read docs/deployment.md");
    let at = doc.find(heading).unwrap_or_else(|| panic!("docs/deployment.md has no {heading:?}"));
    let block = doc[at..].split("```").nth(1).expect("a code block after the heading");
    let lines: Vec<String> = block.lines().filter(|l| l.starts_with("ACL SETUSER")).map(str::to_string).collect();
    let users: Vec<&str> = lines.iter().filter_map(|l| l.split_whitespace().nth(2)).collect();
    assert_eq!(users, ["seq-send", "seq-sync", "seq-operator"], "the users of {heading:?}");
    lines
}

const BY_NAME: &str = "By name, on every server";
const IN_A_CLUSTER: &str = "In a cluster, run the lines on every node";
const BY_CATEGORY: &str = "By category, where the server has `@seq`";

/// Runs the lines on `admin`; the first error reply, if any, with its line.
fn set_users(admin: &mut Connection, lines: &[String]) -> Result<(), String> {
    for line in lines {
        let args: Vec<&str> = line.split_whitespace().collect();
        try_call(admin, &args).map_err(|e| format!("{line}: {e}"))?;
    }
    Ok(())
}

/// What each documented user may run, as docs/deployment.md describes the three services.
fn check_documented_users(server: &Server) {
    let mut admin = connect_with_timeout(server, 10);
    let reads = [
        "SEQ.RANGE",
        "SEQ.REVRANGE",
        "SEQ.LAST",
        "SEQ.MLAST",
        "SEQ.INFO",
        "SEQ.UNREAD",
        "SEQ.CURSORS",
        "SEQ.CHANGES",
        "SEQ.LOOKUP",
        "SEQ.READERS",
        "SEQ.READ",
    ];
    let send_grants = ["SEQ.ALLOC", "SEQ.EDIT", "SEQ.DEL", "SEQ.LOOKUP", "WAIT", "PING"];
    let sync_grants = [&reads[..], &["SEQ.SYNC", "SEQ.ACK", "PING"]].concat();
    let operator_grants =
        [&reads[..], &["SEQ.TRIM", "SEQ.FORGET", "SEQ.DEL", "SEQ.IMPORT", "INFO", "SLOWLOG GET", "PING"]].concat();
    assert_eq!(grants(&mut admin, "seq-send"), set_of(&send_grants), "seq-send");
    assert_eq!(grants(&mut admin, "seq-sync"), set_of(&sync_grants), "seq-sync");
    assert_eq!(grants(&mut admin, "seq-operator"), set_of(&operator_grants), "seq-operator");

    // Each service's calls, as that user.
    let mut send = as_user(server, "seq-send", "send-password");
    let mut sync_user = as_user(server, "seq-sync", "sync-password");
    let mut operator = as_user(server, "seq-operator", "operator-password");
    assert_eq!(call_int(&mut send, &["SEQ.ALLOC", "conv:{g1}", "m1", "hello"]), 1);
    assert_eq!(call_int(&mut send, &["SEQ.ALLOC", "inbox:{u1}", "m1", "hello"]), 1);
    assert_eq!(call_int(&mut send, &["WAIT", "0", "0"]), 0);
    assert!(refused(&mut send, &["SEQ.RANGE", "inbox:{u1}", "-", "+"]));

    let (last, page) = sync(&mut sync_user, &["inbox:{u1}", "phone"]);
    assert_eq!((last, seqs(&page)), (1, vec![1]));
    assert_eq!(call_int(&mut sync_user, &["SEQ.ACK", "inbox:{u1}", "phone", "1"]), 1);
    assert_eq!(call_int(&mut sync_user, &["SEQ.UNREAD", "inbox:{u1}", "phone"]), 0);
    let waiter = thread::spawn(move || {
        let reply = sync(&mut sync_user, &["inbox:{u1}", "phone", "AFTER", "1", "BLOCK", "10000"]);
        (reply, sync_user)
    });
    assert!(wait_until(Duration::from_secs(10), || blocked_clients(&mut admin) == 1), "the sync user blocks");
    assert_eq!(call_int(&mut send, &["SEQ.ALLOC", "inbox:{u1}", "m2", "again"]), 2);
    let ((last, page), mut sync_user) = waiter.join().expect("the blocked SEQ.SYNC");
    assert_eq!((last, seqs(&page)), (2, vec![2]), "SEQ.SYNC ... BLOCK woken by the send service");
    assert!(refused(&mut sync_user, &["SEQ.ALLOC", "inbox:{u1}", "m3"]));

    assert!(info_section(&mut operator, "seq").contains_key("seq_logs"));
    assert_eq!(field(&info_of(&mut operator, "conv:{g1}"), "last"), 1);
    assert_eq!(cursors(&mut operator, "inbox:{u1}"), pairs(&[("phone", 1)]));
    assert_eq!(call_int(&mut operator, &["SEQ.TRIM", "conv:{g1}", "MAXLEN", "0"]), 1);
    assert_eq!(call_int(&mut operator, &["SEQ.FORGET", "inbox:{u1}", "phone"]), 1);
    assert!(refused(&mut operator, &["SEQ.ALLOC", "conv:{g1}", "m2"]));
    assert!(refused(&mut operator, &["SEQ.SYNC", "inbox:{u1}", "phone"]));
}

#[test]
fn documented_users_by_name_work_on_every_server() {
    let (server, _dir) = Server::start(&[]);
    let mut admin = connect_with_timeout(&server, 10);
    set_users(&mut admin, &documented_acl_lines(BY_NAME)).unwrap_or_else(|e| panic!("{e}"));
    check_documented_users(&server);
}

#[test]
fn documented_users_by_category_where_the_server_has_seq() {
    let (server, _dir) = Server::start(&[]);
    let mut admin = connect_with_timeout(&server, 10);
    let lines = documented_acl_lines(BY_CATEGORY);
    if support().module_category {
        set_users(&mut admin, &lines).unwrap_or_else(|e| panic!("{e}"));
        check_documented_users(&server);
        return;
    }
    // Redis 7.0 and 7.2 have no @seq: every line that uses it is refused as a whole and
    // creates no user (the docs send these servers to the lines by name).
    for line in lines.iter().filter(|l| l.contains("@seq")) {
        let e = set_users(&mut admin, std::slice::from_ref(line)).expect_err(line);
        assert!(e.contains("Unknown command or category"), "{e}");
        let user = line.split_whitespace().nth(2).unwrap_or_default();
        assert_eq!(call(&mut admin, &["ACL", "GETUSER", user]), Value::Nil, "{user} was created");
    }
}

#[test]
fn documented_users_in_a_cluster() {
    let cluster = Cluster::start(3, &[]);
    let lines = [documented_acl_lines(BY_NAME), documented_acl_lines(IN_A_CLUSTER)].concat();
    for node in &cluster.nodes {
        set_users(&mut node.connect(), &lines).unwrap_or_else(|e| panic!("{e}"));
    }
    let as_cluster_user = |user: &str, password: &str| {
        let client = redis::cluster::ClusterClient::builder(cluster.urls())
            .username(user.to_string())
            .password(password.to_string())
            .build()
            .expect("cluster client");
        client.get_connection().unwrap_or_else(|e| panic!("{user} connects to the cluster: {e}"))
    };
    let mut send = as_cluster_user("seq-send", "send-password");
    let mut sync_user = as_cluster_user("seq-sync", "sync-password");
    // Keys on every node: the client follows the slot map it was allowed to read.
    let keys: Vec<String> = (0..12).map(|u| format!("inbox:{{u{u}}}")).collect();
    let nodes: BTreeSet<u16> = keys.iter().map(|k| cluster.keyslot(k)).map(|slot| node_of(&cluster, slot)).collect();
    assert_eq!(nodes.len(), 3, "the keys span every node");
    for key in &keys {
        let seq: i64 = redis::cmd("SEQ.ALLOC").arg(key).arg("m1").arg("hello").query(&mut send).expect("SEQ.ALLOC");
        assert_eq!(seq, 1, "{key}");
        let reply: Value = redis::cmd("SEQ.SYNC").arg(key).arg("phone").query(&mut sync_user).expect("SEQ.SYNC");
        assert_eq!(sync_reply(&reply).0, 1, "{key}");
        let refused: redis::RedisResult<Value> = redis::cmd("SEQ.SYNC").arg(key).arg("phone").query(&mut send);
        assert!(matches!(&refused, Err(e) if e.code() == Some("NOPERM")), "seq-send may not sync: {refused:?}");
    }
}

/// The port of the node that serves `slot`.
fn node_of(cluster: &Cluster, slot: u16) -> u16 {
    let map = cluster.slot_map(0);
    map.iter().find(|(start, end, _)| (*start..=*end).contains(&slot)).map(|(_, _, port)| *port).expect("slot served")
}
