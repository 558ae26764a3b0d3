//! Fuzzes the `args` target for `SEQ_FUZZ_SECONDS` (see the crate's README.md).

use std::path::Path;

#[test]
fn fuzz_args() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/args");
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seq-fuzz");
    seq_fuzz::fuzz(&seq_fuzz::targets::args::TARGET, &corpus, &failures);
}
