//! The figures of one size next to the anchor's, and the targets.

use std::time::Duration;

use crate::usage::{self, Kind, Memory, Usage, SERVICE_KINDS};

/// The size the start and CPU targets are stated for.
const TARGET_SIZE: usize = 25;
const WARM_TARGET: Duration = Duration::from_secs(10);
/// Per base service, its PostgreSQL and Redis included (decimal megabytes).
const RSS_TARGET_MB: f64 = 60.0;
/// Share of one core.
const CPU_TARGET: f64 = 0.05;

/// The 1-minute load average, to read every wall-clock figure against.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

fn median(runs: &[Duration]) -> Duration {
    let mut sorted = runs.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

pub struct Figures {
    pub size: usize,
    pub services: Vec<String>,
    pub cold: Duration,
    pub warm: Vec<Duration>,
    pub load_cold: String,
    pub load_warm: String,
    pub stack: Usage,
    pub anchor: Usage,
    pub load_end: String,
}

impl Figures {
    /// Mean memory of one base service (its PostgreSQL, Redis, API and worker).
    fn per_base_service(&self, usage: &Usage) -> Memory {
        let n = self.services.len() as u64;
        let total = usage::sum(SERVICE_KINDS.iter().map(|&k| usage.of(&self.services, k)));
        Memory {
            rss: total.rss / n,
            rss_files: total.rss_files / n,
            pss: total.pss / n,
            processes: total.processes,
        }
    }

    /// The least RSS a base service could have: the stores at their floor, plus this stack's
    /// own API and worker as measured.
    fn least_per_base_service(&self, floor: &Memory) -> u64 {
        let n = self.services.len() as u64;
        let programs: u64 = [Kind::Api, Kind::Worker]
            .iter()
            .map(|&k| self.stack.of(&self.services, k).rss)
            .sum();
        floor.rss + programs / n
    }

    fn warm_median(&self) -> Duration {
        median(&self.warm)
    }

    pub fn print(&self, floor: &Memory) {
        let n = self.size;
        let warm: Vec<String> = self.warm.iter().map(|d| secs(*d)).collect();
        println!(
            "\n{n} base service(s) + auth (loads: cold start {}, warm starts {}, end {}):",
            self.load_cold, self.load_warm, self.load_end
        );
        println!(
            "  cold start to all ready (empty state, initdb): {}",
            secs(self.cold)
        );
        println!(
            "  warm start to all ready: median {} (runs {}){}",
            secs(self.warm_median()),
            warm.join(", "),
            if n == TARGET_SIZE {
                format!("  target <= {}s", WARM_TARGET.as_secs())
            } else {
                String::new()
            }
        );
        self.print_usage("stack", &self.stack, true);
        self.print_usage("anchor", &self.anchor, false);
        let per = self.per_base_service(&self.stack);
        let anchor = self.per_base_service(&self.anchor);
        println!(
            "  per base service, RSS {:.1} MB, PSS {:.1} MB (anchor, PostgreSQL + Redis only: RSS \
             {:.1} MB, PSS {:.1} MB)  target RSS <= {RSS_TARGET_MB} MB: {}",
            mb(per.rss),
            mb(per.pss),
            mb(anchor.rss),
            mb(anchor.pss),
            met(mb(per.rss) <= RSS_TARGET_MB)
        );
        println!(
            "  per base service at the floor (its stores at their least, {:.1} MB, and this \
             stack's API and worker): RSS {:.1} MB",
            mb(floor.rss),
            mb(self.least_per_base_service(floor))
        );
    }

    fn print_usage(&self, what: &str, usage: &Usage, with_programs: bool) {
        let total = usage.total();
        let n = self.services.len() as u64;
        let kinds: &[Kind] = if with_programs {
            &SERVICE_KINDS
        } else {
            &SERVICE_KINDS[..2]
        };
        let per_kind: Vec<String> = kinds
            .iter()
            .map(|&k| {
                let m = usage.of(&self.services, k);
                format!(
                    "{} {:.1} MB ({:.1} from files, {:.1} PSS, {} proc)",
                    k.label(),
                    mb(m.rss / n),
                    mb(m.rss_files / n),
                    mb(m.pss / n),
                    m.processes as u64 / n
                )
            })
            .collect();
        println!(
            "  {what}: idle RSS {:.1} MB in {} processes (PSS {:.1} MB); per base service: {}",
            mb(total.rss),
            total.processes,
            mb(total.pss),
            per_kind.join(", ")
        );
        let auth = ["auth".to_owned()];
        let auth_rss: u64 = kinds.iter().map(|&k| usage.of(&auth, k).rss).sum();
        let supervisor = usage
            .memory
            .get(&(String::new(), Kind::Supervisor))
            .copied()
            .unwrap_or_default();
        let other = usage
            .memory
            .get(&(String::new(), Kind::Other))
            .copied()
            .unwrap_or_default();
        println!(
            "  {what}: auth {:.1} MB, supervisor {:.1} MB, other {:.1} MB ({} proc); idle CPU \
             over {}s: {:.2}% of one core{}; {} listening TCP ports",
            mb(auth_rss),
            mb(supervisor.rss),
            mb(other.rss),
            other.processes,
            crate::CPU_WINDOW.as_secs(),
            usage.cpu_share * 100.0,
            if with_programs && self.size == TARGET_SIZE {
                format!(" (target <= {:.0}%)", CPU_TARGET * 100.0)
            } else {
                String::new()
            },
            usage.ports.len()
        );
        let by_kind: Vec<String> = usage
            .cpu_by_kind
            .iter()
            .map(|(k, share)| format!("{} {:.2}%", k.label(), share * 100.0))
            .collect();
        println!(
            "  {what}: idle CPU by kind of process: {}",
            by_kind.join(", ")
        );
    }
}

/// Which targets were met, over every size measured.
pub struct Verdicts {
    lines: Vec<(String, Option<bool>)>,
    /// One PostgreSQL and one Redis at their least (see `anchor::Settings::Least`).
    floor: Memory,
}

impl Verdicts {
    pub fn new(floor: Memory) -> Self {
        Verdicts {
            lines: Vec::new(),
            floor,
        }
    }

    pub fn add(&mut self, f: &Figures) {
        let per = mb(f.per_base_service(&f.stack).rss);
        self.lines.push((
            format!(
                "{} services: {per:.1} MB RSS per base service <= {RSS_TARGET_MB} MB (its stores' \
                 floor alone {:.1} MB; at that floor, with this API and worker, {:.1} MB)",
                f.size,
                mb(self.floor.rss),
                mb(f.least_per_base_service(&self.floor))
            ),
            Some(per <= RSS_TARGET_MB),
        ));
        if f.size == TARGET_SIZE {
            let warm = f.warm_median();
            self.lines.push((
                format!(
                    "{TARGET_SIZE} services: warm start {} <= {}s",
                    secs(warm),
                    WARM_TARGET.as_secs()
                ),
                Some(warm <= WARM_TARGET),
            ));
            self.lines.push((
                format!(
                    "{TARGET_SIZE} services: idle CPU {:.2}% <= {:.0}% of one core",
                    f.stack.cpu_share * 100.0,
                    CPU_TARGET * 100.0
                ),
                Some(f.stack.cpu_share <= CPU_TARGET),
            ));
        }
    }

    pub fn not_measured(&mut self, size: usize) {
        self.lines
            .push((format!("{size} services: not measured"), None));
    }

    /// Prints every verdict; false when a target was missed or a size could not be measured.
    pub fn print(&self) -> bool {
        println!("\ntargets:");
        let mut all = true;
        for (line, verdict) in &self.lines {
            all &= *verdict == Some(true);
            println!(
                "  {line}: {}",
                match verdict {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "NOT MEASURED",
                }
            );
        }
        if !self
            .lines
            .iter()
            .any(|(l, _)| l.starts_with("25 services: warm"))
        {
            println!(
                "  the warm-start and idle-CPU targets are for {TARGET_SIZE} services, not \
                 measured in this run"
            );
        }
        all
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
