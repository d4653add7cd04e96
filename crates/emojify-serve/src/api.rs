//! The API's requests, their limits, and how a bad one is answered: every error is a 4xx (or a
//! 5xx for the server's own failure) with a JSON body `{"error": "…"}` that says why.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// What a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Request body size (413 beyond it).
    pub max_body_bytes: usize,
    /// Texts in one `/v1/predict` request, sentences in one `/v1/emojify` message (413).
    pub max_texts: usize,
    /// Bytes of one text or message (413).
    pub max_text_bytes: usize,
    /// A request not answered by then gets 503.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_texts: 256,
            max_text_bytes: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// `POST /v1/predict`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub texts: Vec<String>,
    /// How many labels each prediction ranks (default 1).
    #[serde(default = "one")]
    pub top_k: usize,
}

fn one() -> usize {
    1
}

/// `POST /v1/emojify`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmojifyRequest {
    pub text: String,
}

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, wrong types, missing or unknown fields, values out of range.
    #[error("{0}")]
    BadRequest(String),
    /// Over one of the [`Limits`]; the message names it.
    #[error("{0}")]
    TooLarge(String),
    #[error(
        "no route {0}; the API is POST /v1/predict, POST /v1/emojify, GET /v1/model, GET /healthz, GET /"
    )]
    NotFound(String),
    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static str,
    },
    /// The model could not be run (the server's fault, not the client's).
    #[error("the model failed: {0}")]
    Internal(String),
    /// The batcher is gone or the request timed out.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if let ApiError::MethodNotAllowed { allowed, .. } = &self {
            response.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static(allowed),
            );
        }
        response
    }
}

/// Parses a JSON body as `T`; serde's message (with line and column) says what is wrong.
fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid request: {e}")))
}

fn check_text(what: &str, text: &str, limits: &Limits) -> Result<(), ApiError> {
    if text.len() > limits.max_text_bytes {
        return Err(ApiError::TooLarge(format!(
            "{what} is {} bytes, over the {}-byte limit (--max-text-bytes)",
            text.len(),
            limits.max_text_bytes
        )));
    }
    Ok(())
}

/// Decodes and checks a `/v1/predict` body for a model of `classes` labels.
pub fn decode_predict(
    body: &[u8],
    limits: &Limits,
    classes: usize,
) -> Result<PredictRequest, ApiError> {
    let req: PredictRequest = json(body)?;
    if req.texts.is_empty() {
        return Err(ApiError::BadRequest(
            "`texts` is empty: send at least one text".into(),
        ));
    }
    if req.texts.len() > limits.max_texts {
        return Err(ApiError::TooLarge(format!(
            "{} texts in one request, over the limit of {} (--max-texts)",
            req.texts.len(),
            limits.max_texts
        )));
    }
    for (i, text) in req.texts.iter().enumerate() {
        check_text(&format!("text {}", i + 1), text, limits)?;
    }
    if req.top_k == 0 || req.top_k > classes {
        return Err(ApiError::BadRequest(format!(
            "`top_k` is {}; it must be between 1 and the model's {classes} classes",
            req.top_k
        )));
    }
    Ok(req)
}

/// Decodes and checks a `/v1/emojify` body.
pub fn decode_emojify(body: &[u8], limits: &Limits) -> Result<EmojifyRequest, ApiError> {
    let req: EmojifyRequest = json(body)?;
    check_text("`text`", &req.text, limits)?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn good_requests_decode_and_bad_ones_say_why() {
        let l = Limits::default();
        let ok = decode_predict(br#"{"texts": ["hi"], "top_k": 3}"#, &l, 5).expect("valid");
        assert_eq!((ok.texts.len(), ok.top_k), (1, 3));
        assert_eq!(
            decode_predict(br#"{"texts": ["hi"]}"#, &l, 5).map(|r| r.top_k),
            Ok(1)
        );
        for (body, needle) in [
            (&br#"{"texts": "hi"}"#[..], "invalid type"),
            (br#"{"texts": []}"#, "is empty"),
            (br#"{"text": ["hi"]}"#, "unknown field"),
            (br#"{"texts": ["hi"], "top_k": 9}"#, "between 1 and"),
            (br#"{"texts": ["hi"], "top_k": -1}"#, "invalid value"),
            (b"{", "EOF"),
            (b"\xff\xfe", "invalid request"),
        ] {
            let err = decode_predict(body, &l, 5).expect_err("bad");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        let many = serde_json::json!({ "texts": vec!["a"; 257] }).to_string();
        let err = decode_predict(many.as_bytes(), &l, 5).expect_err("too many");
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.to_string().contains("limit of 256"), "{err}");
        let long = serde_json::json!({ "text": "a".repeat(10_001) }).to_string();
        let err = decode_emojify(long.as_bytes(), &l).expect_err("too long");
        assert!(err.to_string().contains("10000-byte limit"), "{err}");
    }

    proptest! {
        /// Whatever bytes arrive, decoding answers Ok or a 4xx; it never panics.
        #[test]
        fn decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let l = Limits::default();
            if let Err(e) = decode_predict(&body, &l, 5) {
                prop_assert!(e.status().is_client_error());
            }
            if let Err(e) = decode_emojify(&body, &l) {
                prop_assert!(e.status().is_client_error());
            }
        }

        /// Any list of texts within the limits round-trips through JSON unchanged.
        #[test]
        fn valid_requests_round_trip(
            texts in proptest::collection::vec(".{0,40}", 1..20),
            top_k in 1usize..=5,
        ) {
            let body = serde_json::json!({ "texts": texts, "top_k": top_k }).to_string();
            let req = decode_predict(body.as_bytes(), &Limits::default(), 5);
            prop_assert_eq!(req, Ok(PredictRequest { texts, top_k }));
        }
    }
}
