//! HTTPS serving: one TLS listener per simulated server on 127.0.0.1, request recording,
//! injected faults and latency, and dispatch to the PVE/PBS handlers.
//!
//! Faults are matched by [`FaultRule`]s (server, path prefix or `*` pattern, query, first N
//! requests only) and cover every way an answer can go wrong on the wire: no answer, error
//! statuses in the product's own format, garbled or wrongly typed JSON, bodies cut short, reset,
//! oversized or trickled answers.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::access::percent_decode;
use super::pbs::PbsState;
use super::pve::PveState;
use super::scenario::Scenario;
use super::tls;

/// Connection data of one simulated server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub host_port: String,
    /// Leaf certificate PEM.
    pub cert_pem: String,
    /// SHA-256 fingerprint of the leaf DER (`AB:CD:…`, uppercase).
    pub fingerprint: String,
    /// CA certificate PEM (accepting it as CA makes the leaf valid).
    pub ca_pem: String,
}

/// One received request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `pve` or the PBS name.
    pub server: String,
    /// HTTP method.
    pub method: String,
    /// Decoded path after `/api2/json` (e.g. `/nodes/pve1/tasks`).
    pub path: String,
    /// Raw request path incl. `/api2/json` (no query).
    pub raw_path: String,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
    /// What an injected fault did to the answer.
    #[serde(default)]
    pub fault: FaultEffect,
}

/// What an injected fault did to one answer, so a test can tell a fault the client saw from one
/// that left the answer as it was (wrong scalars in an empty list: nothing to distort).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultEffect {
    /// No fault rule matched the request.
    #[default]
    None,
    /// A rule matched, but the answer went out exactly as it would have without it.
    Unchanged,
    /// A rule matched and the client received something else: another status or body, a cut or
    /// reset connection, no answer, or an answer delayed or trickled.
    Changed,
}

/// An injected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and message in the server's error format.
    Status {
        /// HTTP status.
        code: u16,
        /// Message text.
        message: String,
    },
    /// Sleep before answering normally.
    Delay(Duration),
    /// 200 with a body that is not valid JSON.
    InvalidJson,
    /// 200 with `{"errors":…}` but no `data`.
    MissingData,
    /// Close the connection without an answer.
    Reset,
    /// Read the request and never answer (until the client gives up or the simulator stops).
    Hang,
    /// 401 with the product's own wording for refused credentials.
    Unauthorized,
    /// 403 with the product's own wording for a missing privilege.
    Forbidden,
    /// 200 with `{}`.
    EmptyObject,
    /// 200 with `{"data":null}`.
    NullData,
    /// 200 with the real answer whose `data` has the wrong JSON type: a list becomes an object
    /// (index → element), anything else is wrapped in a list.
    WrongContainer,
    /// 200 with the real answer whose leaf values have the wrong JSON type: strings become
    /// numbers, numbers and booleans become non-numeric strings.
    WrongScalars,
    /// The real answer with a `Content-Length` of the whole, but the connection closes halfway.
    Truncated,
    /// The real answer sent chunked, and the connection closes halfway (no final chunk).
    TruncatedChunked,
    /// The real answer padded with whitespace inside the JSON to at least this many bytes:
    /// still valid, the same data, just bigger than a client limit set below it.
    Oversized {
        /// Minimum body size.
        bytes: usize,
    },
    /// The real answer trickled in up to 20 pieces spread over `total` (a pause before each):
    /// each piece arrives in time, the whole does not, whatever the answer's size.
    SlowDrip {
        /// Time until the last piece.
        total: Duration,
    },
}

/// Which path a [`FaultRule`] matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Every path (after `/api2/json`) starting with this text.
    Prefix(String),
    /// Same number of segments, each equal or `*` (e.g. `/nodes/*/qemu/*/config`).
    Pattern(String),
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            PathMatch::Pattern(pattern) => {
                let want: Vec<&str> = pattern.split('/').collect();
                let have: Vec<&str> = path.split('/').collect();
                want.len() == have.len() && want.iter().zip(&have).all(|(w, h)| *w == "*" || w == h)
            }
        }
    }
}

/// When a fault applies: server, path, optional query conditions, optionally only the first
/// `times` matching requests (a transient failure that then clears).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// `pve` or the PBS name.
    pub server: String,
    /// The path condition.
    pub path: PathMatch,
    /// When set, the request's query keys (sorted, deduplicated) must be exactly these.
    pub query_keys: Option<Vec<String>>,
    /// Query pairs that must all be present (e.g. `start=500` for one page of a list).
    pub query: Vec<(String, String)>,
    /// Apply to the first this-many matching requests only.
    pub times: Option<usize>,
    /// What to do.
    pub fault: Fault,
}

impl FaultRule {
    /// Requests of `server` whose path starts with `prefix`.
    pub fn prefix(server: &str, prefix: &str, fault: Fault) -> FaultRule {
        FaultRule {
            server: server.into(),
            path: PathMatch::Prefix(prefix.into()),
            query_keys: None,
            query: Vec::new(),
            times: None,
            fault,
        }
    }
    /// Requests of `server` whose path matches `pattern` (`*` = any one segment).
    pub fn pattern(server: &str, pattern: &str, fault: Fault) -> FaultRule {
        FaultRule {
            path: PathMatch::Pattern(pattern.into()),
            ..FaultRule::prefix(server, "", fault)
        }
    }
    /// Only requests with exactly these query keys.
    pub fn query_keys(mut self, keys: &[String]) -> FaultRule {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        self.query_keys = Some(keys);
        self
    }
    /// Only requests carrying `key=value`.
    pub fn param(mut self, key: &str, value: &str) -> FaultRule {
        self.query.push((key.into(), value.into()));
        self
    }
    /// Only the first `n` matching requests; later ones are answered normally.
    pub fn times(mut self, n: usize) -> FaultRule {
        self.times = Some(n);
        self
    }

    fn matches(&self, server: &str, path: &str, query: &[(String, String)]) -> bool {
        if self.server != server || !self.path.matches(path) {
            return false;
        }
        if let Some(keys) = &self.query_keys {
            let mut have: Vec<String> = query.iter().map(|(k, _)| k.clone()).collect();
            have.sort();
            have.dedup();
            if &have != keys {
                return false;
            }
        }
        self.query.iter().all(|pair| query.contains(pair))
    }
}

/// What a handler produces.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
    /// Content type.
    pub content_type: &'static str,
    /// Reason phrase (PVE puts the error message there).
    pub reason: Option<String>,
    /// Sleep before answering (auth failure delay).
    pub delay: Duration,
}

impl Reply {
    /// JSON 200.
    pub fn json(body: String) -> Reply {
        Reply {
            status: 200,
            body,
            content_type: "application/json;charset=UTF-8",
            reason: None,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
pub(super) struct Shared {
    pub(super) log: Mutex<Vec<RecordedRequest>>,
    /// Rules with how often each has fired.
    pub(super) faults: Mutex<Vec<(FaultRule, usize)>>,
    pub(super) latency: Mutex<HashMap<String, Duration>>,
}

/// Parsed request handed to the product handlers.
pub struct Req<'a> {
    /// Method.
    pub method: &'a str,
    /// Decoded path segments after `/api2/json`.
    pub segs: Vec<String>,
    /// Decoded path after `/api2/json`.
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Headers (lowercase names).
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: &'a str,
    /// Request under `/api2/json`.
    pub is_api: bool,
}

impl Req<'_> {
    /// First value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// First header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

enum Product {
    Pve(Arc<PveState>),
    Pbs(Arc<PbsState>),
}

/// Running simulator.
pub struct SimHandle {
    pve: Endpoint,
    pbs: Vec<(String, Endpoint)>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// The PVE endpoint.
    pub fn pve(&self) -> &Endpoint {
        &self.pve
    }
    /// A PBS endpoint by name.
    pub fn pbs(&self, name: &str) -> Option<&Endpoint> {
        self.pbs.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }
    /// Every request received so far, in order, all servers.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
    /// Forget recorded requests.
    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.shared.log.lock() {
            l.clear();
        }
    }
    /// Inject a fault for requests of `server` whose path (after `/api2/json`) starts with
    /// `path_prefix`.
    pub fn set_fault(&self, server: &str, path_prefix: &str, fault: Fault) {
        self.add_fault(FaultRule::prefix(server, path_prefix, fault));
    }
    /// Inject a fault by rule. Rules are tried in the order they were added; the first that
    /// matches (and has not used up its `times`) applies.
    pub fn add_fault(&self, rule: FaultRule) {
        if let Ok(mut f) = self.shared.faults.lock() {
            f.push((rule, 0));
        }
    }
    /// How many requests each rule has faulted so far, in the order the rules were added.
    pub fn fault_hits(&self) -> Vec<usize> {
        self.shared
            .faults
            .lock()
            .map(|f| f.iter().map(|(_, n)| *n).collect())
            .unwrap_or_default()
    }
    /// Remove all faults.
    pub fn clear_faults(&self) {
        if let Ok(mut f) = self.shared.faults.lock() {
            f.clear();
        }
    }
    /// Sleep this long before every answer of `server`.
    pub fn set_latency(&self, server: &str, latency: Duration) {
        if let Ok(mut l) = self.shared.latency.lock() {
            l.insert(server.into(), latency);
        }
    }
    /// Stop all listeners.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Start the simulator: one listener for PVE and one per PBS, all on 127.0.0.1:0.
pub async fn start(scenario: Scenario) -> std::io::Result<SimHandle> {
    let shared = Arc::new(Shared::default());
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let mut pbs_endpoints = Vec::new();
    let mut pbs_states = Vec::new();
    // Bind every PBS first: a remote naming another simulated PBS is rewritten to its address.
    let mut bound = Vec::new();
    for pbs in &scenario.pbs {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let material = tls::generate(&pbs.name)?;
        bound.push((pbs.clone(), listener, addr, material));
    }
    let addresses: Vec<(String, std::net::SocketAddr, String)> = bound
        .iter()
        .map(|(pbs, _, addr, material)| (pbs.name.clone(), *addr, material.fingerprint.clone()))
        .collect();
    for (mut pbs, listener, addr, material) in bound {
        for remote in &mut pbs.remotes {
            let host = remote
                .get("host")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            if let Some((_, other, fingerprint)) = addresses.iter().find(|(n, _, _)| n == host) {
                remote.insert("host".into(), serde_json::json!(other.ip().to_string()));
                remote.insert("port".into(), serde_json::json!(other.port()));
                remote.insert("fingerprint".into(), serde_json::json!(fingerprint));
            }
        }
        let endpoint = Endpoint {
            url: format!("https://{addr}"),
            host_port: addr.to_string(),
            cert_pem: material.cert_pem.clone(),
            fingerprint: material.fingerprint.clone(),
            ca_pem: material.ca_pem.clone(),
        };
        let state = Arc::new(PbsState::new(pbs.clone()));
        pbs_states.push((endpoint.clone(), state.clone()));
        pbs_endpoints.push((pbs.name.clone(), endpoint));
        tasks.push(tokio::spawn(serve(
            listener,
            material.config,
            pbs.name.clone(),
            Arc::new(Product::Pbs(state)),
            shared.clone(),
            stop_rx.clone(),
        )));
    }

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let material = tls::generate("pve")?;
    let pve_endpoint = Endpoint {
        url: format!("https://{addr}"),
        host_port: addr.to_string(),
        cert_pem: material.cert_pem.clone(),
        fingerprint: material.fingerprint.clone(),
        ca_pem: material.ca_pem.clone(),
    };
    let pve_state = Arc::new(PveState::new(scenario.pve, &pbs_states));
    tasks.push(tokio::spawn(serve(
        listener,
        material.config,
        "pve".into(),
        Arc::new(Product::Pve(pve_state)),
        shared.clone(),
        stop_rx,
    )));

    Ok(SimHandle {
        pve: pve_endpoint,
        pbs: pbs_endpoints,
        shared,
        stop,
        tasks,
    })
}

async fn serve(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    name: String,
    product: Arc<Product>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let name = name.clone();
                let product = product.clone();
                let shared = shared.clone();
                let mut stop = stop.clone();
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req| {
                        handle(req, name.clone(), product.clone(), shared.clone())
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(tls), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop.changed() => {}
                    }
                });
            }
        }
    }
    conns.abort_all();
}

/// Split a query string into decoded pairs (`+` = space).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

#[derive(Debug)]
struct ResetError;
impl std::fmt::Display for ResetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("simulated connection reset")
    }
}
impl std::error::Error for ResetError {}

/// Every answer's body: whole, or streamed piece by piece from a task (an `Err` piece makes
/// hyper abort the connection mid-body).
type SimBody = BoxBody<Bytes, ResetError>;

/// A body fed through a channel, so a task can trickle or cut it.
struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, ResetError>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = ResetError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ResetError>>> {
        self.rx
            .poll_recv(cx)
            .map(|piece| piece.map(|r| r.map(Frame::data)))
    }
}

/// Send `pieces` with `every` between them, then end the body (or break it when `cut`).
fn streamed(pieces: Vec<Bytes>, every: Duration, cut: bool) -> SimBody {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 && !every.is_zero() {
                tokio::time::sleep(every).await;
            }
            if tx.send(Ok(piece)).await.is_err() {
                return;
            }
        }
        if cut {
            // Let hyper flush the half it has before the error aborts the connection.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(Err(ResetError)).await;
        }
    });
    ChannelBody { rx }.boxed()
}

/// `data` with the wrong container type: a list becomes an object, anything else a list.
fn wrong_container(data: serde_json::Value) -> serde_json::Value {
    match data {
        serde_json::Value::Array(items) => serde_json::Value::Object(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        other => serde_json::Value::Array(vec![other]),
    }
}

/// Every leaf with the wrong scalar type.
fn wrong_scalars(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(wrong_scalars).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, wrong_scalars(v)))
                .collect(),
        ),
        Value::String(_) => Value::from(12345),
        Value::Number(_) | Value::Bool(_) => Value::from("garbled"),
        Value::Null => Value::Null,
    }
}

/// Rewrite the `data` member of a JSON answer; a non-JSON or error answer stays as it is.
fn rewrite_data(reply: &mut Reply, f: impl FnOnce(serde_json::Value) -> serde_json::Value) {
    if reply.status != 200 {
        return;
    }
    if let Ok(mut envelope) = serde_json::from_str::<serde_json::Value>(&reply.body) {
        if let Some(data) = envelope.get_mut("data") {
            *data = f(data.take());
            reply.body = envelope.to_string();
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    name: String,
    product: Arc<Product>,
    shared: Arc<Shared>,
) -> Result<Response<SimBody>, ResetError> {
    let method = req.method().to_string();
    let raw_path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match req.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let (is_api, rest) = match raw_path.strip_prefix("/api2/json") {
        Some(r) if r.is_empty() || r.starts_with('/') => (true, r),
        _ => (false, raw_path.as_str()),
    };
    let segs: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let path = format!("/{}", segs.join("/"));
    let recorded = RecordedRequest {
        server: name.clone(),
        method: method.clone(),
        path: path.clone(),
        raw_path: raw_path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
        fault: FaultEffect::None,
    };
    let position = match shared.log.lock() {
        Ok(mut l) => {
            l.push(recorded);
            Some(l.len() - 1)
        }
        Err(_) => None,
    };
    let mark = |effect: FaultEffect| {
        if let (Some(at), Ok(mut l)) = (position, shared.log.lock()) {
            if let Some(request) = l.get_mut(at) {
                request.fault = effect;
            }
        }
    };
    let latency = shared
        .latency
        .lock()
        .ok()
        .and_then(|l| l.get(&name).copied());
    if let Some(lat) = latency {
        tokio::time::sleep(lat).await;
    }
    let fault = shared.faults.lock().ok().and_then(|mut rules| {
        rules
            .iter_mut()
            .find(|(rule, hits)| {
                rule.times.is_none_or(|n| *hits < n) && rule.matches(&name, &path, &query)
            })
            .map(|(rule, hits)| {
                *hits += 1;
                rule.fault.clone()
            })
    });
    let is_pve = matches!(*product, Product::Pve(_));
    let error = |code: u16, message: &str| {
        if is_pve {
            super::pve::error_reply(code, message, None)
        } else {
            super::pbs::error_reply(code, message)
        }
    };
    // Faults that replace the answer entirely (or delay it): the client sees a difference.
    if fault.as_ref().is_some_and(|f| {
        !matches!(
            f,
            Fault::WrongContainer | Fault::WrongScalars | Fault::Oversized { .. }
        )
    }) {
        mark(FaultEffect::Changed);
    }
    match &fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::Hang) => {
            // Far longer than any client timeout; the connection task is dropped at shutdown.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Err(ResetError);
        }
        Some(Fault::Reset) => return Err(ResetError),
        Some(Fault::InvalidJson) => {
            return Ok(to_response(Reply::json(
                "{\"data\": [{\"simulated\": truncated".into(),
            )))
        }
        Some(Fault::MissingData) => {
            return Ok(to_response(Reply::json(
                "{\"errors\":{\"simulated\":\"fault: no data member\"}}".into(),
            )))
        }
        Some(Fault::EmptyObject) => return Ok(to_response(Reply::json("{}".into()))),
        Some(Fault::NullData) => return Ok(to_response(Reply::json("{\"data\":null}".into()))),
        Some(Fault::Status { code, message }) => return Ok(to_response(error(*code, message))),
        Some(Fault::Unauthorized) => {
            let message = if is_pve {
                "Authentication failed!"
            } else {
                "authentication failed - invalid credentials"
            };
            return Ok(to_response(error(401, message)));
        }
        Some(Fault::Forbidden) => {
            let message = if is_pve {
                format!("Permission check failed ({path}, Sys.Audit)")
            } else {
                format!("permission check failed - missing Sys.Audit on {path}")
            };
            return Ok(to_response(error(403, &message)));
        }
        _ => {}
    }
    let r = Req {
        method: &method,
        segs,
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
        is_api,
    };
    let mut reply = match &*product {
        Product::Pve(state) => state.handle(&r),
        Product::Pbs(state) => state.handle(&r),
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    // Faults that distort the real answer: a distortion may leave it as it was.
    if matches!(
        fault,
        Some(Fault::WrongContainer | Fault::WrongScalars | Fault::Oversized { .. })
    ) {
        let before = reply.body.clone();
        match &fault {
            Some(Fault::WrongContainer) => rewrite_data(&mut reply, wrong_container),
            Some(Fault::WrongScalars) => rewrite_data(&mut reply, wrong_scalars),
            Some(Fault::Oversized { bytes }) => {
                if let Some(open) = reply.body.find('{') {
                    let pad = bytes.saturating_sub(reply.body.len());
                    reply.body.insert_str(open + 1, &" ".repeat(pad));
                }
            }
            _ => {}
        }
        mark(if reply.body == before {
            FaultEffect::Unchanged
        } else {
            FaultEffect::Changed
        });
        return Ok(to_response(reply));
    }
    match fault {
        Some(Fault::Truncated) => {
            let full = reply.body.len();
            let half = Bytes::from(reply.body.clone()).slice(..full / 2);
            let mut resp = to_response(reply);
            *resp.body_mut() = streamed(vec![half], Duration::ZERO, true);
            resp.headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, full.into());
            return Ok(resp);
        }
        Some(Fault::TruncatedChunked) => {
            let all = Bytes::from(reply.body.clone());
            let half = all.len() / 2;
            let pieces = vec![all.slice(..half / 2), all.slice(half / 2..half)];
            let mut resp = to_response(reply);
            *resp.body_mut() = streamed(pieces, Duration::ZERO, true);
            return Ok(resp);
        }
        Some(Fault::SlowDrip { total }) => {
            let all = Bytes::from(reply.body.clone());
            let full = all.len();
            let count = full.clamp(1, 20);
            let chunk = full.div_ceil(count).max(1);
            let every = total / u32::try_from(count).unwrap_or(20);
            let mut pieces = vec![Bytes::new()];
            pieces.extend(
                (0..full)
                    .step_by(chunk)
                    .map(|at| all.slice(at..(at + chunk).min(full))),
            );
            let mut resp = to_response(reply);
            *resp.body_mut() = streamed(pieces, every, false);
            resp.headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, full.into());
            return Ok(resp);
        }
        _ => {}
    }
    Ok(to_response(reply))
}

fn to_response(reply: Reply) -> Response<SimBody> {
    let body = Full::new(Bytes::from(reply.body))
        .map_err(|never| match never {})
        .boxed();
    let mut resp = Response::new(body);
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(reply.content_type) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    if let Some(reason) = reply.reason {
        let line: String = reason
            .trim_end()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Ok(rp) = hyper::ext::ReasonPhrase::try_from(line) {
            resp.extensions_mut().insert(rp);
        }
    }
    resp
}
