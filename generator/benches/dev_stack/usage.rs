//! The idle cost of a stack, split by service and by kind of process.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::procfs::{self, Proc};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Postgres,
    Redis,
    Api,
    Worker,
    /// `stackr dev` itself (with the probes it runs).
    Supervisor,
    Other,
}

pub const SERVICE_KINDS: [Kind; 4] = [Kind::Postgres, Kind::Redis, Kind::Api, Kind::Worker];

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgreSQL",
            Kind::Redis => "Redis",
            Kind::Api => "API",
            Kind::Worker => "worker",
            Kind::Supervisor => "supervisor",
            Kind::Other => "other",
        }
    }
}

/// Which service owns which server port (PostgreSQL and Redis are told apart by their program).
#[derive(Default)]
pub struct Owners {
    pub by_port: BTreeMap<u16, String>,
}

/// Memory of one (service, kind), summed over its processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub rss: u64,
    /// The part of `rss` mapped from files (see `procfs::Proc::rss_files`).
    pub rss_files: u64,
    pub pss: u64,
    pub processes: usize,
}

pub struct Usage {
    /// Keyed by service name ("" for the supervisor and unattributed processes).
    pub memory: BTreeMap<(String, Kind), Memory>,
    /// CPU used over the window as a share of one core, in total and by kind of process (a
    /// process's reaped children count for it: the probes for the supervisor, the backends a
    /// probe's connection starts for PostgreSQL).
    pub cpu_share: f64,
    pub cpu_by_kind: BTreeMap<Kind, f64>,
    pub ports: BTreeSet<u16>,
}

impl Usage {
    pub fn total(&self) -> Memory {
        sum(self.memory.values().copied())
    }

    /// Memory of `kind` summed over `services`.
    pub fn of(&self, services: &[String], kind: Kind) -> Memory {
        sum(services
            .iter()
            .filter_map(|s| self.memory.get(&(s.clone(), kind)).copied()))
    }
}

pub fn sum(items: impl Iterator<Item = Memory>) -> Memory {
    items.fold(Memory::default(), |a, m| Memory {
        rss: a.rss + m.rss,
        rss_files: a.rss_files + m.rss_files,
        pss: a.pss + m.pss,
        processes: a.processes + m.processes,
    })
}

/// The `-p PORT` a PostgreSQL postmaster was started with.
fn postgres_port(leader: &Proc) -> Option<u16> {
    let args = &leader.cmdline;
    args.iter()
        .position(|a| a == "-p")
        .and_then(|i| args.get(i + 1)?.parse().ok())
}

/// Redis retitles itself `redis-server 127.0.0.1:PORT`.
fn redis_port(p: &Proc) -> Option<u16> {
    p.cmdline.first()?.rsplit_once(':')?.1.parse().ok()
}

fn classify(p: &Proc, all: &[Proc], owners: &Owners, supervisor: Option<u32>) -> (String, Kind) {
    let owner = |port: Option<u16>| {
        port.and_then(|port| owners.by_port.get(&port).cloned())
            .unwrap_or_default()
    };
    if Some(p.pid) == supervisor {
        return (String::new(), Kind::Supervisor);
    }
    // Debian's redis-server is a link to another program: tell it by its title.
    let title = p.cmdline.first().map(String::as_str).unwrap_or_default();
    let program = title.split(' ').next().unwrap_or_default();
    if program.rsplit('/').next() == Some("redis-server") {
        return (owner(redis_port(p)), Kind::Redis);
    }
    match p.exe.as_str() {
        "postgres" => {
            // PostgreSQL's children leave the postmaster's process group; their parent is it.
            let postmaster = match postgres_port(p) {
                Some(_) => p,
                None => all.iter().find(|q| q.pid == p.ppid).unwrap_or(p),
            };
            (owner(postgres_port(postmaster)), Kind::Postgres)
        }
        _ => {
            // Base services share one program under their own names: the name run is theirs.
            let run = p.cmdline.first().map(String::as_str).unwrap_or_default();
            let exe = run.rsplit('/').next().unwrap_or_default();
            if let Some(service) = exe.strip_suffix("-api") {
                (service.to_owned(), Kind::Api)
            } else if let Some(service) = exe.strip_suffix("-worker") {
                (service.to_owned(), Kind::Worker)
            } else {
                (String::new(), Kind::Other)
            }
        }
    }
}

/// Reads memory and ports of everything below `roots`, then the CPU used over `window`.
pub fn measure(roots: &[u32], supervisor: Option<u32>, owners: &Owners, window: Duration) -> Usage {
    let procs = procfs::trees(roots);
    let mut memory: BTreeMap<(String, Kind), Memory> = BTreeMap::new();
    for p in &procs {
        let entry = memory
            .entry(classify(p, &procs, owners, supervisor))
            .or_default();
        entry.rss += p.rss;
        entry.rss_files += p.rss_files;
        entry.pss += p.pss;
        entry.processes += 1;
    }
    let ports = procfs::listening_ports(&procs);
    // A process that ends inside the window moves its time to its parent's count of reaped
    // children: summed over the tree, nothing is lost or counted twice.
    let ticks_by_kind = || {
        let procs = procfs::trees(roots);
        let mut ticks: BTreeMap<Kind, u64> = BTreeMap::new();
        for p in &procs {
            *ticks
                .entry(classify(p, &procs, owners, supervisor).1)
                .or_default() += p.cpu_ticks;
        }
        ticks
    };
    let before = ticks_by_kind();
    std::thread::sleep(window);
    let after = ticks_by_kind();
    let per_second = procfs::ticks_per_second() as f64 * window.as_secs_f64();
    let cpu_by_kind: BTreeMap<Kind, f64> = after
        .iter()
        .map(|(&kind, &t)| {
            let used = t.saturating_sub(before.get(&kind).copied().unwrap_or(0));
            (kind, used as f64 / per_second)
        })
        .collect();
    Usage {
        memory,
        cpu_share: cpu_by_kind.values().sum(),
        cpu_by_kind,
        ports,
    }
}
