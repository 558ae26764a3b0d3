//! Client-msg-ids of every stored form (docs/design.md, "Client-msg-ids stored packed"): a
//! chunk stores hex ids (lowercase, digits alone included, or uppercase with a letter, up
//! to 64 characters) and lowercase UUIDs packed, every other id as given. The form must
//! never show: every read answers with the client's exact bytes, every retry with the id's
//! first seq (also once its entry is trimmed, its id retired, or the entry deleted), ids a
//! packing could confuse (`abc` and `abc0`, `a` and `A`, `0` and `00`, a UUID and its 32
//! digits) stay distinct, and all of it survives DEBUG RELOAD, DUMP/RESTORE, an AOF
//! rewrite (`RESTORE-PACKED-CHUNK`) and its replay, a replica, and the replay of an AOF
//! rewritten by an older module (`RESTORE-CHUNK`, the ids as the client gave them).
//! SEQ.IMPORT stores them alike.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::*;
use redis::{Connection, Value};

/// A lowercase UUID (`upper`: uppercase, stored as given) unique to `i`.
fn uuid(i: u64, r: u64, upper: bool) -> String {
    let text = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        i as u32,
        (r >> 48) as u16,
        (r >> 32) as u16,
        (r >> 16) as u16,
        r & 0xffff_ffff_ffff
    );
    if upper {
        text.to_ascii_uppercase()
    } else {
        text
    }
}

/// The `i`th id of a long log: every stored form in turn, unique to `i`.
fn generated_id(i: u64, rng: &mut Rng) -> Vec<u8> {
    let r = rng.next();
    let text = match i % 10 {
        0 => format!("{i:08x}{r:016x}"),
        1 => format!("{i:07x}{:08x}", r as u32),
        2 => format!("{}", 1_000_000 + i),
        3 => format!("F{i:07X}{r:016X}"),
        4 => format!("{i:08x}Ab{r:x}"),
        5 => uuid(i, r, false),
        6 => uuid(i, r, true),
        7 => format!("{i:016x}{r:016x}{r:016x}{:016x}", !r),
        8 => format!("{i:016x}{r:016x}{r:016x}{:016x}a", !r),
        _ => {
            let mut id = vec![0x00, 0xff];
            id.extend(i.to_le_bytes());
            id.extend(r.to_le_bytes());
            return id;
        }
    };
    text.into_bytes()
}

/// A change as SEQ.CHANGES lists it, without the ts: (rev, seq, the entry's id and
/// payload, None for a deletion).
type ChangeSeen = (i64, i64, Option<(Vec<u8>, Vec<u8>)>);

/// What one log must answer, kept as the workload writes it.
#[derive(Clone, Debug)]
struct Model {
    key: Vec<u8>,
    last: i64,
    /// Retained seqs: (id, payload), the payload None once deleted.
    retained: BTreeMap<i64, (Vec<u8>, Option<Vec<u8>>)>,
    /// Every id the log was given -> its first seq (trimmed and deleted ones included).
    first: BTreeMap<Vec<u8>, i64>,
    /// SEQ.CHANGES key 0, in rev order.
    changes: Vec<ChangeSeen>,
}

impl Model {
    fn new(key: &[u8]) -> Model {
        Model { key: key.to_vec(), last: 0, retained: BTreeMap::new(), first: BTreeMap::new(), changes: Vec::new() }
    }

    /// SEQ.ALLOC: a known id answers its first seq, a new one gets `last + 1`.
    fn alloc(&mut self, con: &mut Connection, id: &[u8], payload: &[u8]) -> i64 {
        let seq = alloc(con, &self.key, id, Some(payload));
        match self.first.get(id) {
            Some(&first) => assert_eq!(seq, first, "a retry of {} in {}", show_bytes(id), show_bytes(&self.key)),
            None => {
                assert_eq!(seq, self.last + 1, "the new id {} was taken for another", show_bytes(id));
                self.last = seq;
                self.first.insert(id.to_vec(), seq);
                self.retained.insert(seq, (id.to_vec(), Some(payload.to_vec())));
            }
        }
        seq
    }

    fn trim_below(&mut self, con: &mut Connection, seq: i64) {
        let n = call_int(con, &["SEQ.TRIM", &String::from_utf8_lossy(&self.key), "MINSEQ", &seq.to_string()]);
        let kept = self.retained.split_off(&seq);
        let removed = std::mem::replace(&mut self.retained, kept);
        assert_eq!(n, removed.values().filter(|(_, p)| p.is_some()).count() as i64, "SEQ.TRIM MINSEQ {seq}");
    }

    fn edit(&mut self, con: &mut Connection, seq: i64, payload: &[u8]) {
        let rev = edit(con, &self.key, seq, payload);
        let (id, kept) = self.retained.get_mut(&seq).expect("an edit of a retained seq");
        *kept = Some(payload.to_vec());
        self.changes.push((rev, seq, Some((id.clone(), payload.to_vec()))));
    }

    fn delete(&mut self, con: &mut Connection, seq: i64) {
        assert_eq!(del(con, &self.key, &[seq]), 1, "SEQ.DEL {seq}");
        self.retained.get_mut(&seq).expect("a deletion of a retained seq").1 = None;
        let rev = self.changes.last().map_or(0, |c| c.0) + 1;
        self.changes.push((rev, seq, None));
    }

    /// The entries a read returns: (seq, id, payload).
    fn readable(&self) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
        let live = self.retained.iter().filter_map(|(seq, (id, p))| p.as_ref().map(|p| (*seq, id.clone(), p.clone())));
        live.collect()
    }

    /// The seq of the first retained entry whose id `pick` chooses.
    fn retained_seq(&self, pick: impl Fn(&[u8]) -> bool) -> i64 {
        let found = self.retained.iter().find(|(_, (id, p))| p.is_some() && pick(id));
        *found.expect("a retained entry with such an id").0
    }
}

fn triples(entries: &[Entry]) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    entries.iter().map(|e| (e.seq, e.id.clone(), e.payload.clone())).collect()
}

/// Asserts `got` are exactly `want`, naming the first entry that differs.
fn assert_entries(got: &[(i64, Vec<u8>, Vec<u8>)], want: &[(i64, Vec<u8>, Vec<u8>)], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.0, show_bytes(&g.1), &g.2),
            (w.0, show_bytes(&w.1), &w.2),
            "{what}: an entry differs (id bytes {:?}, want {:?})",
            g.1,
            w.1
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: the number of entries differs");
}

/// Ids a packing could take for `id`: the other case, a digit more or less, a leading 0.
fn confusables(id: &[u8]) -> Vec<Vec<u8>> {
    let mut with_zero = id.to_vec();
    with_zero.push(b'0');
    let mut leading_zero = vec![b'0'];
    leading_zero.extend_from_slice(id);
    vec![id.to_ascii_uppercase(), id.to_ascii_lowercase(), with_zero, leading_zero, id[..id.len() - 1].to_vec()]
}

/// Every read-only command a log answers with entries or seqs, against the model: the
/// exact client bytes everywhere, every id's first seq from SEQ.LOOKUP, nil for ids
/// never given.
fn reads_exactly(con: &mut Connection, m: &Model, what: &str) {
    let key = &m.key;
    let what = format!("{what}, {}", show_bytes(key));
    let want = m.readable();
    let all = entries(con, key);
    assert_entries(&triples(&all), &want, &format!("{what}: SEQ.RANGE - +"));
    let mut reversed = query_entries(con, redis::cmd("SEQ.REVRANGE").arg(key).arg("+").arg("-"));
    reversed.reverse();
    assert_eq!(reversed, all, "{what}: SEQ.REVRANGE + - is not SEQ.RANGE reversed");
    let mut paged = Vec::new();
    let mut from = 0;
    loop {
        let page = query_entries(con, redis::cmd("SEQ.RANGE").arg(key).arg(from).arg("+").arg("COUNT").arg(7));
        let Some(end) = page.last() else { break };
        from = end.seq + 1;
        paged.extend(page);
    }
    assert_eq!(paged, all, "{what}: SEQ.RANGE in pages of 7");
    for e in all.iter().step_by(5) {
        let one = query_entries(con, redis::cmd("SEQ.REVRANGE").arg(key).arg(e.seq).arg(e.seq));
        assert_eq!(one, vec![e.clone()], "{what}: SEQ.REVRANGE {0} {0}", e.seq);
    }
    let read = call_bytes(con, &[b"SEQ.READ", b"COUNT", b"100000", b"LOGS", key, b"0"]);
    match array(&read) {
        [one] => match array(one) {
            [k, l, es] => {
                assert_eq!((text(k).into_bytes(), int(l)), (key.clone(), m.last), "{what}: SEQ.READ's key and last");
                assert_eq!(parse_entries(es), all, "{what}: SEQ.READ's entries");
            }
            other => panic!("{what}: a SEQ.READ element is [key, last, entries]: {other:?}"),
        },
        other => panic!("{what}: SEQ.READ of one key replied {other:?}"),
    }
    let (_, listed) = changes(con, key, 0, Some(100_000)).unwrap_or_else(|e| panic!("{what}: SEQ.CHANGES 0: {e}"));
    let listed: Vec<ChangeSeen> =
        listed.into_iter().map(|c| (c.rev, c.seq, c.entry.map(|e| (e.id, e.payload)))).collect();
    assert_eq!(listed, m.changes, "{what}: SEQ.CHANGES 0");
    for (id, seq) in &m.first {
        assert_eq!(lookup(con, key, id), Some(*seq), "{what}: SEQ.LOOKUP {}", show_bytes(id));
    }
    for id in every_stored_form() {
        for other in confusables(&id).into_iter().filter(|o| !o.is_empty() && !m.first.contains_key(o)) {
            assert_eq!(lookup(con, key, &other), None, "{what}: SEQ.LOOKUP {} (never given)", show_bytes(&other));
        }
    }
}

/// `reads_exactly`, SEQ.SYNC (a write command: not on a replica) for a consumer never
/// seen, then a retry of every id, which must answer its first seq; none of it changes
/// anything.
fn answers_exactly(con: &mut Connection, models: &[Model], what: &str) {
    let before = db_state(con);
    for m in models {
        reads_exactly(con, m, what);
        let (last, synced) = sync_reply(&call_bytes(con, &[b"SEQ.SYNC", &m.key, b"never-seen", b"COUNT", b"100000"]));
        assert_eq!(last, m.last, "{what}: SEQ.SYNC's last in {}", show_bytes(&m.key));
        assert_entries(&triples(&synced), &m.readable(), &format!("{what}: SEQ.SYNC of {}", show_bytes(&m.key)));
        for (id, seq) in &m.first {
            let got = alloc(con, &m.key, id, Some(b"a retry"));
            assert_eq!(got, *seq, "{what}: a retry of {} in {}", show_bytes(id), show_bytes(&m.key));
        }
    }
    assert_same_db(&before, &db_state(con), &format!("{what}: after the reads and retries"));
}

/// A command of byte-string arguments that must not be refused.
fn call_bytes(con: &mut Connection, args: &[&[u8]]) -> Value {
    let cmd = cmd_bytes(args);
    cmd.query(con).unwrap_or_else(|e| panic!("{}: {}", show_cmd(&cmd), error_text(&e)))
}

/// Small logs (at most 16 entries, the small form): every form, 16 ids a log, each retried.
fn small_logs(con: &mut Connection) -> Vec<Model> {
    let forms = every_stored_form();
    let logs = forms.chunks(16).enumerate().map(|(i, ids)| {
        let mut m = Model::new(format!("small:{{s{i}}}").as_bytes());
        for id in ids {
            let mut payload = b"payload of ".to_vec();
            payload.extend_from_slice(id);
            m.alloc(con, id, &payload);
        }
        for id in ids {
            m.alloc(con, id, b"a retry");
        }
        m
    });
    logs.collect()
}

/// A large log over several chunks: every form (half of `every_form` at the front, which
/// trims retire, half later), 600 generated ids, a trim inside the first chunk and one
/// past it (retired ids inside the de-duplication window), an edit and deletions.
fn large_log(con: &mut Connection, key: &[u8]) -> Model {
    let mut m = Model::new(key);
    let mut rng = Rng(0x1d5);
    let forms = every_stored_form();
    let (front, later): (Vec<_>, Vec<_>) = forms.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (_, id) in front {
        m.alloc(con, id, &rng.bytes_below(40));
    }
    for i in 0..300 {
        m.alloc(con, &generated_id(i, &mut rng), &rng.bytes_below(40));
    }
    m.trim_below(con, 100);
    for (_, id) in later {
        m.alloc(con, id, &rng.bytes_below(40));
    }
    for i in 300..600 {
        m.alloc(con, &generated_id(i, &mut rng), &rng.bytes_below(40));
    }
    m.trim_below(con, 300);
    let uuid_seq = m.retained_seq(|id| id.len() == 36 && id.iter().all(|c| !c.is_ascii_uppercase()));
    m.edit(con, uuid_seq, b"edited, under a lowercase UUID");
    let hex_seq = m.retained_seq(|id| id.len() == 24 && id.iter().all(u8::is_ascii_hexdigit));
    m.delete(con, hex_seq);
    let binary_seq = m.retained_seq(|id| id.starts_with(b"\x00\xff") && id.len() > 2);
    m.delete(con, binary_seq);
    let info = info_of(con, key);
    assert!(info["first"] >= 300 && info["length"] > 250, "the large log is trimmed and long: {info:?}");
    assert_eq!(info["dedup-entries"], m.first.len() as i64, "every id is inside the window: {info:?}");
    m
}

/// Every log of the workload: the small ones and a large one.
fn workload(con: &mut Connection) -> Vec<Model> {
    let mut models = small_logs(con);
    models.push(large_log(con, b"large:{l}"));
    models
}

#[test]
fn every_form_answers_with_the_clients_bytes_and_dedups_to_its_first_seq() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let models = workload(&mut con);
    answers_exactly(&mut con, &models, "as written");
}

#[test]
fn debug_reload_and_dump_restore_keep_every_stored_form() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let models = workload(&mut con);
    let before = db_state(&mut con);
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_same_db(&before, &db_state(&mut con), "DEBUG RELOAD");
    answers_exactly(&mut con, &models, "after DEBUG RELOAD");
    let mut restored = Vec::new();
    for m in &models {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(&m.key).query(&mut con).expect("DUMP");
        let mut copy = m.clone();
        copy.key = [b"restored:", &m.key[..]].concat();
        let _: () = redis::cmd("RESTORE").arg(&copy.key).arg(0).arg(&payload).query(&mut con).expect("RESTORE");
        assert_eq!(log_state(&mut con, &copy.key), before.logs[&m.key], "RESTORE of {}", show_bytes(&m.key));
        restored.push(copy);
    }
    answers_exactly(&mut con, &restored, "after DUMP / RESTORE");
}

#[test]
fn an_aof_rewrite_writes_packed_chunks_that_replay_exactly() {
    let (mut server, dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut con = server.connect();
    let mut models = workload(&mut con);
    rewrite_aof(&mut con);
    let commands = aof_commands(&std::fs::read(aof_base_file(&dir.0)).expect("read the base AOF"));
    let ops = |name: &[u8]| -> Vec<&Vec<Vec<u8>>> {
        commands.iter().filter(|c| c[0] == b"SEQ.EFFECT" && c[2] == name).collect()
    };
    assert!(ops(b"RESTORE-CHUNK").is_empty(), "the rewrite wrote RESTORE-CHUNK, not RESTORE-PACKED-CHUNK");
    let chunks = ops(b"RESTORE-PACKED-CHUNK");
    let keys: BTreeSet<&[u8]> = chunks.iter().map(|c| &c[1][..]).collect();
    assert_eq!(keys.len(), models.len(), "every log's chunks as RESTORE-PACKED-CHUNK");
    assert!(chunks.iter().filter(|c| c[1] == b"large:{l}").count() >= 2, "the large log has several chunks");
    // The chunks are as stored: hex ids and lowercase UUIDs packed, others as given.
    let large = models.last().expect("the large log").clone();
    let large_bytes: Vec<u8> = chunks.iter().filter(|c| c[1] == b"large:{l}").flat_map(|c| c[7].clone()).collect();
    let holds = |id: &[u8]| large_bytes.windows(id.len()).any(|w| w == id);
    let lower_uuid = |id: &[u8]| id.len() == 36 && id[8] == b'-' && !id.iter().any(u8::is_ascii_uppercase);
    for (what, packed, pick) in [
        ("a lowercase UUID", true, &lower_uuid as &dyn Fn(&[u8]) -> bool),
        ("an uppercase UUID", false, &|id: &[u8]| id.len() == 36 && id.iter().any(u8::is_ascii_uppercase)),
        ("64 hex digits", true, &|id: &[u8]| id.len() == 64),
        ("65 hex digits", false, &|id: &[u8]| id.len() == 65),
    ] {
        let id = &large.retained[&large.retained_seq(pick)].0;
        assert_eq!(holds(id), !packed, "{what}, {}, in the rewrite's chunk bytes", show_bytes(id));
    }
    // Retired ids are written as the client gave them.
    let retired = ops(b"RESTORE-RETIRED");
    assert!(!retired.is_empty(), "the large log has retired ids");
    for c in retired {
        let seq: i64 = String::from_utf8_lossy(&c[3]).parse().expect("a retired seq");
        assert_eq!(large.first.get(&c[5]), Some(&seq), "RESTORE-RETIRED {seq} {}", show_bytes(&c[5]));
    }
    // Writes after the rewrite go to the incremental file, on top of the base.
    let mut rng = Rng(7);
    let last = models.last_mut().expect("the large log");
    for i in 1000..1030 {
        last.alloc(&mut con, &generated_id(i, &mut rng), b"after the rewrite");
    }
    for id in every_stored_form().iter().take(5) {
        last.alloc(&mut con, id, b"a retry after the rewrite");
    }
    let before = db_state(&mut con);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_db(&before, &db_state(&mut con), "BGREWRITEAOF + restart");
    answers_exactly(&mut con, &models, "after BGREWRITEAOF + restart");
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).expect("DEBUG LOADAOF");
    assert_same_db(&before, &db_state(&mut con), "DEBUG LOADAOF");
    answers_exactly(&mut con, &models, "after DEBUG LOADAOF");
}

#[test]
fn a_replica_holds_every_form_exactly() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    let mut con = master.connect();
    let mut models = workload(&mut con);
    // A full sync (RDB), then the effect stream.
    attach_replica(&master, &replica);
    let mut after = Model::new(b"after:{a}");
    for id in every_stored_form() {
        after.alloc(&mut con, &id, b"replicated as an effect");
    }
    let seq = after.retained_seq(|id| id == b"0abc");
    after.edit(&mut con, seq, b"edited on the master");
    models.push(after);
    wait_for_replica_offset(&master, &replica);
    let mut rcon = replica.connect();
    assert_same_db(&db_state(&mut con), &db_state(&mut rcon), "master vs replica");
    for m in &models {
        reads_exactly(&mut rcon, m, "on the replica");
    }
}

#[test]
fn imports_of_every_form_read_back_replicate_and_refuse_an_id_at_another_seq() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut con = master.connect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock after 1970").as_millis() as i64;
    let mut m = Model::new(b"imported:{i}");
    let import = |con: &mut Connection, seq: i64, ts: i64, id: &[u8], payload: &[u8]| -> Result<Value, String> {
        let (seq, ts) = (seq.to_string(), ts.to_string());
        let cmd = cmd_bytes(&[b"SEQ.IMPORT", b"imported:{i}", seq.as_bytes(), ts.as_bytes(), id, payload]);
        cmd.query::<Value>(con).map_err(|e| error_text(&e))
    };
    // Every other seq skipped; each id imported twice (a resumed import changes nothing).
    for (i, id) in every_stored_form().iter().enumerate() {
        let (seq, ts) = (2 * i as i64 + 2, now - 1000 + i as i64);
        let payload = [b"imported ", &id[..]].concat();
        for _ in 0..2 {
            assert_eq!(import(&mut con, seq, ts, id, &payload), Ok(Value::Int(seq)), "SEQ.IMPORT {}", show_bytes(id));
        }
        m.first.insert(id.clone(), seq);
        m.retained.insert(seq, (id.clone(), Some(payload)));
        m.last = seq;
    }
    for id in every_stored_form() {
        let e = import(&mut con, m.last + 1, now, &id, b"again").expect_err("an id imported at another seq");
        assert!(e.contains(&format!("already has seq {}", m.first[&id])), "{}: {e}", show_bytes(&id));
    }
    answers_exactly(&mut con, std::slice::from_ref(&m), "imported");
    wait_for_replica_offset(&master, &replica);
    let mut rcon = replica.connect();
    assert_same_db(&db_state(&mut con), &db_state(&mut rcon), "imported: master vs replica");
    reads_exactly(&mut rcon, &m, "imported, on the replica");
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    answers_exactly(&mut con, std::slice::from_ref(&m), "imported, after DEBUG RELOAD");
}

fn effect(key: &[u8], op: &str, operands: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut command = vec![b"SEQ.EFFECT".to_vec(), key.to_vec(), op.as_bytes().to_vec()];
    command.extend_from_slice(operands);
    command
}

fn num(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// The `RESTORE-CHUNK` of `entries` (of consecutive seqs), its ids as the client gave
/// them, with its change records (a module of the lifecycle) or without (one before it).
fn restore_chunk(key: &[u8], entries: &[Entry], changes: Option<&[u8]>) -> Vec<Vec<u8>> {
    let (first, len) = (&entries[0], entries.len() as u64);
    let mut operands = vec![num(first.seq as u64), num(0), num(first.ts as u64), num(len), plain_chunk(entries)];
    operands.extend(changes.map(<[u8]>::to_vec));
    effect(key, "RESTORE-CHUNK", &operands)
}

/// The model of a log loaded from `entries` (the deleted ones with an empty payload) and
/// `retired` ids (their seqs).
fn loaded(key: &[u8], last: i64, retired: &[(i64, Vec<u8>)], entries: &[Entry], deleted: &[i64]) -> Model {
    let mut m = Model::new(key);
    m.last = last;
    m.first.extend(retired.iter().map(|(seq, id)| (id.clone(), *seq)));
    for e in entries {
        m.first.insert(e.id.clone(), e.seq);
        let payload = (!deleted.contains(&e.seq)).then(|| e.payload.clone());
        m.retained.insert(e.seq, (e.id.clone(), payload));
    }
    m
}

#[test]
fn an_aof_rewritten_by_an_older_module_replays_its_plain_chunks() {
    let (mut server, dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut con = server.connect();
    rewrite_aof(&mut con);
    drop(con);
    server.shutdown();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock after 1970").as_millis() as i64;
    let t0 = now - 60_000;
    // old:{o}, as a module of the lifecycle (v2, v3) rewrote it: retired ids (as given,
    // as v4 writes them too), two chunks of every form, an edit and a deletion.
    let forms = every_stored_form();
    let retired: Vec<(i64, Vec<u8>)> =
        ["fedcba9876543210", "00000000-1111-2222-3333-444444444444", "retired-raw", "ABCDEF12"]
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 + 1, t.as_bytes().to_vec()))
            .collect();
    let first_seq = retired.len() as i64 + 1;
    let mut log: Vec<Entry> = forms
        .iter()
        .enumerate()
        .map(|(i, id)| Entry {
            seq: first_seq + i as i64,
            id: id.clone(),
            ts: t0 + 10 + i as i64 * 3,
            payload: format!("payload {i}").into_bytes(),
        })
        .collect();
    let index_of = |id: &[u8]| forms.iter().position(|f| f == id).expect("an id of every_stored_form");
    let (edited, deleted) = (index_of(b"123e4567-e89b-12d3-a456-426614174000"), index_of(b"abc"));
    log[edited].payload = b"edited under a UUID".to_vec();
    log[deleted].payload = Vec::new();
    let split = 20;
    assert!(edited < split && deleted < split, "both changes fall in the first chunk");
    // Change records: varint(seq - first seq) varint(rev * 2 + deleted), in seq order;
    // one byte each here.
    let mut marks = [(deleted, 2 * 2 + 1), (edited, 2)];
    marks.sort();
    let records: Vec<u8> = marks.iter().flat_map(|&(index, rev_and_flag)| [index as u8, rev_and_flag]).collect();
    let o: &[u8] = b"old:{o}";
    let (last, last_ts) = (log[log.len() - 1].seq as u64, log[log.len() - 1].ts as u64);
    let mut commands = vec![effect(o, "RESTORE-HEADER", &[last, 0, 0, last_ts, 1, 0, 2, 0].map(num))];
    for (seq, id) in &retired {
        commands.push(effect(o, "RESTORE-RETIRED", &[num(*seq as u64), num((t0 + seq) as u64), id.clone()]));
    }
    commands.push(restore_chunk(o, &log[..split], Some(&records)));
    commands.push(restore_chunk(o, &log[split..], Some(b"")));
    // older:{p}, as a module before the lifecycle rewrote it: no rev, no change records;
    // every third form, 15 entries (a small log once loaded).
    let p: &[u8] = b"older:{p}";
    let older: Vec<Entry> = forms
        .iter()
        .step_by(3)
        .enumerate()
        .map(|(i, id)| Entry { seq: i as i64 + 1, id: id.clone(), ts: t0 + i as i64, payload: id.clone() })
        .collect();
    let (older_last, older_last_ts) = (older.len() as u64, older[older.len() - 1].ts as u64);
    commands.push(effect(p, "RESTORE-HEADER", &[older_last, 0, 0, older_last_ts, 1, 0].map(num)));
    commands.push(restore_chunk(p, &older, None));
    std::fs::write(aof_base_file(&dir.0), aof_bytes(&commands)).expect("write the base AOF");
    server.start_again();
    let mut con = server.connect();

    let mut old = loaded(o, last as i64, &retired, &log, &[log[deleted].seq]);
    old.changes = vec![
        (1, log[edited].seq, Some((log[edited].id.clone(), log[edited].payload.clone()))),
        (2, log[deleted].seq, None),
    ];
    let models = [old, loaded(p, older_last as i64, &[], &older, &[])];
    // The ts too, exactly as written.
    for (m, written) in [(&models[0], &log), (&models[1], &older)] {
        let written: Vec<(i64, i64)> =
            written.iter().map(|e| (e.seq, e.ts)).filter(|(seq, _)| m.retained[seq].1.is_some()).collect();
        let read: Vec<(i64, i64)> = entries(&mut con, &m.key).iter().map(|e| (e.seq, e.ts)).collect();
        assert_eq!(read, written, "the seqs and ts of {}", show_bytes(&m.key));
    }
    answers_exactly(&mut con, &models, "the replayed older AOF");
    let info = info_of(&mut con, o);
    assert_eq!((info["rev"], info["deleted"], info["dedup-entries"]), (2, 1, models[0].first.len() as i64), "{info:?}");
    // Rewritten now in the packed form, it replays alike; so does an RDB of it.
    let replayed = db_state(&mut con);
    rewrite_aof(&mut con);
    let rewritten = aof_commands(&std::fs::read(aof_base_file(&dir.0)).expect("read the base AOF"));
    let ops: Vec<&[u8]> = rewritten.iter().filter(|c| c[0] == b"SEQ.EFFECT").map(|c| &c[2][..]).collect();
    assert!(
        !ops.contains(&&b"RESTORE-CHUNK"[..]) && ops.contains(&&b"RESTORE-PACKED-CHUNK"[..]),
        "rewritten as {ops:?}"
    );
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_db(&replayed, &db_state(&mut con), "the older AOF, rewritten and replayed");
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_same_db(&replayed, &db_state(&mut con), "the older AOF, then DEBUG RELOAD");
    answers_exactly(&mut con, &models, "the older AOF, rewritten, replayed and reloaded");
    for m in &models {
        assert_eq!(alloc(&mut con, &m.key, b"new after the upgrade", None), m.last + 1, "{}", show_bytes(&m.key));
    }
}
