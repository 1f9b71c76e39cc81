//! Where the load generator runs, and how much CPU each side spent: on a 2-core machine a server
//! starved by the generator would look slower than it is.

use std::time::Instant;

/// Pins the calling thread (`tid` 0) or thread `tid` to `cpu`; false when the kernel refuses.
pub fn pin_thread(tid: libc::pid_t, cpu: usize) -> bool {
    // SAFETY: cpu_set_t is plain data; CPU_SET and sched_setaffinity only read/write the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// CPU time (user + system) of process `pid` so far, in seconds, from `/proc/<pid>/stat`.
pub fn process_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the state field.
    let clock_ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / clock_ticks
}

/// The parent pid of process `pid` (field 4 of its stat), if it still runs.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time of `root` and its direct children (PostgreSQL: the postmaster and its backends), in
/// seconds. Backends of a pool live through a whole run, so the difference over a run is theirs.
pub fn tree_cpu_secs(root: u32) -> f64 {
    let children: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(root))
        .map(process_cpu_secs)
        .sum();
    process_cpu_secs(root) + children
}

/// CPU spent by a server process, by PostgreSQL and by this process (the load generator) over
/// one run.
pub struct CpuMeter {
    server: u32,
    server_start: f64,
    postgres: u32,
    postgres_start: f64,
    own_start: f64,
    wall_start: Instant,
}

pub struct CpuShare {
    /// Server CPU seconds over the run.
    pub server_secs: f64,
    /// PostgreSQL CPU seconds over the run (every backend).
    pub postgres_secs: f64,
    /// The load generator's CPU as a share of one core over the run (0..=1).
    pub generator_share: f64,
}

impl CpuMeter {
    pub fn start(server: u32, postgres: u32) -> Self {
        CpuMeter {
            server,
            server_start: process_cpu_secs(server),
            postgres,
            postgres_start: tree_cpu_secs(postgres),
            own_start: process_cpu_secs(std::process::id()),
            wall_start: Instant::now(),
        }
    }

    pub fn stop(self) -> CpuShare {
        let wall = self.wall_start.elapsed().as_secs_f64();
        CpuShare {
            server_secs: process_cpu_secs(self.server) - self.server_start,
            postgres_secs: tree_cpu_secs(self.postgres) - self.postgres_start,
            generator_share: (process_cpu_secs(std::process::id()) - self.own_start) / wall,
        }
    }
}
