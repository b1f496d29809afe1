//! The `exec` step: a program run without a shell, fed on stdin, its output read with a cap
//! while it runs, and killed (with everything it started) when its time is up.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// Bytes kept of each of stdout and stderr; the rest is read and dropped.
pub const MAX_STREAM_BYTES: usize = 64 * 1024;

/// Variables a program inherits from hooktail; nothing else of its environment (which may hold
/// `HOOKTAIL_SMTP_URL` with a password) is passed on.
const INHERITED_ENV: [&str; 7] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"];

/// What the step gives the program.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub command: String,
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// A stream as read: at most [`MAX_STREAM_BYTES`], and whether more was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit code, or `None` when a signal ended the program.
    pub code: Option<i32>,
    pub stdout: Captured,
    pub stderr: Captured,
}

/// Runs the program to its end or its timeout. A timeout kills its whole process group.
pub async fn run(inv: &Invocation) -> Result<Finished, String> {
    let mut cmd = Command::new(&inv.command);
    cmd.args(&inv.args)
        .env_clear()
        .envs(
            INHERITED_ENV
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k, v))),
        )
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", inv.command))?;
    let pid = child.id();
    // A run cut off mid-step (a stop, an edited pipeline) drops this future: take the whole
    // group down with it, or programs the step started would outlive the run and, after a
    // restart, run beside its repetition.
    let mut group = GroupGuard(pid);
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("the program's pipes could not be opened".into());
    };
    let input = inv.stdin.clone();
    // Written apart from the reads, so a program that writes before it reads cannot deadlock.
    // A program that exits without reading all of it closes the pipe: that is not an error.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let work = async {
        let (out, err, status) = tokio::join!(capture(stdout), capture(stderr), child.wait());
        status.map(|s| (s, out, err))
    };
    let result = tokio::time::timeout(inv.timeout, work).await;
    writer.abort();
    // Finished or timed out: handled below, while the child is known to be ours.
    group.0 = None;
    match result {
        Ok(Ok((status, stdout, stderr))) => Ok(Finished {
            code: status.code(),
            stdout,
            stderr,
        }),
        Ok(Err(e)) => Err(format!("waiting for {:?} failed: {e}", inv.command)),
        Err(_) => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            let _ = child.kill().await;
            Err(format!(
                "{:?} did not finish within {} s and was killed",
                inv.command,
                inv.timeout.as_secs_f64()
            ))
        }
    }
}

/// Reads a stream to its end, keeping the first [`MAX_STREAM_BYTES`].
async fn capture(mut r: impl AsyncRead + Unpin) -> Captured {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut chunk = [0u8; 8192];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_STREAM_BYTES - kept.len();
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    Captured {
        bytes: kept,
        truncated,
    }
}

/// Kills the child's process group when dropped while still armed.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            kill_group(pid);
        }
    }
}

/// Kills the process group the child leads (it was started with `process_group(0)`), so that
/// programs it started die with it.
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) takes plain integers and has no memory effects; a negative pid names
        // the process group, which is the child's own.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running, not a zombie waiting to be reaped (here, maybe by nobody).
    fn alive(pid: libc::pid_t) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| Some(stat.rsplit_once(')')?.1.trim_start().starts_with('Z')))
            .is_some_and(|zombie| !zombie)
    }

    /// A run dropped mid-step (as a stop does) takes the programs its step started with it.
    #[tokio::test]
    async fn a_dropped_run_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let inv = Invocation {
            command: "/bin/sh".into(),
            args: vec![
                "-c".into(),
                format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
            ],
            stdin: Vec::new(),
            env: Vec::new(),
            timeout: Duration::from_secs(60),
        };
        let mut run = Box::pin(run(&inv));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let pid: libc::pid_t = loop {
            tokio::select! {
                _ = &mut run => panic!("the program ended early"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            if let Some(pid) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break pid;
            }
            assert!(std::time::Instant::now() < deadline, "sleep did not start");
        };
        assert!(alive(pid));
        drop(run);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while alive(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "the grandchild outlived the run"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
