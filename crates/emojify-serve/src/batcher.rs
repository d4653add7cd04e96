//! Dynamic batching: concurrent requests are gathered into one forward pass. The model lives
//! on one thread of its own; requests queue to it, and it takes the first one waiting plus
//! whatever else is queued, up to `max_batch` texts, encodes each request (a bad one fails
//! alone), classifies them all at once, and answers each request with its share.
//!
//! It waits up to `max_wait` for more only while requests come concurrently (the last batch
//! held more than one): a lone client is never made to wait for company that is not coming
//! (measured: 2,277 against 344 requests/s for one client with a fixed 2 ms wait,
//! docs/benchmarks.md).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emojify_train::usage::predict::{Prediction, Predictor};
use tokio::sync::oneshot;

use crate::api::ApiError;

/// One request's texts and where its answer goes.
struct Job {
    texts: Vec<String>,
    top_k: usize,
    reply: oneshot::Sender<Result<Vec<Prediction>, ApiError>>,
}

/// The handle requests are sent through; cheap to share between handlers.
#[derive(Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
    classes: usize,
}

impl Batcher {
    /// Moves `predictor` onto its own thread. `max_batch` 1 turns batching off (each request
    /// is classified alone); the thread ends when every handle is dropped.
    pub fn start(
        predictor: Predictor,
        max_batch: usize,
        max_wait: Duration,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let classes = predictor.classes();
        let thread = std::thread::Builder::new()
            .name("emojify-batcher".into())
            .spawn(move || {
                let mut concurrent = false;
                while let Ok(first) = queue.recv() {
                    let mut texts = first.texts.len();
                    let mut batch = vec![first];
                    let wait = if concurrent { max_wait } else { Duration::ZERO };
                    let deadline = Instant::now() + wait;
                    while texts < max_batch.max(1) {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match queue.recv_timeout(left) {
                            Ok(job) => {
                                texts += job.texts.len();
                                batch.push(job);
                            }
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                    concurrent = batch.len() > 1;
                    run(&predictor, batch);
                }
            })?;
        Ok((Batcher { jobs, classes }, thread))
    }

    /// The model's number of classes (the bound on `top_k`).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Classifies `texts` in whatever batch they join; predictions rank `top_k` labels.
    pub async fn predict(
        &self,
        texts: Vec<String>,
        top_k: usize,
    ) -> Result<Vec<Prediction>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                texts,
                top_k,
                reply,
            })
            .map_err(|_| ApiError::Unavailable("the model is shutting down".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Unavailable("the model thread stopped".into()))?
    }
}

/// Encodes each job, classifies every well-formed one in one pass, answers all.
fn run(predictor: &Predictor, batch: Vec<Job>) {
    let mut texts = Vec::new();
    let mut encoded = Vec::new();
    let mut ready = Vec::new();
    for job in batch {
        match predictor.encode_all(&job.texts) {
            Ok(e) => {
                texts.extend(job.texts.iter().cloned());
                encoded.extend(e);
                ready.push(job);
            }
            Err(e) => {
                // The client's input did not fit the model (e.g. a numeric run given words).
                let _ = job.reply.send(Err(ApiError::BadRequest(format!("{e:#}"))));
            }
        }
    }
    if ready.is_empty() {
        return;
    }
    let most = ready.iter().map(|j| j.top_k).max().unwrap_or(1);
    match predictor.classify(&texts, encoded, most) {
        Ok(all) => {
            let mut all = all.into_iter();
            for job in ready {
                let mut mine: Vec<Prediction> = all.by_ref().take(job.texts.len()).collect();
                for p in &mut mine {
                    p.top.truncate(job.top_k);
                }
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            for job in ready {
                let _ = job.reply.send(Err(ApiError::Internal(message.clone())));
            }
        }
    }
}
