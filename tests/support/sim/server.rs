//! HTTPS serving: one TLS listener per simulated server on 127.0.0.1, request recording,
//! injected faults and latency, and dispatch to the PVE/PBS handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
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
    pub(super) faults: Mutex<Vec<(String, String, Fault)>>,
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
        if let Ok(mut f) = self.shared.faults.lock() {
            f.push((server.into(), path_prefix.into(), fault));
        }
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
    for pbs in &scenario.pbs {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let material = tls::generate(&pbs.name)?;
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

async fn handle(
    req: Request<Incoming>,
    name: String,
    product: Arc<Product>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, ResetError> {
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
    };
    if let Ok(mut l) = shared.log.lock() {
        l.push(recorded);
    }
    let latency = shared
        .latency
        .lock()
        .ok()
        .and_then(|l| l.get(&name).copied());
    if let Some(lat) = latency {
        tokio::time::sleep(lat).await;
    }
    let fault = shared.faults.lock().ok().and_then(|f| {
        f.iter()
            .find(|(s, prefix, _)| *s == name && path.starts_with(prefix.as_str()))
            .map(|(_, _, fault)| fault.clone())
    });
    let is_pve = matches!(*product, Product::Pve(_));
    if let Some(fault) = fault {
        match fault {
            Fault::Delay(d) => tokio::time::sleep(d).await,
            Fault::Reset => return Err(ResetError),
            Fault::InvalidJson => {
                return Ok(to_response(Reply::json(
                    "{\"data\": [{\"simulated\": truncated".into(),
                )))
            }
            Fault::MissingData => {
                return Ok(to_response(Reply::json(
                    "{\"errors\":{\"simulated\":\"fault: no data member\"}}".into(),
                )))
            }
            Fault::Status { code, message } => {
                let reply = if is_pve {
                    super::pve::error_reply(code, &message, None)
                } else {
                    super::pbs::error_reply(code, &message)
                };
                return Ok(to_response(reply));
            }
        }
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
    let reply = match &*product {
        Product::Pve(state) => state.handle(&r),
        Product::Pbs(state) => state.handle(&r),
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    Ok(to_response(reply))
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
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
