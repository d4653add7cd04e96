//! The HTTP side: routes, handlers, limits and graceful shutdown, on axum.
//!
//! - `POST /v1/predict` `{"texts": [...], "top_k": 3}` → `{"predictions": [...]}`, each as
//!   `emojify predict --json` prints it;
//! - `POST /v1/emojify` `{"text": "..."}` → `{"text": annotated, "sentences": [...]}`, as
//!   `emojify text`;
//! - `GET /v1/model`, `GET /healthz`, `GET /` (the page, no external assets).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use emojify_train::run::dir as run_dir;
use emojify_train::run::open::TrainedRun;
use emojify_train::usage::predict::{annotate, message_sentences};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::api::{self, ApiError, Limits};
use crate::batcher::Batcher;

/// What `GET /v1/model` says about the run being served.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub run_dir: String,
    pub classes: Vec<ClassInfo>,
    pub trained_at: Option<String>,
    pub test_accuracy: Option<f64>,
    pub weights_sha256: Option<String>,
    /// How many networks answer together (`train.ensemble`; 1 for one).
    pub networks: usize,
    /// The temperature probabilities are scaled by (1: none).
    pub temperature: f64,
    pub backend: String,
    pub max_batch: usize,
    pub max_wait_ms: f64,
}

impl ModelInfo {
    /// What the run's config and `summary.json` say about it.
    pub fn of(run: &TrainedRun, max_batch: usize, max_wait: Duration) -> Self {
        let summary = run.summary.clone().unwrap_or_default();
        let trained_at = std::fs::metadata(run.dir.file(run_dir::SUMMARY_FILE))
            .and_then(|m| m.modified())
            .ok()
            .map(iso_utc);
        ModelInfo {
            name: run.config.name.clone(),
            run_dir: run.dir.path().display().to_string(),
            classes: (0..run.config.num_classes())
                .map(|i| ClassInfo {
                    label: i,
                    display: run.config.data.labels[i].clone(),
                    name: run.config.class_name(i).to_string(),
                })
                .collect(),
            trained_at,
            test_accuracy: summary.get("test_accuracy").and_then(|v| v.as_f64()),
            weights_sha256: summary
                .get("weights_sha256")
                .and_then(|v| v.as_str())
                .map(String::from),
            networks: run.model.members().len(),
            temperature: run.temperature,
            backend: run.backend.to_string(),
            max_batch,
            max_wait_ms: max_wait.as_secs_f64() * 1e3,
        }
    }
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`.
fn iso_utc(t: std::time::SystemTime) -> String {
    let s = run_dir::utc_stamp(t);
    // `YYYYMMDD-HHMMSS`
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassInfo {
    pub label: usize,
    pub display: String,
    pub name: String,
}

struct AppState {
    batcher: Batcher,
    info: ModelInfo,
    limits: Limits,
}

type Shared = State<Arc<AppState>>;

/// The router over a running [`Batcher`].
pub fn router(batcher: Batcher, info: ModelInfo, limits: Limits) -> Router {
    let state = Arc::new(AppState {
        batcher,
        info,
        limits,
    });
    let only = |allowed: &'static str| {
        move |method: Method, uri: Uri| async move {
            ApiError::MethodNotAllowed {
                method: method.to_string(),
                path: uri.path().to_string(),
                allowed,
            }
        }
    };
    Router::new()
        .route("/", get(page).fallback(only("GET")))
        .route("/healthz", get(healthz).fallback(only("GET")))
        .route("/v1/model", get(model).fallback(only("GET")))
        .route("/v1/predict", post(predict).fallback(only("POST")))
        .route("/v1/emojify", post(emojify).fallback(only("POST")))
        .fallback(|uri: Uri| async move { ApiError::NotFound(uri.path().to_string()) })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes; requests in flight are answered first.
pub async fn serve(
    listener: TcpListener,
    batcher: Batcher,
    info: ModelInfo,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(batcher, info, limits))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The body, or the 413/400 its reading ended in.
fn body(body: Result<Bytes, BytesRejection>, limits: &Limits) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "request body over the {}-byte limit (--max-body-bytes)",
                limits.max_body_bytes
            ))
        } else {
            ApiError::BadRequest(format!("could not read the request body: {e}"))
        }
    })
}

async fn predict(
    State(s): Shared,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let raw = body(raw, &s.limits)?;
    let req = api::decode_predict(&raw, &s.limits, s.batcher.classes())?;
    let predictions = s.batcher.predict(req.texts, req.top_k).await?;
    Ok(Json(serde_json::json!({ "predictions": predictions })).into_response())
}

async fn emojify(
    State(s): Shared,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let raw = body(raw, &s.limits)?;
    let req = api::decode_emojify(&raw, &s.limits)?;
    let lines = message_sentences(&req.text);
    let sentences: Vec<String> = lines.iter().flatten().cloned().collect();
    if sentences.len() > s.limits.max_texts {
        return Err(ApiError::TooLarge(format!(
            "{} sentences in one message, over the limit of {} (--max-texts)",
            sentences.len(),
            s.limits.max_texts
        )));
    }
    let predictions = if sentences.is_empty() {
        Vec::new()
    } else {
        s.batcher.predict(sentences, 3).await?
    };
    Ok(Json(serde_json::json!({
        "text": annotate(&lines, &predictions),
        "sentences": predictions,
    }))
    .into_response())
}

async fn model(State(s): Shared) -> Json<ModelInfo> {
    Json(s.info.clone())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}
