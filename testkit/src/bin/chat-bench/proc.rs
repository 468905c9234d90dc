//! What the kernel says about a process and the machine: CPU time, memory,
//! load (all from `/proc`), and the process limits and CPU affinity the
//! bench sets. Linux only, like chatd's deployment.

use std::time::Instant;

/// Clock ticks per second for `/proc/*/stat` times (`sysconf(_SC_CLK_TCK)`).
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the C library.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// CPU time (user + system) a process used so far, in microseconds, or
/// `None` once it is gone: its CPU clock (every thread's, those that
/// ended included, to the nanosecond), or `/proc/PID/stat` (in ticks of
/// 10 ms) where that clock cannot be read. A light server's CPU over a
/// short phase is a few ticks: the ticks alone would make it ±20 %.
pub fn cpu_us(pid: u32) -> Option<u64> {
    cpu_clock_us(pid).or_else(|| stat_cpu_us(pid))
}

/// The process CPU clock of `pid` (`clock_getcpuclockid`), µs.
fn cpu_clock_us(pid: u32) -> Option<u64> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: both calls write only into the locals passed by pointer.
    unsafe {
        if libc::clock_getcpuclockid(pid, &mut clock) != 0
            || libc::clock_gettime(clock, &mut ts) != 0
        {
            return None;
        }
    }
    Some(ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000)
}

/// utime + stime of `/proc/PID/stat`, µs (10 ms resolution).
fn stat_cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields count from the
    // last ')'. utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / ticks_per_second())
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`), 0 if unknown.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resident set now, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// Peak resident set, KiB.
pub fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM")
}

/// The processes a run measures: the server (every chatd node of a
/// cluster, whose figures are summed) and the nats-server they share.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// The server's PIDs: none when unknown (`--url` without
    /// `--server-pid`), several for chatd nodes on NATS.
    pub server: Vec<u32>,
    /// The nats-server's PID, when the nodes use one.
    pub nats: Option<u32>,
}

impl Measured {
    /// Whether the server's PID is known (CPU and memory can be read).
    pub fn known(&self) -> bool {
        !self.server.is_empty()
    }

    /// The server's CPU µs so far, summed over its processes; `None` if
    /// unknown or one is gone.
    fn server_cpu_us(&self) -> Option<u64> {
        if !self.known() {
            return None;
        }
        self.server.iter().map(|&pid| cpu_us(pid)).sum()
    }

    /// The server's resident set now, summed, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.server.iter().map(|&pid| rss_kib(pid)).sum()
    }

    /// The server's peak resident sets, summed, KiB.
    pub fn hwm_kib(&self) -> u64 {
        self.server.iter().map(|&pid| hwm_kib(pid)).sum()
    }
}

/// The kernel objects an accepted TCP connection holds on the server's
/// side, by slab cache: the socket (`TCP`), its inode (`sock_inode_cache`),
/// its dentry, its open file (`filp`), and its entry in the server's epoll
/// set (`eventpoll_epi`, `eventpoll_pwq`).
const SOCKET_SLABS: [&str; 6] = [
    "TCP",
    "sock_inode_cache",
    "dentry",
    "filp",
    "eventpoll_epi",
    "eventpoll_pwq",
];

/// The kernel memory one idle TCP connection holds on the server's side,
/// bytes: the objects of [`SOCKET_SLABS`], each at its share of its slab's
/// pages (`/sys/kernel/slab/NAME`: pages per slab ÷ objects per slab). Not
/// in any process's RSS. An idle socket holds no buffers (`ss -tm`: r0 t0
/// f0 w0), so this is all of it. `None` when the kernel does not say
/// (no SLUB sysfs).
pub fn socket_kernel_bytes() -> Option<u64> {
    let read = |cache: &str, field: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/sys/kernel/slab/{cache}/{field}"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    // SAFETY: sysconf reads a constant of the C library.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as u64,
        _ => 4096,
    };
    SOCKET_SLABS
        .iter()
        .map(|cache| {
            let per_slab = read(cache, "objs_per_slab")?.max(1);
            Some((page << read(cache, "order")?) / per_slab)
        })
        .sum()
}

/// The three load averages of `/proc/loadavg`.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    ]
}

/// Busy CPU time of the whole machine (all CPUs, all processes: every
/// column of the `cpu` line of `/proc/stat` but idle and iowait), in µs.
pub fn machine_busy_us() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let cols: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal guest guest_nice;
    // guest time is already counted in user.
    let busy: u64 = cols
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 3 | 4 | 8 | 9))
        .map(|(_, v)| v)
        .sum();
    busy * 1_000_000 / ticks_per_second()
}

/// CPUs online on the machine (not only those this process may use, as
/// `--pin-load` narrows it).
pub fn cpus() -> usize {
    // SAFETY: sysconf reads a value of the C library.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as usize } else { 1 }
}

/// One reading of the CPU clocks, taken at the edges of a phase.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    /// When.
    pub at: Instant,
    /// The server's CPU µs, if its PID is known.
    pub server_us: Option<u64>,
    /// The nats-server's CPU µs, if one is used.
    pub nats_us: Option<u64>,
    /// This process's CPU µs (the load generator).
    pub load_us: u64,
    /// The whole machine's busy µs.
    pub machine_us: u64,
}

impl CpuSample {
    /// Reads the clocks now.
    pub fn take(measured: &Measured) -> Self {
        CpuSample {
            at: Instant::now(),
            server_us: measured.server_cpu_us(),
            nats_us: measured.nats.and_then(cpu_us),
            load_us: cpu_us(std::process::id()).unwrap_or(0),
            machine_us: machine_busy_us(),
        }
    }
}

/// CPU used between two samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// The server's CPU µs.
    pub server_us: Option<u64>,
    /// The nats-server's CPU µs.
    pub nats_us: Option<u64>,
    /// The load generator's CPU µs.
    pub load_us: u64,
    /// CPU µs of every other process on the machine (busy time minus the
    /// three above; 0 if the clocks disagree).
    pub others_us: u64,
}

impl CpuUse {
    /// What happened between `before` and `after`.
    pub fn between(before: &CpuSample, after: &CpuSample) -> Self {
        let spent = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?));
        let server_us = spent(before.server_us, after.server_us);
        let nats_us = spent(before.nats_us, after.nats_us);
        let load_us = after.load_us.saturating_sub(before.load_us);
        let machine = after.machine_us.saturating_sub(before.machine_us);
        CpuUse {
            wall_s: after.at.duration_since(before.at).as_secs_f64(),
            server_us,
            nats_us,
            load_us,
            others_us: machine
                .saturating_sub(load_us + server_us.unwrap_or(0) + nats_us.unwrap_or(0)),
        }
    }
}

/// Raises the open-file limit to what `want` needs: the soft limit to the
/// hard one, and the hard one too when allowed (root). Returns the limit
/// in force.
pub fn raise_nofile(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit on our own process with a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let target = want.max(lim.rlim_cur as u64);
        if target as libc::rlim_t > lim.rlim_max {
            let mut higher = lim;
            higher.rlim_max = target as libc::rlim_t;
            higher.rlim_cur = target as libc::rlim_t;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &higher) == 0 {
                return target;
            }
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        lim.rlim_cur as u64
    }
}

/// Pins one thread (`tid`, 0 for the calling one) to `cpu`.
fn pin_thread(tid: i32, cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Pins the calling thread (and so every thread it starts later) to `cpu`.
pub fn pin_self(cpu: usize) -> std::io::Result<()> {
    pin_thread(0, cpu)
}

/// Pins every thread of process `pid` to `cpu` (affinity is per thread, and
/// a running server has started its workers already).
pub fn pin_process(pid: u32, cpu: usize) -> std::io::Result<()> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let tid: i32 = task?.file_name().to_string_lossy().parse().unwrap_or(0);
        if tid > 0 {
            pin_thread(tid, cpu)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        assert!(rss_kib(std::process::id()) > 0);
        assert!(hwm_kib(std::process::id()) >= rss_kib(std::process::id()) / 2);
        assert!(cpu_us(std::process::id()).is_some());
        assert!(cpu_us(u32::MAX).is_none());
        // Another process's clock, and the ticks agree with it.
        let parent = std::os::unix::process::parent_id();
        let (clock, ticks) = (cpu_clock_us(parent).unwrap(), stat_cpu_us(parent).unwrap());
        assert!(
            clock + 20_000 >= ticks,
            "{clock} µs by the clock, {ticks} by the ticks"
        );
        assert!(machine_busy_us() > 0);
        assert!(cpus() >= 1);
    }

    #[test]
    fn a_socket_costs_the_kernel_a_few_kib_where_it_says() {
        if let Some(bytes) = socket_kernel_bytes() {
            // A tcp_sock alone is over 2 KiB; all of it well under 16.
            assert!((2048..16384).contains(&bytes), "{bytes}");
        } else {
            assert!(!std::path::Path::new("/sys/kernel/slab/TCP").exists());
        }
    }
}
