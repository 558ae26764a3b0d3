//! A seeded fuzzer against a live server: random SEQ.* calls with boundary integers, huge
//! and binary strings, options in any case and order, keys of another type and wrong
//! arities, some inside MULTI and some from Lua (EVAL calling SEQ.*), with DEBUG RELOAD and
//! BGREWRITEAOF + DEBUG LOADAOF between batches. A model predicts every reply (a retry
//! gets its first seq, a new id `last + 1`, reads follow the reader's rule) and after
//! each batch every log is compared with it whole.
//!
//! Prints its seed; `SEQ_LIVE_FUZZ_SEED=<seed>` replays a run, `SEQ_LIVE_FUZZ_SECONDS`
//! (default 20) bounds it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::common::*;
use redis::{Connection, Value};

const KEYS: [&[u8]; 4] = [b"fz:{a}", b"fz:{b}", b"fz:{\x00\xff bin}", b"fz:{rare}"];
/// Holds a string: every SEQ.* call on it is WRONGTYPE.
const STRING_KEY: &[u8] = b"fz:{str}";
const CONSUMERS: [&[u8]; 4] = [b"phone", b"laptop", b"\x00\xfe", b"a-much-longer-consumer-name-for-the-tree"];
const MAX_ID: usize = 256;
const SYNC_DEFAULT_COUNT: usize = 100;

type Entry3 = (i64, Vec<u8>, Vec<u8>);

#[derive(Default, Clone)]
struct ModelLog {
    last: i64,
    entries: BTreeMap<i64, (Vec<u8>, Vec<u8>)>,
    /// Every id ever appended (the window is a day: none expires in a run).
    ids: HashMap<Vec<u8>, i64>,
    cursors: BTreeMap<Vec<u8>, i64>,
}

impl ModelLog {
    fn range(&self, low: i64, high: i64) -> impl DoubleEndedIterator<Item = Entry3> + '_ {
        let empty = low > high;
        self.entries
            .range(low..=high.max(low))
            .filter(move |_| !empty)
            .map(|(&seq, (id, payload))| (seq, id.clone(), payload.clone()))
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Int(i64),
    Nil,
    Ints(Vec<i64>),
    Entries(Vec<Entry3>),
    Sync(i64, Vec<Entry3>),
    /// last, first, length, consumers
    Info(i64, i64, i64, i64),
    Cursors(Vec<(Vec<u8>, i64)>),
    /// An error reply starting with this code (`ERR`, `WRONGTYPE`), or any error (`""`).
    Error(&'static str),
}

struct Fuzz {
    rng: Rng,
    logs: HashMap<Vec<u8>, ModelLog>,
    next_id: u64,
}

/// An integer argument and its value (`None`: not a valid non-negative integer).
type IntArg = (Vec<u8>, Option<i64>);

impl Fuzz {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent
    }

    fn int_arg(&mut self, near: i64) -> IntArg {
        let valid = |v: i64| (v.to_string().into_bytes(), (v >= 0).then_some(v));
        match self.rng.below(14) {
            0 => valid(0),
            1 => valid(1),
            2 => valid(i64::MAX),
            3 => (b"-1".to_vec(), None),
            4 => (b"9223372036854775808".to_vec(), None),
            5 => (b"18446744073709551616".to_vec(), None),
            6 => (self.pick(&[&b"abc"[..], b"", b"1.5", b" 1", b"1 ", b"0x10", b"\xff"]).to_vec(), None),
            7 => valid(near.saturating_add(1)),
            8 => valid((near - 1).max(0)),
            9 => valid(near / 2),
            _ => valid(near),
        }
    }

    fn bound_arg(&mut self, near: i64) -> (Vec<u8>, Option<i64>) {
        match self.rng.below(6) {
            0 => (b"-".to_vec(), Some(0)),
            1 => (b"+".to_vec(), Some(i64::MAX)),
            _ => self.int_arg(near),
        }
    }

    fn any_case(&mut self, word: &str) -> Vec<u8> {
        word.bytes().map(|b| if self.chance(50) { b.to_ascii_lowercase() } else { b }).collect()
    }

    fn key(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => STRING_KEY.to_vec(),
            1 => KEYS[3].to_vec(),
            _ => self.pick(&KEYS[..3]).to_vec(),
        }
    }

    /// A command and its expected reply; the model already holds its effect.
    fn command(&mut self, in_transaction: bool) -> (Vec<Vec<u8>>, Expect) {
        let key = self.key();
        let wrong_type = key == STRING_KEY;
        let log = self.logs.get(&key).cloned();
        let last = log.as_ref().map_or(0, |l| l.last);
        let s = |text: &str| text.as_bytes().to_vec();
        match self.rng.below(100) {
            0..=29 => self.alloc(key, wrong_type),
            30..=44 => {
                let descending = self.chance(30);
                let (a, low) = self.bound_arg(last / 2);
                let (b, high) = self.bound_arg(last);
                let mut args = vec![s(if descending { "SEQ.REVRANGE" } else { "SEQ.RANGE" }), key];
                args.extend(if descending { [b.clone(), a.clone()] } else { [a.clone(), b.clone()] });
                let mut count: Option<Option<i64>> = None;
                if self.chance(50) {
                    let (arg, value) = self.int_arg(3);
                    args.push(self.any_case("COUNT"));
                    args.push(arg);
                    count = Some(value);
                }
                let unknown = self.chance(3);
                if unknown {
                    args.push(s("LIMIT"));
                    args.push(s("1"));
                }
                let bad = low.is_none() || high.is_none() || count.is_some_and(|c| c.is_none_or(|c| c == 0)) || unknown;
                let expect = match (bad, wrong_type) {
                    (true, _) => Expect::Error(""),
                    (false, true) => Expect::Error("WRONGTYPE"),
                    (false, false) => {
                        let (low, high) = (low.unwrap_or(0), high.unwrap_or(0));
                        let take = count.flatten().map_or(usize::MAX, |c| c as usize);
                        let model = log.unwrap_or_default();
                        Expect::Entries(match descending {
                            false => model.range(low, high).take(take).collect(),
                            true => model.range(low, high).rev().take(take).collect(),
                        })
                    }
                };
                (args, expect)
            }
            45..=49 => {
                (vec![s("SEQ.LAST"), key], if wrong_type { Expect::Error("WRONGTYPE") } else { Expect::Int(last) })
            }
            50..=54 => {
                let keys: Vec<Vec<u8>> = (0..1 + self.rng.below(4)).map(|_| self.key()).collect();
                let expect = match keys.iter().any(|k| k == STRING_KEY) {
                    true => Expect::Error("WRONGTYPE"),
                    false => Expect::Ints(keys.iter().map(|k| self.logs.get(k).map_or(0, |l| l.last)).collect()),
                };
                (std::iter::once(s("SEQ.MLAST")).chain(keys).collect(), expect)
            }
            55..=59 => {
                let expect = match (&log, wrong_type) {
                    (_, true) => Expect::Error("WRONGTYPE"),
                    (None, false) => Expect::Nil,
                    (Some(l), false) => {
                        let first = l.entries.keys().next().copied().unwrap_or(l.last + 1);
                        Expect::Info(l.last, first, l.entries.len() as i64, l.cursors.len() as i64)
                    }
                };
                (vec![s("SEQ.INFO"), key], expect)
            }
            60..=67 => {
                let consumer = self.pick(&CONSUMERS).to_vec();
                let (arg, seq) = self.int_arg(last);
                let args = vec![s("SEQ.ACK"), key.clone(), consumer.clone(), arg];
                let expect = match (seq, wrong_type) {
                    (None, _) => Expect::Error(""),
                    (Some(_), true) => Expect::Error("WRONGTYPE"),
                    (Some(seq), false) => {
                        self.acknowledge(&key, &consumer, seq).map_or(Expect::Error("ERR"), Expect::Int)
                    }
                };
                (args, expect)
            }
            68..=77 => self.sync(key, wrong_type, in_transaction),
            78..=80 => {
                let consumer = self.pick(&CONSUMERS).to_vec();
                let expect = match (&log, wrong_type) {
                    (_, true) => Expect::Error("WRONGTYPE"),
                    (None, false) => Expect::Int(0),
                    (Some(l), false) => {
                        let cursor = l.cursors.get(&consumer).copied().unwrap_or(0);
                        Expect::Int(l.entries.range(cursor + 1..).count() as i64)
                    }
                };
                (vec![s("SEQ.UNREAD"), key, consumer], expect)
            }
            81..=83 => {
                let expect = match (&log, wrong_type) {
                    (_, true) => Expect::Error("WRONGTYPE"),
                    (l, false) => Expect::Cursors(l.iter().flat_map(|l| l.cursors.clone()).collect()),
                };
                (vec![s("SEQ.CURSORS"), key], expect)
            }
            84..=86 => {
                let consumer = self.pick(&CONSUMERS).to_vec();
                let expect = match (self.logs.get_mut(&key), wrong_type) {
                    (_, true) => Expect::Error("WRONGTYPE"),
                    (None, false) => Expect::Int(0),
                    (Some(l), false) => Expect::Int(i64::from(l.cursors.remove(&consumer).is_some())),
                };
                (vec![s("SEQ.FORGET"), key, consumer], expect)
            }
            87..=92 => self.trim(key, wrong_type),
            93..=95 if !in_transaction => {
                // Wrong arities are refused before anything runs (and would abort a MULTI).
                let args = match self.rng.below(4) {
                    0 => vec![s("SEQ.ALLOC"), key],
                    1 => vec![s("SEQ.ACK"), key, s("phone")],
                    2 => vec![s("SEQ.ALLOC"), key, s("id"), s("payload"), s("extra")],
                    _ => vec![s("SEQ.RANGE"), key, s("-")],
                };
                (args, Expect::Error("ERR"))
            }
            _ => {
                let key = self.pick(&KEYS).to_vec();
                let expect = if self.logs.contains_key(&key) { Expect::Error("WRONGTYPE") } else { Expect::Nil };
                (vec![s("GET"), key], expect)
            }
        }
    }

    fn alloc(&mut self, key: Vec<u8>, wrong_type: bool) -> (Vec<Vec<u8>>, Expect) {
        let known: Vec<Vec<u8>> = self.logs.get(&key).map(|l| l.ids.keys().cloned().collect()).unwrap_or_default();
        let id = match self.rng.below(100) {
            0..=14 if !known.is_empty() => self.pick(&known).clone(),
            15..=19 => {
                let len = 1 + self.rng.below(40) as usize;
                self.rng.bytes(len)
            }
            20..=22 => vec![b'x'; MAX_ID + usize::from(self.chance(50))],
            23 => Vec::new(),
            _ => {
                self.next_id += 1;
                format!("id-{}", self.next_id).into_bytes()
            }
        };
        let payload: Option<Vec<u8>> = match self.rng.below(10) {
            0..=1 => None,
            2 => Some(self.rng.bytes(100_000)),
            3 => Some(Vec::new()),
            _ => Some(self.rng.bytes_below(64)),
        };
        let mut args = vec![b"SEQ.ALLOC".to_vec(), key.clone(), id.clone()];
        args.extend(payload.clone());
        let expect = if id.is_empty() || id.len() > MAX_ID {
            Expect::Error("ERR")
        } else if wrong_type {
            Expect::Error("WRONGTYPE")
        } else {
            let log = self.logs.entry(key).or_default();
            match log.ids.get(&id) {
                Some(&seq) => Expect::Int(seq),
                None => {
                    log.last += 1;
                    log.ids.insert(id.clone(), log.last);
                    log.entries.insert(log.last, (id, payload.unwrap_or_default()));
                    Expect::Int(log.last)
                }
            }
        };
        (args, expect)
    }

    /// SEQ.ACK's rule: `Err` for a seq above `last` (a missing key takes only 0).
    fn acknowledge(&mut self, key: &[u8], consumer: &[u8], seq: i64) -> Result<i64, ()> {
        let Some(log) = self.logs.get_mut(key) else { return if seq == 0 { Ok(0) } else { Err(()) } };
        if seq > log.last {
            return Err(());
        }
        let cursor = log.cursors.entry(consumer.to_vec()).or_insert(0);
        *cursor = (*cursor).max(seq);
        Ok(*cursor)
    }

    fn sync(&mut self, key: Vec<u8>, wrong_type: bool, in_transaction: bool) -> (Vec<Vec<u8>>, Expect) {
        let consumer = self.pick(&CONSUMERS).to_vec();
        let last = self.logs.get(&key).map_or(0, |l| l.last);
        let mut options: Vec<(Vec<u8>, IntArg)> = Vec::new();
        if self.chance(60) {
            let after = self.int_arg(last);
            options.push((self.any_case("AFTER"), after));
        }
        if self.chance(50) {
            let count = self.int_arg(2);
            options.push((self.any_case("COUNT"), count));
        }
        if in_transaction && self.chance(40) {
            // Inside MULTI or a script BLOCK does not block (outside, a call with nothing to
            // return would wait: plain calls never send it).
            options.push((self.any_case("BLOCK"), (b"0".to_vec(), Some(0))));
        }
        if self.chance(50) {
            options.reverse();
        }
        let mut args = vec![b"SEQ.SYNC".to_vec(), key.clone(), consumer.clone()];
        for (name, (value, _)) in &options {
            args.push(name.clone());
            args.push(value.clone());
        }
        let get = |name: &str| {
            options.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, (_, v))| *v)
        };
        let (after, count) = (get("AFTER"), get("COUNT"));
        if after == Some(None) || count.is_some_and(|c| c.is_none_or(|c| c == 0)) {
            return (args, Expect::Error(""));
        }
        if wrong_type {
            return (args, Expect::Error("WRONGTYPE"));
        }
        let position = match after.flatten() {
            Some(seq) => match self.acknowledge(&key, &consumer, seq) {
                Ok(_) => seq,
                Err(()) => return (args, Expect::Error("ERR")),
            },
            None => self.logs.get(&key).and_then(|l| l.cursors.get(&consumer).copied()).unwrap_or(0),
        };
        let take = count.flatten().map_or(SYNC_DEFAULT_COUNT, |c| c as usize);
        let expect = match self.logs.get(&key) {
            None => Expect::Sync(0, Vec::new()),
            Some(l) => Expect::Sync(l.last, l.range(position.saturating_add(1), i64::MAX).take(take).collect()),
        };
        (args, expect)
    }

    fn trim(&mut self, key: Vec<u8>, wrong_type: bool) -> (Vec<Vec<u8>>, Expect) {
        let len = self.logs.get(&key).map_or(0, |l| l.entries.len() as i64);
        let last = self.logs.get(&key).map_or(0, |l| l.last);
        let (strategy, (arg, value)) = match self.rng.below(5) {
            0..=1 => ("MAXLEN", self.int_arg(len.saturating_sub(2))),
            2..=3 => ("MINSEQ", self.int_arg(last / 3)),
            // Entries are milliseconds apart at most: MAXAGE i64::MAX removes nothing.
            _ => ("MAXAGE", (i64::MAX.to_string().into_bytes(), Some(i64::MAX))),
        };
        let name = if self.chance(5) { b"MAXCOUNT".to_vec() } else { self.any_case(strategy) };
        let args = vec![b"SEQ.TRIM".to_vec(), key.clone(), name.clone(), arg];
        let expect = match (value, wrong_type) {
            _ if name == b"MAXCOUNT" => Expect::Error(""),
            (None, _) => Expect::Error(""),
            (Some(_), true) => Expect::Error("WRONGTYPE"),
            (Some(value), false) => {
                let Some(log) = self.logs.get_mut(&key) else { return (args, Expect::Int(0)) };
                let keep_from = match strategy {
                    "MAXLEN" => {
                        let drop = (log.entries.len() as i64 - value).max(0) as usize;
                        log.entries.keys().nth(drop).copied().unwrap_or(log.last + 1)
                    }
                    "MINSEQ" => value,
                    _ => 0,
                };
                let before = log.entries.len();
                log.entries.retain(|&seq, _| seq >= keep_from);
                Expect::Int((before - log.entries.len()) as i64)
            }
        };
        (args, expect)
    }
}

fn entry3(v: &Value) -> Entry3 {
    let e = parse_entry(v);
    assert!(e.ts > 0, "an entry without a ts: {v:?}");
    (e.seq, e.id, e.payload)
}

/// A reply, or an error reply's code.
type Reply = Result<Value, String>;

fn error_code(reply: &Reply) -> Option<&str> {
    match reply {
        Err(code) => Some(code),
        Ok(Value::ServerError(e)) => Some(e.code()),
        Ok(_) => None,
    }
}

/// Whether `actual` is what `expect` says.
fn matches(expect: &Expect, actual: &Reply) -> bool {
    if let Some(code) = error_code(actual) {
        return matches!(expect, Expect::Error(want) if want.is_empty() || code == *want);
    }
    let Ok(actual) = actual else { return false };
    match (expect, actual) {
        (Expect::Int(n), Value::Int(m)) => n == m,
        (Expect::Nil, Value::Nil) => true,
        (Expect::Ints(ns), Value::Array(items)) => {
            items.len() == ns.len() && items.iter().zip(ns).all(|(v, n)| *v == Value::Int(*n))
        }
        (Expect::Entries(want), Value::Array(items)) => items.iter().map(entry3).collect::<Vec<_>>() == *want,
        (Expect::Sync(last, want), Value::Array(items)) if items.len() == 2 => {
            let (got_last, page) = sync_reply(actual);
            got_last == *last && page.into_iter().map(|e| (e.seq, e.id, e.payload)).collect::<Vec<_>>() == *want
        }
        (Expect::Info(last, first, length, consumers), v) => field_pairs(v).is_some_and(|pairs| {
            let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            [("last", last), ("first", first), ("length", length), ("consumers", consumers)]
                .iter()
                .all(|(name, want)| get(name) == Some(Value::Int(**want)))
        }),
        (Expect::Cursors(want), Value::Array(items)) => {
            let got: Vec<(Vec<u8>, i64)> = items
                .chunks(2)
                .filter_map(|pair| match pair {
                    [Value::BulkString(name), Value::Int(cursor)] => Some((name.clone(), *cursor)),
                    _ => None,
                })
                .collect();
            got.len() * 2 == items.len() && got == *want
        }
        _ => false,
    }
}

/// Sends one command and returns its raw reply (errors nested in EXEC's reply kept in place).
fn send(con: &mut Connection, args: &[Vec<u8>]) -> Reply {
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    match redis::ConnectionLike::req_command(con, &cmd_bytes(&refs)) {
        Ok(Value::ServerError(e)) => Err(e.code().to_string()),
        Ok(v) => Ok(v),
        Err(e) => match e.code() {
            Some(code) => Err(code.to_string()),
            None => panic!("{}: {e}", show_cmd(&cmd_bytes(&refs))),
        },
    }
}

struct Run {
    fuzz: Fuzz,
    seed: u64,
    step: u64,
}

impl Run {
    fn check(&self, args: &[Vec<u8>], expect: &Expect, actual: &Reply, how: &str) {
        if !matches(expect, actual) {
            let shown: Vec<String> = args.iter().map(|a| show_bytes(&a[..a.len().min(80)])).collect();
            panic!(
                "live fuzz (SEQ_LIVE_FUZZ_SEED={} reproduces it), step {} ({how}): {shown:?}\n expected {expect:?}\n got {actual:?}",
                self.seed, self.step
            );
        }
    }

    fn plain(&mut self, con: &mut Connection) {
        let (args, expect) = self.fuzz.command(false);
        // A SEQ.SYNC that has nothing to return would block with BLOCK: only sent without.
        let actual = send(con, &args);
        self.check(&args, &expect, &actual, "plain call");
    }

    fn transaction(&mut self, con: &mut Connection) {
        let calls: Vec<(Vec<Vec<u8>>, Expect)> =
            (0..2 + self.fuzz.rng.below(4)).map(|_| self.fuzz.command(true)).collect();
        let _: () = redis::cmd("MULTI").query(con).expect("MULTI");
        for (args, _) in &calls {
            let queued = send(con, args);
            assert_eq!(queued, Ok(Value::SimpleString("QUEUED".into())), "{args:?} not queued (seed {})", self.seed);
        }
        let replies = match send(con, &[b"EXEC".to_vec()]) {
            Ok(Value::Array(items)) => items,
            other => panic!("EXEC replied {other:?} (seed {})", self.seed),
        };
        assert_eq!(replies.len(), calls.len());
        for ((args, expect), actual) in calls.iter().zip(replies) {
            self.check(args, expect, &Ok(actual), "inside MULTI");
        }
    }

    fn script(&mut self, con: &mut Connection) {
        let (args, expect) = self.fuzz.command(true);
        let mut eval = vec![b"EVAL".to_vec(), b"return redis.call(unpack(ARGV))".to_vec(), b"0".to_vec()];
        eval.extend(args.iter().cloned());
        let actual = send(con, &eval);
        // A refusal inside the script fails EVAL, whose error code is the command's own
        // or the script's: any error matches an expected one.
        let expect = match expect {
            Expect::Error(_) => Expect::Error(""),
            other => other,
        };
        self.check(&args, &expect, &actual, "from Lua");
    }

    /// Every log whole against the model, and the string key untouched.
    fn verify(&self, con: &mut Connection, how: &str) {
        for key in KEYS {
            let model = self.fuzz.logs.get(key).cloned();
            let Some(model) = model else {
                assert_eq!(seq_info(con, key), None, "{how}: {} exists (seed {})", show_bytes(key), self.seed);
                continue;
            };
            let got: Vec<Entry3> = entries(con, key).into_iter().map(|e| (e.seq, e.id, e.payload)).collect();
            let want: Vec<Entry3> = model.range(0, i64::MAX).collect();
            assert!(got == want, "{how}: entries of {} differ from the model (seed {})", show_bytes(key), self.seed);
            let info = info_of(con, key);
            assert_eq!(field(&info, "last"), model.last, "{how} (seed {})", self.seed);
            assert_eq!(field(&info, "length"), want.len() as i64, "{how} (seed {})", self.seed);
            assert_eq!(field(&info, "damaged"), 0, "{how} (seed {})", self.seed);
            let ts: Vec<i64> = entries(con, key).iter().map(|e| e.ts).collect();
            assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{how}: ts out of order (seed {})", self.seed);
            let cursors: Vec<(Vec<u8>, i64)> = cursors(con, key);
            assert_eq!(cursors, model.cursors.clone().into_iter().collect::<Vec<_>>(), "{how} (seed {})", self.seed);
        }
        let text: Vec<u8> = redis::cmd("GET").arg(STRING_KEY).query(con).expect("the string key");
        assert_eq!(text, b"not a log");
    }
}

fn digest(con: &mut Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(con).expect("DEBUG DIGEST")
}

fn wait_rewrite(con: &mut Connection) {
    let done = wait_until(Duration::from_secs(30), || {
        info_field(con, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(con, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
    });
    assert!(done, "BGREWRITEAOF did not finish");
}

#[test]
fn random_commands_agree_with_the_model_through_reloads_and_rewrites() {
    let seed = std::env::var("SEQ_LIVE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    let seconds = std::env::var("SEQ_LIVE_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    eprintln!("live fuzz: seed {seed} (SEQ_LIVE_FUZZ_SEED={seed} reproduces the run), {seconds} s");
    let mut rng = Rng(seed);
    let preamble = if rng.below(2) == 0 { "yes" } else { "no" };
    let (server, _dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
    let mut con = connect_with_timeout(&server, 30);
    let _: () = redis::cmd("SET").arg(STRING_KEY).arg("not a log").query(&mut con).expect("SET");
    let mut run = Run { fuzz: Fuzz { rng, logs: HashMap::new(), next_id: 0 }, seed, step: 0 };

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut batches = 0;
    while Instant::now() < deadline {
        for _ in 0..200 {
            run.step += 1;
            match run.fuzz.rng.below(100) {
                0..=9 => run.transaction(&mut con),
                10..=14 => run.script(&mut con),
                _ => run.plain(&mut con),
            }
        }
        run.verify(&mut con, "after a batch");
        let before = digest(&mut con);
        match run.fuzz.rng.below(3) {
            0 => {
                let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
                run.verify(&mut con, "after DEBUG RELOAD");
            }
            1 => {
                let _: Value = redis::cmd("BGREWRITEAOF").query(&mut con).expect("BGREWRITEAOF");
                wait_rewrite(&mut con);
                let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).expect("DEBUG LOADAOF");
                run.verify(&mut con, "after BGREWRITEAOF + DEBUG LOADAOF");
            }
            _ => {}
        }
        assert_eq!(digest(&mut con), before, "the dataset digest changed across a reload (seed {seed})");
        batches += 1;
    }
    assert_eq!(seq_stat(&mut con, "seq_effect_errors"), 0, "an AOF reload found effects that did not fit");
    eprintln!("live fuzz: {} calls in {batches} batches, seed {seed}", run.step);
}
