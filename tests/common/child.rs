//! A real `hooktail serve` child process.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_hooktail");

pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `hooktail serve` and waits until it answers /healthz.
    pub fn start(data: &Path, addr: SocketAddr) -> Serve {
        Self::start_with(data, addr, &[])
    }

    /// `start` with more options.
    pub fn start_with(data: &Path, addr: SocketAddr, options: &[&str]) -> Serve {
        let log = data.with_extension("stderr.log");
        let child = Command::new(BIN)
            .args(["serve", "--listen", &addr.to_string()])
            .args(options)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        // Started once it accepts connections and has written its serve.addr, which it does
        // just after binding: a command run in between would not find it.
        while std::net::TcpStream::connect(addr).is_err() || !data.join("serve.addr").exists() {
            assert!(Instant::now() < deadline, "hooktail serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Serve {
            child,
            addr,
            data: data.to_path_buf(),
            log,
        }
    }

    /// A line of /proc/PID/status in KiB, such as `VmRSS` or `VmHWM` (the peak).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    pub fn key(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.key")).unwrap()
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `hooktail command …` and returns (exit code, stdout, stderr).
pub fn command(data: &Path, listen: SocketAddr, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("command")
        .args(args)
        .arg("--data")
        .arg(data)
        .args(["--listen", &listen.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
