//! Helpers: start the simulator, run the binary with a clean environment, read its output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::sim;

/// Output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A running simulator plus a scratch directory for CA files and recordings.
pub struct World {
    pub sim: sim::SimHandle,
    pub dir: tempfile::TempDir,
    pub pbs_names: Vec<String>,
}

impl World {
    pub async fn start(scenario: sim::Scenario) -> World {
        let pbs_names = scenario.pbs.iter().map(|p| p.name.clone()).collect();
        let sim = sim::start(scenario).await.expect("simulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        World {
            sim,
            dir,
            pbs_names,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The PVE CA as a file.
    pub fn pve_ca(&self) -> String {
        let path = self.path("pve-ca.pem");
        std::fs::write(&path, &self.sim.pve().ca_pem).expect("write CA");
        path.display().to_string()
    }

    pub fn pbs_ca(&self, name: &str) -> String {
        let path = self.path(&format!("{name}-ca.pem"));
        std::fs::write(&path, &self.sim.pbs(name).expect("pbs").ca_pem).expect("write CA");
        path.display().to_string()
    }

    /// PVE settings with a token, verified through the simulator's CA.
    pub fn pve_token(&self, id: &str, secret: &str) -> Vec<(String, String)> {
        vec![
            ("PVE_HOST".into(), self.sim.pve().url.clone()),
            ("PVE_API_TOKEN_ID".into(), id.into()),
            ("PVE_API_TOKEN_SECRET".into(), secret.into()),
            ("PVE_CA_CERT".into(), self.pve_ca()),
        ]
    }

    /// The demo's full-visibility PVE token.
    pub fn pve_full(&self) -> Vec<(String, String)> {
        self.pve_token("monitor@pve!full", sim::demo::PVE_FULL_SECRET)
    }

    /// A PBS block (`PBS` for index 0, `PBS01`… after) with the audit token.
    pub fn pbs_audit(&self, name: &str, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                format!("{prefix}_HOST"),
                self.sim.pbs(name).expect("pbs").url.clone(),
            ),
            (format!("{prefix}_NAME"), name.to_string()),
            (format!("{prefix}_API_TOKEN_ID"), "monitor@pbs!audit".into()),
            (
                format!("{prefix}_API_TOKEN_SECRET"),
                sim::demo::PBS_AUDIT_SECRET.into(),
            ),
            (format!("{prefix}_CA_CERT"), self.pbs_ca(name)),
        ]
    }

    /// Requests the simulator received (all servers).
    pub fn requests(&self) -> Vec<sim::RecordedRequest> {
        self.sim.requests()
    }
}

/// Run the binary with exactly these variables (no inherited environment, no `.env`).
pub async fn run_tool(vars: &[(String, String)], args: &[&str]) -> Run {
    let cwd = tempfile::tempdir().expect("cwd");
    run_tool_in(cwd.path(), vars, args).await
}

/// Run the binary in `cwd` with exactly these variables (for tests of what it reads from there).
pub async fn run_tool_in(cwd: &Path, vars: &[(String, String)], args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pve-backup-report"))
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn with(mut base: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in extra {
        base.retain(|(key, _)| key != k);
        base.push((k.to_string(), v.to_string()));
    }
    base
}

pub fn without(mut base: Vec<(String, String)>, keys: &[&str]) -> Vec<(String, String)> {
    base.retain(|(k, _)| !keys.contains(&k.as_str()));
    base
}

/// The demo's fixed "now" as RFC 3339.
pub fn demo_now() -> String {
    chrono::DateTime::from_timestamp(sim::demo::DEMO_NOW, 0)
        .expect("valid")
        .to_rfc3339()
}
