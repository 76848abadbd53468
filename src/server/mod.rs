//! The RADIUS server: UDP listeners and their workers, the per-NAS transport checks, the reply
//! cache, and the shared state (policy, clients, inventory snapshot, audit) they read.

pub mod acct;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod decision_log;
pub mod eap_sessions;
pub mod eap_tls;
pub mod inventory;
pub mod notices;
pub mod stats;

use crate::config::{Client, Config, find_client};
use crate::dedup::{Key, ReplyCache, Seen};
use anyhow::Context;
use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wardgate_policy::Policy;
use wardgate_radius::dictionary::Dictionary;
use wardgate_radius::{Code, Packet};
use wardgate_store::{AuditConfig, AuditWriter, Store};

use clock::LocalClock;
use inventory::Inventory;
use stats::Stats;

/// What a reload (SIGHUP) swaps as a whole: the policy and the NAS clients.
pub struct Engine {
    pub policy: Policy,
    pub clients: Vec<Client>,
    /// Request attributes the policy refers to, resolved in the dictionary once.
    request_attrs: Vec<(String, Option<u32>, u8)>,
}

impl Engine {
    pub fn new(policy: Policy, clients: Vec<Client>, dict: &Dictionary) -> anyhow::Result<Engine> {
        let mut request_attrs = Vec::new();
        for name in policy.request_attributes() {
            let def = dict.attribute(&name).with_context(|| {
                format!("policy refers to request.\"{name}\", which is not in the dictionary")
            })?;
            request_attrs.push((name.clone(), def.vendor, def.code));
        }
        Ok(Engine {
            policy,
            clients,
            request_attrs,
        })
    }

    fn format_attr(
        &self,
        dict: &Dictionary,
        req: &Packet,
        vendor: Option<u32>,
        code: u8,
    ) -> Option<String> {
        format_attr(dict, req, vendor, code)
    }

    fn request_facts(&self, dict: &Dictionary, req: &Packet) -> BTreeMap<String, Vec<String>> {
        auth::request_facts(dict, &self.request_attrs, req)
    }
}

/// The printable value of the first attribute (vendor, code) in a request.
fn format_attr(dict: &Dictionary, req: &Packet, vendor: Option<u32>, code: u8) -> Option<String> {
    let def = dict.by_code(vendor, code)?;
    let raw = match vendor {
        None => req.attr(code)?,
        Some(v) => req.vsas().find(|x| x.vendor == v && x.typ == code)?.value,
    };
    Some(dict.format_value(def, raw))
}

/// Everything the packet path reads.
pub struct State {
    pub engine: ArcSwap<Engine>,
    pub inventory: Arc<ArcSwap<Inventory>>,
    pub dict: Dictionary,
    pub audit: AuditWriter,
    pub stats: Stats,
    pub clock: LocalClock,
    pub cache: ReplyCache,
    pub notices: notices::DropNotices,
    pub used_eap_states: crate::eap_mab::UsedStates,
    /// `[eap_tls]` built; None: EAP-TLS is not enabled. Swapped on SIGHUP; conversations in
    /// flight keep the configuration they started with.
    pub eap_tls: arc_swap::ArcSwapOption<wardgate_eap::tls::EapTlsConfig>,
    /// EAP-TLS conversations between rounds, keyed by State.
    pub eap_sessions: eap_sessions::EapSessions<wardgate_eap::tls::EapTlsState>,
}

/// How long an EAP conversation waits for the NAS's next round (FreeRADIUS: 60 s).
const EAP_SESSION_LIFETIME: Duration = Duration::from_secs(60);
/// EAP conversations in flight, in all and per NAS.
const EAP_SESSIONS_MAX: usize = 10_000;
const EAP_SESSIONS_PER_NAS: usize = 2_000;

/// Loads the policy folder, reporting every error as file:line; `request."..."` conditions are
/// checked against the dictionary.
pub fn load_policy(dir: &std::path::Path, dict: &Dictionary) -> anyhow::Result<Policy> {
    if !dir.is_dir() {
        anyhow::bail!("policy.dir: {} is not a folder", dir.display());
    }
    Policy::load_dir_checked(dir, &catalog::DictionaryCatalog(dict))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Loads the dictionaries named by `server.dictionary`.
pub fn load_dictionary(path: &std::path::Path) -> anyhow::Result<Dictionary> {
    Dictionary::load(path).map_err(|e| anyhow::anyhow!("server.dictionary: {e}"))
}

/// Opens (and migrates) the configured database; for SQLite, creates the data folder first.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
    }
    Store::connect(&config.database_url).await.map_err(|e| {
        anyhow::anyhow!(
            "database.url {}: {e}",
            crate::config::redact_url(&config.database_url)
        )
    })
}

/// A running server: its bound addresses, for the banner and for tests.
pub struct Running {
    pub auth: Vec<SocketAddr>,
    pub acct: Vec<SocketAddr>,
    pub state: Arc<State>,
}

/// Binds every listener and starts the workers and background tasks.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    let dict = load_dictionary(&config.dictionary)?;
    let policy = load_policy(&config.policy_dir, &dict)?;
    let engine = Engine::new(policy, config.clients.clone(), &dict)?;
    if let Some(parent) = config.audit_spool.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let eap_tls = match &config.eap_tls {
        Some(files) => {
            let c = eap_tls::load(files).map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(
                min_tls = ?files.min_tls,
                max_tls = ?files.max_tls,
                fragment_size = files.fragment_size,
                "EAP-TLS enabled"
            );
            Some(Arc::new(c))
        }
        None => None,
    };
    let store = open_store(config).await?;
    let inventory = Inventory::load(&store)
        .await
        .map_err(|e| anyhow::anyhow!("inventory: {e}"))?;
    let (audit, _audit_task) = AuditWriter::start(
        store.clone(),
        config.audit_spool.clone(),
        AuditConfig {
            batch_size: config.audit_batch_size,
            flush_interval: Duration::from_millis(config.audit_flush_ms),
            queue_capacity: config.audit_queue_capacity,
        },
    );
    tracing::info!(
        devices = inventory.devices.len(),
        policy_version = %engine.policy.version(),
        "policy and inventory loaded"
    );
    let state = Arc::new(State {
        engine: ArcSwap::from_pointee(engine),
        inventory: Arc::new(ArcSwap::from_pointee(inventory)),
        dict,
        audit,
        stats: Stats::default(),
        clock: LocalClock::new(),
        notices: notices::DropNotices::default(),
        used_eap_states: crate::eap_mab::UsedStates::default(),
        eap_tls: arc_swap::ArcSwapOption::new(eap_tls),
        eap_sessions: eap_sessions::EapSessions::new(
            EAP_SESSION_LIFETIME,
            EAP_SESSIONS_MAX,
            EAP_SESSIONS_PER_NAS,
        ),
        cache: ReplyCache::new(Duration::from_secs(config.duplicate_window_secs), 65_536),
    });

    let workers = if config.workers == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        config.workers
    };
    let mut auth = Vec::new();
    for addr in &config.auth_listen {
        auth.push(listen(*addr, Port::Auth, workers, &state)?);
    }
    let mut acct = Vec::new();
    for addr in &config.acct_listen {
        acct.push(listen(*addr, Port::Acct, workers.min(2), &state)?);
    }
    tokio::spawn(inventory::refresh_loop(
        store,
        state.inventory.clone(),
        Duration::from_millis(config.inventory_poll_ms),
    ));
    let st = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_dropped = 0;
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            st.clock.tick();
            n += 1;
            if n.is_multiple_of(60) {
                let dropped = st.stats.dropped();
                if dropped != last_dropped {
                    last_dropped = dropped;
                    log_stats(&st.stats);
                }
            }
        }
    });
    Ok(Running { auth, acct, state })
}

pub fn log_stats(stats: &Stats) {
    let fields: Vec<String> = stats
        .snapshot()
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    tracing::info!("packet counters: {}", fields.join(" "));
}

/// Re-reads the policy (and the clients, from `config_path`) and swaps them in; on any error the
/// running policy stays and the error is logged with file:line.
pub fn reload(state: &State, running: &Config) {
    let result = (|| -> anyhow::Result<Engine> {
        let (clients, dir) = match &running.source {
            Some(p) => {
                let c = Config::load(p).map_err(|e| anyhow::anyhow!("{e}"))?;
                let needs_restart = [
                    ("server.auth_listen", c.auth_listen != running.auth_listen),
                    ("server.acct_listen", c.acct_listen != running.acct_listen),
                    ("database.url", c.database_url != running.database_url),
                    ("server.dictionary", c.dictionary != running.dictionary),
                    ("audit", c.audit_spool != running.audit_spool),
                    ("server.workers", c.workers != running.workers),
                    ("server.log_format", c.log_format != running.log_format),
                ];
                for (key, changed) in needs_restart {
                    if changed {
                        tracing::warn!(
                            "reload: {key} changed; it takes effect only after a restart"
                        );
                    }
                }
                reload_eap_tls(state, c.eap_tls.as_ref());
                (c.clients, c.policy_dir)
            }
            None => (
                state.engine.load().clients.clone(),
                running.policy_dir.clone(),
            ),
        };
        let policy = load_policy(&dir, &state.dict)?;
        Engine::new(policy, clients, &state.dict)
    })();
    match result {
        Ok(engine) => {
            tracing::info!(policy_version = %engine.policy.version(), clients = engine.clients.len(), "reloaded");
            state.engine.store(Arc::new(engine));
        }
        Err(e) => tracing::error!("reload refused, the running policy stays:\n{e:#}"),
    }
}

/// Swaps in the EAP-TLS configuration of a reloaded config file (certificate, key, CAs and CRLs
/// read again); if it does not build, the running one stays.
fn reload_eap_tls(state: &State, files: Option<&crate::config::EapTlsFiles>) {
    match files {
        None => {
            if state.eap_tls.load().is_some() {
                tracing::info!("reload: [eap_tls] removed; EAP-TLS is no longer enabled");
            }
            state.eap_tls.store(None);
        }
        Some(f) => match eap_tls::load(f) {
            Ok(c) => {
                tracing::info!("reload: EAP-TLS certificates and settings read again");
                state.eap_tls.store(Some(Arc::new(c)));
            }
            Err(e) => tracing::error!("reload: [eap_tls] refused, the running one stays: {e}"),
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Port {
    Auth,
    Acct,
}

/// Binds one listener and starts its worker threads.
///
/// The packet path never awaits: a datagram is handled synchronously to its reply. So each
/// worker is a plain thread blocked in recv_from on its own handle of the socket, and the kernel
/// wakes exactly one of them per datagram, with no async readiness machinery in between (measured:
/// fewer context switches and wake-ups than tasks on the tokio runtime).
fn listen(
    addr: SocketAddr,
    port: Port,
    workers: usize,
    state: &Arc<State>,
) -> anyhow::Result<SocketAddr> {
    let what = match port {
        Port::Auth => "auth",
        Port::Acct => "accounting",
    };
    let sock =
        UdpSocket::bind(addr).with_context(|| format!("cannot listen on {addr} ({what})"))?;
    let local = sock.local_addr()?;
    for i in 0..workers.max(1) {
        let s = sock
            .try_clone()
            .with_context(|| format!("cannot share the {what} socket"))?;
        let st = state.clone();
        std::thread::Builder::new()
            .name(format!("{what}-{i}"))
            .spawn(move || serve_socket(&s, &st, port))
            .with_context(|| format!("cannot start a {what} worker"))?;
    }
    Ok(local)
}

fn serve_socket(sock: &UdpSocket, state: &State, port: Port) {
    let mut buf = vec![0u8; 4096 + 1];
    loop {
        let (n, src) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                tracing::debug!("recv: {e}");
                continue;
            }
        };
        // Nothing on the packet path panics; should a bug make it, the request is dropped and
        // counted and this worker goes on serving, rather than the port going silent.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle_datagram(state, port, src, &buf[..n])
        }));
        let reply = match handled {
            Ok(r) => r,
            Err(_) => {
                Stats::bump(&state.stats.dropped_internal_error);
                tracing::error!(%src, "internal error while handling a request: dropped");
                None
            }
        };
        if let Some(reply) = reply
            && let Err(e) = sock.send_to(&reply, src)
        {
            tracing::debug!(%src, "send: {e}");
        }
    }
}

/// The transport's part: client lookup, decoding, the reply cache; then hands over to the
/// handler for the port. Returns the encoded reply, or None to drop.
fn handle_datagram(state: &State, port: Port, src: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
    Stats::bump(&state.stats.received);
    let engine = state.engine.load();
    let Some(client) = find_client(&engine.clients, src.ip()) else {
        Stats::bump(&state.stats.dropped_unknown_client);
        if state
            .notices
            .due(src.ip(), "unknown-client", Instant::now())
        {
            tracing::warn!(%src, "dropped a request from {}: no [[client]] has this address (further ones from it are counted, and warned about once a minute)", src.ip());
        } else {
            tracing::debug!(%src, "dropped: unknown client");
        }
        return None;
    };
    let req = match Packet::decode(data) {
        Ok(p) => p,
        Err(e) => {
            Stats::bump(&state.stats.dropped_malformed);
            tracing::debug!(%src, nas = %client.name, "dropped: malformed: {e}");
            return None;
        }
    };
    if tracing::enabled!(target: "wardgate::packet", tracing::Level::DEBUG) {
        // Named through the dictionary; passwords and keys print as <redacted>.
        let attrs: Vec<String> = state
            .dict
            .describe(&req)
            .into_iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        tracing::debug!(
            target: "wardgate::packet",
            %src,
            nas = %client.name,
            "received {} id {}: {}",
            req.code,
            req.identifier,
            attrs.join(", ")
        );
    }
    // The packet as the header's Length says (bytes past it are padding).
    let raw = &data[..usize::from(u16::from_be_bytes([data[2], data[3]])).min(data.len())];
    let checked = match (port, req.code) {
        (Port::Auth, Code::ACCESS_REQUEST | Code::STATUS_SERVER) => {
            auth::check_authentic(raw, &req, client)
        }
        (Port::Acct, Code::ACCOUNTING_REQUEST) => acct::check_authentic(raw, client),
        (Port::Acct, Code::STATUS_SERVER) => auth::check_authentic(raw, &req, client),
        _ => Err(auth::Drop::UnexpectedCode),
    };
    if let Err(d) = checked {
        d.count(&state.stats);
        if state.notices.due(src.ip(), d.reason(), Instant::now()) {
            tracing::warn!(%src, nas = %client.name, code = %req.code, "dropped: {} (warned once a minute per NAS address)", d.hint());
        } else {
            tracing::debug!(%src, nas = %client.name, code = %req.code, "dropped: {d:?}");
        }
        return None;
    }
    let key = Key {
        src,
        identifier: req.identifier,
        authenticator: req.authenticator,
    };
    let now = Instant::now();
    match state.cache.check(&key, now) {
        Seen::New => {}
        Seen::Answered(reply) => {
            Stats::bump(&state.stats.duplicate_resent);
            return Some(reply);
        }
        Seen::InProgress => {
            Stats::bump(&state.stats.duplicate_in_progress);
            return None;
        }
    }
    let answer = match (port, req.code) {
        (Port::Auth, _) => match auth::handle(state, &engine, client, src, &req) {
            Some(a) => a,
            None => {
                state.cache.forget(&key);
                return None;
            }
        },
        (Port::Acct, Code::STATUS_SERVER) => acct::status(state, &req),
        (Port::Acct, _) => acct::handle(state, client, src, &req),
    };
    let mut audit = answer.audit;
    let bytes = match answer
        .reply
        .encode_reply(&req.authenticator, &client.secret)
    {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!(nas = %client.name, "reply cannot be encoded: {e}");
            Stats::bump(&state.stats.dropped_encode_error);
            // What the decision wanted cannot go on the wire: refuse rather than stay silent, and
            // say so in the audit trail.
            if req.code == Code::ACCESS_REQUEST {
                if let Some(rec) = audit.as_mut() {
                    rec.result = "reject".into();
                    rec.reason = "reply-encode-error".into();
                    rec.segment = None;
                    rec.vlan = None;
                }
                let mut reject = Packet::reply_to(&req, Code::ACCESS_REJECT);
                reject.copy_proxy_state(&req);
                reject.encode_reply(&req.authenticator, &client.secret).ok()
            } else {
                None
            }
        }
    };
    if let Some(rec) = audit {
        decision_log::log_decision(&rec, answer.known);
        state.audit.record(rec);
    }
    match bytes {
        Some(b) => {
            state.cache.complete(&key, &b);
            Some(b)
        }
        None => {
            state.cache.forget(&key);
            None
        }
    }
}
