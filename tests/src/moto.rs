//! A moto server on a free loopback port, shared by the tests of one test binary (moto's own
//! WSGI app, served by `tests/support/moto_server.py`).

use crate::{free_port, tool};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    /// moto's own process (stopped and continued by [`Moto::pause`] and [`Moto::resume`]).
    pid: u32,
    /// The watchdog shell; it reaps itself when the test process exits.
    watchdog: std::process::Child,
    /// Killed when dropped (a test's own emulator), or left for the watchdog (the shared one).
    dedicated: bool,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// Starts moto once per test binary. A watchdog shell kills it when this process exits, so no
/// emulator outlives the tests.
pub fn shared() -> &'static Moto {
    MOTO.get_or_init(|| launch(false))
}

/// A moto of the calling test's own, stopped when dropped: for tests that stop the emulator.
pub fn dedicated() -> Moto {
    launch(true)
}

fn launch(dedicated: bool) -> Moto {
    use std::io::BufRead;
    let port = free_port();
    // moto's server, through a launcher that applies DynamoDB requests one at a time as
    // DynamoDB's atomicity requires (see tests/support/moto_server.py).
    let python = tool("python3");
    let launcher = crate::workspace_root().join("tests/support/moto_server.py");
    let script = format!(
        "\"{}\" \"{}\" 127.0.0.1 {port} >/dev/null 2>&1 & child=$!; echo $child; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill -CONT $child; kill $child",
        python.display(),
        launcher.display(),
        parent = std::process::id()
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start moto_server (run the README's test command, which installs it)");
    let mut line = String::new();
    let stdout = watchdog.stdout.take().expect("the watchdog's stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("moto's pid from the watchdog");
    let pid: u32 = line.trim().parse().expect("moto's pid");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && reqwest_blocking_ok(&format!("{endpoint}/moto-api/"));
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Moto {
        endpoint,
        pid,
        watchdog,
        dedicated,
    }
}

impl Moto {
    /// Stops the emulator (SIGSTOP): connections are accepted by the kernel and never answered,
    /// as with a hung dependency.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused emulator go on (SIGCONT), state intact.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -s {name} {}", self.pid);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if self.dedicated {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &self.pid.to_string()])
                .status();
            let _ = self.watchdog.kill();
            let _ = self.watchdog.wait();
        }
    }
}

fn reqwest_blocking_ok(url: &str) -> bool {
    // A raw HTTP/1.0 GET keeps the harness free of a blocking HTTP client.
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}

impl Moto {
    /// Moto's view of its state (sent SES mail, queues, …).
    pub async fn data(&self) -> serde_json::Value {
        reqwest::get(format!("{}/moto-api/data.json", self.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
