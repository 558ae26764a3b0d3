//! Fuzzes the `del_effect` target for `SEQ_FUZZ_SECONDS` (see the crate's README.md).

use std::path::Path;

#[test]
fn fuzz_del_effect() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/del_effect");
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seq-fuzz");
    seq_fuzz::fuzz(&seq_fuzz::targets::del_effect::TARGET, &corpus, &failures);
}
