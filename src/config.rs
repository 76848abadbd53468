//! The TOML configuration: what it may say, the embedded default, and validation whose messages
//! name the file, line and key at fault.

use ipnet::IpNet;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use toml::Spanned;
use wardgate_radius::SharedSecret;

/// The secret of the demo client in the embedded default (FreeRADIUS's first-run secret).
pub const DEMO_SECRET: &str = "testing123";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    client: Vec<Spanned<RawClient>>,
    eap_tls: Option<RawEapTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEapTls {
    certificate: PathBuf,
    private_key: PathBuf,
    ca_files: Vec<PathBuf>,
    #[serde(default)]
    crl_files: Vec<PathBuf>,
    min_tls: Option<String>,
    max_tls: Option<String>,
    fragment_size: Option<usize>,
}

/// The `[eap_tls]` table: where the server certificate, its key, the client trust anchors and
/// the CRLs are (resolved against the config file's folder), and the TLS settings. The files are
/// read by [`crate::server::eap_tls::load`] at start and on SIGHUP; `lines` says where each key
/// is, so errors about a file name file:line and key.
#[derive(Debug, Clone)]
pub struct EapTlsFiles {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    pub ca_files: Vec<PathBuf>,
    pub crl_files: Vec<PathBuf>,
    pub min_tls: wardgate_eap::tls::TlsVersion,
    pub max_tls: wardgate_eap::tls::TlsVersion,
    pub fragment_size: usize,
    /// "file:line: eap_tls.key" for each key, for error messages.
    pub origin: std::collections::BTreeMap<&'static str, String>,
}

impl EapTlsFiles {
    /// "file:line: eap_tls.key", where `key` is written.
    pub fn at(&self, key: &str) -> String {
        self.origin
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("eap_tls.{key}"))
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    data_dir: Option<PathBuf>,
    auth_listen: Option<Vec<String>>,
    acct_listen: Option<Vec<String>>,
    log_format: Option<String>,
    dictionary: Option<PathBuf>,
    workers: Option<usize>,
    inventory_poll_ms: Option<u64>,
    duplicate_window_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    spool: Option<PathBuf>,
    batch_size: Option<usize>,
    flush_ms: Option<u64>,
    queue_capacity: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: String,
    address: String,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    #[serde(default = "default_vendor")]
    vendor: String,
    #[serde(default = "yes")]
    require_message_authenticator: bool,
    #[serde(default = "yes")]
    limit_proxy_state: bool,
    #[serde(default)]
    mab_password: MabPassword,
    #[serde(default)]
    tag_zero_octet: bool,
}

fn default_vendor() -> String {
    "generic".into()
}

fn yes() -> bool {
    true
}

/// How the MAB password of a NAS is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MabPassword {
    /// User-Password (or CHAP-Password) must be the MAC, in any spelling (what Cisco, Aruba, HPE send).
    #[default]
    Mac,
    /// The password is not checked (ISE's "process host lookup").
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Vendors a client may name: the ones whose roles the policy can render
/// (`wardgate_policy::RENDERED_VENDORS`), plus `generic` (RFC attributes only) and `dlink`
/// (RFC attributes, with the tag octet written).
pub fn vendors() -> impl Iterator<Item = &'static str> {
    ["generic", "dlink"]
        .into_iter()
        .chain(wardgate_policy::RENDERED_VENDORS)
}

/// A NAS client: who may send us requests and with which secret.
#[derive(Debug, Clone)]
pub struct Client {
    pub name: String,
    pub network: IpNet,
    pub secret: SharedSecret,
    pub vendor: String,
    pub require_message_authenticator: bool,
    pub limit_proxy_state: bool,
    pub mab_password: MabPassword,
    pub tag_zero_octet: bool,
    /// Only the embedded default's demo client.
    pub test_secret: bool,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, or None for the embedded default.
    pub source: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub auth_listen: Vec<SocketAddr>,
    pub acct_listen: Vec<SocketAddr>,
    pub log_format: LogFormat,
    pub dictionary: PathBuf,
    pub database_url: String,
    pub policy_dir: PathBuf,
    pub audit_spool: PathBuf,
    pub audit_batch_size: usize,
    pub audit_flush_ms: u64,
    pub audit_queue_capacity: usize,
    pub workers: usize,
    pub inventory_poll_ms: u64,
    pub duplicate_window_secs: u64,
    pub clients: Vec<Client>,
    /// `[eap_tls]`; None: EAP-TLS is not enabled.
    pub eap_tls: Option<EapTlsFiles>,
    /// Non-fatal findings (weak secrets and the like), printed at start.
    pub warnings: Vec<String>,
}

/// Every problem found in a configuration, each naming file:line and key.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        wardgate_types::write_lines(f, &self.0)
    }
}

impl std::error::Error for ConfigErrors {}

/// The folder holding the shipped resources (policies/, dictionaries/): the current folder when it
/// has them, otherwise the source tree this binary was built from.
pub fn resource_dir(name: &str) -> PathBuf {
    let here = PathBuf::from(name);
    if here.exists() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if built.exists() {
        return built;
    }
    here
}

/// Where the data folder is when no config says: `$WARDGATE_DATA_DIR`, else `./data`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("WARDGATE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("wardgate.db").display())
}

impl Config {
    /// The embedded default: loopback listeners, SQLite in the data folder, the example policies
    /// and a demo client for 127.0.0.0/8 with the well-known test secret.
    pub fn embedded_default() -> Config {
        let text = format!(
            r#"
[[client]]
name = "localhost-demo"
address = "127.0.0.0/8"
secret = "{DEMO_SECRET}"
vendor = "generic"
"#
        );
        // The embedded text is fixed and valid: a failure here is a programming error caught by tests.
        match Self::from_toml_str(&text, None) {
            Ok(mut c) => {
                for cl in &mut c.clients {
                    cl.test_secret = true;
                }
                c.warnings.clear();
                c
            }
            Err(e) => unreachable_default(e),
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("{}: cannot read: {e}", path.display())]))?;
        Self::from_toml_str(&text, Some(path))
    }

    pub fn from_toml_str(text: &str, path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let file = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<embedded default>".into());
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let start = e.span().map(|s| s.start).unwrap_or(0);
            let line = line_of(start);
            // The key on that line, so the message names it even for type errors.
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_string())
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            let mut message = e.message().trim_end().to_string();
            if key.as_deref().is_some_and(|k| k.contains("secret")) {
                // Never echo what may be a secret.
                message = "must be a string".into();
            }
            ConfigErrors(vec![match key {
                Some(k) => format!("{file}:{line}: {k}: {message}"),
                None => format!("{file}:{line}: {message}"),
            }])
        })?;
        // The line of `key` in `[section]`, for messages about values that parsed but are wrong.
        let key_line = |section: &str, key: &str| -> usize {
            let mut current = String::new();
            for (i, l) in text.lines().enumerate() {
                let t = l.trim();
                if let Some(h) = t.strip_prefix('[') {
                    current = h.trim_matches(|c| c == '[' || c == ']').trim().to_string();
                } else if current == section
                    && t.split_once('=').is_some_and(|(k, _)| k.trim() == key)
                {
                    return i + 1;
                }
            }
            1
        };
        let base = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let mut errors = Vec::new();
        let mut warnings = Vec::new();

        let data_dir = raw
            .server
            .data_dir
            .map(&rel)
            .unwrap_or_else(default_data_dir);
        let parse_addrs = |key: &str,
                           v: Option<Vec<String>>,
                           default: &str,
                           errors: &mut Vec<String>| {
            let list = v.unwrap_or_else(|| vec![default.to_string()]);
            let mut out = Vec::new();
            for a in list {
                match a.parse::<SocketAddr>() {
                    Ok(s) => out.push(s),
                    Err(_) => errors.push(format!(
                                                "{file}:{}: server.{key}: {a:?} is not an address:port (for example \"127.0.0.1:1812\" or \"[::1]:1812\")",
                        key_line("server", key)
                    )),
                }
            }
            out
        };
        let auth_listen = parse_addrs(
            "auth_listen",
            raw.server.auth_listen,
            "127.0.0.1:1812",
            &mut errors,
        );
        let acct_listen = parse_addrs(
            "acct_listen",
            raw.server.acct_listen,
            "127.0.0.1:1813",
            &mut errors,
        );
        let all: Vec<(&str, &SocketAddr)> = auth_listen
            .iter()
            .map(|a| ("auth_listen", a))
            .chain(acct_listen.iter().map(|a| ("acct_listen", a)))
            .collect();
        for (i, (key, a)) in all.iter().enumerate() {
            let clash = all[..i].iter().find(|(_, b)| {
                a.port() != 0
                    && a.port() == b.port()
                    && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
            });
            if let Some((other_key, b)) = clash
                && !(*key == "acct_listen" && *other_key == "auth_listen" && a == b)
            {
                errors.push(format!(
                    "{file}:{}: server.{key}: {a} takes the same port as {b} in server.{other_key}",
                    key_line("server", key)
                ));
            }
        }
        for a in &auth_listen {
            // Port 0 asks the system for a free port: those never collide.
            if a.port() != 0 && acct_listen.contains(a) {
                errors.push(format!(
                    "{file}:{}: server.acct_listen: {a} is also in server.auth_listen; authentication and accounting need their own ports",
                    key_line("server", "acct_listen")
                ));
            }
        }
        let log_format = match raw.server.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(o) => {
                errors.push(format!(
                    "{file}:{}: server.log_format: {o:?} is not one of \"text\", \"json\"",
                    key_line("server", "log_format")
                ));
                LogFormat::Text
            }
        };
        let dictionary = raw
            .server
            .dictionary
            .map(&rel)
            .unwrap_or_else(|| resource_dir("dictionaries").join("dictionary"));
        // With a config file, the policy folder defaults to `policies` beside it; with the embedded
        // default, to ./policies (or the source tree's).
        let policy_dir = raw.policy.dir.map(&rel).unwrap_or_else(|| match path {
            Some(_) => base.join("policies"),
            None => resource_dir("policies"),
        });
        let database_url = match raw.database.url {
            None => default_database_url(&data_dir),
            // A relative SQLite path is relative to this file's folder, like every other path.
            Some(u) => match u
                .strip_prefix("sqlite://")
                .or_else(|| u.strip_prefix("sqlite:"))
            {
                Some(p) if !p.starts_with('/') && !p.starts_with(':') && path.is_some() => {
                    format!("sqlite://{}", base.join(p).display())
                }
                _ => u,
            },
        };
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            errors.push(format!(
                "{file}:{}: database.url: must start with sqlite:// or postgres:// (got a {}-character value)",
                key_line("database", "url"),
                database_url.len()
            ));
        }
        let audit_spool = raw
            .audit
            .spool
            .map(&rel)
            .unwrap_or_else(|| data_dir.join("audit.spool"));

        let mut clients: Vec<Client> = Vec::new();
        for (i, sc) in raw.client.into_iter().enumerate() {
            let line = line_of(sc.span().start);
            let c = sc.into_inner();
            // The line of `key` inside this [[client]] block (the header's line if absent).
            let at = |key: &str| {
                let key_at = text
                    .lines()
                    .enumerate()
                    .skip(line)
                    .take_while(|(_, l)| !l.trim_start().starts_with('['))
                    .find(|(_, l)| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
                    .map_or(line, |(n, _)| n + 1);
                format!("{file}:{key_at}: client[{i}] ({}).{key}", c.name)
            };
            if c.name.trim().is_empty() {
                errors.push(format!("{}: a client needs a name", at("name")));
                continue;
            }
            if c.secret.as_deref().is_some_and(|s| s.trim() != s) {
                warnings.push(format!(
                    "{}: the secret begins or ends with white space, which is part of the secret",
                    at("secret")
                ));
            }
            let network = match parse_network(&c.address) {
                Ok(n) => n,
                Err(e) => {
                    errors.push(format!("{}: {e}", at("address")));
                    continue;
                }
            };
            if let Some(prev) = clients.iter().find(|p| p.name == c.name) {
                errors.push(format!(
                    "{}: the name {:?} is already used by the client at {}; names identify the NAS in the audit trail and in policies",
                    at("name"),
                    c.name,
                    prev.network
                ));
                continue;
            }
            let secret = match (&c.secret, &c.secret_file) {
                (Some(s), None) => s.clone(),
                (None, Some(p)) => match std::fs::read_to_string(rel(p.clone())) {
                    Ok(s) => s.trim_end_matches(['\r', '\n']).to_string(),
                    Err(e) => {
                        errors.push(format!(
                            "{}: cannot read {}: {e}",
                            at("secret_file"),
                            p.display()
                        ));
                        continue;
                    }
                },
                (Some(_), Some(_)) => {
                    errors.push(format!(
                        "{}: give secret or secret_file, not both",
                        at("secret")
                    ));
                    continue;
                }
                (None, None) => {
                    errors.push(format!(
                        "{}: a shared secret is required (secret or secret_file)",
                        at("secret")
                    ));
                    continue;
                }
            };
            if secret.is_empty() {
                errors.push(format!("{}: the shared secret is empty", at("secret")));
                continue;
            }
            if secret.len() <= 8 {
                warnings.push(format!(
                    "{}: the shared secret has {} characters; 8 or fewer is weak, use 16 or more",
                    at("secret"),
                    secret.len()
                ));
            }
            if !vendors().any(|v| v == c.vendor) {
                errors.push(format!(
                    "{}: {:?} is not a known vendor ({})",
                    at("vendor"),
                    c.vendor,
                    vendors().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            if !c.require_message_authenticator {
                warnings.push(format!(
                    "{}: require_message_authenticator = false leaves this client open to BlastRADIUS (CVE-2024-3596)",
                    at("require_message_authenticator")
                ));
            }
            if let Some(prev) = clients.iter().find(|p| p.network == network) {
                errors.push(format!(
                    "{}: {network} is already the address of client {:?}",
                    at("address"),
                    prev.name
                ));
                continue;
            }
            clients.push(Client {
                name: c.name,
                network,
                secret: SharedSecret::new(secret.into_bytes()),
                tag_zero_octet: c.tag_zero_octet || c.vendor == "dlink",
                vendor: c.vendor,
                require_message_authenticator: c.require_message_authenticator,
                limit_proxy_state: c.limit_proxy_state,
                mab_password: c.mab_password,
                test_secret: false,
            });
        }
        if clients.is_empty() && errors.is_empty() {
            warnings.push(format!(
                "{file}: no [[client]] is configured: every request will be dropped"
            ));
        }
        let audit_batch_size = raw.audit.batch_size.unwrap_or(256);
        if audit_batch_size == 0 {
            errors.push(format!(
                "{file}:{}: audit.batch_size: must be at least 1",
                key_line("audit", "batch_size")
            ));
        }
        let audit_flush_ms = raw.audit.flush_ms.unwrap_or(200);
        if audit_flush_ms == 0 {
            errors.push(format!(
                "{file}:{}: audit.flush_ms: must be at least 1",
                key_line("audit", "flush_ms")
            ));
        }
        let audit_queue_capacity = raw.audit.queue_capacity.unwrap_or(65536);
        if audit_queue_capacity == 0 {
            errors.push(format!(
                "{file}:{}: audit.queue_capacity: must be at least 1",
                key_line("audit", "queue_capacity")
            ));
        }
        let eap_tls = raw.eap_tls.and_then(|t| {
            use wardgate_eap::tls::TlsVersion;
            let mut origin = std::collections::BTreeMap::new();
            for key in [
                "certificate",
                "private_key",
                "ca_files",
                "crl_files",
                "min_tls",
                "max_tls",
                "fragment_size",
            ] {
                origin.insert(
                    key,
                    format!("{file}:{}: eap_tls.{key}", key_line("eap_tls", key)),
                );
            }
            let mut ok = true;
            let mut version =
                |key: &'static str, v: Option<String>, default: TlsVersion| match v.as_deref() {
                    None => default,
                    Some("1.2") => TlsVersion::Tls12,
                    Some("1.3") => TlsVersion::Tls13,
                    Some(o) => {
                        errors.push(format!(
                            "{}: {o:?} is not one of \"1.2\", \"1.3\"",
                            origin[key]
                        ));
                        ok = false;
                        default
                    }
                };
            let min_tls = version("min_tls", t.min_tls, TlsVersion::Tls12);
            let max_tls = version("max_tls", t.max_tls, TlsVersion::Tls13);
            if min_tls > max_tls {
                errors.push(format!(
                    "{}: the minimum TLS version is above max_tls",
                    origin["min_tls"]
                ));
                ok = false;
            }
            let fragment_size = t.fragment_size.unwrap_or(1000);
            if !(64..=16_384).contains(&fragment_size) {
                errors.push(format!(
                    "{}: {fragment_size} is not between 64 and 16384 octets",
                    origin["fragment_size"]
                ));
                ok = false;
            }
            if t.ca_files.is_empty() {
                errors.push(format!(
                    "{}: name at least one CA file: client certificates are verified against it",
                    origin["ca_files"]
                ));
                ok = false;
            }
            ok.then(|| EapTlsFiles {
                certificate: rel(t.certificate),
                private_key: rel(t.private_key),
                ca_files: t.ca_files.into_iter().map(&rel).collect(),
                crl_files: t.crl_files.into_iter().map(&rel).collect(),
                min_tls,
                max_tls,
                fragment_size,
                origin,
            })
        });
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Config {
            eap_tls,
            source: path.map(Path::to_path_buf),
            data_dir,
            auth_listen,
            acct_listen,
            log_format,
            dictionary,
            database_url,
            policy_dir,
            audit_spool,
            audit_batch_size,
            audit_flush_ms,
            audit_queue_capacity,
            workers: raw.server.workers.unwrap_or(0),
            inventory_poll_ms: raw.server.inventory_poll_ms.unwrap_or(1000).max(50),
            duplicate_window_secs: raw.server.duplicate_window_secs.unwrap_or(30),
            clients,
            warnings,
        })
    }

    /// The client a datagram from `addr` belongs to: the most specific prefix wins.
    #[cfg(test)]
    pub fn client_for(&self, addr: IpAddr) -> Option<&Client> {
        find_client(&self.clients, addr)
    }
}

pub fn find_client(clients: &[Client], addr: IpAddr) -> Option<&Client> {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    };
    clients
        .iter()
        .filter(|c| c.network.contains(&addr))
        .max_by_key(|c| c.network.prefix_len())
}

fn parse_network(s: &str) -> Result<IpNet, String> {
    if let Ok(n) = s.parse::<IpNet>() {
        if n.trunc() != n {
            return Err(format!(
                "{s:?} has host bits set; did you mean \"{}\" (the prefix) or \"{}\" (one address)?",
                n.trunc(),
                n.addr()
            ));
        }
        return Ok(n);
    }
    match s.parse::<IpAddr>() {
        // Requests from IPv4-mapped addresses are seen as IPv4: configure them as such.
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => Err(format!(
            "{s:?} is an IPv4-mapped address; write the IPv4 address {}",
            v6.to_ipv4_mapped()
                .map(|a| a.to_string())
                .unwrap_or_default()
        )),
        Ok(a) => Ok(IpNet::from(a)),
        Err(_) => Err(format!("{s:?} is not an IP address or prefix")),
    }
}

/// A database URL fit to print: passwords (user:password@, ?password=) are left out.
pub fn redact_url(url: &str) -> String {
    // postgres://user:password@host/db?password=...: never print a password.
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let main = match (main.find("://"), main.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = main[s + 3..at].split(':').next().unwrap_or("");
            format!("{}{}@{}", &main[..s + 3], user, &main[at + 1..])
        }
        _ => main.to_string(),
    };
    match query {
        None => main,
        Some(q) => {
            let params: Vec<String> = q
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("pass") => {
                        format!("{k}=<redacted>")
                    }
                    _ => p.to_string(),
                })
                .collect();
            format!("{main}?{}", params.join("&"))
        }
    }
}

#[cold]
fn unreachable_default(e: ConfigErrors) -> Config {
    // Cannot happen with the fixed default text; keep serving with no client rather than panic.
    tracing::error!("embedded default configuration is invalid: {e}");
    Config {
        source: None,
        data_dir: default_data_dir(),
        auth_listen: vec![],
        acct_listen: vec![],
        log_format: LogFormat::Text,
        dictionary: resource_dir("dictionaries").join("dictionary"),
        database_url: default_database_url(&default_data_dir()),
        policy_dir: resource_dir("policies"),
        audit_spool: default_data_dir().join("audit.spool"),
        audit_batch_size: 256,
        audit_flush_ms: 200,
        audit_queue_capacity: 65536,
        workers: 0,
        inventory_poll_ms: 1000,
        duplicate_window_secs: 30,
        clients: vec![],
        eap_tls: None,
        warnings: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_listens_on_loopback_with_the_demo_client() {
        let c = Config::embedded_default();
        assert_eq!(c.auth_listen, vec!["127.0.0.1:1812".parse().unwrap()]);
        assert_eq!(c.acct_listen, vec!["127.0.0.1:1813".parse().unwrap()]);
        assert_eq!(c.clients.len(), 1);
        assert!(c.clients[0].test_secret);
        assert_eq!(c.clients[0].secret.as_bytes(), DEMO_SECRET.as_bytes());
        assert!(c.client_for("127.9.9.9".parse().unwrap()).is_some());
        assert!(c.client_for("10.0.0.1".parse().unwrap()).is_none());
        assert!(c.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "[server]\nlog_format = \"xml\"\n\n[[client]]\nname = \"sw1\"\naddress = \"10.0.0.300\"\nsecret = \"0123456789abcdef\"\n";
        let e = Config::from_toml_str(text, Some(Path::new("/etc/wardgate.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.log_format"), "{e}");
        assert!(
            e.contains("/etc/wardgate.toml:6: client[0] (sw1).address"),
            "{e}"
        );
    }

    #[test]
    fn type_errors_name_the_key_and_never_echo_a_secret() {
        let text = "[server]\nduplicate_window_secs = \"30\"\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("w.toml:2: duplicate_window_secs:"), "{e}");
        let text = "[[client]]\nname = \"a\"\naddress = \"10.0.0.1\"\nsecret = 98765432109876543\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("w.toml:4: secret:"), "{e}");
        assert!(!e.contains("98765432109876543"), "{e}");
        let text = "[server]\nauth_listen = [\"127.0.0.1:99999\"]\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("w.toml:2: server.auth_listen:"), "{e}");
    }

    #[test]
    fn eap_tls_table_paths_defaults_and_errors() {
        use wardgate_eap::tls::TlsVersion;
        let c = Config::from_toml_str("", None).unwrap();
        assert!(c.eap_tls.is_none(), "no table: EAP-TLS not enabled");
        let text = "[eap_tls]\ncertificate = \"tls/server.pem\"\nprivate_key = \"tls/server.key\"\nca_files = [\"tls/ca.pem\", \"/etc/pki/other.pem\"]\n";
        let c = Config::from_toml_str(text, Some(Path::new("/etc/wardgate/w.toml"))).unwrap();
        let t = c.eap_tls.unwrap();
        assert_eq!(t.certificate, Path::new("/etc/wardgate/tls/server.pem"));
        assert_eq!(t.ca_files[1], Path::new("/etc/pki/other.pem"));
        assert_eq!(
            (t.min_tls, t.max_tls),
            (TlsVersion::Tls12, TlsVersion::Tls13)
        );
        assert_eq!(t.fragment_size, 1000);
        assert!(t.crl_files.is_empty());
        assert_eq!(
            t.at("private_key"),
            "/etc/wardgate/w.toml:3: eap_tls.private_key"
        );

        let text = "[eap_tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca_files = []\nmin_tls = \"1.3\"\nmax_tls = \"1.2\"\nfragment_size = 10\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml:4: eap_tls.ca_files"), "{e}");
        assert!(e.contains("w.toml:5: eap_tls.min_tls"), "{e}");
        assert!(e.contains("w.toml:7: eap_tls.fragment_size"), "{e}");
        let text = "[eap_tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca_files = [\"ca.pem\"]\nmax_tls = \"1.1\"\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml:5: eap_tls.max_tls: \"1.1\""), "{e}");
    }

    #[test]
    fn eap_tls_files_that_cannot_be_read_name_the_key() {
        let text = "[eap_tls]\ncertificate = \"missing.pem\"\nprivate_key = \"missing.key\"\nca_files = [\"ca.pem\"]\n";
        let c = Config::from_toml_str(text, Some(Path::new("/nonexistent/w.toml"))).unwrap();
        let e = crate::server::eap_tls::load(&c.eap_tls.unwrap()).unwrap_err();
        assert!(
            e.starts_with("/nonexistent/w.toml:2: eap_tls.certificate: /nonexistent/missing.pem"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let text = "[database]\nurl = \"sqlite://data/w.db\"\n";
        let c = Config::from_toml_str(text, Some(Path::new("/etc/wardgate/w.toml"))).unwrap();
        assert_eq!(c.database_url, "sqlite:///etc/wardgate/data/w.db");
        assert_eq!(c.policy_dir, Path::new("/etc/wardgate/policies"));
        let text = "[database]\nurl = \"sqlite:///var/lib/w.db\"\n";
        let c = Config::from_toml_str(text, Some(Path::new("/etc/wardgate/w.toml"))).unwrap();
        assert_eq!(c.database_url, "sqlite:///var/lib/w.db");
    }

    #[test]
    fn shared_ports_duplicate_names_and_host_bits_are_refused() {
        let text = "[server]\nauth_listen = [\"127.0.0.1:1812\"]\nacct_listen = [\"127.0.0.1:1812\"]\n[[client]]\nname = \"a\"\naddress = \"10.0.0.5/24\"\nsecret = \"0123456789abcdef\"\n[[client]]\nname = \"b\"\naddress = \"10.0.1.1\"\nsecret = \"0123456789abcdef\"\n[[client]]\nname = \"b\"\naddress = \"10.0.1.2\"\nsecret = \"0123456789abcdef\"\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml:3: server.acct_listen"), "{e}");
        assert!(e.contains("host bits"), "{e}");
        assert!(e.contains("10.0.0.0/24"), "{e}");
        assert!(e.contains("(b).name"), "{e}");
    }

    #[test]
    fn client_errors_point_at_the_key_and_listeners_may_not_overlap() {
        let text = "[server]\nauth_listen = [\"0.0.0.0:1812\", \"127.0.0.1:1812\"]\n[audit]\nflush_ms = 0\n[[client]]\nname = \"a\"\naddress = \"10.0.0.1\"\nsecret = \"0123456789abcdef\"\nvendor = \"acme\"\n[[client]]\nname = \"\"\naddress = \"::ffff:10.0.0.2\"\nsecret = \"0123456789abcdef\"\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml:9: client[0] (a).vendor"), "{e}");
        assert!(
            e.contains("w.toml:2: server.auth_listen: 127.0.0.1:1812 takes the same port"),
            "{e}"
        );
        assert!(e.contains("w.toml:4: audit.flush_ms"), "{e}");
        assert!(e.contains("a client needs a name"), "{e}");
    }

    #[test]
    fn unknown_key_is_refused_with_its_line() {
        let text = "[server]\nauth_listen = [\"127.0.0.1:1812\"]\nbogus = 1\n";
        let e = Config::from_toml_str(text, Some(Path::new("w.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("w.toml:3:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn most_specific_prefix_wins_and_weak_secret_warns() {
        let text = r#"
[[client]]
name = "campus"
address = "10.0.0.0/8"
secret = "short"
[[client]]
name = "sw1"
address = "10.1.2.3"
secret = "a-long-enough-secret"
vendor = "cisco"
"#;
        let c = Config::from_toml_str(text, None).unwrap();
        assert_eq!(
            c.client_for("10.1.2.3".parse().unwrap()).unwrap().name,
            "sw1"
        );
        assert_eq!(
            c.client_for("10.1.2.4".parse().unwrap()).unwrap().name,
            "campus"
        );
        assert_eq!(
            c.client_for("::ffff:10.1.2.3".parse().unwrap())
                .unwrap()
                .name,
            "sw1"
        );
        assert!(
            c.warnings.iter().any(|w| w.contains("weak")),
            "{:?}",
            c.warnings
        );
        assert!(!format!("{:?}", c.clients).contains("a-long-enough-secret"));
    }

    #[test]
    fn unknown_vendor_and_missing_secret_are_errors() {
        let text = "[[client]]\nname = \"a\"\naddress = \"10.0.0.1\"\nvendor = \"acme\"\nsecret = \"0123456789\"\n[[client]]\nname = \"b\"\naddress = \"10.0.0.2\"\n";
        let e = Config::from_toml_str(text, None).unwrap_err().to_string();
        assert!(e.contains("(a).vendor"), "{e}");
        assert!(e.contains("(b).secret: a shared secret is required"), "{e}");
    }

    #[test]
    fn shipped_example_config_parses() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("cisco-access");
        std::fs::write(&secret, "a-long-secret-from-a-file\n").unwrap();
        let text = include_str!("../packaging/wardgate.toml").replace(
            "/etc/wardgate/secrets/cisco-access",
            secret.to_str().unwrap(),
        );
        let c = Config::from_toml_str(&text, Some(&dir.path().join("wardgate.toml"))).unwrap();
        assert_eq!(c.clients.len(), 2);
        assert_eq!(c.clients[0].secret.as_bytes(), b"a-long-secret-from-a-file");
        assert_eq!(c.clients[1].vendor, "aruba");
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }
    #[test]
    fn database_passwords_are_never_printed() {
        assert_eq!(
            redact_url("postgres://wg:s3cret@db.example:5432/wardgate?sslmode=require&password=q"),
            "postgres://wg@db.example:5432/wardgate?sslmode=require&password=<redacted>"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/w.db"),
            "sqlite:///var/lib/w.db"
        );
    }
}
