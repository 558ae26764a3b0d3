//! The hand-written layout redis-seq replaces: the benchmark's alternative and the source
//! of `seq-migrate legacy` in the tests.

/// The hand-written alternative, exactly as the benchmark (benches/seq_bench/) loads it
/// (`SCRIPT LOAD`) and calls it: `EVALSHA <sha> 3 ctr:{c} ids:{c} log:{c} <client-msg-id> <payload>`.
/// KEYS[1] the conversation's counter, KEYS[2] the hash client-msg-id -> seq,
/// KEYS[3] the conversation's stream. A retry (id already in the hash) returns the first
/// seq and writes nothing; otherwise INCR, HSET, and XADD with an auto id (`*`) and the
/// fields `seq`, `id`, `payload`.
pub const LUA_SCRIPT: &str = "\
local seq = redis.call('HGET', KEYS[2], ARGV[1])
if seq then return tonumber(seq) end
seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], seq)
redis.call('XADD', KEYS[3], '*', 'seq', seq, 'id', ARGV[1], 'payload', ARGV[2])
return seq";
