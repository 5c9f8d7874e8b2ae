//! Issue #2: token formats, ticket login, TLS modes, timeouts and retries, error kinds,
//! GET-only, and secrets that never leak.

use std::time::Duration;

use super::sim::{self, Fault};
use super::support::{run_tool, with, without, World};

fn header<'a>(request: &'a sim::RecordedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_sent_in_each_servers_format() {
    let world = World::start(sim::demo_scenario()).await;
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let requests = world.requests();
    let pve = requests
        .iter()
        .find(|r| r.server == "pve")
        .expect("a PVE request");
    assert_eq!(
        header(pve, "authorization"),
        Some(
            format!(
                "PVEAPIToken=monitor@pve!full={}",
                sim::demo::PVE_FULL_SECRET
            )
            .as_str()
        )
    );
    let pbs = requests
        .iter()
        .find(|r| r.server == "pbs1")
        .expect("a PBS request");
    assert_eq!(
        header(pbs, "authorization"),
        Some(
            format!(
                "PBSAPIToken=monitor@pbs!audit:{}",
                sim::demo::PBS_AUDIT_SECRET
            )
            .as_str()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pbs_token_pasted_with_equals_is_refused_before_any_request() {
    let world = World::start(sim::demo_scenario()).await;
    let pasted = format!("monitor@pbs!audit={}", sim::demo::PBS_AUDIT_SECRET);
    let vars = with(
        world.pbs_audit("pbs1", "PBS"),
        &[("PBS_API_TOKEN_ID", &pasted)],
    );
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("PBS_API_TOKEN_ID"), "{}", run.stderr);
    assert!(
        run.stderr.contains("PBS separates id and secret with ':'"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(sim::demo::PBS_AUDIT_SECRET),
        "{}",
        run.stderr
    );
    assert!(
        world.requests().is_empty(),
        "no request may be sent with a malformed token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulated_pbs_refuses_an_equals_separator_like_the_real_one() {
    // Guards the simulator's faithfulness: the tool never sends this, a user's curl might.
    let world = World::start(sim::demo_scenario()).await;
    let endpoint = world.sim.pbs("pbs1").expect("pbs");
    let ca = reqwest::Certificate::from_pem(endpoint.ca_pem.as_bytes()).expect("CA");
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .expect("client");
    let response = client
        .get(format!("{}/api2/json/version", endpoint.url))
        .header(
            "Authorization",
            format!(
                "PBSAPIToken=monitor@pbs!audit={}",
                sim::demo::PBS_AUDIT_SECRET
            ),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("invalid token name"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ticket_login_posts_once_and_then_sends_the_cookie() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = with(
        without(
            world.pve_full(),
            &["PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET"],
        ),
        &[
            ("PVE_USER", "auditor@pve"),
            ("PVE_PASSWORD", sim::demo::PVE_AUDITOR_PASSWORD),
        ],
    );
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let requests = world.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 1, "one login");
    assert_eq!(posts[0].path, "/access/ticket");
    let gets: Vec<_> = requests.iter().filter(|r| r.method == "GET").collect();
    assert!(gets.len() > 5);
    assert!(gets
        .iter()
        .all(|r| header(r, "cookie").is_some_and(|c| c.starts_with("PVEAuthCookie="))));
    assert!(gets.iter().all(|r| header(r, "authorization").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_an_authentication_error() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = with(
        without(
            world.pve_full(),
            &["PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET"],
        ),
        &[
            ("PVE_USER", "auditor@pve"),
            ("PVE_PASSWORD", "wrong-password"),
        ],
    );
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let json = run.json();
    assert_eq!(json["servers"][0]["probes"][0]["status"], "401");
    assert!(!run.stdout.contains("wrong-password"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_verified_by_default_and_the_refusal_names_the_fingerprint() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = without(world.pve_full(), &["PVE_CA_CERT"]);
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let probe = &run.json()["servers"][0]["probes"][0];
    assert_eq!(probe["status"], "tls");
    let hint = probe["hint"].as_str().unwrap_or_default();
    let fingerprint = &world.sim.pve().fingerprint;
    assert!(
        hint.contains(&format!("PVE_FINGERPRINT={fingerprint}")),
        "{hint}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fingerprint_pin_accepts_exactly_that_certificate() {
    let world = World::start(sim::demo_scenario()).await;
    let fingerprint = world.sim.pve().fingerprint.clone();
    let vars = with(
        without(world.pve_full(), &["PVE_CA_CERT"]),
        &[("PVE_FINGERPRINT", &fingerprint)],
    );
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);

    let wrong = format!("00:{}", &fingerprint[3..]);
    let vars = with(
        without(world.pve_full(), &["PVE_CA_CERT"]),
        &[("PVE_FINGERPRINT", &wrong)],
    );
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let probe = &run.json()["servers"][0]["probes"][0];
    assert_eq!(probe["status"], "tls");
    assert!(
        probe["error"]
            .as_str()
            .unwrap_or_default()
            .contains("fingerprint mismatch"),
        "{probe}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_mode_accepts_the_self_signed_certificate_only_when_asked() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = with(
        without(world.pve_full(), &["PVE_CA_CERT"]),
        &[("PVE_VERIFY_TLS", "false")],
    );
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
}

fn probe<'a>(json: &'a serde_json::Value, endpoint: &str) -> &'a serde_json::Value {
    json["servers"][0]["probes"]
        .as_array()
        .and_then(|probes| probes.iter().find(|p| p["endpoint"] == endpoint))
        .unwrap_or_else(|| panic!("no probe {endpoint} in {json}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_kind_is_named_and_the_other_endpoints_still_answer() {
    let world = World::start(sim::demo_scenario()).await;
    world
        .sim
        .set_fault("pve", "/version", Fault::Delay(Duration::from_secs(4)));
    world.sim.set_fault("pve", "/storage", Fault::InvalidJson);
    world.sim.set_fault("pve", "/pools", Fault::MissingData);
    world.sim.set_fault(
        "pve",
        "/cluster/backup-info",
        Fault::Status {
            code: 500,
            message: "boom".into(),
        },
    );
    world.sim.set_fault("pve", "/nodes/pve2/time", Fault::Reset);
    let vars = with(world.pve_full(), &[("PVE_TIMEOUT", "1")]);
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let json = run.json();
    assert_eq!(probe(&json, "/version")["status"], "timeout");
    assert_eq!(probe(&json, "/storage")["status"], "not-json");
    assert_eq!(probe(&json, "/pools")["status"], "no-data");
    assert_eq!(
        probe(&json, "/cluster/backup-info/not-backed-up")["status"],
        "500"
    );
    let reset = probe(&json, "/nodes/pve2/time")["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reset == "transport" || reset == "connect", "{reset}");
    assert_eq!(probe(&json, "/cluster/backup")["status"], "ok");
    assert_eq!(probe(&json, "/cluster/resources?type=vm")["items"], 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_a_connect_error_with_a_fix() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let vars = vec![
        ("PVE_HOST".to_string(), format!("127.0.0.1:{port}")),
        (
            "PVE_API_TOKEN_ID".to_string(),
            "monitor@pve!full".to_string(),
        ),
        ("PVE_API_TOKEN_SECRET".to_string(), "x".to_string()),
    ];
    let run = run_tool(&vars, &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let probe = &run.json()["servers"][0]["probes"][0];
    assert_eq!(probe["status"], "connect");
    assert!(probe["hint"]
        .as_str()
        .unwrap_or_default()
        .contains("PVE_HOST"));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_gateway_errors_are_retried() {
    let world = World::start(sim::demo_scenario()).await;
    world.sim.set_fault(
        "pve",
        "/nodes/pve1/tasks",
        Fault::Status {
            code: 503,
            message: "busy".into(),
        },
    );
    world.sim.set_fault(
        "pve",
        "/cluster/backup",
        Fault::Status {
            code: 403,
            message: "Permission check failed (/, Sys.Audit)".into(),
        },
    );
    let run = run_tool(&world.pve_full(), &["--check-api", "--json"]).await;
    assert_eq!(run.code, 2);
    let requests = world.requests();
    let count = |path: &str| requests.iter().filter(|r| r.path == path).count();
    assert_eq!(
        count("/nodes/pve1/tasks"),
        3,
        "one try and two retries for 503"
    );
    assert_eq!(count("/cluster/backup"), 1, "a 403 is not retried");
    assert_eq!(
        probe(&run.json(), "/nodes/pve1/tasks?typefilter=vzdump&limit=1")["status"],
        "503"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_is_a_get_except_the_ticket_login() {
    let world = World::start(sim::demo_scenario()).await;
    let mut token_vars = world.pve_full();
    token_vars.extend(world.pbs_audit("pbs1", "PBS"));
    for args in [&["--check-api"][..], &["--dump-inventory", "--json"][..]] {
        let run = run_tool(&token_vars, args).await;
        assert!(run.code <= 1, "{args:?}: {}", run.stderr);
    }
    let password_vars = with(
        without(
            world.pve_full(),
            &["PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET"],
        ),
        &[
            ("PVE_USER", "auditor@pve"),
            ("PVE_PASSWORD", sim::demo::PVE_AUDITOR_PASSWORD),
        ],
    );
    let run = run_tool(&password_vars, &["--dump-inventory"]).await;
    assert!(run.code <= 1, "{}", run.stderr);
    let requests = world.requests();
    assert!(
        requests.len() > 100,
        "the runs read a lot: {}",
        requests.len()
    );
    for request in &requests {
        let allowed = request.method == "GET"
            || (request.method == "POST" && request.path == "/access/ticket");
        assert!(allowed, "{} {} was sent", request.method, request.path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_output_at_trace_level() {
    let world = World::start(sim::demo_scenario()).await;
    let secrets = [
        sim::demo::PVE_FULL_SECRET,
        sim::demo::PBS_AUDIT_SECRET,
        sim::demo::PVE_AUDITOR_PASSWORD,
    ];
    let mut vars = world.pve_full();
    vars.extend(world.pbs_audit("pbs1", "PBS"));
    let trace = |v: Vec<(String, String)>| with(v, &[("RUST_LOG", "trace")]);
    let record_dir = world.path("recording");
    let record = record_dir.display().to_string();
    let mut runs = vec![
        run_tool(&trace(vars.clone()), &["--check-api"]).await,
        run_tool(
            &trace(vars.clone()),
            &["--dump-inventory", "--json", "--record", &record],
        )
        .await,
        run_tool(
            &trace(without(vars.clone(), &["PVE_CA_CERT"])),
            &["--check-api", "-vv"],
        )
        .await,
    ];
    // Failure paths: wrong PBS secret (401), wrong PVE secret, password login with a wrong password.
    let wrong_pbs = with(
        vars.clone(),
        &[("PBS_API_TOKEN_SECRET", sim::demo::PVE_FULL_SECRET)],
    );
    runs.push(run_tool(&trace(wrong_pbs), &["--check-api"]).await);
    let password = with(
        without(
            world.pve_full(),
            &["PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET"],
        ),
        &[
            ("PVE_USER", "auditor@pve"),
            ("PVE_PASSWORD", sim::demo::PVE_AUDITOR_PASSWORD),
        ],
    );
    runs.push(run_tool(&trace(password.clone()), &["--check-api"]).await);
    runs.push(
        run_tool(
            &trace(with(password, &[("PVE_USER", "nobody@pve")])),
            &["--dump-inventory"],
        )
        .await,
    );
    let pasted = format!("monitor@pve!full={}", sim::demo::PVE_FULL_SECRET);
    runs.push(
        run_tool(
            &trace(with(vars.clone(), &[("PVE_API_TOKEN_ID", &pasted)])),
            &["--check-api"],
        )
        .await,
    );
    for run in &runs {
        assert!(
            run.stderr.contains("TRACE") || run.code == 3,
            "trace logging is on: {}",
            &run.stderr[..run.stderr.len().min(300)]
        );
        for secret in secrets {
            assert!(
                !run.stdout.contains(secret),
                "secret in stdout: {}",
                run.stdout
            );
            assert!(!run.stderr.contains(secret), "secret in stderr");
        }
    }
    for entry in std::fs::read_dir(&record_dir).expect("recording written") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        for secret in secrets {
            assert!(!text.contains(secret), "secret in the recording");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pbs_ticket_login_sends_the_pbs_cookie() {
    let world = World::start(sim::demo_scenario()).await;
    let vars = vec![
        (
            "PBS_HOST".to_string(),
            world.sim.pbs("pbs1").expect("pbs").url.clone(),
        ),
        ("PBS_USER".to_string(), "monitor@pbs".to_string()),
        (
            "PBS_PASSWORD".to_string(),
            sim::demo::PBS_MONITOR_PASSWORD.to_string(),
        ),
        ("PBS_CA_CERT".to_string(), world.pbs_ca("pbs1")),
    ];
    let run = run_tool(&vars, &["--check-api"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let requests = world.requests();
    assert_eq!(requests.iter().filter(|r| r.method == "POST").count(), 1);
    assert!(requests
        .iter()
        .filter(|r| r.method == "GET")
        .all(|r| header(r, "cookie").is_some_and(|c| c.starts_with("PBSAuthCookie="))));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_ticket_is_renewed_and_nothing_is_lost() {
    let mut scenario = sim::demo_scenario();
    // Three seconds: the simulator, like PVE, stamps a ticket in whole seconds, so it lives
    // between two and three, room enough for a request right after a login on a busy machine.
    scenario.pve.settings.ticket_lifetime_secs = 3;
    // Tickets age by the simulator's clock: use the real one, not the demo's fixed instant.
    scenario.pve.settings.now = None;
    let world = World::start(scenario).await;
    // Slow answers make the run outlive the short ticket several times over.
    world.sim.set_latency("pve", Duration::from_millis(150));
    let vars = with(
        without(
            world.pve_full(),
            &["PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET"],
        ),
        &[
            ("PVE_USER", "auditor@pve"),
            ("PVE_PASSWORD", sim::demo::PVE_AUDITOR_PASSWORD),
            // One request at a time: most requests wait in the queue for longer than the
            // ticket lives, so one that took its ticket before queueing would be refused.
            ("PVE_MAX_CONCURRENCY", "1"),
        ],
    );
    let run = run_tool(&vars, &["--dump-inventory", "--json"]).await;
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!(
        run.json()["anomalies"],
        serde_json::json!([]),
        "every request succeeded in the end"
    );
    let logins = world
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert!(logins >= 2, "the ticket was renewed ({logins} logins)");
}
