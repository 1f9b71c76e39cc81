//! What a tree of processes costs, read from /proc: resident memory, CPU time and listening TCP
//! ports. Linux only, like the dev stack's supervisor.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One process as /proc shows it at one moment.
#[derive(Clone, Debug)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// File name of the executable (`postgres`, `redis-server`, `s1-api`, …).
    pub exe: String,
    pub cmdline: Vec<String>,
    /// Resident set size in bytes.
    pub rss: u64,
    /// The part of `rss` mapped from files: the program's code and data, its libraries.
    pub rss_files: u64,
    /// Proportional set size in bytes (shared pages split between the processes mapping them).
    pub pss: u64,
    /// CPU time of the process and of its children it has waited for, in clock ticks.
    pub cpu_ticks: u64,
}

fn read_proc(pid: u32) -> Option<Proc> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the fields after it start at
    // the last `)`.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu_ticks = (14..=17).filter_map(field).sum();
    let cmdline: Vec<String> = std::fs::read(dir.join("cmdline"))
        .ok()?
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let exe = std::fs::read_link(dir.join("exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let kb_field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
    Some(Proc {
        pid,
        ppid: field(4)? as u32,
        exe,
        cmdline,
        rss: kb_field(&status, "VmRSS:"),
        rss_files: kb_field(&status, "RssFile:"),
        pss: kb_field(&rollup, "Pss:"),
        cpu_ticks,
    })
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `root` and every process descending from it.
pub fn tree(root: u32) -> Vec<Proc> {
    let procs: Vec<Proc> = all_pids().into_iter().filter_map(read_proc).collect();
    let mut children: HashMap<u32, Vec<&Proc>> = HashMap::new();
    for p in &procs {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut pending: Vec<&Proc> = procs.iter().filter(|p| p.pid == root).collect();
    while let Some(p) = pending.pop() {
        out.push(p.clone());
        pending.extend(children.get(&p.pid).into_iter().flatten());
    }
    out
}

/// The processes whose pid is in `pids`, and their descendants.
pub fn trees(pids: &[u32]) -> Vec<Proc> {
    pids.iter().flat_map(|&pid| tree(pid)).collect()
}

pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// Socket inodes a process holds open.
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| {
                let target = std::fs::read_link(e.ok()?.path()).ok()?;
                let target = target.to_str()?;
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .collect()
        })
        .unwrap_or_default()
}

/// TCP ports some process of `procs` listens on.
pub fn listening_ports(procs: &[Proc]) -> BTreeSet<u16> {
    let inodes: BTreeSet<u64> = procs.iter().flat_map(|p| socket_inodes(p.pid)).collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, inode is the 10th column.
            let (Some(local), Some(&"0A"), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let listening = inode.parse::<u64>().is_ok_and(|i| inodes.contains(&i));
            let port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if let (true, Some(port)) = (listening, port) {
                ports.insert(port);
            }
        }
    }
    ports
}
