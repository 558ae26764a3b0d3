//! Fuzzes the `append_effect` target for `SEQ_FUZZ_SECONDS` (see the crate's README.md).

use std::path::Path;

#[test]
fn fuzz_append_effect() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/append_effect");
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seq-fuzz");
    seq_fuzz::fuzz(&seq_fuzz::targets::append_effect::TARGET, &corpus, &failures);
}
