//! The Python snippets of docs/clients.md run against a real server: every
//! `docs/snippets/*.py`, with `SEQ_URL` pointing at it (`scripts/install-deps.sh`
//! installs the pinned `redis` package they need).

use std::process::Command;

use crate::common::*;

#[test]
fn python_snippets_run_against_the_server() {
    let (server, _dir) = start_seq(&[]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/snippets");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("docs/snippets")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no Python snippet in {}", dir.display());
    for script in scripts {
        let out = Command::new("python3")
            .arg(&script)
            .env("SEQ_URL", server.url())
            .output()
            .unwrap_or_else(|e| panic!("run python3 (./scripts/install-deps.sh installs it): {e}"));
        assert!(
            out.status.success(),
            "{} failed ({}):\n{}\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
