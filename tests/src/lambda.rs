//! Lambda functions as compiled binaries: `cargo lambda watch` runs the Lambda runtime emulator
//! and `cargo lambda invoke --data-file events/...` sends it an event.

use crate::{free_port, tool, unique, workspace_root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo lambda watch`, killed with its whole process group when dropped.
pub struct Watch {
    child: Child,
    pub port: u16,
}

impl Drop for Watch {
    /// SIGTERM first; cargo-lambda 1.9 sometimes keeps running after it, so SIGKILL the group
    /// if it has not exited within five seconds. The signal goes as `-s NAME -- -PGID`: procps-ng
    /// 4.0.2 reads `kill -TERM -PGID` as `kill(-1, SIGTERM)`, which signals every process.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal_group = |signal: &str| {
            let _ = Command::new("kill")
                .args(["-s", signal, "--", &group])
                .status();
        };
        signal_group("TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group("KILL");
        let _ = self.child.wait();
    }
}

pub fn cargo_lambda() -> Command {
    let mut command = Command::new("cargo");
    command.arg("lambda").current_dir(workspace_root());
    // cargo-lambda lives in the project's virtualenv; put it first on PATH.
    let venv_bin = tool("cargo-lambda");
    if let Some(dir) = venv_bin.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{path}", dir.display()));
    }
    command
}

pub fn start_watch(env_file: &Path) -> Watch {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let log_path = workspace_root().join("target/cargo-lambda-watch.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = cargo_lambda()
        .args([
            "watch",
            "--ignore-changes",
            "--invoke-address",
            "127.0.0.1",
            "--timeout",
            "600",
        ])
        .args(["--invoke-port", &port.to_string()])
        .arg("--env-file")
        .arg(env_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("cargo lambda is missing: run the README's test command, which installs it");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "cargo lambda watch exited ({status}); see {}",
                log_path.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not start; see {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    Watch { child, port }
}

/// Writes the functions' environment as `cargo lambda watch --env-file` reads it.
pub fn write_env_file(dir: &Path, pairs: &[(&str, String)]) -> PathBuf {
    let path = dir.join("functions.env");
    std::fs::write(
        &path,
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value:?}\n"))
            .collect::<String>(),
    )
    .unwrap();
    path
}

pub fn events_dir() -> PathBuf {
    workspace_root().join("events")
}

/// Invokes `function` with an events/ file, after replacing `{{NAME}}` placeholders; returns the
/// function's JSON answer, or the error text when the invocation failed (the function returned an
/// error or crashed).
pub fn invoke_event(
    watch: &Watch,
    function: &str,
    event: &str,
    values: &BTreeMap<&str, String>,
) -> Result<Value, String> {
    let path = events_dir().join(function).join(format!("{event}.json"));
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let data_file = std::env::temp_dir().join(format!("{}.json", unique(event)));
    std::fs::write(&data_file, text).unwrap();
    let output = cargo_lambda()
        .args([
            "invoke",
            function,
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &watch.port.to_string(),
        ])
        .arg("--data-file")
        .arg(&data_file)
        .args(["--output-format", "json"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&data_file);
    if !output.status.success() {
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "{event}: not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
