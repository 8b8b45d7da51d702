//! Small Linux helpers: CPU pinning, file limits, `/proc` figures, socket options, and the
//! monotonic time base every timestamp in a frame is counted from.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::time::Instant;

static BASE: OnceLock<Instant> = OnceLock::new();

/// Starts the clock frames carry their timestamps in; call once at start-up.
pub fn init_clock() {
    BASE.get_or_init(Instant::now);
}

fn base() -> Instant {
    *BASE.get_or_init(Instant::now)
}

/// Nanoseconds since [`init_clock`].
pub fn now_ns() -> u64 {
    base().elapsed().as_nanos() as u64
}

/// The same clock for a given instant (0 for instants before the base).
pub fn ns_of(t: Instant) -> u64 {
    t.saturating_duration_since(base()).as_nanos() as u64
}

/// Pins the calling thread (and every thread it creates later) to one core.
pub fn pin_to_core(core: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity only reads it. Also called between fork
    // and exec, where it is async-signal-safe (one system call, no allocation).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// SCHED_RR at priority 1 for the calling thread; threads and children created afterwards
/// inherit it.
pub fn realtime() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: valid pointer to an initialised sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// In a child between fork and exec: die with the bench, and run on `core`.
pub fn child_setup(core: Option<usize>) -> io::Result<()> {
    // SAFETY: prctl with integer arguments is async-signal-safe.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    }
    match core {
        Some(core) => pin_to_core(core),
        None => Ok(()),
    }
}

/// Lets `thread::sleep` on the calling thread wake within microseconds (default slack: 50 µs).
pub fn low_timer_slack() {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Raises the soft open-file limit to the hard one; returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}

/// Lets `connect` pick the source port by the whole 4-tuple, so one source address can reach
/// ~28k ports per destination and old TIME_WAIT sockets towards other ports do not get in the way.
pub fn bind_address_no_port(sock: &impl AsRawFd) {
    let one: libc::c_int = 1;
    // SAFETY: valid fd and option buffer of the right size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Resident set size of a process, KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of a process (all its threads), in seconds: (user, system). `None` means this
/// process. System time includes the loopback TCP work the kernel does on the process's behalf
/// (the receiving side's softirq runs in the sender's context; this kernel has no separate IRQ
/// time accounting).
pub fn cpu_secs(pid: Option<u32>) -> (f64, f64) {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name start at field 3 (state); utime is field 14,
    // stime field 15.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return (0.0, 0.0);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) as f64;
    let hz = clock_ticks_per_sec();
    (ticks(11) / hz, ticks(12) / hz)
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// Busy CPU time of the whole machine (all cores), in seconds, from `/proc/stat`.
pub fn machine_busy_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    // cpu user nice system idle iowait irq softirq steal ...
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let busy: u64 = [0usize, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum();
    busy as f64 / clock_ticks_per_sec()
}

/// CPU counters at one instant: the server (user, system), this process, the whole machine.
#[derive(Clone, Copy)]
pub struct CpuSample {
    server: (f64, f64),
    loadgen: f64,
    machine: f64,
}

/// Average CPU use over a phase, in cores.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server_user: f64,
    pub server_system: f64,
    pub loadgen: f64,
    /// Everything else on the machine meanwhile (noise).
    pub other: f64,
}

impl CpuUse {
    pub fn server(&self) -> f64 {
        self.server_user + self.server_system
    }
}

impl CpuSample {
    /// `servers`: every process that makes up the server under test (one, or a cluster's nodes
    /// and its Redis); their CPU is added up.
    pub fn take(servers: &[u32]) -> Self {
        let (user, system) = cpu_secs(None);
        let server = servers
            .iter()
            .map(|&pid| cpu_secs(Some(pid)))
            .fold((0.0, 0.0), |(u, s), (pu, ps)| (u + pu, s + ps));
        CpuSample {
            server,
            loadgen: user + system,
            machine: machine_busy_secs(),
        }
    }

    pub fn since(&self, earlier: &CpuSample, secs: f64) -> CpuUse {
        let server_user = (self.server.0 - earlier.server.0) / secs;
        let server_system = (self.server.1 - earlier.server.1) / secs;
        let loadgen = (self.loadgen - earlier.loadgen) / secs;
        let machine = (self.machine - earlier.machine) / secs;
        CpuUse {
            server_user,
            server_system,
            loadgen,
            other: (machine - server_user - server_system - loadgen).max(0.0),
        }
    }
}
