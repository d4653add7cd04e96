//! A bounded load generator for the server: `concurrency` clients send POSTs (bodies taken in
//! turn from a list) until `max_requests` are sent or `max_time` has passed, and the latencies
//! become requests/s and p50/p99. Only ever pointed at loopback by its callers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

/// One load level's figures.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub concurrency: usize,
    pub requests: usize,
    /// Requests answered 200.
    pub ok: usize,
    pub errors: usize,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A keep-alive HTTP/1 client with room for `connections` idle connections.
pub fn client(connections: usize) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build_http()
}

/// Sends one request and reads the whole answer.
pub async fn request(
    client: &HttpClient,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(body))?;
    let response = client.request(req).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Runs one load level against `addr`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    bodies: Arc<Vec<Bytes>>,
    concurrency: usize,
    max_requests: usize,
    max_time: Duration,
) -> LoadReport {
    let client = client(concurrency);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (client, next, bodies, path) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&bodies),
            path.to_string(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests || started.elapsed() > max_time || bodies.is_empty() {
                    break;
                }
                let body = bodies[i % bodies.len()].clone();
                let sent = Instant::now();
                match request(&client, addr, Method::POST, &path, body).await {
                    Ok((StatusCode::OK, _)) => latencies.push(sent.elapsed().as_secs_f64()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            latencies.extend(l);
            errors += e;
        } else {
            errors += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if latencies.is_empty() {
            f64::NAN
        } else {
            let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies[i] * 1e3
        }
    };
    LoadReport {
        concurrency,
        requests: latencies.len() + errors,
        ok: latencies.len(),
        errors,
        seconds,
        requests_per_s: latencies.len() as f64 / seconds.max(1e-9),
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
    }
}
