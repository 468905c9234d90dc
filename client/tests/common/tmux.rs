//! The real `chat` binary on a real terminal: a private tmux server (its
//! own socket, so parallel tests never meet) with one window running
//! `chat`, driven with `send-keys` and read with `capture-pane`. Every
//! wait polls the screen with a generous deadline; nothing sleeps a fixed
//! time. The key reaches `chat` through a file read by the shell, never
//! through an argument (`ps` would show it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::DEADLINE;

/// A tmux server with one window running `chat`; killed when dropped.
pub struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
    server_pid: Option<u32>,
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "chat-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Tmux {
    /// Starts `chat --url URL --username NAME ARGS` in a `width`×`height`
    /// terminal. When `chat` exits, the shell prints `exit=CODE` and the
    /// output of `stty -a`, and waits.
    pub fn chat(url: &str, key: &str, name: &str, args: &[&str], width: u16, height: u16) -> Self {
        Self::start(url, key, name, args, "", width, height, false)
    }

    /// [`Tmux::chat`] with `env` (`NAME=VALUE …`) in chat's environment
    /// (an `XDG_CONFIG_HOME` there gives chat a configuration).
    pub fn chat_with_env(url: &str, key: &str, name: &str, env: &str) -> Self {
        Self::start(url, key, name, &[], env, 100, 30, false)
    }

    /// An interactive shell with job control (bash), `chat` typed at its
    /// prompt, as a person runs it (Ctrl-Z and `fg` work there).
    pub fn shell_running_chat(url: &str, key: &str, name: &str, width: u16, height: u16) -> Self {
        Self::start(url, key, name, &[], "", width, height, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        url: &str,
        key: &str,
        name: &str,
        args: &[&str],
        env: &str,
        width: u16,
        height: u16,
        interactive: bool,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, key).unwrap();
        let script = dir.path().join("run.sh");
        let mut line = format!(
            "XDG_CONFIG_HOME=/nonexistent/chat-test-config CHAT_IDENTITY=none XDG_DATA_HOME={} {env} CHAT_KEY=$(cat {}) exec {} --url {url} --username {name}",
            super::data_home().display(),
            key_file.display(),
            env!("CARGO_BIN_EXE_chat")
        );
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        let body = if interactive {
            let line = line.replacen(" exec ", " ", 1);
            std::fs::write(dir.path().join("chat.sh"), format!("{line}\n")).unwrap();
            "unset CHAT_PASSWORD\nPS1='$ ' exec bash --norc --noprofile -i\n".to_owned()
        } else {
            format!(
                "(unset CHAT_PASSWORD; {line})\necho \"exit=$?\"\nstty -a\necho end-of-stty\nexec sleep 600\n"
            )
        };
        std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
        let socket = unique();
        let mut tmux = Self {
            socket,
            dir,
            server_pid: None,
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-s",
            "main",
            "sh",
            script.to_str().unwrap(),
        ]);
        let pid = tmux.run(&["display-message", "-p", "-t", "main", "#{pid}"]);
        tmux.server_pid = pid.trim().parse().ok();
        if interactive {
            tmux.wait_text("$");
            let chat_sh = tmux.dir.path().join("chat.sh");
            tmux.type_text(&format!(". {}", chat_sh.display()));
            tmux.keys(&["Enter"]);
        }
        tmux
    }

    /// The temporary directory of this terminal.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .output()
            .expect("run tmux (is it installed?)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types keys, in tmux's `send-keys` words (`Enter`, `C-c`, `Tab`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    /// The screen, one string per row.
    pub fn screen(&self) -> Vec<String> {
        self.run(&["capture-pane", "-p", "-t", "main"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until `check` holds for the screen; the screen then, once
    /// two captures in a row agree (tmux may show a frame the client is
    /// still writing: a test that asserts more than `check` says would
    /// otherwise read half a frame).
    pub fn wait_for(&self, what: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        let mut last: Option<Vec<String>> = None;
        loop {
            let screen = self.screen();
            if check(&screen) {
                if last.as_ref() == Some(&screen) {
                    return screen;
                }
                last = Some(screen);
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            last = None;
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_text(&self, needle: &str) -> Vec<String> {
        self.wait_for(&format!("{needle:?} on the screen"), |s| {
            s.iter().any(|row| row.contains(needle))
        })
    }

    /// Resizes the terminal.
    pub fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// The PID of `chat` (the child of the window's shell), once it runs.
    pub fn chat_pid(&self) -> u32 {
        let shell: u32 = self
            .run(&["display-message", "-p", "-t", "main", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid");
        testkit::wait_until("chat to run in the terminal", || {
            let children =
                std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
            children.split_whitespace().find_map(|pid| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
                (comm.trim() == "chat").then(|| pid.parse().ok()).flatten()
            })
        })
    }

    /// The file the key was written to (so tests can check it is gone
    /// from argv and screen).
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let killed = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output()
            .is_ok_and(|o| o.status.success());
        if let (false, Some(pid)) = (killed, self.server_pid) {
            testkit::signal(pid, libc::SIGKILL);
        }
    }
}

/// Whether tmux can run here (the tests say so and pass trivially if not).
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}
