//! A small file system for disk-full tests: a tmpfs, or a loop-mounted ext4 image, under a temp
//! dir, unmounted when dropped. Mounting needs root (CI runs as root); elsewhere `mount` says why
//! the test is skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug)]
pub enum Fs {
    Tmpfs,
    Ext4,
}

/// A small file system mounted under a temp dir for one test; unmounted when dropped.
pub struct SmallDisk {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

impl SmallDisk {
    /// A `mib` MiB file system of kind `fs`; an error (say why the test is skipped) when not root.
    pub fn mount(fs: Fs, mib: u64) -> Result<SmallDisk, String> {
        // SAFETY: `geteuid` has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root, cannot mount a small file system".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let target = mount.to_str().ok_or("non-UTF-8 temp path")?.to_string();
        match fs {
            Fs::Tmpfs => run(
                "mount",
                &[
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={mib}m"),
                    "tmpfs",
                    &target,
                ],
            )?,
            Fs::Ext4 => {
                let image = dir.path().join("disk.img");
                let f = std::fs::File::create(&image).map_err(|e| e.to_string())?;
                f.set_len(mib << 20).map_err(|e| e.to_string())?;
                let image = image.to_str().ok_or("non-UTF-8 temp path")?.to_string();
                run("mkfs.ext4", &["-q", "-F", "-m", "0", &image])?;
                run("mount", &["-o", "loop", &image, &target])?;
            }
        }
        Ok(SmallDisk { mount, _dir: dir })
    }

    /// `name` inside the mount.
    pub fn path(&self, name: &str) -> PathBuf {
        self.mount.join(name)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// Writes `path` with up to `limit` bytes (until the disk is full when larger), synced.
pub fn write_file(path: &Path, limit: u64) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    let mut written = 0;
    while written < limit {
        let n = chunk.len().min((limit - written) as usize);
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n as u64;
    }
    let _ = f.sync_all();
    written
}
