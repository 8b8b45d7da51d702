//! A network lab for tests that run real processes on separate network stacks: Linux network
//! namespaces joined by veth pairs and bridges, with NAT routers in front of "home" hosts.
//!
//! Nothing here can leave the machine. Every address lives inside the lab's own namespaces
//! (the host's namespace never gets an interface or a route), and the "internet" is a bridge
//! whose only way out is a namespace that does not forward.
//!
//! ```text
//!                          wan ns ("the internet"): bridge br0, 10.231.0.254
//!                          (a dead end: forwarding off, so unknown destinations are dropped)
//!       ┌─────────────────────┬────────────┴───────────┬────────────────────────┐
//!   server 10.231.0.1     nat_a 10.231.0.101       nat_b 10.231.0.102      lan_gw 10.231.0.110
//!   (+ add_wan_host:       │ Cone NAT               │ Symmetric NAT          │ Cone NAT
//!    10.231.0.2 …)         │ lan0 10.231.1.1        │ lan0 10.231.2.1        │ br0 10.231.10.1
//!                          │                        │                        ├──────────────┬─────────────┐
//!                     home_a 10.231.1.2        home_b 10.231.2.2       lan_a 10.231.10.2  lan_b .10.3  (+ add_lan_host:
//!                                                                                                        10.231.10.4 …)
//! ```
//!
//! - Every namespace is named `plab-<pid>-<n>-<role>` (see [`NS_PREFIX`]), so parallel labs in
//!   one process or several never collide and [`cleanup_stale`] can tell a crashed run's
//!   namespaces (their pid is gone) from a live one's. Veths are created directly inside their
//!   namespaces, so interface names (`eth0`, `wan0`, `lan0`, `br0`, `to_<role>`) only need to
//!   be unique per namespace and the host's interface list is never touched.
//! - The base `10.231.0.0/16` ([`LabOptions::base`]) is only for readability: no lab address
//!   is ever visible outside the lab, so it cannot clash with the host's routes, but a range
//!   the host does not use keeps logs unambiguous.
//! - [`NatKind::Cone`] is a plain `MASQUERADE`: Linux keeps the source port when it can and
//!   reuses the mapping for every destination (endpoint-independent mapping), while only
//!   answers to what went out get in — a typical home router, where UDP hole punching works
//!   between two of them. [`NatKind::Symmetric`] adds `--random-fully`: every new destination
//!   gets a new random port, so the address a STUN server reports is useless to a peer and
//!   only a relay (TURN) connects. The routers drop everything unsolicited from the WAN.
//! - Home hosts reach the server (through their NAT) but neither each other's private
//!   addresses nor are they reachable from the server: the routers have no routes to the other
//!   private networks, so such packets go to the dead end.
//! - The LAN is one L2 segment (a bridge in `lan_gw`), so multicast (mDNS, 224.0.0.251:5353)
//!   goes between its hosts and nowhere else; `lan_gw` is a NAT router to the internet like the
//!   homes', so LAN hosts reach the server too.
//! - IPv6 is off on the lab's interfaces (`lo` keeps `::1`): the lab is an IPv4 world, and
//!   link-local IPv6 addresses would only add candidates that lead nowhere.
//!
//! Faults: [`NetLab::netem`] shapes a host's uplink in both directions with the kernel's
//! `netem` qdisc, or — on kernels built without it — with an NFQUEUE-based stand-in for
//! `delay` and `loss` run by this process; [`NetLab::cut`] / [`NetLab::restore`] take the
//! uplink down and up. A router's uplink is its WAN link, so shaping `nat_a` shapes all of
//! home A's internet.
//!
//! [`Coturn`] runs the real coturn `turnserver` in a host's namespace.
//!
//! Everything needs root. When the lab cannot be built, [`LabError`] says what is missing and
//! that `scripts/setup.sh test` installs it; tests must fail with that message, not skip.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The start of every lab namespace's name: `plab-<pid>-<n>-<role>`.
pub const NS_PREFIX: &str = "plab-";

const HINT: &str =
    "the network tests need root and iproute2, iptables and coturn (`scripts/setup.sh test` installs them)";

/// Why the lab (or a part of it) could not be set up. The messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("network namespaces cannot be created here: not running as root — {hint}", hint = HINT)]
    NotRoot,
    #[error("`{tool}` was not found (looked in PATH, /usr/sbin, /sbin, /usr/bin) — {hint}", hint = HINT)]
    MissingTool { tool: &'static str },
    #[error("network namespaces cannot be created here: {stderr} — {hint}", hint = HINT)]
    Namespaces { stderr: String },
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("invalid network lab options: {0}")]
    Options(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("netem `{spec}`: {reason}")]
    Netem { spec: String, reason: String },
    #[error("coturn in {ns}: {reason} ({hint})\n--- coturn output ---\n{log}", hint = HINT)]
    Coturn { ns: String, reason: String, log: String },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> LabError {
    let what = what.into();
    move |source| LabError::Io { what, source }
}

/// What kind of NAT a router is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    /// Port-preserving, endpoint-independent mapping (`MASQUERADE`): hole punching works.
    Cone,
    /// A new random external port per destination (`MASQUERADE --random-fully`).
    Symmetric,
}

/// How to build a lab.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The lab's `/16`, as `a.b.0.0`; must be private (10/8, 172.16/12, 192.168/16).
    pub base: Ipv4Addr,
    /// The NAT in front of `home_a`.
    pub home_a: NatKind,
    /// The NAT in front of `home_b`.
    pub home_b: NatKind,
    /// The NAT between the LAN and the internet.
    pub lan: NatKind,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            base: Ipv4Addr::new(10, 231, 0, 0),
            home_a: NatKind::Cone,
            home_b: NatKind::Symmetric,
            lan: NatKind::Cone,
        }
    }
}

// Subnets (third octet) and host numbers (fourth) of the address plan in the module docs.
const WAN: u8 = 0;
const HOME_A: u8 = 1;
const HOME_B: u8 = 2;
const LAN: u8 = 10;
const SERVER: u8 = 1;
const FIRST_EXTRA_WAN: u8 = 2;
const LAST_EXTRA_WAN: u8 = 99;
const NAT_A_WAN: u8 = 101;
const NAT_B_WAN: u8 = 102;
const LAN_GW_WAN: u8 = 110;
const DEAD_END: u8 = 254;
const FIRST_EXTRA_LAN: u8 = 4;
const LAST_EXTRA_LAN: u8 = 253;

impl LabOptions {
    fn validate(&self) -> Result<(), LabError> {
        let [a, b, c, d] = self.base.octets();
        let private = a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168);
        if !private || c != 0 || d != 0 {
            return Err(LabError::Options(format!(
                "base {} must be a private /16 written as a.b.0.0 (e.g. 10.231.0.0)",
                self.base
            )));
        }
        Ok(())
    }

    fn addr(&self, subnet: u8, host: u8) -> Ipv4Addr {
        let [a, b, _, _] = self.base.octets();
        Ipv4Addr::new(a, b, subnet, host)
    }
}

/// One machine of the lab: a network namespace with one uplink.
#[derive(Clone, Debug)]
pub struct Host {
    /// The role: `server`, `home_a`, `nat_a`, `lan_a`, or the name given to an added host.
    pub name: String,
    /// The network namespace (`ip netns exec <ns> …`).
    pub ns: String,
    /// The host's address; a router's is its WAN (public) address.
    pub addr: Ipv4Addr,
    /// The default gateway.
    pub gateway: Ipv4Addr,
    uplink: Uplink,
    ip: PathBuf,
}

/// A veth pair: `inner` in the host's namespace, `outer` on the router or bridge it hangs off.
#[derive(Clone, Debug)]
struct Uplink {
    inner: End,
    outer: End,
}

#[derive(Clone, Debug)]
struct End {
    ns: String,
    dev: String,
}

impl Host {
    /// `program` run inside this host's namespace (`ip netns exec NS program`), killed when
    /// the handle is dropped so no test leaves processes behind.
    pub fn command(&self, program: impl AsRef<OsStr>) -> tokio::process::Command {
        let mut command = tokio::process::Command::from(self.std_command(program));
        command.kill_on_drop(true);
        command
    }

    /// [`Host::command`] for blocking code.
    pub fn std_command(&self, program: impl AsRef<OsStr>) -> StdCommand {
        let mut command = StdCommand::new(&self.ip);
        command.args(["netns", "exec"]).arg(&self.ns).arg(program);
        command
    }

    /// Runs `f` on a thread that has entered this host's namespace. Sockets keep the namespace
    /// they were created in, so a socket made here can be used from anywhere afterwards (also
    /// by tokio: `set_nonblocking(true)` and `from_std`).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
        in_netns(&self.ns, f)
    }

    /// A UDP socket in this namespace bound to `0.0.0.0:port` (0: any free port).
    pub fn udp_socket(&self, port: u16) -> Result<UdpSocket, LabError> {
        self.run(|| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)))?
            .map_err(io_error(format!("binding UDP port {port} in {}", self.ns)))
    }

    /// A TCP listener in this namespace on `0.0.0.0:port`.
    pub fn tcp_listener(&self, port: u16) -> Result<TcpListener, LabError> {
        self.run(|| TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)))?
            .map_err(io_error(format!("listening on TCP port {port} in {}", self.ns)))
    }

    /// A TCP connection from this namespace.
    pub fn tcp_connect(&self, to: SocketAddr, timeout: Duration) -> Result<TcpStream, LabError> {
        self.run(|| TcpStream::connect_timeout(&to, timeout))?
            .map_err(io_error(format!("connecting to {to} from {}", self.ns)))
    }

    /// A UDP echo on `port` (0: any) that answers every datagram with the address it came
    /// from and the datagram itself (see [`probe`]); [`UdpEcho::addr`] is `self.addr:port`.
    pub fn udp_echo(&self, port: u16) -> Result<UdpEcho, LabError> {
        let socket = self.udp_socket(port)?;
        UdpEcho::start(socket, self.addr).map_err(io_error(format!("starting a UDP echo in {}", self.ns)))
    }

    /// [`probe`] from a fresh socket in this namespace.
    pub fn probe(&self, echo: SocketAddrV4, timeout: Duration) -> Result<Option<Probe>, LabError> {
        let socket = self.udp_socket(0)?;
        probe(&socket, echo, timeout).map_err(io_error(format!("probing {echo} from {}", self.ns)))
    }

    /// Whether a [`UdpEcho`] at `echo` answers this host within `timeout`.
    pub fn reaches(&self, echo: SocketAddrV4, timeout: Duration) -> Result<bool, LabError> {
        Ok(self.probe(echo, timeout)?.is_some())
    }
}

/// The lab: build it with [`NetLab::build`]; dropping it kills what runs in its namespaces and
/// deletes them.
#[derive(Debug)]
pub struct NetLab {
    /// The public server, directly on the internet.
    pub server: Host,
    pub nat_a: Host,
    pub home_a: Host,
    pub nat_b: Host,
    pub home_b: Host,
    pub lan_gw: Host,
    pub lan_a: Host,
    pub lan_b: Host,
    options: LabOptions,
    core: Core,
    wan_ns: String,
    extra: Vec<Host>,
    next_wan: u8,
    next_lan: u8,
    shaped: Mutex<HashMap<String, Shaping>>,
}

impl NetLab {
    /// Builds the whole topology (a few hundred milliseconds of `ip`/`iptables` calls; it
    /// blocks, which is fine in a test even on a tokio runtime). A half-built lab is removed
    /// before the error is returned. Also removes what crashed earlier runs left.
    pub fn build(options: LabOptions) -> Result<NetLab, LabError> {
        options.validate()?;
        let ctl = Ctl::find()?;
        if let Err(error) = cleanup_stale() {
            eprintln!("netlab: cleaning up stale namespaces: {error}");
        }
        static NEXT_LAB: AtomicU64 = AtomicU64::new(0);
        let id = format!(
            "{NS_PREFIX}{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        let namespaces = Namespaces {
            ip: ctl.ip.clone(),
            names: Vec::new(),
        };
        let mut core = Core { ctl, id, namespaces };
        let o = &options;

        let wan_ns = core.namespace("wan", false)?;
        core.bridge(&wan_ns, o.addr(WAN, DEAD_END), WAN)?;
        let server = core.bridged_host(&wan_ns, "server", o.addr(WAN, SERVER), o.addr(WAN, DEAD_END))?;

        let (nat_a, home_a) = core.home("a", o, HOME_A, NAT_A_WAN, o.home_a, &wan_ns)?;
        let (nat_b, home_b) = core.home("b", o, HOME_B, NAT_B_WAN, o.home_b, &wan_ns)?;

        let lan_gw = core.router("lan_gw", &wan_ns, o.addr(WAN, LAN_GW_WAN), o.addr(WAN, DEAD_END))?;
        core.bridge(&lan_gw.ns, o.addr(LAN, 1), LAN)?;
        core.nat(&lan_gw.ns, o.lan)?;
        let lan_a = core.bridged_host(&lan_gw.ns, "lan_a", o.addr(LAN, 2), o.addr(LAN, 1))?;
        let lan_b = core.bridged_host(&lan_gw.ns, "lan_b", o.addr(LAN, 3), o.addr(LAN, 1))?;

        Ok(NetLab {
            server,
            nat_a,
            home_a,
            nat_b,
            home_b,
            lan_gw,
            lan_a,
            lan_b,
            options,
            core,
            wan_ns,
            extra: Vec::new(),
            next_wan: FIRST_EXTRA_WAN,
            next_lan: FIRST_EXTRA_LAN,
            shaped: Mutex::new(HashMap::new()),
        })
    }

    /// `plab-<pid>-<n>`: the start of all this lab's namespace names.
    pub fn id(&self) -> &str {
        &self.core.id
    }

    /// Every namespace this lab created.
    pub fn namespaces(&self) -> &[String] {
        &self.core.namespaces.names
    }

    /// The "internet" namespace with the WAN bridge (for debugging: `ip netns exec … tcpdump`).
    pub fn wan_ns(&self) -> &str {
        &self.wan_ns
    }

    pub fn options(&self) -> &LabOptions {
        &self.options
    }

    /// A host by role (`server`, `home_a`, …, or an added host's name).
    pub fn host(&self, name: &str) -> Option<&Host> {
        [
            &self.server,
            &self.nat_a,
            &self.home_a,
            &self.nat_b,
            &self.home_b,
            &self.lan_gw,
            &self.lan_a,
            &self.lan_b,
        ]
        .into_iter()
        .chain(&self.extra)
        .find(|host| host.name == name)
    }

    /// Another host on the LAN segment (e.g. a LAN server, `lan_srv`), from 10.231.10.4 up.
    /// `name`: 1–12 characters of `a-z`, `0-9`, `_`.
    pub fn add_lan_host(&mut self, name: &str) -> Result<Host, LabError> {
        self.check_new_name(name)?;
        if self.next_lan > LAST_EXTRA_LAN {
            return Err(LabError::Options("the LAN is full".into()));
        }
        let addr = self.options.addr(LAN, self.next_lan);
        let gateway = self.options.addr(LAN, 1);
        let host = self.core.bridged_host(&self.lan_gw.ns, name, addr, gateway)?;
        self.next_lan += 1;
        self.extra.push(host.clone());
        Ok(host)
    }

    /// Another public host on the internet segment (a second server, a peer for a relay), from
    /// 10.231.0.2 up. `name` as for [`NetLab::add_lan_host`].
    pub fn add_wan_host(&mut self, name: &str) -> Result<Host, LabError> {
        self.check_new_name(name)?;
        if self.next_wan > LAST_EXTRA_WAN {
            return Err(LabError::Options("the internet segment is full".into()));
        }
        let addr = self.options.addr(WAN, self.next_wan);
        let gateway = self.options.addr(WAN, DEAD_END);
        let host = self.core.bridged_host(&self.wan_ns, name, addr, gateway)?;
        self.next_wan += 1;
        self.extra.push(host.clone());
        Ok(host)
    }

    fn check_new_name(&self, name: &str) -> Result<(), LabError> {
        // Bridge ports are `to_<name>` and interface names are at most 15 bytes.
        let valid = !name.is_empty()
            && name.len() <= 12
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(LabError::Options(format!(
                "host name `{name}`: use 1–12 characters of a-z, 0-9 and _"
            )));
        }
        if name == "wan" || self.host(name).is_some() {
            return Err(LabError::Options(format!("host name `{name}` is taken")));
        }
        Ok(())
    }

    /// Shapes `host`'s uplink in both directions, e.g. `"delay 100ms loss 5%"` (so a round
    /// trip gets 200 ms). With the kernel's netem any netem option works; without it (kernels
    /// built without `CONFIG_NET_SCH_NETEM`) `delay TIME [JITTER]` and `loss PERCENT` are
    /// emulated through NFQUEUE by a thread of this process. Replaces earlier shaping.
    pub fn netem(&self, host: &Host, spec: &str) -> Result<(), LabError> {
        self.clear_netem(host)?;
        let args: Vec<&str> = spec.split_whitespace().collect();
        if args.is_empty() {
            return Err(LabError::Netem {
                spec: spec.into(),
                reason: "nothing to do".into(),
            });
        }
        let [inner, outer] = [&host.uplink.inner, &host.uplink.outer];
        let shaping = match self.core.tc_netem(inner, &args) {
            Ok(()) => {
                if let Err(error) = self.core.tc_netem(outer, &args) {
                    let _ = self
                        .core
                        .ctl
                        .tc(&inner.ns, &["qdisc", "del", "dev", &inner.dev, "root"]);
                    return Err(error);
                }
                Shaping::Qdisc
            }
            Err(LabError::Command { stderr, .. }) if stderr.contains("kind is unknown") => {
                let shape = Shape::parse(spec).map_err(|reason| LabError::Netem {
                    spec: spec.into(),
                    reason,
                })?;
                Shaping::Queue(NfQueueShaper::start(&self.core.ctl, inner, shape)?)
            }
            Err(error) => return Err(error),
        };
        self.shaped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.ns.clone(), shaping);
        Ok(())
    }

    /// Removes [`NetLab::netem`]'s shaping from `host`'s uplink (nothing if there is none).
    pub fn clear_netem(&self, host: &Host) -> Result<(), LabError> {
        let shaping = self.shaped.lock().unwrap_or_else(|e| e.into_inner()).remove(&host.ns);
        match shaping {
            None => Ok(()),
            Some(Shaping::Qdisc) => {
                for end in [&host.uplink.inner, &host.uplink.outer] {
                    self.core.ctl.tc(&end.ns, &["qdisc", "del", "dev", &end.dev, "root"])?;
                }
                Ok(())
            }
            Some(Shaping::Queue(mut shaper)) => shaper.stop(&self.core.ctl),
        }
    }

    /// Takes `host`'s uplink down at both ends: its sends fail with "network unreachable" and
    /// nothing reaches it, as with a pulled cable. Existing NAT mappings stay.
    pub fn cut(&self, host: &Host) -> Result<(), LabError> {
        for end in [&host.uplink.inner, &host.uplink.outer] {
            self.core.ctl.ip(&end.ns, &["link", "set", "dev", &end.dev, "down"])?;
        }
        Ok(())
    }

    /// Brings a [`NetLab::cut`] uplink back, with the default route the kernel dropped with it.
    pub fn restore(&self, host: &Host) -> Result<(), LabError> {
        let ctl = &self.core.ctl;
        let (inner, outer) = (&host.uplink.inner, &host.uplink.outer);
        ctl.ip(&outer.ns, &["link", "set", "dev", &outer.dev, "up"])?;
        ctl.ip(&inner.ns, &["link", "set", "dev", &inner.dev, "up"])?;
        let gateway = host.gateway.to_string();
        ctl.ip(
            &inner.ns,
            &["route", "replace", "default", "via", &gateway, "dev", &inner.dev],
        )?;
        Ok(())
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        // The shapers' sockets hold their namespaces; they go first so the namespaces really go.
        let shaped = std::mem::take(&mut *self.shaped.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, shaping) in shaped {
            if let Shaping::Queue(mut shaper) = shaping {
                shaper.halt();
            }
        }
        // `core.namespaces` deletes the namespaces when it is dropped, right after this.
    }
}

/// What builds the lab and owns its namespaces.
#[derive(Debug)]
struct Core {
    ctl: Ctl,
    id: String,
    namespaces: Namespaces,
}

impl Core {
    /// Creates `<id>-<role>` with `lo` up, IPv6 off for interfaces to come, and forwarding on
    /// for routers only (a new namespace copies the host's `ip_forward`).
    fn namespace(&mut self, role: &str, forwarding: bool) -> Result<String, LabError> {
        let ns = format!("{}-{role}", self.id);
        {
            // `ip netns add` sets up /run/netns as a shared mount the first time; two at once
            // can race on that.
            static NETNS_ADD: Mutex<()> = Mutex::new(());
            let _guard = NETNS_ADD.lock().unwrap_or_else(|e| e.into_inner());
            let output = StdCommand::new(&self.ctl.ip)
                .args(["netns", "add", &ns])
                .output()
                .map_err(io_error("running `ip netns add`"))?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
                return Err(if effective_uid() != Some(0) {
                    LabError::NotRoot
                } else {
                    LabError::Namespaces { stderr }
                });
            }
        }
        self.namespaces.names.push(ns.clone());
        self.ctl.ip(&ns, &["link", "set", "lo", "up"])?;
        sysctl(&ns, "net/ipv6/conf/default/disable_ipv6", "1", true)?;
        sysctl(&ns, "net/ipv4/ip_forward", if forwarding { "1" } else { "0" }, false)?;
        Ok(ns)
    }

    /// A bridge `br0` with `addr/24` in `ns`. Its MAC is fixed: a bridge otherwise takes the
    /// lowest of its ports' MACs, and a host added later would change the gateway's MAC under
    /// the feet of everyone's ARP cache.
    fn bridge(&self, ns: &str, addr: Ipv4Addr, subnet: u8) -> Result<(), LabError> {
        let mac = format!("02:00:00:00:{subnet:02x}:{:02x}", addr.octets()[3]);
        self.ctl
            .ip(ns, &["link", "add", "name", "br0", "address", &mac, "type", "bridge"])?;
        self.address(ns, "br0", addr)
    }

    fn address(&self, ns: &str, dev: &str, addr: Ipv4Addr) -> Result<(), LabError> {
        self.ctl.ip(ns, &["addr", "add", &format!("{addr}/24"), "dev", dev])?;
        self.ctl.ip(ns, &["link", "set", "dev", dev, "up"])?;
        Ok(())
    }

    fn veth(&self, a: &End, b: &End) -> Result<(), LabError> {
        self.ctl.ip(
            &a.ns,
            &[
                "link", "add", "name", &a.dev, "type", "veth", "peer", "name", &b.dev, "netns", &b.ns,
            ],
        )?;
        Ok(())
    }

    fn default_route(&self, ns: &str, gateway: Ipv4Addr) -> Result<(), LabError> {
        self.ctl
            .ip(ns, &["route", "add", "default", "via", &gateway.to_string()])?;
        Ok(())
    }

    fn host(&self, name: &str, ns: String, addr: Ipv4Addr, gateway: Ipv4Addr, uplink: Uplink) -> Host {
        Host {
            name: name.into(),
            ns,
            addr,
            gateway,
            uplink,
            ip: self.ctl.ip.clone(),
        }
    }

    /// A new namespace `name` plugged into the bridge in `bridge_ns` through its `eth0`.
    fn bridged_host(
        &mut self,
        bridge_ns: &str,
        name: &str,
        addr: Ipv4Addr,
        gateway: Ipv4Addr,
    ) -> Result<Host, LabError> {
        let ns = self.namespace(name, false)?;
        let uplink = self.bridge_port(bridge_ns, &ns, name, "eth0")?;
        self.address(&ns, "eth0", addr)?;
        self.default_route(&ns, gateway)?;
        Ok(self.host(name, ns, addr, gateway, uplink))
    }

    fn bridge_port(&self, bridge_ns: &str, ns: &str, name: &str, dev: &str) -> Result<Uplink, LabError> {
        let inner = End {
            ns: ns.into(),
            dev: dev.into(),
        };
        let outer = End {
            ns: bridge_ns.into(),
            dev: format!("to_{name}"),
        };
        self.veth(&inner, &outer)?;
        self.ctl
            .ip(bridge_ns, &["link", "set", "dev", &outer.dev, "master", "br0", "up"])?;
        Ok(Uplink { inner, outer })
    }

    /// A router namespace `name` with its `wan0` on the internet bridge.
    fn router(&mut self, name: &str, wan_ns: &str, addr: Ipv4Addr, gateway: Ipv4Addr) -> Result<Host, LabError> {
        let ns = self.namespace(name, true)?;
        let uplink = self.bridge_port(wan_ns, &ns, name, "wan0")?;
        self.address(&ns, "wan0", addr)?;
        self.default_route(&ns, gateway)?;
        Ok(self.host(name, ns, addr, gateway, uplink))
    }

    /// `nat_<x>` on the internet and `home_<x>` behind it on `lan0`.
    fn home(
        &mut self,
        x: &str,
        o: &LabOptions,
        subnet: u8,
        wan_host: u8,
        kind: NatKind,
        wan_ns: &str,
    ) -> Result<(Host, Host), LabError> {
        let nat = self.router(
            &format!("nat_{x}"),
            wan_ns,
            o.addr(WAN, wan_host),
            o.addr(WAN, DEAD_END),
        )?;
        let name = format!("home_{x}");
        let ns = self.namespace(&name, false)?;
        let (addr, gateway) = (o.addr(subnet, 2), o.addr(subnet, 1));
        let inner = End {
            ns: ns.clone(),
            dev: "eth0".into(),
        };
        let outer = End {
            ns: nat.ns.clone(),
            dev: "lan0".into(),
        };
        self.veth(&inner, &outer)?;
        self.address(&nat.ns, "lan0", gateway)?;
        self.address(&ns, "eth0", addr)?;
        self.default_route(&ns, gateway)?;
        self.nat(&nat.ns, kind)?;
        let home = self.host(&name, ns, addr, gateway, Uplink { inner, outer });
        Ok((nat, home))
    }

    /// NAT everything leaving `wan0`, and let in from the WAN only what answers it.
    fn nat(&self, ns: &str, kind: NatKind) -> Result<(), LabError> {
        let mut masquerade = vec!["-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"];
        if kind == NatKind::Symmetric {
            masquerade.push("--random-fully");
        }
        self.ctl.iptables(ns, &masquerade)?;
        let established = [
            "-A",
            "FORWARD",
            "-i",
            "wan0",
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
        ];
        self.ctl.iptables(ns, &[&established[..], &["-j", "ACCEPT"]].concat())?;
        self.ctl.iptables(ns, &["-A", "FORWARD", "-i", "wan0", "-j", "DROP"])?;
        // Nor does the router itself answer the WAN. Besides being what home routers do, it
        // matters for hole punching: a peer's first packet, arriving before ours went out, would
        // otherwise be accepted as traffic to the router and its conntrack entry would take the
        // port our own mapping needs, so Linux would map us to another port.
        let input = [
            "-A",
            "INPUT",
            "-i",
            "wan0",
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
        ];
        self.ctl.iptables(ns, &[&input[..], &["-j", "ACCEPT"]].concat())?;
        self.ctl.iptables(ns, &["-A", "INPUT", "-i", "wan0", "-j", "DROP"])?;
        Ok(())
    }

    fn tc_netem(&self, end: &End, args: &[&str]) -> Result<(), LabError> {
        let mut tc = vec!["qdisc", "replace", "dev", &end.dev, "root", "netem"];
        tc.extend_from_slice(args);
        self.ctl.tc(&end.ns, &tc).map(drop)
    }
}

/// The namespaces a lab created, deleted on drop (also when building fails half-way).
#[derive(Debug)]
struct Namespaces {
    ip: PathBuf,
    names: Vec<String>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.names.iter().rev() {
            if let Err(error) = remove_namespace(&self.ip, ns) {
                eprintln!("netlab: {error}");
            }
        }
    }
}

/// Kills what runs in `ns` (a namespace lives on while a process is in it) and deletes it.
fn remove_namespace(ip: &Path, ns: &str) -> Result<(), LabError> {
    if let Ok(pids) = run(StdCommand::new(ip).args(["netns", "pids", ns])) {
        let own = std::process::id();
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
            if pid != own {
                sys::kill(pid);
            }
        }
    }
    run(StdCommand::new(ip).args(["netns", "delete", ns])).map(drop)
}

/// Deletes the namespaces of labs whose process is gone (a crashed or killed test run), and
/// returns their names. [`NetLab::build`] calls it; by hand:
/// `ip netns list | grep -o '^plab-[^ ]*' | xargs -rn1 ip netns delete`.
pub fn cleanup_stale() -> Result<Vec<String>, LabError> {
    let ip = find_tool("ip")?;
    let list = run(StdCommand::new(&ip).args(["netns", "list"]))?;
    let mut removed = Vec::new();
    for ns in list.lines().filter_map(|line| line.split_whitespace().next()) {
        let Some(rest) = ns.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        remove_namespace(&ip, ns)?;
        removed.push(ns.to_owned());
    }
    Ok(removed)
}

/// Paths of the tools the lab runs, found once per lab.
#[derive(Clone, Debug)]
struct Ctl {
    ip: PathBuf,
    tc: PathBuf,
    iptables: PathBuf,
}

impl Ctl {
    fn find() -> Result<Ctl, LabError> {
        Ok(Ctl {
            ip: find_tool("ip")?,
            tc: find_tool("tc")?,
            iptables: find_tool("iptables")?,
        })
    }

    fn ip(&self, ns: &str, args: &[&str]) -> Result<String, LabError> {
        run(StdCommand::new(&self.ip).arg("-n").arg(ns).args(args))
    }

    fn tc(&self, ns: &str, args: &[&str]) -> Result<String, LabError> {
        run(StdCommand::new(&self.tc).arg("-n").arg(ns).args(args))
    }

    /// `-w`: iptables-legacy takes a global lock, which parallel labs would otherwise fail on.
    fn iptables(&self, ns: &str, args: &[&str]) -> Result<String, LabError> {
        run(StdCommand::new(&self.ip)
            .args(["netns", "exec", ns])
            .arg(&self.iptables)
            .arg("-w")
            .args(args))
    }
}

/// `name` on PATH or in the sbin directories, which a non-login root shell may lack on PATH.
fn find_tool(name: &'static str) -> Result<PathBuf, LabError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(LabError::MissingTool { tool: name })
}

fn run(command: &mut StdCommand) -> Result<String, LabError> {
    let described = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_error(format!("running `{described}`")))?;
    if !output.status.success() {
        return Err(LabError::Command {
            command: described,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `f` on a thread in namespace `ns`; the caller's threads stay where they are.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    let path = format!("/run/netns/{ns}");
    let file = File::open(&path).map_err(io_error(format!("opening {path}")))?;
    std::thread::scope(|scope| {
        let thread = scope.spawn(move || {
            sys::enter_netns(&file).map_err(io_error(format!("entering network namespace {ns}")))?;
            Ok(f())
        });
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Writes `/proc/sys/<key>` as seen from `ns` (`/proc/sys/net` follows the writer's namespace).
fn sysctl(ns: &str, key: &str, value: &str, optional: bool) -> Result<(), LabError> {
    let path = format!("/proc/sys/{key}");
    match in_netns(ns, || std::fs::write(&path, value))? {
        Err(error) if optional && error.kind() == io::ErrorKind::NotFound => Ok(()),
        result => result.map_err(io_error(format!("setting {key} = {value} in {ns}"))),
    }
}

/// A [`Host::udp_echo`]: answers each datagram with `"<sender address> <datagram>"`. Stops
/// when dropped.
#[derive(Debug)]
pub struct UdpEcho {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    fn start(socket: UdpSocket, host: Ipv4Addr) -> io::Result<UdpEcho> {
        let addr = SocketAddrV4::new(host, socket.local_addr()?.port());
        // The stop flag is checked between reads.
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let mut reply = format!("{from} ").into_bytes();
                    reply.extend_from_slice(&buf[..n]);
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Ok(UdpEcho {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the echo listens.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a [`probe`] learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The probe's source as the echo saw it: after any NAT on the way.
    pub seen_as: SocketAddrV4,
    /// Round trip of the datagram that was answered.
    pub rtt: Duration,
}

/// Sends datagrams from `socket` to a [`UdpEcho`] (again every 250 ms, in case one is lost)
/// until one is answered or `timeout` passes (`Ok(None)`). An unreachable network counts as
/// no answer. Changes the socket's read timeout.
pub fn probe(socket: &UdpSocket, echo: SocketAddrV4, timeout: Duration) -> io::Result<Option<Probe>> {
    const RESEND: Duration = Duration::from_millis(250);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nonce = format!("probe-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let deadline = Instant::now() + timeout;
    let mut sent: Vec<Instant> = Vec::new();
    let mut next_send = Instant::now();
    let mut buf = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        if now >= next_send {
            let message = format!("{nonce} {}", sent.len());
            match socket.send_to(message.as_bytes(), echo) {
                Ok(_) => {}
                Err(error) if unreachable(&error) => {}
                Err(error) => return Err(error),
            }
            sent.push(now);
            next_send = now + RESEND;
        }
        let wait = next_send
            .min(deadline)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                let received = Instant::now();
                let text = String::from_utf8_lossy(&buf[..n]);
                let mut parts = text.split(' ');
                let (Some(seen), Some(reply_nonce), Some(index)) = (parts.next(), parts.next(), parts.next()) else {
                    continue;
                };
                let (Ok(seen_as), Ok(index)) = (seen.parse::<SocketAddrV4>(), index.parse::<usize>()) else {
                    continue;
                };
                if reply_nonce == nonce && index < sent.len() {
                    return Ok(Some(Probe {
                        seen_as,
                        rtt: received - sent[index],
                    }));
                }
            }
            Err(error)
                if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
                    || unreachable(&error) => {}
            Err(error) => return Err(error),
        }
    }
}

fn unreachable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable | io::ErrorKind::ConnectionRefused
    )
}

/// How a host's uplink is shaped.
#[derive(Debug)]
enum Shaping {
    Qdisc,
    Queue(NfQueueShaper),
}

/// The part of netem the NFQUEUE stand-in does.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shape {
    delay: Duration,
    jitter: Duration,
    loss: f64,
}

impl Shape {
    fn parse(spec: &str) -> Result<Shape, String> {
        let mut shape = Shape {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
        };
        let mut words = spec.split_whitespace().peekable();
        while let Some(word) = words.next() {
            match word {
                "delay" => {
                    let value = words.next().ok_or("`delay` needs a time, e.g. `delay 100ms`")?;
                    shape.delay = parse_time(value)?;
                    if let Some(jitter) = words.peek().and_then(|w| parse_time(w).ok()) {
                        shape.jitter = jitter;
                        words.next();
                    }
                }
                "loss" => {
                    let mut value = words.next().ok_or("`loss` needs a percentage, e.g. `loss 5%`")?;
                    if value == "random" {
                        value = words.next().ok_or("`loss random` needs a percentage")?;
                    }
                    let percent: f64 = value
                        .trim_end_matches('%')
                        .parse()
                        .map_err(|_| format!("`{value}` is not a percentage"))?;
                    if !(0.0..=100.0).contains(&percent) {
                        return Err(format!("`{value}` is not a percentage"));
                    }
                    shape.loss = percent / 100.0;
                }
                other => {
                    return Err(format!(
                        "`{other}` needs the kernel's netem qdisc, which this kernel lacks \
                         (CONFIG_NET_SCH_NETEM); without it only `delay TIME [JITTER]` and \
                         `loss PERCENT` are emulated"
                    ))
                }
            }
        }
        Ok(shape)
    }
}

fn parse_time(value: &str) -> Result<Duration, String> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{value}` is not a time"))?;
    let seconds = match unit {
        "s" | "sec" | "secs" => number,
        "ms" | "msec" | "msecs" => number / 1e3,
        "us" | "usec" | "usecs" => number / 1e6,
        _ => return Err(format!("`{value}` is not a time: give a unit (s, ms, us)")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// netem's `delay` and `loss` without netem: iptables hands every packet through the uplink
/// (both directions, in the host's namespace) to an NFQUEUE; a thread here reads each one's
/// id and gives the verdict — drop, or accept after the delay. `--queue-bypass` lets traffic
/// through unshaped should this process die before removing the rules.
#[derive(Debug)]
struct NfQueueShaper {
    ns: String,
    rules: Vec<Vec<String>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Queue numbers are per namespace, and each namespace has at most one shaped uplink.
const QUEUE: u16 = 4231;

impl NfQueueShaper {
    fn start(ctl: &Ctl, end: &End, shape: Shape) -> Result<NfQueueShaper, LabError> {
        let socket = in_netns(&end.ns, || nfqueue::bind(QUEUE))?
            .map_err(io_error(format!("binding NFQUEUE {QUEUE} in {} (for netem)", end.ns)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (verdicts, due) = mpsc::channel::<(Instant, u32, bool)>();
        let reader = socket.try_clone().map_err(io_error("cloning the NFQUEUE socket"))?;
        let stopped = stop.clone();
        let mut random = Xorshift::seeded();
        let read = std::thread::spawn(move || {
            let mut reader = reader;
            let mut buf = vec![0u8; 65536];
            while !stopped.load(Ordering::Relaxed) {
                let n = match reader.read(&mut buf) {
                    Ok(n) => n,
                    // Timeouts let the stop flag be seen; ENOBUFS means the kernel dropped
                    // messages, which only loses those packets.
                    Err(_) => continue,
                };
                let now = Instant::now();
                for id in nfqueue::packet_ids(&buf[..n]) {
                    let verdict = if shape.loss > 0.0 && random.unit() < shape.loss {
                        (now, id, false)
                    } else {
                        let jitter = shape.jitter.mul_f64(random.unit() * 2.0);
                        let at = (now + shape.delay + jitter).checked_sub(shape.jitter).unwrap_or(now);
                        (at, id, true)
                    };
                    if verdicts.send(verdict).is_err() {
                        return;
                    }
                }
            }
        });
        let write = std::thread::spawn(move || {
            let mut writer = socket;
            let mut pending: BinaryHeap<Reverse<(Instant, u32, bool)>> = BinaryHeap::new();
            let mut open = true;
            while open || !pending.is_empty() {
                let now = Instant::now();
                while let Some(Reverse((at, id, accept))) = pending.peek().copied() {
                    if at > now {
                        break;
                    }
                    pending.pop();
                    let _ = writer.write_all(&nfqueue::verdict(QUEUE, id, accept));
                }
                let wait = pending
                    .peek()
                    .map_or(Duration::from_millis(100), |Reverse((at, _, _))| {
                        at.saturating_duration_since(now)
                    });
                if open {
                    match due.recv_timeout(wait) {
                        Ok(verdict) => pending.push(Reverse(verdict)),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
                    }
                } else {
                    std::thread::sleep(wait);
                }
            }
        });
        let mut shaper = NfQueueShaper {
            ns: end.ns.clone(),
            rules: Vec::new(),
            stop,
            threads: vec![read, write],
        };
        let queue = QUEUE.to_string();
        for (chain, direction) in [("PREROUTING", "-i"), ("POSTROUTING", "-o")] {
            let rule: Vec<String> = [
                chain,
                direction,
                &end.dev,
                "-j",
                "NFQUEUE",
                "--queue-num",
                &queue,
                "--queue-bypass",
            ]
            .map(String::from)
            .to_vec();
            let args: Vec<&str> = ["-t", "mangle", "-A"]
                .into_iter()
                .chain(rule.iter().map(String::as_str))
                .collect();
            if let Err(error) = ctl.iptables(&end.ns, &args) {
                let _ = shaper.stop(ctl);
                return Err(error);
            }
            shaper.rules.push(rule);
        }
        Ok(shaper)
    }

    /// Removes the rules, then lets the packets still held go out before the socket closes.
    fn stop(&mut self, ctl: &Ctl) -> Result<(), LabError> {
        let mut result = Ok(());
        for rule in self.rules.drain(..) {
            let args: Vec<&str> = ["-t", "mangle", "-D"]
                .into_iter()
                .chain(rule.iter().map(String::as_str))
                .collect();
            if let Err(error) = ctl.iptables(&self.ns, &args) {
                result = result.and(Err(error));
            }
        }
        self.halt();
        result
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for NfQueueShaper {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Random numbers for loss and jitter; test traffic needs no better.
struct Xorshift(u64);

impl Xorshift {
    fn seeded() -> Xorshift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Xorshift(nanos | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The few messages of the kernel's nfnetlink_queue protocol the shaper needs
/// (linux/netfilter/nfnetlink_queue.h). Netlink headers are in host order, nfnetlink payloads
/// in network order.
mod nfqueue {
    use std::fs::File;
    use std::io::{self, Read, Write};

    const SUBSYS_QUEUE: u16 = 3;
    const MSG_PACKET: u16 = 0;
    const MSG_VERDICT: u16 = 1;
    const MSG_CONFIG: u16 = 2;
    const NLMSG_ERROR: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const CFG_CMD: u16 = 1;
    const CFG_PARAMS: u16 = 2;
    const CFG_QUEUE_MAXLEN: u16 = 3;
    const CMD_BIND: u8 = 1;
    const COPY_META: u8 = 1;
    const PACKET_HDR: u16 = 1;
    const VERDICT_HDR: u16 = 2;
    const AF_INET: u16 = 2;

    /// A netlink socket bound to queue `queue` of the calling thread's namespace, in "metadata
    /// only" mode (the shaper never looks at packets).
    pub(super) fn bind(queue: u16) -> io::Result<File> {
        let mut socket = super::sys::netlink_netfilter_socket()?;
        let mut params = 0u32.to_be_bytes().to_vec();
        params.push(COPY_META);
        let requests = [
            message(
                MSG_CONFIG,
                NLM_F_REQUEST | NLM_F_ACK,
                1,
                queue,
                &[(CFG_CMD, &[CMD_BIND, 0, 0, AF_INET as u8])],
            ),
            message(
                MSG_CONFIG,
                NLM_F_REQUEST | NLM_F_ACK,
                2,
                queue,
                &[(CFG_PARAMS, &params)],
            ),
            message(
                MSG_CONFIG,
                NLM_F_REQUEST | NLM_F_ACK,
                3,
                queue,
                &[(CFG_QUEUE_MAXLEN, &8192u32.to_be_bytes())],
            ),
        ];
        for request in requests {
            socket.write_all(&request)?;
            let mut buf = [0u8; 4096];
            let n = socket.read(&mut buf)?;
            check_ack(&buf[..n])?;
        }
        Ok(socket)
    }

    fn message(kind: u16, flags: u16, seq: u32, queue: u16, attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let mut buf = vec![0u8; 16];
        // nfgenmsg: family (unspecified), version 0, the queue number.
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&queue.to_be_bytes());
        for (kind, value) in attributes {
            buf.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
            buf.extend_from_slice(&kind.to_ne_bytes());
            buf.extend_from_slice(value);
            buf.resize(buf.len().next_multiple_of(4), 0);
        }
        let len = buf.len() as u32;
        buf[0..4].copy_from_slice(&len.to_ne_bytes());
        buf[4..6].copy_from_slice(&((SUBSYS_QUEUE << 8) | kind).to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        buf
    }

    fn check_ack(buf: &[u8]) -> io::Result<()> {
        if buf.len() >= 20 && u16::from_ne_bytes([buf[4], buf[5]]) == NLMSG_ERROR {
            let errno = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
            if errno != 0 {
                return Err(io::Error::from_raw_os_error(-errno));
            }
            return Ok(());
        }
        Err(io::Error::other("no acknowledgement from nfnetlink_queue"))
    }

    pub(super) fn verdict(queue: u16, id: u32, accept: bool) -> Vec<u8> {
        let mut header = u32::from(accept).to_be_bytes().to_vec(); // NF_DROP 0, NF_ACCEPT 1
        header.extend_from_slice(&id.to_be_bytes());
        message(MSG_VERDICT, NLM_F_REQUEST, 0, queue, &[(VERDICT_HDR, &header)])
    }

    /// The ids of the queued packets in one read.
    pub(super) fn packet_ids(mut buf: &[u8]) -> Vec<u32> {
        let mut ids = Vec::new();
        while buf.len() >= 20 {
            let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if len < 20 || len > buf.len() {
                break;
            }
            if u16::from_ne_bytes([buf[4], buf[5]]) == (SUBSYS_QUEUE << 8) | MSG_PACKET {
                let mut attributes = &buf[20..len];
                while attributes.len() >= 4 {
                    let attr_len = u16::from_ne_bytes([attributes[0], attributes[1]]) as usize;
                    let kind = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
                    if attr_len < 4 || attr_len > attributes.len() {
                        break;
                    }
                    if kind == PACKET_HDR && attr_len >= 8 {
                        ids.push(u32::from_be_bytes([
                            attributes[4],
                            attributes[5],
                            attributes[6],
                            attributes[7],
                        ]));
                    }
                    attributes = &attributes[attr_len.next_multiple_of(4).min(attributes.len())..];
                }
            }
            buf = &buf[len.next_multiple_of(4).min(buf.len())..];
        }
        ids
    }
}

/// The system calls std has no wrapper for.
#[allow(unsafe_code)]
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// Moves the calling thread (only) into the network namespace `file` refers to.
    pub(super) fn enter_netns(file: &File) -> io::Result<()> {
        // SAFETY: setns(2) only reads the descriptor, which `file` keeps open for the call, and
        // changes no memory of ours.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(super) fn kill(pid: u32) {
        // SAFETY: kill(2) sends a signal and touches no memory of ours.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }

    /// A netlink socket for netfilter, bound, with a 100 ms receive timeout (so reader threads
    /// notice when to stop) and room for bursts. Read and write on a netlink socket talk to the
    /// kernel, so a `File` is all it needs to be.
    pub(super) fn netlink_netfilter_socket() -> io::Result<File> {
        // SAFETY: socket(2) takes no pointers; the descriptor is checked before it is owned.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data, all zeroes is valid (port id 0: the kernel picks).
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the pointer and length describe `address`, which outlives the call.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                std::ptr::addr_of!(address).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        set_option(&fd, libc::SO_RCVTIMEO, &timeout)?;
        let buffer: libc::c_int = 4 << 20;
        set_option(&fd, libc::SO_RCVBUF, &buffer)?;
        Ok(File::from(fd))
    }

    fn set_option<T>(fd: &OwnedFd, option: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: the pointer and length describe `value`, which outlives the call.
        let result = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The real coturn (`turnserver`) in a host's namespace, on `addr:3478` (UDP and TCP), with
/// TURN REST credentials from a shared secret (`--use-auth-secret`), as `parley-signal
/// --turn-secret` hands them out. Killed on drop.
#[derive(Debug)]
pub struct Coturn {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddrV4,
    secret: String,
    realm: String,
}

impl Coturn {
    pub const PORT: u16 = 3478;

    /// Starts coturn on `host.addr` and waits (up to 10 s) until it answers a STUN binding
    /// request over UDP and accepts TCP. `host` must be reachable at its address, i.e. on the
    /// internet (`server` or an [`NetLab::add_wan_host`] host): coturn is not told of any NAT.
    pub fn start(host: &Host, secret: &str, realm: &str) -> Result<Coturn, LabError> {
        let turnserver = find_tool("turnserver")?;
        let dir = tempfile::Builder::new()
            .prefix("parley-coturn-")
            .tempdir()
            .map_err(io_error("creating a temporary directory for coturn"))?;
        let log_path = dir.path().join("turnserver.log");
        let log = File::create(&log_path).map_err(io_error("creating coturn's log"))?;
        let log_too = log.try_clone().map_err(io_error("creating coturn's log"))?;
        let addr = SocketAddrV4::new(host.addr, Self::PORT);
        let in_dir = |name: &str| dir.path().join(name).display().to_string();
        let mut command = host.std_command(&turnserver);
        command
            // Only these options: /etc/turnserver.conf is the system's business.
            .arg("-n")
            .arg(format!("--listening-ip={}", host.addr))
            .arg(format!("--relay-ip={}", host.addr))
            .arg(format!("--listening-port={}", Self::PORT))
            .arg("--use-auth-secret")
            .arg(format!("--static-auth-secret={secret}"))
            .arg(format!("--realm={realm}"))
            .args([
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--fingerprint",
                "--no-multicast-peers",
            ])
            // Relaying to private addresses is what a lab relay is for; the namespace has no
            // way to anywhere else.
            .args([
                "--allowed-peer-ip=10.0.0.0-10.255.255.255",
                "--allowed-peer-ip=172.16.0.0-172.31.255.255",
                "--allowed-peer-ip=192.168.0.0-192.168.255.255",
            ])
            .arg(format!("--pidfile={}", in_dir("turnserver.pid")))
            .arg(format!("--userdb={}", in_dir("turndb")))
            .args(["--log-file=stdout", "--simple-log"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        let child = command
            .spawn()
            .map_err(io_error(format!("starting {}", turnserver.display())))?;
        let mut coturn = Coturn {
            child,
            dir,
            addr,
            secret: secret.into(),
            realm: realm.into(),
        };
        coturn.wait_until_ready(host)?;
        Ok(coturn)
    }

    fn wait_until_ready(&mut self, host: &Host) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let failed = |coturn: &Coturn, reason: String| LabError::Coturn {
            ns: host.ns.clone(),
            reason,
            log: coturn.log(),
        };
        let udp = host.udp_socket(0)?;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(failed(self, format!("turnserver exited at start-up ({status})")));
            }
            if Instant::now() >= deadline {
                return Err(failed(
                    self,
                    format!("no STUN answer and TCP listener on {} after 10 s", self.addr),
                ));
            }
            let stun = stun::binding(&udp, self.addr.into(), Duration::from_millis(200));
            if stun.is_ok() && host.tcp_connect(self.addr.into(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `addr:3478`.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// `stun:ADDR:3478`.
    pub fn stun_url(&self) -> String {
        format!("stun:{}", self.addr)
    }

    /// `turn:ADDR:3478?transport=udp` and `…=tcp`.
    pub fn turn_urls(&self) -> Vec<String> {
        ["udp", "tcp"]
            .iter()
            .map(|t| format!("turn:{}?transport={t}", self.addr))
            .collect()
    }

    /// TURN REST credentials for `user`, valid for `ttl`: username `EXPIRY:USER`, password
    /// base64(HMAC-SHA1(secret, username)), as `parley-signal` makes them.
    pub fn credentials(&self, user: &str, ttl: Duration) -> (String, String) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let username = format!("{}:{user}", now + ttl.as_secs());
        let mut mac = Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(username.as_bytes());
        let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        (username, password)
    }

    /// What coturn printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Just enough STUN (RFC 5389) to ask a server for one's mapped address and to speak a little
/// TURN in tests.
pub mod stun {
    use std::io;
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use hmac::{Hmac, Mac};
    use sha1::Sha1;

    pub const MAGIC_COOKIE: u32 = 0x2112_A442;
    pub const BINDING_REQUEST: u16 = 0x0001;
    pub const BINDING_SUCCESS: u16 = 0x0101;
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;

    /// A fresh transaction id (unique in this process, which is all a test needs).
    pub fn transaction_id() -> [u8; 12] {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut id = [0u8; 12];
        id[..4].copy_from_slice(&std::process::id().to_be_bytes());
        id[4..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        id
    }

    /// A message of `kind` with `attributes`, and MESSAGE-INTEGRITY under `key` if given (for
    /// TURN's long-term credentials the key is MD5(username:realm:password)).
    pub fn encode(kind: u16, id: &[u8; 12], attributes: &[(u16, Vec<u8>)], key: Option<&[u8]>) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&kind.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf.extend_from_slice(id);
        for (kind, value) in attributes {
            buf.extend_from_slice(&kind.to_be_bytes());
            buf.extend_from_slice(&(value.len() as u16).to_be_bytes());
            buf.extend_from_slice(value);
            buf.resize(buf.len().next_multiple_of(4), 0);
        }
        if let Some(key) = key {
            // The HMAC covers the header with a length that already counts the integrity
            // attribute itself (RFC 5389 §15.4).
            let len = (buf.len() - 20 + 24) as u16;
            buf[2..4].copy_from_slice(&len.to_be_bytes());
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(&buf);
            buf.extend_from_slice(&MESSAGE_INTEGRITY.to_be_bytes());
            buf.extend_from_slice(&20u16.to_be_bytes());
            buf.extend_from_slice(&mac.finalize().into_bytes());
        }
        let len = (buf.len() - 20) as u16;
        buf[2..4].copy_from_slice(&len.to_be_bytes());
        buf
    }

    /// A decoded message.
    #[derive(Clone, Debug)]
    pub struct Message {
        pub kind: u16,
        pub id: [u8; 12],
        pub attributes: Vec<(u16, Vec<u8>)>,
    }

    impl Message {
        pub fn attribute(&self, kind: u16) -> Option<&[u8]> {
            self.attributes
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, v)| v.as_slice())
        }

        /// An XOR-…-ADDRESS attribute, decoded.
        pub fn xor_address(&self, kind: u16) -> Option<SocketAddrV4> {
            decode_xor_address(self.attribute(kind)?)
        }

        /// ERROR-CODE as a number (401, 438, …).
        pub fn error_code(&self) -> Option<u16> {
            let value = self.attribute(ERROR_CODE)?;
            (value.len() >= 4).then(|| u16::from(value[2] & 7) * 100 + u16::from(value[3]))
        }
    }

    pub fn decode(buf: &[u8]) -> Option<Message> {
        if buf.len() < 20 || buf[4..8] != MAGIC_COOKIE.to_be_bytes() {
            return None;
        }
        let kind = u16::from_be_bytes([buf[0], buf[1]]);
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        let mut rest = buf.get(20..20 + len)?;
        let id = buf[8..20].try_into().ok()?;
        let mut attributes = Vec::new();
        while rest.len() >= 4 {
            let kind = u16::from_be_bytes([rest[0], rest[1]]);
            let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
            attributes.push((kind, rest.get(4..4 + len)?.to_vec()));
            rest = &rest[(4 + len).next_multiple_of(4).min(rest.len())..];
        }
        Some(Message { kind, id, attributes })
    }

    pub fn encode_xor_address(addr: SocketAddrV4) -> Vec<u8> {
        let port = addr.port() ^ (MAGIC_COOKIE >> 16) as u16;
        let ip = u32::from(*addr.ip()) ^ MAGIC_COOKIE;
        let mut value = vec![0, 1];
        value.extend_from_slice(&port.to_be_bytes());
        value.extend_from_slice(&ip.to_be_bytes());
        value
    }

    pub fn decode_xor_address(value: &[u8]) -> Option<SocketAddrV4> {
        if value.len() < 8 || value[1] != 1 {
            return None;
        }
        let port = u16::from_be_bytes([value[2], value[3]]) ^ (MAGIC_COOKIE >> 16) as u16;
        let ip = u32::from_be_bytes([value[4], value[5], value[6], value[7]]) ^ MAGIC_COOKIE;
        Some(SocketAddrV4::new(Ipv4Addr::from(ip), port))
    }

    /// Sends `request` from `socket` to `server` (again every 250 ms) until a response with
    /// the same transaction id arrives or `timeout` passes. Changes the socket's read timeout.
    pub fn transact(socket: &UdpSocket, server: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Message> {
        let id = &request[8..20];
        let deadline = Instant::now() + timeout;
        let mut next_send = Instant::now();
        let mut buf = [0u8; 2048];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no STUN answer from {server}"),
                ));
            }
            if now >= next_send {
                socket.send_to(request, server)?;
                next_send = now + Duration::from_millis(250);
            }
            let wait = next_send
                .min(deadline)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            socket.set_read_timeout(Some(wait))?;
            match socket.recv_from(&mut buf) {
                Ok((n, _)) => match decode(&buf[..n]) {
                    Some(message) if message.id == id => return Ok(message),
                    _ => {}
                },
                Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// A STUN binding request: the address `server` sees `socket` as.
    pub fn binding(socket: &UdpSocket, server: SocketAddr, timeout: Duration) -> io::Result<SocketAddrV4> {
        let request = encode(BINDING_REQUEST, &transaction_id(), &[], None);
        let response = transact(socket, server, &request, timeout)?;
        let mapped = response.xor_address(XOR_MAPPED_ADDRESS).or_else(|| {
            let value = response.attribute(MAPPED_ADDRESS)?;
            (value.len() >= 8 && value[1] == 1).then(|| {
                SocketAddrV4::new(
                    Ipv4Addr::new(value[4], value[5], value[6], value[7]),
                    u16::from_be_bytes([value[2], value[3]]),
                )
            })
        });
        match (response.kind, mapped) {
            (BINDING_SUCCESS, Some(mapped)) => Ok(mapped),
            _ => Err(io::Error::other(format!(
                "unexpected STUN response from {server}: {response:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_specs_the_fallback_understands() {
        let shape = Shape::parse("delay 100ms 10ms loss 5%").unwrap();
        assert_eq!(shape.delay, Duration::from_millis(100));
        assert_eq!(shape.jitter, Duration::from_millis(10));
        assert!((shape.loss - 0.05).abs() < 1e-9);
        assert_eq!(Shape::parse("loss random 1.5").unwrap().loss, 0.015);
        assert_eq!(Shape::parse("delay 1s").unwrap().delay, Duration::from_secs(1));
        assert!(Shape::parse("rate 1mbit").unwrap_err().contains("CONFIG_NET_SCH_NETEM"));
        assert!(Shape::parse("delay 100").is_err());
    }

    #[test]
    fn stun_round_trip() {
        let id = stun::transaction_id();
        let peer = SocketAddrV4::new(Ipv4Addr::new(10, 231, 0, 2), 40000);
        let encoded = stun::encode(
            0x0008,
            &id,
            &[
                (stun::XOR_PEER_ADDRESS, stun::encode_xor_address(peer)),
                (stun::USERNAME, b"abc".to_vec()),
            ],
            Some(b"key"),
        );
        assert_eq!(encoded.len() % 4, 0);
        let message = stun::decode(&encoded).unwrap();
        assert_eq!(message.id, id);
        assert_eq!(message.xor_address(stun::XOR_PEER_ADDRESS), Some(peer));
        assert_eq!(message.attribute(stun::USERNAME), Some(&b"abc"[..]));
        assert_eq!(message.attribute(stun::MESSAGE_INTEGRITY).map(<[u8]>::len), Some(20));
    }

    #[test]
    fn nfqueue_verdicts_parse_back() {
        // A verdict message has the same layout as a packet message up to the first attribute.
        let mut message = nfqueue::verdict(QUEUE, 77, true);
        message[4..6].copy_from_slice(&(3u16 << 8).to_ne_bytes());
        // Turn the VERDICT_HDR attribute (2) into a PACKET_HDR (1) whose id is the verdict word.
        message[22..24].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(nfqueue::packet_ids(&message), vec![1]);
    }
}
