//! What machine the numbers came from, for the report.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub host: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub filesystem: String,
    /// The filesystem of the RAM-backed folder (`tmpfs` when it is one).
    #[serde(default)]
    pub ram_filesystem: String,
    pub kernel: String,
    pub date: String,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    /// Reads the machine's description; `dir` is where the benchmarks write, `ram_dir` the
    /// RAM-backed folder.
    pub fn describe(dir: &Path, ram_dir: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".into(), |(_, v)| v.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let filesystem = |dir: &Path| {
            command_output("stat", &["-f", "-c", "%T", &dir.to_string_lossy()])
                .unwrap_or_else(|| "unknown".into())
        };
        Machine {
            host: command_output("hostname", &["-s"]).unwrap_or_else(|| "unknown".into()),
            cpu,
            cores: tools::cores(),
            memory_gib: mem_kib / (1024.0 * 1024.0),
            filesystem: filesystem(dir),
            ram_filesystem: filesystem(ram_dir),
            kernel: command_output("uname", &["-r"]).unwrap_or_else(|| "unknown".into()),
            date: command_output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_else(|| "unknown".into()),
        }
    }
}
