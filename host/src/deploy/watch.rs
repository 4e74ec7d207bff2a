//! The watched directory's scanner: which `.wasm` files under it are ready
//! to deploy. A file is ready once its size and modification time held
//! still for one scan (a copy still being written waits), and again each
//! time it is rewritten in place. Symbolic links, FIFOs and other
//! non-regular files, and files over the size cap, are refused and
//! reported once, never opened: a link could point anywhere on the host,
//! and a FIFO would block the reader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a scan found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A file that held still, with its bytes.
    Ready {
        /// The file.
        path: PathBuf,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A file that will not be deployed, and why.
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// Size and modification time: what changes while a file is written.
type Stamp = (u64, Option<SystemTime>);

#[derive(Debug)]
struct Seen {
    stamp: Stamp,
    /// Reported (ready or refused) for this stamp already.
    done: bool,
}

/// What the scans of one directory remember.
#[derive(Debug, Default)]
pub struct Scanner {
    seen: HashMap<PathBuf, Seen>,
}

impl Scanner {
    /// The `.wasm` files of `dir` that are ready, or refused, since the
    /// last scan; files over `cap` bytes are refused.
    pub fn scan(&mut self, dir: &Path, cap: u64) -> Vec<Found> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "wasm") {
                continue;
            }
            // Not followed: the link itself is what is judged.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let stamp = (meta.len(), meta.modified().ok());
            // A new file, or one that changed since the last scan, waits a
            // scan to show it has stopped changing.
            let seen = match self.seen.entry(path.clone()) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Seen { stamp, done: false });
                    continue;
                }
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            };
            if seen.stamp != stamp {
                *seen = Seen { stamp, done: false };
                continue;
            }
            if seen.done {
                continue;
            }
            let kind = meta.file_type();
            let refusal = if kind.is_symlink() {
                Some("a symbolic link (only regular files are deployed)".to_string())
            } else if !kind.is_file() {
                Some("not a regular file (a FIFO, socket or device)".to_string())
            } else if meta.len() > cap {
                Some(format!("{} bytes, over the {cap}-byte cap", meta.len()))
            } else {
                None
            };
            if let Some(why) = refusal {
                seen.done = true;
                found.push(Found::Refused { path, why });
                continue;
            }
            match std::fs::read(&path) {
                // Written since its metadata was read: the next scan sees it.
                Ok(bytes) if bytes.len() as u64 != meta.len() => {}
                Ok(bytes) => {
                    seen.done = true;
                    found.push(Found::Ready { path, bytes });
                }
                Err(_) => {}
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| match f {
                Found::Ready { path, .. } => {
                    format!("ready {}", path.file_name().unwrap().to_string_lossy())
                }
                Found::Refused { path, why } => {
                    format!(
                        "refused {}: {why}",
                        path.file_name().unwrap().to_string_lossy()
                    )
                }
            })
            .collect()
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pw-watch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_file_is_ready_once_it_holds_still_and_again_when_rewritten() {
        let d = dir("still");
        let mut s = Scanner::default();
        std::fs::write(d.join("v.wasm"), b"part").unwrap();
        std::fs::write(d.join("notes.txt"), b"x").unwrap();
        assert!(s.scan(&d, 1 << 20).is_empty(), "first seen: wait a scan");
        std::fs::write(d.join("v.wasm"), b"partial, longer").unwrap();
        assert!(s.scan(&d, 1 << 20).is_empty(), "still being written");
        let found = s.scan(&d, 1 << 20);
        assert_eq!(
            found,
            [Found::Ready {
                path: d.join("v.wasm"),
                bytes: b"partial, longer".to_vec()
            }]
        );
        assert!(s.scan(&d, 1 << 20).is_empty(), "reported once");
        std::fs::write(d.join("v.wasm"), b"rewritten in place").unwrap();
        assert!(s.scan(&d, 1 << 20).is_empty());
        assert_eq!(names(&s.scan(&d, 1 << 20)), ["ready v.wasm"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn links_fifos_and_big_files_are_refused_once_without_being_opened() {
        let d = dir("refused");
        std::fs::write(d.join("real.bin"), b"\0asm").unwrap();
        std::os::unix::fs::symlink(d.join("real.bin"), d.join("link.wasm")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(d.join("pipe.wasm"))
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::write(d.join("big.wasm"), vec![0u8; 2048]).unwrap();
        let mut s = Scanner::default();
        assert!(s.scan(&d, 1024).is_empty());
        let mut found = names(&s.scan(&d, 1024));
        found.sort();
        assert_eq!(
            found,
            [
                "refused big.wasm: 2048 bytes, over the 1024-byte cap",
                "refused link.wasm: a symbolic link (only regular files are deployed)",
                "refused pipe.wasm: not a regular file (a FIFO, socket or device)",
            ]
        );
        assert!(s.scan(&d, 1024).is_empty(), "reported once");
        let _ = std::fs::remove_dir_all(&d);
    }
}
