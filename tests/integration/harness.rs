//! Starts the real `wardgate` binary on ephemeral loopback ports with a config written for the
//! test, and drives it with the real radclient.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SECRET: &str = "testing123-long-secret";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wardgate")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running server and its temporary folder.
pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub auth: SocketAddr,
    pub acct: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
    pub config: PathBuf,
    pub database_url: Option<String>,
}

pub struct Options {
    pub policy_dir: PathBuf,
    pub clients: String,
    pub devices_csv: Option<String>,
    /// None: SQLite in the test's data folder.
    pub database_url: Option<String>,
    /// Appended to the config as written (e.g. an `[eap_tls]` table).
    pub extra_config: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy_dir: repo().join("policies"),
            clients: format!(
                "[[client]]\nname = \"sw-test\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\nvendor = \"generic\"\n"
            ),
            devices_csv: None,
            database_url: None,
            extra_config: String::new(),
        }
    }
}

impl Server {
    pub fn start(opts: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("wardgate.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\ndata_dir = \"{data}\"\nauth_listen = [\"127.0.0.1:0\"]\nacct_listen = [\"127.0.0.1:0\"]\nlog_format = \"json\"\ninventory_poll_ms = 100\ndictionary = \"{dict}\"\n\n[policy]\ndir = \"{policy}\"\n\n[audit]\nflush_ms = 50\n\n{database}{clients}\n{extra}",
                extra = opts.extra_config,
                database = opts
                    .database_url
                    .as_ref()
                    .map(|u| format!("[database]\nurl = \"{u}\"\n\n"))
                    .unwrap_or_default(),
                data = dir.path().join("data").display(),
                dict = repo().join("dictionaries/dictionary").display(),
                policy = opts.policy_dir.display(),
                clients = opts.clients,
            ),
        )
        .unwrap();
        if let Some(csv) = &opts.devices_csv {
            let f = dir.path().join("devices.csv");
            std::fs::write(&f, csv).unwrap();
            let out = wardgate(&config, &["devices", "import", f.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "import failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut child = Command::new(bin())
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("WARDGATE_LOG", "info,wardgate=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                l2.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let l3 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                l3.lock().unwrap().push(line);
            }
        });
        let (mut auth, mut acct) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while auth.is_none() || acct.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => panic!(
                    "server did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                ),
            };
            if let Some(a) = after(&line, "auth listening on ") {
                auth = Some(a);
            }
            if let Some(a) = after(&line, "accounting listening on ") {
                acct = Some(a);
            }
        }
        Server {
            child,
            dir,
            auth: auth.unwrap(),
            acct: acct.unwrap(),
            log,
            config,
            database_url: opts.database_url.clone(),
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        self.wait_log_count(needle, 1);
    }

    /// Waits until `n` log lines contain `needle`.
    pub fn wait_log_count(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count()
                >= n
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("log never showed {needle:?}:\n{}", self.log_text());
    }

    pub fn db_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.dir.path().join("data/wardgate.db").display()
            )
        })
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn after(line: &str, marker: &str) -> Option<SocketAddr> {
    let i = line.find(marker)?;
    let rest = &line[i + marker.len()..];
    let end = rest
        .find(|c: char| c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Runs the wardgate CLI with a config.
pub fn wardgate(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// What radclient printed for one exchange.
#[derive(Debug)]
pub struct RadReply {
    pub ok: bool,
    /// "Access-Accept", "Access-Reject", ... or None when no reply came.
    pub code: Option<String>,
    /// Attribute lines as radclient printed them, e.g. `Tunnel-Private-Group-Id:0 = "120"`.
    pub attrs: Vec<String>,
    pub output: String,
}

impl RadReply {
    pub fn has(&self, attr_line: &str) -> bool {
        self.attrs.iter().any(|a| a == attr_line)
    }
}

/// Sends `attrs` (radclient input syntax, one per line) with radclient `kind` (auth, acct, status).
pub fn radclient(server: SocketAddr, kind: &str, secret: &str, attrs: &str) -> RadReply {
    radclient_in(None, server, kind, secret, attrs)
}

/// Like [`radclient`], inside the network namespace of process `netns_pid` when given.
pub fn radclient_in(
    netns_pid: Option<u32>,
    server: SocketAddr,
    kind: &str,
    secret: &str,
    attrs: &str,
) -> RadReply {
    let mut cmd = match netns_pid {
        Some(pid) => {
            let mut c = Command::new("nsenter");
            c.args(["-t", &pid.to_string(), "-n", "radclient"]);
            c
        }
        None => Command::new("radclient"),
    };
    let mut child = cmd
        .args([
            "-x",
            "-r",
            "1",
            "-t",
            "2",
            &server.to_string(),
            kind,
            secret,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient is installed by scripts/test (freeradius-utils)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(attrs.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut code = None;
    let mut attrs_out = Vec::new();
    let mut in_reply = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Received ") {
            code = rest.split_whitespace().next().map(str::to_string);
            in_reply = true;
            continue;
        }
        if line.starts_with("Sent ") {
            in_reply = false;
            continue;
        }
        if in_reply && (line.starts_with('\t') || line.starts_with("  ")) {
            attrs_out.push(line.trim().to_string());
        }
    }
    RadReply {
        ok: out.status.success(),
        code,
        attrs: attrs_out,
        output: text,
    }
}

/// The standard MAB request a Cisco switch sends, with the MAC spelled as given.
pub fn mab_request(spelling: &str, with_ma: bool) -> String {
    let mut s = format!(
        "User-Name = \"{spelling}\"\nUser-Password = \"{spelling}\"\nCalling-Station-Id = \"{spelling}\"\nService-Type = Call-Check\nNAS-Port-Type = Ethernet\nNAS-Port = 10101\nNAS-IP-Address = 127.0.0.1\n"
    );
    if with_ma {
        s.push_str("Message-Authenticator = 0x00\n");
    }
    s
}

/// Opens the server's store to read audit rows.
pub fn audit_rows(url: &str, min: usize) -> Vec<wardgate_store::AuditRecord> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = wardgate_store::Store::connect(url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rows = store.recent_audit(10_000).await.unwrap();
            if rows.len() >= min || Instant::now() > deadline {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// What eapol_test printed, and whether it succeeded.
pub struct EapolRun {
    pub ok: bool,
    pub output: String,
}

/// Runs the real eapol_test as switch and supplicant against `s`: writes `network` (the body of
/// a wpa_supplicant `network={...}` block) to `conf_name` in the server's folder, and sends as
/// the switch would, with `mac` as Calling-Station-Id. `extra` adds options (`-n`: no MPPE keys
/// expected).
pub fn eapol_test(
    s: &Server,
    conf_name: &str,
    network: &str,
    mac: &str,
    timeout_secs: u32,
    extra: &[&str],
) -> EapolRun {
    let conf = s.dir.path().join(conf_name);
    std::fs::write(&conf, format!("network={{\n{network}}}\n")).unwrap();
    let out = Command::new("eapol_test")
        .args(["-c", conf.to_str().unwrap()])
        .args(["-a", &s.auth.ip().to_string()])
        .args(["-p", &s.auth.port().to_string()])
        .args(["-s", SECRET, "-M", mac, "-t", &timeout_secs.to_string()])
        .args(extra)
        .output()
        .expect("eapol_test is installed by scripts/test (eapoltest)");
    EapolRun {
        ok: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

impl EapolRun {
    /// eapol_test prints each received attribute as `Attribute 81 (Tunnel-Private-Group-Id)
    /// length=N` followed by `Value: 313130`, the octets in hex (a tag octet, if any, first).
    pub fn vlan(&self) -> Option<String> {
        let mut lines = self.output.lines();
        while let Some(l) = lines.next() {
            if l.contains("(Tunnel-Private-Group-Id)") {
                let v = lines.next()?.trim().strip_prefix("Value: ")?;
                let octets: Vec<u8> = (0..v.len() / 2)
                    .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16))
                    .collect::<Result<_, _>>()
                    .ok()?;
                let text = match octets.split_first() {
                    Some((&tag, rest)) if tag < 0x20 => rest,
                    _ => &octets[..],
                };
                return Some(String::from_utf8_lossy(text).into_owned());
            }
        }
        None
    }
}
