//! The one place that decides which programs the tests and the benchmark run: the
//! module they load, and the server, Sentinel, cli and benchmark binaries (from the
//! environment, so the same suite can run against Valkey as well as Redis).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// The server binary: `$SEQ_TEST_SERVER`, default `redis-server`.
pub fn server() -> Command {
    command_from_env("SEQ_TEST_SERVER", "redis-server")
}

/// The Sentinel command for `conf`: `$SEQ_TEST_SENTINEL` (a binary plus optional arguments,
/// e.g. `valkey-server --sentinel`), default `redis-sentinel`. The config file goes right
/// after the binary, before those arguments: `redis-server`/`valkey-server` read a config
/// file only as their first argument.
pub fn sentinel(conf: &Path) -> Command {
    let (program, args) = split_env("SEQ_TEST_SENTINEL", "redis-sentinel");
    let mut cmd = Command::new(program);
    cmd.arg(conf).args(args);
    cmd
}

/// The cli binary (cluster creation): `$SEQ_TEST_CLI`, default `redis-cli`.
pub fn cli() -> Command {
    command_from_env("SEQ_TEST_CLI", "redis-cli")
}

/// The load generator of the benchmark: `$SEQ_TEST_BENCHMARK`, default `redis-benchmark`.
pub fn benchmark() -> Command {
    command_from_env("SEQ_TEST_BENCHMARK", "redis-benchmark")
}

/// Which server `server()` runs, from its `--version` line (`Redis server v=7.0.15 ...`,
/// `Valkey server v=8.1.8 ...`), asked once per test binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerVersion {
    pub valkey: bool,
    /// (major, minor, patch) of Redis or of Valkey, as the server names itself.
    pub version: (u32, u32, u32),
}

pub fn server_version() -> ServerVersion {
    static VERSION: OnceLock<ServerVersion> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let mut cmd = server();
        let out = cmd.arg("--version").output().unwrap_or_else(|e| panic!("{:?} --version: {e}", cmd.get_program()));
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        parse_version(&line).unwrap_or_else(|| panic!("unrecognised server version line: {line:?}"))
    })
}

/// Whether the tests run against Valkey: for writing down, in a test, where Valkey and
/// Redis answer differently.
pub fn server_is_valkey() -> bool {
    server_version().valkey
}

fn parse_version(line: &str) -> Option<ServerVersion> {
    let valkey = match line.split_whitespace().next()? {
        "Valkey" => true,
        "Redis" => false,
        _ => return None,
    };
    let number = line.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
    let mut parts = number.split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0));
    Some(ServerVersion { valkey, version })
}

/// A binary plus leading arguments from `var` (split on whitespace), or `default`.
fn command_from_env(var: &str, default: &str) -> Command {
    let (program, args) = split_env(var, default);
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

fn split_env(var: &str, default: &str) -> (String, Vec<String>) {
    let value = std::env::var(var).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string());
    let mut words = value.split_whitespace().map(str::to_string);
    let program = words.next().unwrap_or_else(|| default.to_string());
    (program, words.collect())
}

/// The module to load: `$SEQ_TEST_MODULE` as given, or else `libredis_seq.so` of the
/// profile this test binary was built with (its executable sits in `<target>/<profile>/deps`,
/// so `cargo test --release` loads `target/release/...`), refused when it is older than
/// the sources: testing a stale build would report on code that is not there.
///
/// The sources are the files cargo built the module from, as its dep-info file
/// (`libredis_seq.d` beside it) lists them: a test-only file (`model_test.rs`) or a
/// manifest change outside the module's build (a `[[bench]]` edit) does not make it
/// stale, since `cargo build --release` would not rebuild it for those. Without a
/// dep-info file, every file under `src/` and `crates/seq-core/src/` counts.
pub fn module_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SEQ_TEST_MODULE") {
        return PathBuf::from(path);
    }
    let build = if cfg!(debug_assertions) { "cargo build" } else { "cargo build --release" };
    let path = profile_dir().join("libredis_seq.so");
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or_else(|_| {
        panic!("{} is missing: run `{build}` (./test.sh does) before the integration tests", path.display())
    });
    if let Some((newest, changed)) = module_sources(&path).iter().filter_map(|p| newest_mtime(p)).max() {
        assert!(
            built >= newest,
            "{} is older than {}: run `{build}` before the integration tests",
            path.display(),
            changed.display()
        );
    }
    path
}

/// `<target>/<profile>`, from this executable's path (`<target>/<profile>/deps/<exe>` for
/// tests and benchmarks, `.../examples/<exe>` for examples); `target/release` or
/// `target/debug` by the build's assertions if that path is unusual.
fn profile_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let parent = exe.parent()?;
        let name = parent.file_name()?;
        if name == "deps" || name == "examples" {
            parent.parent().map(Path::to_path_buf)
        } else {
            None
        }
    });
    from_exe.unwrap_or_else(|| {
        let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(profile)
    })
}

/// The newest modification time of a file or of any file under a directory, with its path.
/// The files `module` was built from: its dep-info file's list (`<module>: <file> <file> ...`,
/// spaces inside a path escaped as `\ `), or the source directories when there is none.
fn module_sources(module: &Path) -> Vec<PathBuf> {
    let dep_info = std::fs::read_to_string(module.with_extension("d")).unwrap_or_default();
    let files = dep_info.split_once(": ").map_or("", |(_, files)| files).replace("\\ ", "\0");
    let listed: Vec<PathBuf> = files.split_whitespace().map(|f| PathBuf::from(f.replace('\0', " "))).collect();
    if listed.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        return vec![root.join("src"), root.join("crates/seq-core/src")];
    }
    listed
}

fn newest_mtime(path: &Path) -> Option<(SystemTime, PathBuf)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return Some((meta.modified().ok()?, path.to_path_buf()));
    }
    std::fs::read_dir(path).ok()?.filter_map(|e| e.ok()).filter_map(|e| newest_mtime(&e.path())).max()
}

/// The `seq-migrate` binary of this build profile (`cargo build --release` builds it with
/// the module: it is a default member of the workspace).
pub fn migrate_tool() -> PathBuf {
    let path = profile_dir().join("seq-migrate");
    assert!(path.exists(), "{} is missing: run `cargo build --release` (./test.sh does) first", path.display());
    path
}

/// Valkey's server: `$SEQ_TEST_VALKEY_SERVER`, else the one `scripts/install-valkey.sh`
/// installs (it prints its bin directory). Panics, naming both, when neither gives one:
/// a test that needs Valkey fails rather than skips.
pub fn valkey_server() -> PathBuf {
    if let Some(path) = std::env::var_os("SEQ_TEST_VALKEY_SERVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-valkey.sh");
    let out = Command::new(&script).output().unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let bin = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let server = Path::new(&bin).join("valkey-server");
    assert!(
        out.status.success() && server.exists(),
        "no Valkey server: set SEQ_TEST_VALKEY_SERVER or let {} install it ({}): {}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    server
}
