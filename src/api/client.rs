//! The one HTTP transport for PVE and PBS. It can only read.
//!
//! [`ApiClient`] has exactly one public way to send a request: [`ApiClient::get`] (and its variants),
//! which sends `GET`. The single exception, `POST /access/ticket` for password login, is a private
//! method with a fixed path. No method that writes exists, so the tool is read-only by construction.
//!
//! Every request passes through a concurrency limit shared by all servers (pveproxy has few workers),
//! a timeout, and retries with backoff for connection failures (refused, reset, cut off mid-answer)
//! and 502/503/504 only — GETs are idempotent, and any other failure would not get better by asking
//! again. A timeout is not retried: a server that hangs would cost the run three timeouts.
//!
//! Every answer body is read chunk by chunk into one buffer and bounded by the server's
//! `max_answer_bytes` (`PVE_MAX_ANSWER_MB`): an answer over the limit stops the read at once (a runaway
//! answer must not take the host's memory), and a body that breaks off is an error of its own kind,
//! never a shorter answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE};
use reqwest::{StatusCode, Url};
use serde::de::{DeserializeOwned, DeserializeSeed};
use tokio::sync::{Mutex, Semaphore};

use super::de::{LenientList, MappedList};
use super::error::{ApiError, ApiErrorKind};
use super::server::{host_port, Auth, ServerConfig, ServerKind};
use super::stream::ListSplitter;
use super::tls::{client_config, SeenCertificate, TlsSetupError};
use crate::secret::Secret;

/// Retries after the first attempt, for connection errors and 502/503/504.
const RETRIES: u32 = 2;
/// First backoff; doubled for each further retry.
const BACKOFF: Duration = Duration::from_millis(300);
/// Tickets live 2 hours; renew well before.
const TICKET_RENEW_AFTER: Duration = Duration::from_secs(100 * 60);
/// How much of an unexpected body to quote in an error.
const QUOTE_LIMIT: usize = 300;
/// Never reserve more than this up front on the word of a `Content-Length` header.
const MAX_PREALLOCATION: u64 = 64 * 1024 * 1024;

/// A decoded answer: the `data` member plus the `total` member some list endpoints add.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer<T> {
    /// The `data` member.
    pub(crate) data: T,
    /// The `total` member (PVE task list and log, PBS task list), when present.
    pub(crate) total: Option<u64>,
}

/// Why a client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ClientSetupError {
    /// TLS configuration failed (e.g. unreadable CA file).
    #[error("{server}: {source}")]
    Tls {
        /// Server name.
        server: String,
        /// The cause.
        source: TlsSetupError,
    },
    /// The HTTP client could not be built.
    #[error("{server}: cannot build the HTTP client: {detail}")]
    Http {
        /// Server name.
        server: String,
        /// The cause.
        detail: String,
    },
    /// The credentials cannot be put into an HTTP header (e.g. a control character).
    #[error("{server}: the credentials contain characters that cannot be sent in an HTTP header")]
    BadCredentials {
        /// Server name.
        server: String,
    },
}

enum AuthState {
    /// The full `Authorization` header value, marked sensitive so no HTTP layer logs it.
    Token(HeaderValue),
    /// User and password; a ticket cookie once logged in.
    Ticket {
        username: String,
        password: Secret,
        cookie: Mutex<Option<(HeaderValue, Instant)>>,
    },
}

struct Inner {
    http: reqwest::Client,
    server: ServerConfig,
    limiter: Arc<Semaphore>,
    auth: AuthState,
    seen: SeenCertificate,
    host: String,
}

/// A read-only client for one PVE or PBS server. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ApiClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("kind", &self.inner.server.kind)
            .field("name", &self.inner.server.name)
            .field("host", &self.inner.host)
            .field("identity", &self.inner.server.auth.identity())
            .finish()
    }
}

/// Build the `Authorization` header value for an API token. PVE separates id and secret with `=`,
/// PBS with `:`.
pub(crate) fn token_header(kind: ServerKind, id: &str, secret: &Secret) -> String {
    match kind {
        ServerKind::Pve => format!("PVEAPIToken={id}={}", secret.expose()),
        ServerKind::Pbs => format!("PBSAPIToken={id}:{}", secret.expose()),
    }
}

impl ApiClient {
    /// Create a client. No request is sent until the first `get` (password login happens then).
    pub(crate) fn new(
        server: &ServerConfig,
        limiter: Arc<Semaphore>,
    ) -> Result<ApiClient, ClientSetupError> {
        let (tls, seen) = client_config(&server.tls).map_err(|source| ClientSetupError::Tls {
            server: server.name.clone(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(server.timeout)
            .connect_timeout(server.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(limiter.available_permits())
            .user_agent(concat!("pve-backup-report/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ClientSetupError::Http {
                server: server.name.clone(),
                detail: err.to_string(),
            })?;
        let auth = match &server.auth {
            Auth::Token { id, secret } => {
                let mut value =
                    HeaderValue::from_str(&token_header(server.kind, &id.full(), secret)).map_err(
                        |_| ClientSetupError::BadCredentials {
                            server: server.name.clone(),
                        },
                    )?;
                value.set_sensitive(true);
                AuthState::Token(value)
            }
            Auth::Password { username, password } => AuthState::Ticket {
                username: username.clone(),
                password: password.clone(),
                cookie: Mutex::new(None),
            },
        };
        Ok(ApiClient {
            inner: Arc::new(Inner {
                http,
                host: host_port(&server.base_url),
                server: server.clone(),
                limiter,
                auth,
                seen,
            }),
        })
    }

    /// The server this client talks to.
    pub(crate) fn server(&self) -> &ServerConfig {
        &self.inner.server
    }

    /// `GET <path>` and decode the `data` member into `T` (the tests' shorthand).
    #[cfg(test)]
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        Ok(self.get_answer(path, query).await?.data)
    }

    /// `GET <path>`, returning `data` and `total`, decoded straight from the body: no intermediate
    /// JSON tree, which for a 70 000-snapshot answer would hold the data twice.
    pub(crate) async fn get_answer<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<Answer<T>, ApiError> {
        let body = self.get_body(path, query).await?;
        decode_envelope(&body).map_err(|kind| self.error(&endpoint_label(path, query), kind))
    }

    /// `GET <path>` and return the whole JSON body (the envelope with `data`, `total`, …), checked to
    /// be a JSON object with a `data` member.
    pub(crate) async fn get_json(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<serde_json::Value, ApiError> {
        let body = self.get_body(path, query).await?;
        parse_envelope(&body).map_err(|kind| self.error(&endpoint_label(path, query), kind))
    }

    /// `GET <path>` and return the body of a 2xx answer; any other status is an error. Retries
    /// connection failures (including a reset or a body cut off mid-way) and 502/503/504, and logs
    /// in again once on a 401 with a ticket.
    pub(crate) async fn get_body(
        &self,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<Vec<u8>, ApiError> {
        self.request(path, query, |response| self.read_body(response))
            .await
    }

    /// `GET <path>` and decode the answer's `data` list item by item while the body arrives,
    /// keeping `map(item)` of each item: neither the body nor a list of wire items is ever held
    /// (a PBS namespace's snapshot list is tens of MB of JSON). The same retries as
    /// [`ApiClient::get_body`]; a body that breaks off is an error, never a shorter list.
    pub(crate) async fn get_list_mapped<T, U, F>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
        map: F,
    ) -> Result<Answer<LenientList<U>>, ApiError>
    where
        T: DeserializeOwned,
        F: FnMut(T) -> Option<U> + Clone,
    {
        self.request(path, query, |response| {
            self.decode_streamed(response, MappedList::new(map.clone()))
        })
        .await
    }

    /// One GET with the retries of [`ApiClient::get_body`], a 2xx answer handed to `read`.
    async fn request<R, Read, Reading>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
        read: Read,
    ) -> Result<R, ApiError>
    where
        Read: Fn(reqwest::Response) -> Reading,
        Reading: std::future::Future<Output = Result<R, ApiErrorKind>>,
    {
        let endpoint = endpoint_label(path, query);
        let url = self.url(path, query);
        let mut relogged = false;
        let mut attempt = 0;
        loop {
            // The credential is taken once the request may go, not before it queues: a ticket
            // read before a long wait for a free slot may have expired when it is finally sent.
            let (outcome, sent) = {
                let _permit = self
                    .inner
                    .limiter
                    .acquire()
                    .await
                    .map_err(|_| self.error(&endpoint, shutting_down()))?;
                let auth = self.auth_header(&endpoint).await?;
                let sent = auth.1.clone();
                let outcome = match self.send_get(&url, auth).await {
                    Ok(response) if response.status().is_success() => {
                        read(response).await.map(Reply::Read)
                    }
                    Ok(response) => {
                        let status = response.status();
                        self.read_body(response)
                            .await
                            .map(|body| Reply::Refused(status, body))
                    }
                    Err(kind) => Err(kind),
                };
                (outcome, sent)
            };
            match outcome {
                Ok(Reply::Read(value)) => return Ok(value),
                Ok(Reply::Refused(status, body)) => {
                    if status == StatusCode::UNAUTHORIZED && !relogged && self.uses_ticket() {
                        // The ticket may have expired early (server restart, clock skew): log in again once.
                        relogged = true;
                        self.forget_ticket(&sent).await;
                        continue;
                    }
                    let retryable = matches!(status.as_u16(), 502..=504);
                    if retryable && attempt < RETRIES {
                        attempt += 1;
                        tracing::debug!("{endpoint}: status {status}, retry {attempt}");
                        tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(self.error(&endpoint, status_error(status, &body)));
                }
                Err(kind) => {
                    if kind.is_retryable() && attempt < RETRIES {
                        attempt += 1;
                        tracing::debug!("{endpoint}: {kind}, retry {attempt}");
                        tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(self.error(&endpoint, kind));
                }
            }
        }
    }

    fn uses_ticket(&self) -> bool {
        matches!(self.inner.auth, AuthState::Ticket { .. })
    }

    fn url(&self, path: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.inner.server.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    fn error(&self, endpoint: &str, kind: ApiErrorKind) -> ApiError {
        ApiError {
            server_kind: self.inner.server.kind,
            server_name: self.inner.server.name.clone(),
            host: self.inner.host.clone(),
            endpoint: endpoint.to_string(),
            env_prefix: self.inner.server.env_prefix.clone(),
            kind,
        }
    }

    /// Send one GET and return the answer's head; the caller holds a slot of the concurrency
    /// limit while it reads the body.
    async fn send_get(
        &self,
        url: &Url,
        auth: (reqwest::header::HeaderName, HeaderValue),
    ) -> Result<reqwest::Response, ApiErrorKind> {
        let started = Instant::now();
        let response = self
            .inner
            .http
            .get(url.clone())
            .header(auth.0, auth.1)
            .send()
            .await
            .map_err(|err| self.classify(&err))?;
        tracing::debug!(
            "GET {} -> {} (head after {} ms)",
            url.path(),
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
        Ok(response)
    }

    /// Decode a 2xx list answer while its chunks arrive: [`ListSplitter`] cuts out each element
    /// of the `data` array as soon as it is whole and `seed`'s collector decodes it from its own
    /// bytes; the rest of the body (the envelope) is checked whole at the end, the buffered way,
    /// so an answer without a `data` array reads exactly as before. The limit, timeout and
    /// truncation rules of [`ApiClient::read_body`] hold; a transport failure wins over the
    /// decoding error it causes.
    async fn decode_streamed<T, U, F>(
        &self,
        mut response: reqwest::Response,
        seed: MappedList<T, F>,
    ) -> Result<Answer<LenientList<U>>, ApiErrorKind>
    where
        T: DeserializeOwned,
        F: FnMut(T) -> Option<U> + Clone,
    {
        let limit = self.inner.server.max_answer_bytes;
        let expected = response.content_length();
        if expected.is_some_and(|len| len > limit) {
            return Err(ApiErrorKind::TooLarge { limit });
        }
        let fallback = seed.clone();
        let mut items = seed.collector();
        let mut splitter = ListSplitter::new();
        let mut received: u64 = 0;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len() as u64;
                    if received > limit {
                        return Err(ApiErrorKind::TooLarge { limit });
                    }
                    splitter
                        .feed(&chunk, |element| items.take(element))
                        .map_err(|err| ApiErrorKind::Decode(err.to_string()))?;
                }
                Ok(None) => break,
                Err(err) if err.is_timeout() => {
                    return Err(ApiErrorKind::Timeout(self.inner.server.timeout))
                }
                Err(err) => {
                    return Err(ApiErrorKind::Truncated {
                        received,
                        expected,
                        detail: error_chain(&err),
                    })
                }
            }
        }
        if let Some(len) = expected.filter(|len| received < *len) {
            return Err(ApiErrorKind::Truncated {
                received,
                expected: Some(len),
                detail: "the connection ended early".into(),
            });
        }
        let split = splitter.finish();
        if split.data_split {
            let envelope = decode_envelope::<Vec<serde::de::IgnoredAny>>(&split.envelope)?;
            Ok(Answer {
                data: items.finish(),
                total: envelope.total,
            })
        } else {
            decode_envelope_seed(&split.envelope, fallback)
        }
    }

    /// Read the whole body chunk by chunk into one buffer, stopping as soon as it passes the
    /// limit. A body that breaks off is [`ApiErrorKind::Truncated`] (or a timeout), never a
    /// shorter answer.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, ApiErrorKind> {
        let limit = self.inner.server.max_answer_bytes;
        let expected = response.content_length();
        if expected.is_some_and(|len| len > limit) {
            return Err(ApiErrorKind::TooLarge { limit });
        }
        let reserve = expected.unwrap_or(0).min(limit).min(MAX_PREALLOCATION);
        let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(ApiErrorKind::TooLarge { limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) if err.is_timeout() => {
                    return Err(ApiErrorKind::Timeout(self.inner.server.timeout))
                }
                Err(err) => {
                    return Err(ApiErrorKind::Truncated {
                        received: body.len() as u64,
                        expected,
                        detail: error_chain(&err),
                    })
                }
            }
        }
        if let Some(len) = expected.filter(|len| (body.len() as u64) < *len) {
            // hyper reports a short body itself; this guards a transport that would not.
            return Err(ApiErrorKind::Truncated {
                received: body.len() as u64,
                expected: Some(len),
                detail: "the connection ended early".into(),
            });
        }
        Ok(body)
    }

    fn classify(&self, err: &reqwest::Error) -> ApiErrorKind {
        if err.is_timeout() {
            return ApiErrorKind::Timeout(self.inner.server.timeout);
        }
        let chain = error_chain(err);
        if let Some(tls_reason) = tls_reason(err) {
            return ApiErrorKind::Tls {
                detail: tls_reason,
                presented_fingerprint: self.inner.seen.fingerprint(),
            };
        }
        if err.is_connect() {
            return ApiErrorKind::Connect(chain);
        }
        ApiErrorKind::Transport(chain)
    }

    async fn auth_header(
        &self,
        endpoint: &str,
    ) -> Result<(reqwest::header::HeaderName, HeaderValue), ApiError> {
        match &self.inner.auth {
            AuthState::Token(value) => Ok((AUTHORIZATION, value.clone())),
            AuthState::Ticket {
                username,
                password,
                cookie,
            } => {
                let mut guard = cookie.lock().await;
                if let Some((value, obtained)) = guard.as_ref() {
                    if obtained.elapsed() < TICKET_RENEW_AFTER {
                        return Ok((COOKIE, value.clone()));
                    }
                }
                let value = self
                    .login(username, password)
                    .await
                    .map_err(|kind| self.error(endpoint, kind))?;
                *guard = Some((value.clone(), Instant::now()));
                Ok((COOKIE, value))
            }
        }
    }

    /// Drop the ticket that was refused, unless another request has already replaced it: then
    /// the retry uses the new one instead of logging in once more.
    async fn forget_ticket(&self, refused: &HeaderValue) {
        if let AuthState::Ticket { cookie, .. } = &self.inner.auth {
            let mut guard = cookie.lock().await;
            if guard
                .as_ref()
                .is_some_and(|(current, _)| current == refused)
            {
                *guard = None;
            }
        }
    }

    /// The only non-GET request: `POST /access/ticket` with user and password, returning the cookie.
    async fn login(&self, username: &str, password: &Secret) -> Result<HeaderValue, ApiErrorKind> {
        let url = self.url(&["access", "ticket"], &[]);
        let mut form = Url::parse("https://form.invalid/")
            .map_err(|e| ApiErrorKind::Transport(e.to_string()))?;
        form.query_pairs_mut()
            .append_pair("username", username)
            .append_pair("password", password.expose());
        let body = form.query().unwrap_or_default().to_string();
        // No slot of its own: the GET that needs the ticket already holds one.
        let response = self
            .inner
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|err| self.classify(&err))?;
        let status = response.status();
        let bytes = self.read_body(response).await?;
        if !status.is_success() {
            return Err(status_error(status, &bytes));
        }
        let envelope = parse_envelope(&bytes)?;
        let ticket = envelope
            .get("data")
            .and_then(|data| data.get("ticket"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| {
                ApiErrorKind::Unauthorized {
                    message: "login answered without a ticket (two-factor authentication is not supported; use an API token)".into(),
                }
            })?;
        let name = match self.inner.server.kind {
            ServerKind::Pve => "PVEAuthCookie",
            ServerKind::Pbs => "PBSAuthCookie",
        };
        let mut value = HeaderValue::from_str(&format!("{name}={ticket}")).map_err(|_| {
            ApiErrorKind::Decode("the login ticket cannot be sent back as a cookie".into())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// What a sent GET came back with.
enum Reply<R> {
    /// A 2xx answer, read.
    Read(R),
    /// Any other status, with its (error) body.
    Refused(StatusCode, Vec<u8>),
}

/// The concurrency limit is closed only when the run is being torn down.
fn shutting_down() -> ApiErrorKind {
    ApiErrorKind::Transport("the run is shutting down".into())
}

/// `/path/segments?query` as shown in messages (no secrets are ever in paths or queries).
pub(crate) fn endpoint_label(path: &[&str], query: &[(&str, String)]) -> String {
    let mut label = String::new();
    for segment in path {
        label.push('/');
        label.push_str(segment);
    }
    if !query.is_empty() {
        label.push('?');
        let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        label.push_str(&pairs.join("&"));
    }
    label
}

fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.chars().count() > QUOTE_LIMIT {
        let cut: String = text.chars().take(QUOTE_LIMIT).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

/// The error message of a non-2xx answer: PVE sends JSON `{"message": …}`, PBS plain text.
fn error_message(bytes: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let mut message = value
            .get("message")
            .and_then(|m| m.as_str())
            .map(|m| m.trim().to_string())
            .unwrap_or_default();
        if let Some(errors) = value.get("errors").and_then(|e| e.as_object()) {
            let details: Vec<String> = errors
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default().trim()))
                .collect();
            if !details.is_empty() {
                if !message.is_empty() {
                    message.push_str(" — ");
                }
                message.push_str(&details.join("; "));
            }
        }
        if !message.is_empty() {
            return message;
        }
    }
    quote(bytes)
}

/// The error of a non-2xx answer.
fn status_error(status: StatusCode, body: &[u8]) -> ApiErrorKind {
    let message = error_message(body);
    let code = status.as_u16();
    match code {
        401 => ApiErrorKind::Unauthorized { message },
        403 => ApiErrorKind::Forbidden { message },
        400..=499 => ApiErrorKind::ClientError {
            status: code,
            message,
        },
        _ => ApiErrorKind::ServerError {
            status: code,
            message,
        },
    }
}

/// How much of a body that is not JSON an error quotes.
const QUOTED_BODY_BYTES: usize = 120;

fn not_json(err: &serde_json::Error, body: &[u8]) -> ApiErrorKind {
    ApiErrorKind::NotJson(format!(
        "{err}; the body starts with: {}",
        quote(&body[..body.len().min(QUOTED_BODY_BYTES)])
    ))
}

/// Decodes an answer's envelope with `data` decoded by the inner seed (`null` or absent: `None`)
/// and `total` kept; other members are skipped.
pub(crate) struct EnvelopeSeed<S>(pub(crate) S);

/// What [`EnvelopeSeed`] gives: `data` (None when absent or null) and the raw `total`.
type Enveloped<V> = (Option<V>, Option<serde_json::Value>);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for EnvelopeSeed<S> {
    type Value = Enveloped<S::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> serde::de::Visitor<'de> for EnvelopeSeed<S> {
    type Value = Enveloped<S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an answer object with a `data` member")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seed = Some(self.0);
        let mut data = None;
        let mut total = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" => {
                    let Some(seed) = seed.take() else {
                        return Err(serde::de::Error::duplicate_field("data"));
                    };
                    data = map.next_value_seed(OrNull(seed))?;
                }
                "total" => total = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok((data, total))
    }
}

/// `null` as `None`, anything else through the inner seed.
struct OrNull<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> serde::de::Visitor<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}

/// Decode a 2xx body held whole: `data` with `seed`, `total` kept; anything after the envelope
/// is an error, as for any JSON document.
pub(crate) fn decode_envelope_seed<'de, S: DeserializeSeed<'de>>(
    body: &'de [u8],
    seed: S,
) -> Result<Answer<S::Value>, ApiErrorKind> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let decoded = EnvelopeSeed(seed)
        .deserialize(&mut deserializer)
        .and_then(|enveloped| deserializer.end().map(|()| enveloped));
    answer_of(decoded, body)
}

/// Decode an already parsed envelope (a replayed answer): `data` with `seed`, `total` kept.
pub(crate) fn decode_answer_seed<'de, S: DeserializeSeed<'de>>(
    envelope: serde_json::Value,
    seed: S,
) -> Result<Answer<S::Value>, ApiErrorKind> {
    answer_of(EnvelopeSeed(seed).deserialize(envelope), b"")
}

/// The answer of a decoded envelope; a syntax error quotes the start of `body`.
fn answer_of<V>(
    decoded: Result<Enveloped<V>, serde_json::Error>,
    body: &[u8],
) -> Result<Answer<V>, ApiErrorKind> {
    match decoded {
        Ok((Some(data), total)) => Ok(Answer {
            data,
            total: total_of(total.as_ref()),
        }),
        Ok((None, _)) => Err(ApiErrorKind::MissingData),
        Err(err) if err.is_data() => Err(ApiErrorKind::Decode(err.to_string())),
        Err(err) => Err(not_json(&err, body)),
    }
}

/// Parse a 2xx body into the JSON envelope, checking it has `data`.
pub(crate) fn parse_envelope(body: &[u8]) -> Result<serde_json::Value, ApiErrorKind> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| not_json(&err, body))?;
    if value.get("data").is_none() {
        return Err(ApiErrorKind::MissingData);
    }
    Ok(value)
}

fn total_of(total: Option<&serde_json::Value>) -> Option<u64> {
    total.and_then(|t| {
        t.as_u64()
            .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
    })
}

/// Decode a 2xx body straight into `data` + `total`, without an intermediate JSON tree.
pub(crate) fn decode_envelope<T: DeserializeOwned>(body: &[u8]) -> Result<Answer<T>, ApiErrorKind> {
    decode_envelope_seed(body, std::marker::PhantomData::<T>)
}

/// Split an already parsed envelope (a replayed answer) into `data` (decoded) and `total`.
pub(crate) fn decode_answer<T: DeserializeOwned>(
    envelope: serde_json::Value,
) -> Result<Answer<T>, ApiErrorKind> {
    decode_answer_seed(envelope, std::marker::PhantomData::<T>)
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    if err.source().is_none() {
        parts.push(err.to_string());
    }
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    // hyper-util wraps the useful cause in "client error (Connect)": keep only what says something.
    parts.retain(|p| !p.starts_with("client error ("));
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

/// The rustls reason, if this error came from the TLS handshake.
fn tls_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return Some(tls.to_string());
                }
            }
        }
        source = cause.source();
    }
    // io::Error hides a wrapped rustls::Error from `source()` in some layers; fall back to the
    // wording rustls uses for handshake failures.
    let chain = error_chain(err);
    const TLS_WORDS: &[&str] = &[
        "invalid peer certificate",
        "certificate fingerprint mismatch",
        "no system root certificates",
        "received fatal alert",
        "peer is incompatible",
        "peer misbehaved",
    ];
    TLS_WORDS
        .iter()
        .any(|word| chain.contains(word))
        .then_some(chain)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn token_headers_use_the_right_separator() {
        let secret = Secret::new("s3cr3t");
        assert_eq!(
            token_header(ServerKind::Pve, "monitor@pve!report", &secret),
            "PVEAPIToken=monitor@pve!report=s3cr3t"
        );
        assert_eq!(
            token_header(ServerKind::Pbs, "monitor@pbs!report", &secret),
            "PBSAPIToken=monitor@pbs!report:s3cr3t"
        );
    }

    #[test]
    fn error_bodies_are_read_in_both_styles() {
        let pve = br#"{"data":null,"message":"Permission check failed (/, Sys.Audit)\n"}"#;
        assert_eq!(error_message(pve), "Permission check failed (/, Sys.Audit)");
        let pve_param = br#"{"data":null,"errors":{"id":"No such job 'x'"},"message":"Parameter verification failed.\n"}"#;
        assert_eq!(
            error_message(pve_param),
            "Parameter verification failed. — id: No such job 'x'"
        );
        let pbs = b"permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/store1";
        assert_eq!(error_message(pbs), String::from_utf8_lossy(pbs));
    }

    #[test]
    fn answers_are_checked_for_json_and_data() {
        let body = br#"{"data":[1,2],"total":"7"}"#;
        let answer: Answer<Vec<u32>> = decode_envelope(body).unwrap();
        assert_eq!(
            answer,
            Answer {
                data: vec![1, 2],
                total: Some(7)
            }
        );
        assert_eq!(
            decode_answer::<Vec<u32>>(parse_envelope(body).unwrap()).unwrap(),
            answer
        );
        assert!(matches!(
            decode_envelope::<Vec<u32>>(b"<html>"),
            Err(ApiErrorKind::NotJson(_))
        ));
        assert!(matches!(
            parse_envelope(b"<html>"),
            Err(ApiErrorKind::NotJson(_))
        ));
        assert!(matches!(
            decode_envelope::<Vec<u32>>(b"{\"data\":[1,"),
            Err(ApiErrorKind::NotJson(_))
        ));
        assert_eq!(
            decode_envelope::<Vec<u32>>(br#"{"errors":{}}"#),
            Err(ApiErrorKind::MissingData)
        );
        assert_eq!(
            parse_envelope(br#"{"errors":{}}"#),
            Err(ApiErrorKind::MissingData)
        );
        assert!(matches!(
            decode_envelope::<Vec<u32>>(br#"{"data":{"a":1}}"#),
            Err(ApiErrorKind::Decode(_))
        ));
        // A list decoded with a seed answers as the typed decoding does.
        let seeded = |body: &[u8]| {
            decode_envelope_seed(body, MappedList::new(Some::<u32>))
                .map(|answer| (answer.data.items, answer.total))
        };
        assert_eq!(seeded(body), Ok((vec![1, 2], Some(7))));
        assert_eq!(
            seeded(br#"{"x":[{"y":1}],"data":[3]}"#),
            Ok((vec![3], None))
        );
        assert_eq!(seeded(br#"{"data":null}"#), Err(ApiErrorKind::MissingData));
        assert_eq!(seeded(br#"{"errors":{}}"#), Err(ApiErrorKind::MissingData));
        assert!(matches!(seeded(b"<html>"), Err(ApiErrorKind::NotJson(_))));
        assert!(matches!(
            seeded(br#"{"data":[1]} trailing"#),
            Err(ApiErrorKind::NotJson(_))
        ));
        // A replayed envelope whose data is null is missing data, as a live one is.
        assert_eq!(
            decode_answer::<Vec<u32>>(serde_json::json!({"data": null})),
            Err(ApiErrorKind::MissingData)
        );
        assert!(matches!(
            seeded(b"{\"data\":[1,"),
            Err(ApiErrorKind::NotJson(_))
        ));
        assert!(matches!(
            seeded(br#"{"data":{"a":1}}"#),
            Err(ApiErrorKind::Decode(_))
        ));
        assert!(matches!(
            seeded(br#"{"data":[1],"data":[2]}"#),
            Err(ApiErrorKind::Decode(_))
        ));
        let shape = decode_answer::<Vec<u32>>(serde_json::json!({"data": {"a": 1}}));
        assert!(matches!(shape, Err(ApiErrorKind::Decode(_))));
        assert!(matches!(
            status_error(StatusCode::from_u16(503).unwrap(), b"busy"),
            ApiErrorKind::ServerError { status: 503, .. }
        ));
        assert!(matches!(
            status_error(StatusCode::FORBIDDEN, br#"{"data":null,"message":"Permission check failed (/, Sys.Audit)\n"}"#),
            ApiErrorKind::Forbidden { message } if message == "Permission check failed (/, Sys.Audit)"
        ));
    }

    /// A one-shot plain-HTTP server on loopback: reads one request, writes `head` + `body`, then
    /// either closes (so a short body is cut off) or waits.
    async fn serve_raw(answers: Vec<(String, Vec<u8>)>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for (head, body) in answers {
                let (mut tcp, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(&body).await;
                let _ = tcp.flush().await;
                // Dropping the socket closes the connection: any promised rest never comes.
            }
        });
        format!("http://{addr}/api2/json/")
    }

    fn test_client(base: &str, limit: u64) -> ApiClient {
        let server = ServerConfig {
            kind: ServerKind::Pve,
            name: "pve".into(),
            base_url: Url::parse(base).unwrap(),
            auth: Auth::Token {
                id: crate::config::TokenId {
                    user: "monitor@pve".into(),
                    name: "report".into(),
                },
                secret: Secret::new("s3cr3t"),
            },
            tls: crate::api::server::TlsMode::Insecure,
            timeout: Duration::from_secs(5),
            max_answer_bytes: limit,
            env_prefix: "PVE".into(),
        };
        ApiClient::new(&server, Arc::new(Semaphore::new(2))).unwrap()
    }

    fn ok_head(length: Option<usize>) -> String {
        match length {
            Some(len) => format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            ),
            None => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".into(),
        }
    }

    fn chunked(pieces: &[&[u8]], finish: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in pieces {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        if finish {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        out
    }

    #[tokio::test]
    async fn answers_within_the_limit_are_read_whole() {
        let body = br#"{"data":[1,2,3]}"#.to_vec();
        let exact = body.len() as u64;
        let base = serve_raw(vec![
            (ok_head(Some(body.len())), body.clone()),
            (ok_head(None), chunked(&[&body[..5], &body[5..]], true)),
        ])
        .await;
        let client = test_client(&base, exact);
        let first: Vec<u32> = client.get(&["version"], &[]).await.unwrap();
        assert_eq!(first, vec![1, 2, 3]);
        let second: Vec<u32> = client.get(&["version"], &[]).await.unwrap();
        assert_eq!(second, vec![1, 2, 3], "a body of exactly the limit passes");
    }

    #[tokio::test]
    async fn an_announced_oversized_answer_is_refused_before_reading() {
        let body = format!(r#"{{"data":"{}"}}"#, "x".repeat(10_000)).into_bytes();
        let base = serve_raw(vec![(ok_head(Some(body.len())), body)]).await;
        let err = test_client(&base, 4096)
            .get::<String>(&["cluster", "resources"], &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind, ApiErrorKind::TooLarge { limit: 4096 });
        assert_eq!(err.short(), "too-large");
        let text = err.to_string();
        assert!(text.contains("/cluster/resources"), "{text}");
        assert!(text.contains("4096 bytes"), "{text}");
        let hint = err.hint().unwrap();
        assert!(
            hint.contains(super::super::error::ANSWER_LIMIT_SETTING),
            "{hint}"
        );
    }

    #[tokio::test]
    async fn a_chunked_answer_stops_as_soon_as_it_passes_the_limit() {
        // No Content-Length: the limit must be enforced while streaming, and the read must stop
        // without waiting for the rest (which never ends here: no final chunk).
        let piece = vec![b' '; 3000];
        let pieces: Vec<&[u8]> = vec![b"{\"data\":1", &piece, &piece, &piece];
        let base = serve_raw(vec![(ok_head(None), chunked(&pieces, false))]).await;
        let err = test_client(&base, 4096)
            .get::<u32>(&["version"], &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind, ApiErrorKind::TooLarge { limit: 4096 });
    }

    #[tokio::test]
    async fn a_body_cut_off_is_a_truncated_error_even_after_retries() {
        let body = br#"{"data":[1,2,3,4,5,6,7,8,9]}"#.to_vec();
        let cut = body[..10].to_vec();
        // Three attempts (the first try and two retries), each cut off.
        let base = serve_raw(vec![
            (ok_head(Some(body.len())), cut.clone()),
            (ok_head(Some(body.len())), cut.clone()),
            (ok_head(None), chunked(&[&cut], false)),
        ])
        .await;
        let err = test_client(&base, 1 << 20)
            .get::<Vec<u32>>(&["nodes"], &[])
            .await
            .unwrap_err();
        match &err.kind {
            ApiErrorKind::Truncated {
                received, expected, ..
            } => {
                assert_eq!(*received, 10);
                assert_eq!(*expected, None, "the last attempt was chunked");
            }
            other => panic!("not truncated: {other:?}"),
        }
        assert_eq!(err.short(), "truncated");
        assert!(err.hint().is_some());
    }

    #[tokio::test]
    async fn a_body_cut_off_once_is_retried_and_then_read_whole() {
        let body = br#"{"data":[1,2,3]}"#.to_vec();
        let base = serve_raw(vec![
            (ok_head(Some(body.len())), body[..4].to_vec()),
            (ok_head(Some(body.len())), body.clone()),
        ])
        .await;
        let data: Vec<u32> = test_client(&base, 1 << 20)
            .get(&["nodes"], &[])
            .await
            .unwrap();
        assert_eq!(data, vec![1, 2, 3]);
    }

    #[test]
    fn error_kinds_of_broken_connections_are_retryable_and_limits_are_not() {
        assert!(ApiErrorKind::Connect("refused".into()).is_retryable());
        assert!(ApiErrorKind::Transport("reset".into()).is_retryable());
        assert!(ApiErrorKind::Truncated {
            received: 1,
            expected: None,
            detail: String::new()
        }
        .is_retryable());
        assert!(!ApiErrorKind::TooLarge { limit: 1 }.is_retryable());
        assert!(!ApiErrorKind::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!ApiErrorKind::NotJson(String::new()).is_retryable());
    }

    #[test]
    fn endpoint_labels_show_path_and_query() {
        assert_eq!(
            endpoint_label(
                &["nodes", "pve1", "tasks"],
                &[("typefilter", "vzdump".into()), ("start", "50".into())]
            ),
            "/nodes/pve1/tasks?typefilter=vzdump&start=50"
        );
    }
}
