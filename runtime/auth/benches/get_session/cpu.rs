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

/// CPU spent by a server process and by this process (the load generator) over one run.
pub struct CpuMeter {
    server: u32,
    server_start: f64,
    own_start: f64,
    wall_start: Instant,
}

pub struct CpuShare {
    /// Server CPU seconds over the run.
    pub server_secs: f64,
    /// The load generator's CPU as a share of one core over the run (0..=1).
    pub generator_share: f64,
}

impl CpuMeter {
    pub fn start(server: u32) -> Self {
        CpuMeter {
            server,
            server_start: process_cpu_secs(server),
            own_start: process_cpu_secs(std::process::id()),
            wall_start: Instant::now(),
        }
    }

    pub fn stop(self) -> CpuShare {
        let wall = self.wall_start.elapsed().as_secs_f64();
        CpuShare {
            server_secs: process_cpu_secs(self.server) - self.server_start,
            generator_share: (process_cpu_secs(std::process::id()) - self.own_start) / wall,
        }
    }
}
