//! A worker process's CPU time and peak memory, from `/proc`.

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields resume after its `)`.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    Some((utime + stime) / ticks_per_second())
}

fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The process's resident set size now and at its peak, in KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The process's proportional set size in KiB: resident memory, with each
/// shared page divided among its mappings. A copy-on-write memory image
/// mapped into many Wasm instances counts once here, but once per mapping
/// in the RSS.
pub fn pss_kib(pid: u32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Resident and proportional KiB of the process's mappings, by kind: the
/// heap, named files and memfds (copy-on-write memory images), thread
/// stacks, and anonymous mappings split into huge reservations (1 GiB or
/// more: the pooling allocator's slots and on-demand linear memories) and
/// the rest (malloc arenas).
pub fn smaps_by_kind(pid: u32) -> Option<std::collections::BTreeMap<String, (u64, u64)>> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut out = std::collections::BTreeMap::<String, (u64, u64)>::new();
    let mut kind = String::new();
    let kib = |l: &str| {
        l.split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
    };
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Some((lo, hi)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let size = u64::from_str_radix(hi, 16).ok()? - u64::from_str_radix(lo, 16).ok()?;
            let name = words.nth(4).unwrap_or_default();
            kind = match name {
                "" if size >= 1 << 30 => "anonymous, >= 1 GiB (wasm reservations)".into(),
                "" => "anonymous, < 1 GiB (malloc arenas, stacks)".into(),
                n if n.starts_with("/memfd:") => n.to_string(),
                n if n.starts_with('/') => "files".into(),
                n => n.to_string(),
            };
        } else if line.starts_with("Rss:") {
            out.entry(kind.clone()).or_default().0 += kib(line)?;
        } else if line.starts_with("Pss:") {
            out.entry(kind.clone()).or_default().1 += kib(line)?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        std::hint::black_box((0..5_000_000u64).fold(0, |a, b| a ^ b.wrapping_mul(31)));
        assert!(cpu_seconds(pid).is_some_and(|s| s > 0.0));
        let (now, peak) = rss_kib(pid).expect("status");
        assert!(now > 0 && peak >= now);
        assert!(pss_kib(pid).is_some_and(|p| p > 0 && p <= now + 1024));
        let kinds = smaps_by_kind(pid).expect("smaps");
        assert!(kinds.contains_key("[stack]"), "{kinds:?}");
    }
}
