//! `emojify serve` spoken to over HTTP on an ephemeral loopback port: the API answers as
//! `emojify predict` and `emojify text` do, every bad request gets the 4xx that says why, the
//! server survives thousands of mixed concurrent requests, shuts down gracefully on SIGTERM,
//! and the web page shows a suggestion in headless Chromium.
//! (Past 500 lines: one server under test, started once per test, with its helpers.)

mod common;

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use emojify_data::Silent;
use emojify_serve::load;
use emojify_train::run::train::train;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

/// A trained V2 run, shared by the tests of this file.
fn run_dir() -> PathBuf {
    static RUN: std::sync::OnceLock<(PathBuf, tempfile::TempDir)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let out = tempfile::tempdir().expect("tmp");
        let mut config = common::config("emojify_v2.toml", out.path());
        config.train.epochs = 40;
        let outcome = train(&config, &Silent).expect("trains");
        (outcome.run_dir.path().to_path_buf(), out)
    })
    .0
    .clone()
}

/// A running `emojify serve` and its address; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(run: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emojify"))
        .args([
            "serve",
            "--run",
            run.to_str().expect("utf-8"),
            "--addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("EMOJIFY_DATA", common::root().join("../shared/data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emojify serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("no address line: {line:?}"))
        .parse()
        .expect("an address");
    Server { child, addr }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// One request: (status, JSON or text body).
fn call(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let client = load::client(1);
    let (status, bytes) = rt
        .block_on(load::request(
            &client,
            addr,
            method,
            path,
            Bytes::from(body.to_string()),
        ))
        .expect("the server answers");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

const TEXTS: [&str; 6] = [
    "i adore you",
    "Let's go see the baseball game tonight!",
    "not feeling happy",
    "Can we order some noodles?",
    "",
    "qwxzzk blorp",
];

/// What `emojify predict --json --top-k 3` says for `texts`.
fn cli_predictions(run: &Path, texts: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "predict",
        "--run",
        run.to_str().expect("utf-8"),
        "--json",
        "--top-k",
        "3",
    ];
    args.extend(texts.iter().filter(|t| !t.is_empty()));
    let (ok, out, err) = common::emojify(&args);
    assert!(ok, "{err}");
    serde_json::from_str::<Vec<Value>>(&out).expect("json")
}

/// Same fields, same labels and counts; probabilities equal to float rounding (a batch of
/// another size may sum in another order).
fn assert_same_prediction(got: &Value, want: &Value) {
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(got), keys(want), "fields");
    for key in [
        "text",
        "label",
        "display",
        "name",
        "known_tokens",
        "oov_tokens",
        "truncated_tokens",
    ] {
        assert_eq!(got[key], want[key], "{key}: {got} vs {want}");
    }
    let close = |a: &Value, b: &Value| {
        (a.as_f64().unwrap_or(f64::NAN) - b.as_f64().unwrap_or(0.0)).abs() < 1e-5
    };
    let (gp, wp) = (
        got["probabilities"].as_array().expect("p"),
        want["probabilities"].as_array().expect("p"),
    );
    assert!(
        gp.len() == wp.len() && gp.iter().zip(wp).all(|(a, b)| close(a, b)),
        "{got} vs {want}"
    );
    let labels = |v: &Value| {
        v["top"]
            .as_array()
            .expect("top")
            .iter()
            .map(|r| r["label"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(got), labels(want), "top-k");
}

#[test]
fn the_api_answers_as_the_cli_does_and_bad_requests_get_the_4xx_that_says_why() {
    let run = run_dir();
    let server = serve(&run, &["--max-texts", "8", "--max-body-bytes", "4096"]);
    let rt = runtime();
    let addr = server.addr;

    assert_eq!(
        call(&rt, addr, Method::GET, "/healthz", ""),
        (StatusCode::OK, "ok".into())
    );
    let (status, body) = call(&rt, addr, Method::GET, "/v1/model", "");
    assert_eq!(status, StatusCode::OK);
    let model: Value = serde_json::from_str(&body).expect("json");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(model["name"], "emojify-v2");
    assert_eq!(model["classes"].as_array().map(Vec::len), Some(5));
    assert_eq!(model["weights_sha256"], summary["weights_sha256"]);
    assert_eq!(model["test_accuracy"], summary["test_accuracy"]);
    assert_eq!(
        (model["networks"].as_u64(), model["temperature"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert!(
        model["trained_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{model}"
    );

    let texts: Vec<&str> = TEXTS.iter().copied().filter(|t| !t.is_empty()).collect();
    let (status, body) = call(
        &rt,
        addr,
        Method::POST,
        "/v1/predict",
        &json!({ "texts": texts, "top_k": 3 }).to_string(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let got: Value = serde_json::from_str(&body).expect("json");
    let got = got["predictions"].as_array().expect("predictions");
    let want = cli_predictions(&run, &texts);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_same_prediction(g, w);
    }

    let message = "Congratulations on the promotion! Lets get coffee and talk. Love you!";
    let (status, body) = call(
        &rt,
        addr,
        Method::POST,
        "/v1/emojify",
        &json!({ "text": message }).to_string(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (ok, text_out, err) =
        common::emojify(&["text", "--run", run.to_str().expect("utf-8"), message]);
    assert!(ok, "{err}");
    let emojified: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(emojified["text"], text_out.trim_end(), "as `emojify text`");
    assert_eq!(emojified["sentences"].as_array().map(Vec::len), Some(3));

    let big = format!("{{\"texts\": [\"{}\"]}}", "a".repeat(5000));
    for (method, path, body, status, needle) in [
        (
            Method::POST,
            "/v1/predict",
            big.as_str(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "4096-byte limit",
        ),
        (
            Method::POST,
            "/v1/predict",
            r#"{"texts": ["a","b","c","d","e","f","g","h","i"]}"#,
            StatusCode::PAYLOAD_TOO_LARGE,
            "limit of 8",
        ),
        (
            Method::POST,
            "/v1/predict",
            r#"{"texts": ["a"#,
            StatusCode::BAD_REQUEST,
            "EOF",
        ),
        (
            Method::POST,
            "/v1/predict",
            r#"{"texts": 3}"#,
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            Method::POST,
            "/v1/predict",
            r#"{"texts": ["a"], "top_k": 0}"#,
            StatusCode::BAD_REQUEST,
            "top_k",
        ),
        (
            Method::POST,
            "/v1/emojify",
            r#"{"message": "hi"}"#,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            Method::GET,
            "/v1/nothing",
            "",
            StatusCode::NOT_FOUND,
            "no route /v1/nothing",
        ),
        (
            Method::GET,
            "/v1/predict",
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST",
        ),
        (
            Method::DELETE,
            "/",
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET",
        ),
    ] {
        let (got, text) = call(&rt, addr, method.clone(), path, body);
        assert_eq!(got, status, "{method} {path}: {text}");
        let error: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON error body: {text}"));
        assert!(
            error["error"].as_str().is_some_and(|e| e.contains(needle)),
            "{method} {path}: {text}"
        );
    }
    assert_eq!(
        call(&rt, addr, Method::GET, "/healthz", "").0,
        StatusCode::OK,
        "still up"
    );
}

/// Thousands of good and bad requests at once: every good answer is `emojify predict`'s, every
/// bad one a 4xx, and the server is alive afterwards.
#[test]
fn thousands_of_mixed_concurrent_requests_are_answered_right_and_the_server_stays_up() {
    let run = run_dir();
    let server = serve(&run, &[]);
    let addr = server.addr;
    let texts: Vec<&str> = TEXTS.iter().copied().filter(|t| !t.is_empty()).collect();
    let want: Arc<Vec<Value>> = Arc::new(cli_predictions(&run, &texts));
    let texts: Arc<Vec<String>> = Arc::new(texts.iter().map(|t| t.to_string()).collect());
    let bad = Arc::new(vec![
        (r#"{"texts": []}"#.to_string(), StatusCode::BAD_REQUEST),
        (r#"not json"#.to_string(), StatusCode::BAD_REQUEST),
        (r#"{"texts": [1, 2]}"#.to_string(), StatusCode::BAD_REQUEST),
        (
            format!("{{\"texts\": [\"{}\"]}}", "x".repeat(20_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ]);
    let rt = runtime();
    let (good, rejected) = rt.block_on(async {
        let client = load::client(64);
        let mut tasks = Vec::new();
        for worker in 0..64usize {
            let (client, want, texts, bad) = (
                client.clone(),
                Arc::clone(&want),
                Arc::clone(&texts),
                Arc::clone(&bad),
            );
            tasks.push(tokio::spawn(async move {
                let (mut good, mut rejected) = (0, 0);
                for i in 0..40usize {
                    let k = worker * 40 + i;
                    if k % 4 == 3 {
                        let (body, status) = &bad[k % bad.len()];
                        let (got, _) = load::request(
                            &client,
                            addr,
                            Method::POST,
                            "/v1/predict",
                            Bytes::from(body.clone()),
                        )
                        .await
                        .expect("answer");
                        assert_eq!(got, *status, "{body:.60}");
                        rejected += 1;
                    } else {
                        let j = k % texts.len();
                        let body = json!({ "texts": [texts[j]], "top_k": 3 }).to_string();
                        let (got, answer) = load::request(
                            &client,
                            addr,
                            Method::POST,
                            "/v1/predict",
                            Bytes::from(body),
                        )
                        .await
                        .expect("answer");
                        assert_eq!(got, StatusCode::OK);
                        let answer: Value = serde_json::from_slice(&answer).expect("json");
                        assert_same_prediction(&answer["predictions"][0], &want[j]);
                        good += 1;
                    }
                }
                (good, rejected)
            }));
        }
        let mut totals = (0, 0);
        for t in tasks {
            let (g, r) = t.await.expect("worker");
            totals = (totals.0 + g, totals.1 + r);
        }
        totals
    });
    assert_eq!((good, rejected), (1920, 640));
    assert_eq!(
        call(&rt, addr, Method::GET, "/healthz", "").0,
        StatusCode::OK,
        "still up"
    );
}

/// SIGTERM while requests are in flight: they are answered, then the server exits cleanly.
#[test]
fn sigterm_answers_requests_in_flight_then_exits() {
    let run = run_dir();
    // A long batching wait keeps requests in flight when the signal arrives.
    let mut server = serve(&run, &["--max-wait-ms", "400"]);
    let addr = server.addr;
    let rt = runtime();
    let pid = server.child.id();
    let answers = rt.block_on(async {
        let client = load::client(8);
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    load::request(
                        &client,
                        addr,
                        Method::POST,
                        "/v1/predict",
                        Bytes::from(r#"{"texts": ["i adore you"]}"#),
                    )
                    .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let mut statuses = Vec::new();
        for r in requests {
            statuses.push(r.await.expect("task").expect("answered").0);
        }
        statuses
    });
    assert_eq!(
        answers,
        vec![StatusCode::OK; 8],
        "in-flight requests answered"
    );
    let status = server.child.wait().expect("exits");
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

/// The page in headless Chromium: a message given as typed shows its suggestion.
#[test]
fn the_web_page_shows_the_suggestion_in_headless_chromium() {
    let run = run_dir();
    let server = serve(&run, &[]);
    let shots = tempfile::tempdir().expect("tmp");
    let url = format!("http://{}/?text=i%20adore%20you", server.addr);
    let chromium = |extra: &[&str]| {
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=10000",
                "--window-size=900,760",
            ])
            .args(extra)
            .arg(&url)
            .env("HOME", shots.path())
            .output()
            .expect("chromium runs (.ci/run installs Debian's chromium package)");
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = chromium(&["--dump-dom"]);
    let top = dom.split("id=\"top\"").nth(1).expect("the top-3 box");
    assert!(top.contains("class=\"row\""), "a suggestion appears: {dom}");
    assert!(
        top.contains("❤️"),
        "the suggestion for `i adore you`: {top:.400}"
    );
    assert!(
        dom.contains("i adore you ❤️"),
        "the emojified message: {dom}"
    );
    let png = shots.path().join("page.png");
    chromium(&[&format!("--screenshot={}", png.display())]);
    let bytes = std::fs::read(&png).expect("screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "screenshot"
    );
}

/// `emojify bench-serve` measures all three servers at every level and writes its table.
#[test]
fn bench_serve_measures_batching_no_batching_and_the_pytorch_baseline() {
    let run = run_dir();
    let out = tempfile::tempdir().expect("tmp");
    let python = common::python();
    let script = common::root().join("benches/serve_pytorch.py");
    let (ok, stdout, stderr) = common::emojify_with(
        &[
            "bench-serve",
            "--run",
            run.to_str().expect("utf-8"),
            "--concurrency",
            "1,8",
            "--requests",
            "60",
            "--seconds",
            "20",
            "--pytorch-script",
            script.to_str().expect("utf-8"),
            "--out",
            out.path().to_str().expect("utf-8"),
        ],
        &[("EMOJIFY_PYTHON", python.as_os_str())],
    );
    assert!(ok, "bench-serve: {stderr}");
    let rows: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("bench-serve.json")).expect("json"),
    )
    .expect("valid");
    assert_eq!(rows.len(), 6, "3 servers × 2 levels: {stdout}");
    for r in &rows {
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["ok"], 60, "{r}");
        assert!(r["requests_per_s"].as_f64().unwrap_or(0.0) > 0.0, "{r}");
        assert!(
            r["p99_ms"].as_f64().unwrap_or(0.0) >= r["p50_ms"].as_f64().unwrap_or(f64::MAX),
            "{r}"
        );
    }
    assert!(stdout.contains("PyTorch + http.server"), "{stdout}");
    assert!(stdout.contains("emojify, no batching"), "{stdout}");
    assert!(
        stdout.contains("\nCPU: "),
        "the table names its CPU: {stdout}"
    );
}
