//! Headless Chromium for the tests: `tests/browser/driver.mjs` (playwright-core) runs WebAuthn
//! ceremonies with a CDP virtual authenticator on a page of the app's origin; the test drives it
//! one JSON step at a time.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// One browser (one virtual authenticator) on `base`.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

const STEP_TIMEOUT: Duration = Duration::from_secs(60);

impl Browser {
    /// Starts Chromium on `base` (e.g. `http://localhost:PORT`).
    ///
    /// # Panics
    /// When node, playwright-core (`npm ci` in tests/browser) or Chromium are missing.
    pub async fn launch(base: &str) -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser");
        let mut child = Command::new("node")
            .arg(format!("{dir}/driver.mjs"))
            .arg(base)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run node tests/browser/driver.mjs (install nodejs, npm ci in tests/browser)");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut browser = Self {
            child,
            stdin,
            lines,
        };
        let ready = browser.read().await;
        assert_eq!(ready["ready"], true, "browser did not start: {ready}");
        browser
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(STEP_TIMEOUT, self.lines.next_line())
            .await
            .expect("browser step timed out")
            .expect("reading the browser's answer")
            .expect("the browser exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad browser line {line}: {e}"))
    }

    /// Runs one step and returns its answer.
    pub async fn step(&mut self, step: Value) -> Value {
        let mut line = step.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("writing to the browser");
        self.read().await
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        let _ = self.stdin.write_all(b"{\"op\":\"quit\"}\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
