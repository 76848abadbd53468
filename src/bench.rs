//! `wardgate bench`: a loopback-only load generator that keeps many MAB Access-Requests in flight
//! and reports throughput, latency and the server's CPU time per request.
//!
//! One thread per UDP socket, each socket with its own identifier space (0..=255): a thread keeps
//! its share of the window full, matches replies by identifier, verifies them (Response
//! Authenticator and Message-Authenticator) and never retransmits; a request without a reply after
//! `--timeout-ms` counts as a timeout and frees its identifier. Every loop is bounded by a request
//! count and by a deadline. The figures are printed, never asserted.

use anyhow::{Context, bail};
use std::collections::{BTreeMap, VecDeque};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wardgate_radius::{
    Code, MessageAuthenticator, Packet, RawAttributes, SharedSecret, attr,
    check_message_authenticator, encrypt_user_password, frame, vendor,
    verify_response_authenticator,
};

/// Identifiers per socket (RFC 2865: one octet).
const IDS_PER_SOCKET: usize = 256;
/// How long a worker blocks in one receive before it looks at its timers again.
const RECV_POLL: Duration = Duration::from_millis(10);
/// How often a worker sweeps its window for requests that timed out.
const SWEEP_EVERY: Duration = Duration::from_millis(50);
/// Service-Type Call-Check (MAB), NAS-Port-Type Ethernet.
const CALL_CHECK: u32 = 10;
const ETHERNET: u32 = 15;
/// Requests sent back to back at most, between two receives: a window of 256 sent at once would
/// overflow a server's default socket buffer and measure the kernel's drops instead of the server.
const MAX_BURST: usize = 16;
/// Upper bound on the window, so a typo cannot open thousands of sockets.
const MAX_IN_FLIGHT: usize = 65_536;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Server address, e.g. 127.0.0.1:1812 (anything that is not loopback is refused).
    #[arg(long, default_value = "127.0.0.1:1812")]
    pub server: SocketAddr,
    /// Shared secret the server has for 127.0.0.1.
    #[arg(long, default_value = "testing123")]
    pub secret: String,
    /// Requests to send in the measured phase (the run stops at this count or --max-seconds).
    #[arg(long, default_value_t = 100_000)]
    pub requests: u64,
    /// Requests kept outstanding (one UDP socket per 256).
    #[arg(long, default_value_t = 256)]
    pub in_flight: usize,
    /// Upper bound on the measured phase, in seconds.
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
    /// Number of distinct device MACs cycled through: PREFIX:xx:xx:xx (see --mac-prefix).
    /// Ignored when --macs is given.
    #[arg(long, default_value_t = 10_000)]
    pub devices: u32,
    /// First three octets of the generated device MACs. Globally administered on purpose: the
    /// shipped policies quarantine locally administered MACs (02:..) doing MAB on a wired port.
    #[arg(long, default_value = "00:1b:54")]
    pub mac_prefix: String,
    /// Take the device MACs from this file instead: a CSV whose header has a `mac` column (the
    /// `devices import` format), or one MAC per line.
    #[arg(long)]
    pub macs: Option<PathBuf>,
    /// Pid of the server process, to read its CPU time (utime+stime) from /proc/PID/stat before
    /// and after the measured phase, and its peak RSS (VmHWM).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Requests sent (and not measured) before the measured phase.
    #[arg(long, default_value_t = 2_000)]
    pub warmup: u64,
    /// A request without a reply after this many milliseconds is a timeout (never retransmitted).
    #[arg(long, default_value_t = 2_000)]
    pub timeout_ms: u64,
    /// Quiet time after each phase before the server's CPU time is read, so work the server
    /// defers (batched audit writes) is counted in the phase that caused it.
    #[arg(long, default_value_t = 1_000)]
    pub settle_ms: u64,
    /// Send Message-Authenticator (first attribute) in every request, as a Cisco switch does.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub message_authenticator: bool,
    /// Count replies without Message-Authenticator as good (servers older than the BlastRADIUS
    /// fixes); an invalid one is always bad.
    #[arg(long)]
    pub allow_reply_without_message_authenticator: bool,
    /// Also print one JSON line with the figures (for scripts/bench).
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if !args.server.ip().is_loopback() {
        bail!(
            "refusing to send load to {}: the benchmark only talks to loopback addresses",
            args.server
        );
    }
    if args.in_flight == 0 || args.in_flight > MAX_IN_FLIGHT {
        bail!("--in-flight must be 1..={MAX_IN_FLIGHT}");
    }
    if args.timeout_ms == 0 {
        bail!("--timeout-ms must be at least 1");
    }
    if let Some(pid) = args.server_pid {
        // Fail before sending anything if the server's counters cannot be read.
        cpu_ticks(&format!("/proc/{pid}/stat")).context("--server-pid")?;
    }
    let macs = match &args.macs {
        Some(path) => read_macs(path)?,
        None => generate_macs(&args.mac_prefix, args.devices)?,
    };
    if macs.is_empty() {
        bail!("no device MACs to send");
    }
    let devices: Vec<Device> = macs
        .iter()
        .enumerate()
        .map(|(i, m)| Device::new(*m, i))
        .collect();
    let config = LoadConfig {
        server: args.server,
        secret: SharedSecret::new(args.secret.as_bytes().to_vec()),
        devices,
        timeout: Duration::from_millis(args.timeout_ms),
        message_authenticator: args.message_authenticator,
        allow_missing_ma: args.allow_reply_without_message_authenticator,
    };
    let mut workers = open_workers(&config, args.in_flight)?;
    let clk_tck = clock_ticks_per_second();
    let settle = Duration::from_millis(args.settle_ms);

    eprintln!(
        "bench: {} -> {}: {} request(s) ({} warm-up), {} in flight over {} socket(s), {} device(s)",
        workers
            .first()
            .and_then(|w| w.socket.local_addr().ok())
            .map_or_else(|| "?".to_string(), |a| a.ip().to_string()),
        args.server,
        args.requests,
        args.warmup,
        args.in_flight,
        workers.len(),
        config.devices.len()
    );

    let tickets = AtomicU64::new(0);
    if args.warmup > 0 {
        let warm_deadline = Instant::now() + Duration::from_secs(args.max_seconds.clamp(1, 10));
        let warm = run_phase(
            &config,
            &mut workers,
            &tickets,
            args.warmup,
            warm_deadline,
            false,
        );
        eprintln!(
            "bench: warm-up: {} sent, {} replies, {} timeouts",
            warm.sent, warm.replies, warm.timeouts
        );
        if warm.replies == 0 {
            bail!(
                "no reply to any of {} warm-up request(s): is a RADIUS server listening on {} with this secret?",
                warm.sent,
                args.server
            );
        }
        std::thread::sleep(settle);
    }

    let before = Counters::read(args.server_pid, args.server.port())?;
    // Tickets continue after the warm-up so the measured phase starts on fresh devices.
    let start_ticket = tickets.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let limit = start_ticket.saturating_add(args.requests);
    let result = run_phase(&config, &mut workers, &tickets, limit, deadline, true);
    std::thread::sleep(settle);
    let after = Counters::read(args.server_pid, args.server.port())?;
    let usage = Usage {
        server_cpu_s: delta(before.server_ticks, after.server_ticks).map(|t| t as f64 / clk_tck),
        bench_cpu_s: delta(before.own_ticks, after.own_ticks).map(|t| t as f64 / clk_tck),
        server_peak_rss_kib: args.server_pid.and_then(|pid| peak_rss_kib(pid).ok()),
        server_socket_drops: delta(before.socket_drops, after.socket_drops),
    };
    let report = Report::new(&args, result, usage);
    report.print();
    if args.json {
        println!("{}", report.json());
    }
    Ok(())
}

/// Counters read before and after the measured phase.
struct Counters {
    server_ticks: Option<u64>,
    own_ticks: Option<u64>,
    socket_drops: Option<u64>,
}

impl Counters {
    fn read(server_pid: Option<u32>, port: u16) -> anyhow::Result<Counters> {
        Ok(Counters {
            server_ticks: server_pid
                .map(|pid| cpu_ticks(&format!("/proc/{pid}/stat")))
                .transpose()?,
            own_ticks: cpu_ticks("/proc/self/stat").ok(),
            socket_drops: socket_drops(port),
        })
    }
}

fn delta(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    Some(after?.saturating_sub(before?))
}

/// What the server (and the bench itself) used during the measured phase.
struct Usage {
    server_cpu_s: Option<f64>,
    bench_cpu_s: Option<f64>,
    server_peak_rss_kib: Option<u64>,
    /// Datagrams the kernel dropped because the server's socket buffer was full.
    server_socket_drops: Option<u64>,
}

/// What every worker shares.
struct LoadConfig {
    server: SocketAddr,
    secret: SharedSecret,
    devices: Vec<Device>,
    timeout: Duration,
    message_authenticator: bool,
    allow_missing_ma: bool,
}

/// One device, with the attribute values that do not change between its requests.
struct Device {
    /// `aabbccddeeff`: User-Name and (hidden) User-Password, as Cisco sends for MAB.
    plain: String,
    /// `AA-BB-CC-DD-EE-FF`: Calling-Station-Id (RFC 3580 form).
    dashed: String,
    nas_port: u32,
    nas_port_id: String,
}

impl Device {
    fn new(mac: [u8; 6], index: usize) -> Device {
        let plain: String = mac.iter().map(|o| format!("{o:02x}")).collect();
        let dashed = mac
            .iter()
            .map(|o| format!("{o:02X}"))
            .collect::<Vec<_>>()
            .join("-");
        // 48-port access switches, stack members 1..=8: GigabitEthernet<member>/0/<port>.
        let port = u32::try_from(index % 48).unwrap_or(0) + 1;
        let member = u32::try_from((index / 48) % 8).unwrap_or(0) + 1;
        Device {
            plain,
            dashed,
            nas_port: 50_000 + member * 100 + port,
            nas_port_id: format!("GigabitEthernet{member}/0/{port}"),
        }
    }
}

/// One outstanding request.
#[derive(Clone, Copy)]
struct Slot {
    in_use: bool,
    sent: Instant,
    authenticator: [u8; 16],
}

/// One UDP socket, its identifier space and its share of the window.
struct Worker {
    socket: UdpSocket,
    window: usize,
    slots: Vec<Slot>,
    /// Free identifiers, oldest freed first, so a late reply rarely meets a reused identifier.
    free: VecDeque<u8>,
    outstanding: usize,
}

/// Counters of one phase (summed over workers).
#[derive(Default)]
struct PhaseResult {
    sent: u64,
    replies: u64,
    accepts: u64,
    rejects: u64,
    other_codes: u64,
    /// Replies whose authenticator or Message-Authenticator did not verify, or were malformed.
    bad: u64,
    /// Replies whose Response Authenticator verified but that carried no Message-Authenticator.
    missing_ma: u64,
    /// Replies for an identifier with nothing outstanding (late replies after a timeout).
    unexpected: u64,
    timeouts: u64,
    send_errors: u64,
    /// ICMP port unreachable reported on the socket: nothing listens.
    refused: u64,
    latencies_us: Vec<u32>,
    /// When the last good reply arrived: throughput is counted up to it, not up to the end of the
    /// wait for requests that time out.
    last_reply: Option<Instant>,
    /// Tunnel-Private-Group-Id of the accepts -> count ("-" for an accept without one).
    vlans: BTreeMap<String, u64>,
    elapsed: Duration,
}

impl PhaseResult {
    fn merge(&mut self, other: PhaseResult) {
        self.sent += other.sent;
        self.replies += other.replies;
        self.accepts += other.accepts;
        self.rejects += other.rejects;
        self.other_codes += other.other_codes;
        self.bad += other.bad;
        self.missing_ma += other.missing_ma;
        self.unexpected += other.unexpected;
        self.timeouts += other.timeouts;
        self.send_errors += other.send_errors;
        self.refused += other.refused;
        self.latencies_us.extend(other.latencies_us);
        self.last_reply = self.last_reply.max(other.last_reply);
        for (k, v) in other.vlans {
            *self.vlans.entry(k).or_default() += v;
        }
    }
}

fn open_workers(config: &LoadConfig, in_flight: usize) -> anyhow::Result<Vec<Worker>> {
    let sockets = in_flight.div_ceil(IDS_PER_SOCKET);
    let bind: SocketAddr = match config.server.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 0),
    };
    let mut workers = Vec::with_capacity(sockets);
    for i in 0..sockets {
        // Spread the window evenly: the first (in_flight % sockets) sockets take one more.
        let window = in_flight / sockets + usize::from(i < in_flight % sockets);
        let socket =
            UdpSocket::bind(bind).with_context(|| format!("cannot bind a UDP socket on {bind}"))?;
        socket
            .connect(config.server)
            .with_context(|| format!("cannot connect a UDP socket to {}", config.server))?;
        socket.set_read_timeout(Some(RECV_POLL))?;
        let now = Instant::now();
        workers.push(Worker {
            socket,
            window,
            slots: vec![
                Slot {
                    in_use: false,
                    sent: now,
                    authenticator: [0; 16],
                };
                IDS_PER_SOCKET
            ],
            free: (0..=u8::MAX).collect(),
            outstanding: 0,
        });
    }
    Ok(workers)
}

/// Runs every worker on its own thread until `limit` tickets are handed out (or `deadline`
/// passes) and every outstanding request has a reply or has timed out.
fn run_phase(
    config: &LoadConfig,
    workers: &mut [Worker],
    tickets: &AtomicU64,
    limit: u64,
    deadline: Instant,
    record: bool,
) -> PhaseResult {
    let start = Instant::now();
    let mut total = PhaseResult::default();
    let results: Vec<PhaseResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter_mut()
            .map(|w| scope.spawn(move || w.run(config, tickets, limit, deadline, record)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for r in results {
        total.merge(r);
    }
    total.elapsed = total
        .last_reply
        .unwrap_or_else(Instant::now)
        .duration_since(start);
    total
}

impl Worker {
    fn run(
        &mut self,
        config: &LoadConfig,
        tickets: &AtomicU64,
        limit: u64,
        deadline: Instant,
        record: bool,
    ) -> PhaseResult {
        let mut r = PhaseResult::default();
        if record {
            r.latencies_us
                .reserve(usize::try_from(limit.min(1 << 22)).unwrap_or(0) / 4);
        }
        let mut rng = rand::rng();
        let mut buf = [0u8; 4096];
        let mut stopping = false;
        let mut last_sweep = Instant::now();
        loop {
            let mut burst = 0;
            while !stopping && self.outstanding < self.window && burst < MAX_BURST {
                burst += 1;
                let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                if ticket >= limit || Instant::now() >= deadline {
                    stopping = true;
                    break;
                }
                self.send(config, ticket, &mut rng, &mut r);
            }
            if stopping && self.outstanding == 0 {
                break;
            }
            match self.socket.recv(&mut buf) {
                Ok(n) => self.receive(config, &buf[..n], record, &mut r),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => r.refused += 1,
                Err(_) => r.bad += 1,
            }
            let now = Instant::now();
            if now.duration_since(last_sweep) >= SWEEP_EVERY {
                last_sweep = now;
                self.sweep(now, config.timeout, &mut r);
            }
        }
        r
    }

    fn send(
        &mut self,
        config: &LoadConfig,
        ticket: u64,
        rng: &mut impl rand::Rng,
        r: &mut PhaseResult,
    ) {
        let Some(id) = self.free.pop_front() else {
            return;
        };
        let len = config.devices.len() as u64;
        let index = usize::try_from(ticket % len.max(1)).unwrap_or(0);
        let Some(device) = config.devices.get(index) else {
            self.free.push_back(id);
            return;
        };
        let mut authenticator = [0u8; 16];
        rng.fill(&mut authenticator);
        let datagram = match encode_mab_request(config, device, id, authenticator, ticket) {
            Ok(d) => d,
            Err(_) => {
                r.send_errors += 1;
                self.free.push_back(id);
                return;
            }
        };
        let now = Instant::now();
        match self.socket.send(&datagram) {
            Ok(_) => {
                r.sent += 1;
                self.slots[usize::from(id)] = Slot {
                    in_use: true,
                    sent: now,
                    authenticator,
                };
                self.outstanding += 1;
            }
            Err(e) => {
                if e.kind() == ErrorKind::ConnectionRefused {
                    r.refused += 1;
                } else {
                    r.send_errors += 1;
                }
                self.free.push_back(id);
            }
        }
    }

    fn receive(&mut self, config: &LoadConfig, datagram: &[u8], record: bool, r: &mut PhaseResult) {
        let now = Instant::now();
        let Ok(pkt) = frame(datagram) else {
            r.bad += 1;
            return;
        };
        let id = pkt[1];
        let slot = self.slots[usize::from(id)];
        if !slot.in_use {
            r.unexpected += 1;
            return;
        }
        if !verify_response_authenticator(pkt, &slot.authenticator, &config.secret) {
            // Possibly a late reply to an earlier use of this identifier: keep waiting.
            r.bad += 1;
            return;
        }
        match check_message_authenticator(pkt, &config.secret, Some(&slot.authenticator)) {
            MessageAuthenticator::Valid => {}
            MessageAuthenticator::Absent if config.allow_missing_ma => r.missing_ma += 1,
            MessageAuthenticator::Absent => {
                r.missing_ma += 1;
                r.bad += 1;
                self.release(id);
                return;
            }
            MessageAuthenticator::Invalid => {
                r.bad += 1;
                self.release(id);
                return;
            }
        }
        self.release(id);
        r.replies += 1;
        r.last_reply = Some(now);
        match Code(pkt[0]) {
            Code::ACCESS_ACCEPT => {
                r.accepts += 1;
                let vlan = tunnel_private_group_id(pkt).unwrap_or_else(|| "-".to_string());
                *r.vlans.entry(vlan).or_default() += 1;
            }
            Code::ACCESS_REJECT => r.rejects += 1,
            _ => r.other_codes += 1,
        }
        if record {
            let us = now.duration_since(slot.sent).as_micros();
            r.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
        }
    }

    fn sweep(&mut self, now: Instant, timeout: Duration, r: &mut PhaseResult) {
        if self.outstanding == 0 {
            return;
        }
        for id in 0..=u8::MAX {
            let slot = self.slots[usize::from(id)];
            if slot.in_use && now.duration_since(slot.sent) >= timeout {
                r.timeouts += 1;
                self.release(id);
            }
        }
    }

    fn release(&mut self, id: u8) {
        let slot = &mut self.slots[usize::from(id)];
        if slot.in_use {
            slot.in_use = false;
            self.outstanding -= 1;
            self.free.push_back(id);
        }
    }
}

/// A MAB Access-Request the way a Cisco IOS switch sends one (`mab` on an access port):
/// Message-Authenticator first, User-Name and User-Password the MAC as 12 lower-case hex digits,
/// Service-Type Call-Check, Calling-Station-Id AA-BB-CC-DD-EE-FF, the NAS port attributes and
/// Cisco-AVPairs.
fn encode_mab_request(
    config: &LoadConfig,
    device: &Device,
    id: u8,
    authenticator: [u8; 16],
    ticket: u64,
) -> anyhow::Result<Vec<u8>> {
    let mut p = Packet::new(Code::ACCESS_REQUEST, id, authenticator);
    p.add(attr::USER_NAME, device.plain.as_bytes());
    p.add(
        attr::USER_PASSWORD,
        encrypt_user_password(device.plain.as_bytes(), &config.secret, &authenticator)
            .map_err(|e| anyhow::anyhow!("User-Password: {e}"))?,
    );
    p.add(attr::SERVICE_TYPE, CALL_CHECK.to_be_bytes());
    p.add_vsa(vendor::CISCO, 1, b"service-type=Call Check")?;
    p.add(attr::FRAMED_MTU, 1500u32.to_be_bytes());
    p.add(attr::CALLED_STATION_ID, &b"00-1B-54-C2-10-01"[..]);
    p.add(attr::CALLING_STATION_ID, device.dashed.as_bytes());
    p.add_vsa(
        vendor::CISCO,
        1,
        format!("audit-session-id=7F000001{ticket:016X}").as_bytes(),
    )?;
    p.add_vsa(vendor::CISCO, 1, b"method=mab")?;
    p.add(attr::NAS_IP_ADDRESS, Ipv4Addr::LOCALHOST.octets());
    p.add(attr::NAS_PORT_ID, device.nas_port_id.as_bytes());
    p.add(attr::NAS_PORT_TYPE, ETHERNET.to_be_bytes());
    p.add(attr::NAS_PORT, device.nas_port.to_be_bytes());
    Ok(p.encode_request(&config.secret, config.message_authenticator)?)
}

/// The VLAN of an Access-Accept (Tunnel-Private-Group-Id, without a tag octet).
fn tunnel_private_group_id(pkt: &[u8]) -> Option<String> {
    let area = pkt.get(wardgate_radius::HEADER_LEN..)?;
    for item in RawAttributes::new(area) {
        let (typ, value, _) = item.ok()?;
        if typ == attr::TUNNEL_PRIVATE_GROUP_ID {
            let value = match value.first() {
                Some(t) if *t < 0x20 => &value[1..],
                _ => value,
            };
            return Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    None
}

/// `count` MACs PREFIX:00:00:00, PREFIX:00:00:01, ...
fn generate_macs(prefix: &str, count: u32) -> anyhow::Result<Vec<[u8; 6]>> {
    let hex: String = prefix.chars().filter(char::is_ascii_hexdigit).collect();
    let oui = match (hex.len(), u32::from_str_radix(&hex, 16)) {
        (6, Ok(v)) => v.to_be_bytes(),
        _ => bail!("--mac-prefix {prefix:?}: expected three octets such as 02:00:00"),
    };
    if count == 0 || count > 1 << 24 {
        bail!("--devices must be 1..=16777216");
    }
    Ok((0..count)
        .map(|i| {
            let n = i.to_be_bytes();
            [oui[1], oui[2], oui[3], n[1], n[2], n[3]]
        })
        .collect())
}

/// MACs from a CSV with a `mac` column in its header, or one MAC per line.
fn read_macs(path: &Path) -> anyhow::Result<Vec<[u8; 6]>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines().map(|l| l.trim_start_matches('\u{feff}'));
    let first = lines.next().unwrap_or_default();
    let header: Vec<String> = first
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let (column, mut macs) = match header.iter().position(|c| c == "mac") {
        Some(col) => (col, Vec::new()),
        None => match parse_mac(first) {
            Some(m) => (0, vec![m]),
            None => bail!(
                "{}: expected a header with a `mac` column, or one MAC per line",
                path.display()
            ),
        },
    };
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cell = line.split(',').nth(column).unwrap_or_default();
        match parse_mac(cell) {
            Some(m) => macs.push(m),
            None => bail!("{}:{}: not a MAC address: {cell:?}", path.display(), i + 2),
        }
    }
    Ok(macs)
}

/// Any of the usual spellings: 12 hex digits with or without `:`, `-` or `.` separators.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let s = s.trim().trim_matches('"');
    let hex: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b':' | b'-' | b'.'))
        .collect();
    if hex.len() != 12 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, pair) in hex.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        mac[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(mac)
}

/// utime + stime (fields 14 and 15) of a /proc/.../stat file, in clock ticks. These cover every
/// thread of the process.
fn cpu_ticks(path: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    let rest = text
        .rfind(')')
        .and_then(|i| text.get(i + 1..))
        .with_context(|| format!("{path}: unexpected format"))?;
    // Fields after ')' start at field 3 (state): utime is field 14, index 11 here.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields
        .get(11)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{path}: no utime"))?;
    let stime: u64 = fields
        .get(12)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{path}: no stime"))?;
    Ok(utime + stime)
}

/// Datagrams dropped so far on the UDP sockets bound to `port` (the last column of
/// /proc/net/udp and udp6), or `None` if those files cannot be read.
fn socket_drops(port: u16) -> Option<u64> {
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                let drops: u64 = fields.last().and_then(|d| d.parse().ok()).unwrap_or(0);
                total = Some(total.unwrap_or(0) + drops);
            }
        }
        total = total.or(Some(0));
    }
    total
}

/// VmHWM (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{path}: no VmHWM"))
}

/// sysconf(_SC_CLK_TCK) through `getconf` (no libc here); 100, the Linux value, if unavailable.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// The figures of the measured phase.
struct Report {
    server: SocketAddr,
    in_flight: usize,
    r: PhaseResult,
    requests_per_second: f64,
    p50_us: u32,
    p90_us: u32,
    p99_us: u32,
    max_us: u32,
    usage: Usage,
}

impl Report {
    fn new(args: &BenchArgs, mut r: PhaseResult, usage: Usage) -> Report {
        r.latencies_us.sort_unstable();
        let lat = &r.latencies_us;
        Report {
            server: args.server,
            in_flight: args.in_flight,
            requests_per_second: r.replies as f64 / r.elapsed.as_secs_f64().max(1e-9),
            p50_us: percentile(lat, 500),
            p90_us: percentile(lat, 900),
            p99_us: percentile(lat, 990),
            max_us: lat.last().copied().unwrap_or(0),
            usage,
            r,
        }
    }

    /// CPU microseconds per reply, for `cpu_s` seconds used.
    fn per_request(&self, cpu_s: Option<f64>) -> Option<f64> {
        cpu_s
            .filter(|_| self.r.replies > 0)
            .map(|c| c * 1e6 / self.r.replies as f64)
    }

    fn print(&self) {
        let r = &self.r;
        let ms = |us: u32| f64::from(us) / 1000.0;
        println!("server            {}", self.server);
        println!("in flight         {}", self.in_flight);
        println!("requests sent     {}", r.sent);
        println!(
            "replies           {} ({} accept, {} reject, {} other)",
            r.replies, r.accepts, r.rejects, r.other_codes
        );
        println!("timeouts          {}", r.timeouts);
        if let Some(d) = self.usage.server_socket_drops.filter(|d| *d > 0) {
            println!("socket drops      {d} (the server's receive buffer was full)");
        }
        if r.bad + r.unexpected + r.send_errors + r.refused + r.missing_ma > 0 {
            println!(
                "problems          {} bad reply, {} without Message-Authenticator, {} unexpected, {} send error, {} refused",
                r.bad, r.missing_ma, r.unexpected, r.send_errors, r.refused
            );
        }
        println!("elapsed           {:.3} s", r.elapsed.as_secs_f64());
        println!("requests/s        {:.0}", self.requests_per_second);
        println!(
            "latency           p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.max_us)
        );
        let u = &self.usage;
        if let (Some(cpu), Some(per)) = (u.server_cpu_s, self.per_request(u.server_cpu_s)) {
            println!("server CPU        {cpu:.2} s, {per:.1} us/request");
        }
        if let Some(kib) = u.server_peak_rss_kib {
            println!("server peak RSS   {:.1} MiB", kib as f64 / 1024.0);
        }
        if let Some(per) = self.per_request(u.bench_cpu_s) {
            println!("bench CPU         {per:.1} us/request (this load generator)");
        }
        if !r.vlans.is_empty() {
            let v: Vec<String> = r.vlans.iter().map(|(k, n)| format!("{k}:{n}")).collect();
            println!("accepts by VLAN   {}", v.join(" "));
        }
    }

    fn json(&self) -> serde_json::Value {
        let r = &self.r;
        serde_json::json!({
            "server": self.server.to_string(),
            "in_flight": self.in_flight,
            "sent": r.sent,
            "replies": r.replies,
            "accepts": r.accepts,
            "rejects": r.rejects,
            "other": r.other_codes,
            "timeouts": r.timeouts,
            "bad": r.bad,
            "missing_message_authenticator": r.missing_ma,
            "unexpected": r.unexpected,
            "send_errors": r.send_errors,
            "refused": r.refused,
            "elapsed_s": r.elapsed.as_secs_f64(),
            "requests_per_s": self.requests_per_second,
            "p50_ms": f64::from(self.p50_us) / 1000.0,
            "p90_ms": f64::from(self.p90_us) / 1000.0,
            "p99_ms": f64::from(self.p99_us) / 1000.0,
            "max_ms": f64::from(self.max_us) / 1000.0,
            "server_cpu_s": self.usage.server_cpu_s,
            "server_cpu_us_per_request": self.per_request(self.usage.server_cpu_s),
            "server_peak_rss_kib": self.usage.server_peak_rss_kib,
            "bench_cpu_us_per_request": self.per_request(self.usage.bench_cpu_s),
            "server_socket_drops": self.usage.server_socket_drops,
            "vlans": r.vlans,
        })
    }
}

/// The value at `per_mille`/1000 of sorted samples (nearest rank), 0 when there are none.
fn percentile(sorted: &[u32], per_mille: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (per_mille * sorted.len()).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_spellings_parse_to_the_same_octets() {
        let want = Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        for s in [
            "aabbccddeeff",
            "AA-BB-CC-DD-EE-FF",
            "aa:bb:cc:dd:ee:ff",
            "aabb.ccdd.eeff",
        ] {
            assert_eq!(parse_mac(s), want, "{s}");
        }
        assert_eq!(parse_mac("aabbccddee"), None);
        assert_eq!(parse_mac("gabbccddeeff"), None);
    }

    #[test]
    fn generated_macs_use_the_prefix() {
        let macs = generate_macs("02:00:00", 3).unwrap();
        assert_eq!(macs[2], [2, 0, 0, 0, 0, 2]);
        assert!(generate_macs("02:00", 3).is_err());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 500), 50);
        assert_eq!(percentile(&v, 990), 99);
        assert_eq!(percentile(&v, 1000), 100);
        assert_eq!(percentile(&[7], 10), 7);
        assert_eq!(percentile(&[], 500), 0);
    }

    #[test]
    fn proc_stat_fields_are_counted_from_the_command_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        // pid (comm with ) and spaces) state ppid ... utime=7 stime=5
        std::fs::write(&path, "42 (a ) b) S 1 2 3 4 5 6 7 8 9 10 7 5 0 0 20 0 1 0").unwrap();
        assert_eq!(cpu_ticks(path.to_str().unwrap()).unwrap(), 12);
    }

    #[test]
    fn requests_look_like_cisco_mab() {
        let config = LoadConfig {
            server: "127.0.0.1:1812".parse().unwrap(),
            secret: SharedSecret::new(b"testing123".to_vec()),
            devices: vec![],
            timeout: Duration::from_secs(2),
            message_authenticator: true,
            allow_missing_ma: false,
        };
        let device = Device::new([0, 0x1b, 0x54, 0, 0, 1], 0);
        let raw = encode_mab_request(&config, &device, 7, [9; 16], 1).unwrap();
        let p = Packet::decode(&raw).unwrap();
        assert_eq!(p.identifier, 7);
        assert_eq!(p.attributes[0].typ, attr::MESSAGE_AUTHENTICATOR);
        assert_eq!(p.attr(attr::USER_NAME), Some(&b"001b54000001"[..]));
        assert_eq!(
            p.attr(attr::CALLING_STATION_ID),
            Some(&b"00-1B-54-00-00-01"[..])
        );
        assert_eq!(p.attr(attr::SERVICE_TYPE), Some(&10u32.to_be_bytes()[..]));
        let hidden = p.attr(attr::USER_PASSWORD).unwrap();
        let plain =
            wardgate_radius::decrypt_user_password(hidden, &config.secret, &[9; 16]).unwrap();
        assert_eq!(plain, b"001b54000001");
        assert_eq!(
            check_message_authenticator(&raw, &config.secret, None),
            MessageAuthenticator::Valid
        );
    }
}
