//! The delivery worker: takes due deliveries from the catalog's outbox,
//! sends each (many at once, so a slow or dead endpoint never holds up the
//! others), and records the outcomes in batches — delivered rows leave the
//! outbox, failed attempts are retried on the subscription's policy, and
//! deliveries that ran out of retries stay as `failed`.
//!
//! http/https endpoints count 2xx as delivered; 5xx, 429, timeouts and
//! connection errors are retried; other 4xx answers are final, as on SNS.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use argus_storage::catalog::{DeliveryOutcome, DeliveryRecord};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::{Semaphore, mpsc};

use super::SnsService;
use super::chat;
use super::envelope::{self, Payload};

const PARALLEL_DELIVERIES: usize = 64;
const BATCH: usize = 512;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(200);

/// Why an attempt failed, and whether trying again can help.
struct Failure {
    error: String,
    retryable: bool,
}

struct Senders {
    http: reqwest::Client,
    mail: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

/// Runs until the process ends.
pub async fn run_delivery(service: Arc<SnsService>) {
    let senders = match senders(&service) {
        Ok(senders) => Arc::new(senders),
        Err(error) => {
            tracing::error!(%error, "SNS delivery cannot start; messages stay queued");
            return;
        }
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(u64, DeliveryOutcome)>();
    let permits = Arc::new(Semaphore::new(PARALLEL_DELIVERIES));
    let mut in_flight: HashSet<u64> = HashSet::new();
    let mut last_prune_ms = i64::MIN;
    loop {
        let mut finished = Vec::new();
        while let Ok(outcome) = done_rx.try_recv() {
            finished.push(outcome);
        }
        if !finished.is_empty() {
            if let Err(error) = service
                .catalog
                .finish_deliveries(&finished, service.now_ms())
            {
                tracing::error!(%error, "could not record SNS delivery outcomes; they will be retried");
            }
            for (id, _) in &finished {
                in_flight.remove(id);
            }
        }
        let now = service.now_ms();
        if now - last_prune_ms > 3_600_000 {
            last_prune_ms = now;
            if let Err(error) = service.catalog.prune_deliveries(now - 14 * 86_400_000) {
                tracing::warn!(%error, "could not prune SNS deliveries");
            }
        }
        let due = match service.catalog.due_deliveries(now, BATCH) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "could not read SNS deliveries");
                Vec::new()
            }
        };
        let mut started = 0;
        for delivery in due {
            if !in_flight.insert(delivery.id) {
                continue;
            }
            started += 1;
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let (service, senders, done) =
                (Arc::clone(&service), Arc::clone(&senders), done_tx.clone());
            tokio::spawn(async move {
                let outcome = attempt(&service, &senders, &delivery).await;
                let _ = done.send((delivery.id, outcome));
                drop(permit);
            });
        }
        if started == 0 {
            tokio::select! {
                _ = service.wake.notified() => {}
                outcome = done_rx.recv() => {
                    if let Some((id, outcome)) = outcome {
                        if let Err(error) = service.catalog.finish_deliveries(&[(id, outcome)], service.now_ms()) {
                            tracing::error!(%error, "could not record an SNS delivery outcome");
                        }
                        in_flight.remove(&id);
                    }
                }
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

fn senders(service: &SnsService) -> Result<Senders, String> {
    // reqwest and lettre use rustls; ring is its crypto provider here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent("Amazon Simple Notification Service Agent")
        .build()
        .map_err(|error| format!("HTTP client: {error}"))?;
    let mail = match &service.options.smtp_url {
        Some(url) => Some(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|error| format!("--smtp-url: {error}"))?
                .timeout(Some(ATTEMPT_TIMEOUT))
                .build(),
        ),
        None => None,
    };
    Ok(Senders { http, mail })
}

async fn attempt(
    service: &SnsService,
    senders: &Senders,
    delivery: &DeliveryRecord,
) -> DeliveryOutcome {
    let payload: Payload = match serde_json::from_str(&delivery.payload) {
        Ok(payload) => payload,
        Err(error) => {
            return DeliveryOutcome::Failed {
                error: format!("unreadable delivery: {error}"),
            };
        }
    };
    let result = match payload.protocol.as_str() {
        "http" | "https" => send_http(senders, &payload).await,
        "email" | "email-json" => send_mail(service, senders, &payload).await,
        other => Err(Failure {
            error: format!("delivery to {other} endpoints is not supported by this server"),
            retryable: false,
        }),
    };
    let counters = &service.counters;
    match result {
        Ok(()) => {
            counters
                .deliveries_succeeded
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(subscription = %payload.subscription_arn, message_id = %payload.message_id, kind = %payload.kind,
                attempts = delivery.attempts + 1, "SNS message delivered");
            DeliveryOutcome::Delivered
        }
        Err(failure) => {
            counters
                .delivery_attempts_failed
                .fetch_add(1, Ordering::Relaxed);
            let retry = delivery.attempts + 1;
            match payload
                .retry
                .delay_before(retry)
                .filter(|_| failure.retryable)
            {
                Some(delay_s) => {
                    tracing::warn!(subscription = %payload.subscription_arn, message_id = %payload.message_id,
                        error = %failure.error, retry, delay_s, "SNS delivery failed; retrying");
                    DeliveryOutcome::Retry {
                        due_ms: service.now_ms() + delay_s * 1000,
                        error: failure.error,
                    }
                }
                None => {
                    counters.deliveries_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(subscription = %payload.subscription_arn, message_id = %payload.message_id,
                        error = %failure.error, attempts = retry, "SNS delivery failed for good");
                    DeliveryOutcome::Failed {
                        error: failure.error,
                    }
                }
            }
        }
    }
}

async fn send_http(senders: &Senders, payload: &Payload) -> Result<(), Failure> {
    let mut request = senders.http.post(&payload.endpoint);
    let body = match payload.format.as_str() {
        "slack" => {
            request = request.header("content-type", "application/json");
            chat::slack(payload).to_string()
        }
        "teams" => {
            request = request.header("content-type", "application/json");
            chat::teams(payload).to_string()
        }
        _ => {
            request = request
                .header("content-type", "text/plain; charset=UTF-8")
                .header("x-amz-sns-message-type", &payload.kind)
                .header("x-amz-sns-message-id", &payload.message_id)
                .header("x-amz-sns-topic-arn", &payload.topic_arn);
            if payload.kind == "Notification" {
                request = request.header("x-amz-sns-subscription-arn", &payload.subscription_arn);
            }
            if payload.raw && payload.kind == "Notification" {
                request = request.header("x-amz-sns-rawdelivery", "true");
                payload.message.clone()
            } else {
                payload.envelope.to_string()
            }
        }
    };
    let response = request.body(body).send().await.map_err(|error| Failure {
        error: describe(&error),
        retryable: true,
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    Err(Failure {
        error: format!("the endpoint answered HTTP {}", status.as_u16()),
        retryable: status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408,
    })
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn send_mail(
    service: &SnsService,
    senders: &Senders,
    payload: &Payload,
) -> Result<(), Failure> {
    let Some(transport) = &senders.mail else {
        return Err(Failure {
            error: "no SMTP relay is configured (start Argus with --smtp-url)".into(),
            retryable: false,
        });
    };
    let (subject, body) = if payload.kind == "SubscriptionConfirmation" {
        envelope::confirmation_mail(&payload.topic_arn, &payload.link)
    } else if payload.protocol == "email-json" {
        (
            payload
                .subject
                .clone()
                .unwrap_or_else(|| "AWS Notification Message".into()),
            payload.envelope.to_string(),
        )
    } else {
        envelope::notification_mail(payload)
    };
    let from_address = service
        .options
        .smtp_from
        .parse::<Mailbox>()
        .map_err(|error| Failure {
            error: format!(
                "the sender address `{}` is invalid: {error}",
                service.options.smtp_from
            ),
            retryable: false,
        })?;
    let from = match &payload.display_name {
        Some(name) if !name.is_empty() => Mailbox::new(Some(name.clone()), from_address.email),
        _ => from_address,
    };
    let to = payload
        .endpoint
        .parse::<Mailbox>()
        .map_err(|error| Failure {
            error: format!("`{}` is not a mail address: {error}", payload.endpoint),
            retryable: false,
        })?;
    let content_type = if payload.protocol == "email-json" && payload.kind == "Notification" {
        ContentType::parse("application/json").ok()
    } else {
        None
    };
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(content_type.unwrap_or(ContentType::TEXT_PLAIN))
        .body(body)
        .map_err(|error| Failure {
            error: format!("could not build the mail: {error}"),
            retryable: false,
        })?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| Failure {
            retryable: !error.is_permanent(),
            error: format!("SMTP: {error}"),
        })
}
