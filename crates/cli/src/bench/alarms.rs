//! `argus bench alarms`: issue 5's figures, against a spawned `argus serve`.
//!
//! 1. Evaluation cost: N metrics with data and one alarm on each (60-second
//!    periods, evaluated every minute); the server's CPU seconds over whole
//!    minutes, and the evaluator's own wall time per tick (`/metrics`).
//! 2. Latency: alarms on 10-second periods whose actions go to a topic with
//!    an HTTP subscriber (a receiver in this process). A breaching datapoint
//!    is published; reported are the end of its period → the state change
//!    (the evaluator's share), and the state change → the webhook POST.
//! 3. Fan-out: a topic with S HTTP subscribers; M Publish calls from 8
//!    connections; notifications received per second.
//!
//! CloudWatch calls go over awsJson1.0 (query mode), SNS over awsQuery, both
//! SigV4-signed as the SDKs sign them. It reports and never asserts on times.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::client::{CLOUDWATCH, Connection, Endpoint, QueryConnection, get};
use super::logs_ingest::Fsync;
use super::report::{command_line, machine_description};
use super::server::{SpawnedServer, cpu_seconds};

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    /// Metrics, and one alarm on each, for the evaluation-cost section
    #[arg(long, default_value_t = 10_000)]
    alarms: usize,
    /// Whole evaluation minutes measured
    #[arg(long, default_value_t = 2)]
    minutes: usize,
    /// Breaching datapoints timed for the latency section
    #[arg(long, default_value_t = 5)]
    latency_samples: usize,
    /// HTTP subscribers of the fan-out topic
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Publish calls of the fan-out section (each reaches every subscriber)
    #[arg(long, default_value_t = 1_000)]
    messages: usize,
    /// Concurrent connections for setup and publishing
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// The spawned server's --fsync policy
    #[arg(long, value_enum, default_value_t = Fsync::Always)]
    fsync: Fsync,
}

/// What the in-process webhook receiver saw.
#[derive(Default)]
struct Received {
    /// (path, arrival, body)
    posts: Vec<(String, Instant, String)>,
}

async fn start_receiver(received: Arc<Mutex<Received>>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let received = Arc::clone(&received);
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let arrival = Instant::now();
                        if let Ok(mut received) = received.lock() {
                            received.posts.push((path, arrival, String::from_utf8_lossy(&body).into_owned()));
                        }
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(address)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

fn ok(reply: &super::client::Reply) -> anyhow::Result<()> {
    ensure!(reply.status.is_success(), "request failed: {}", reply.describe());
    Ok(())
}

/// The text between `<tag>` and `</tag>` in an awsQuery XML answer.
fn xml_value(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text.get(start..)?.find(&format!("</{tag}>"))? + start;
    text.get(start..end).map(str::to_owned)
}

async fn metric_value(endpoint: &Endpoint, name: &str) -> anyhow::Result<f64> {
    let reply = get(endpoint, "/metrics").await?;
    let text = String::from_utf8_lossy(&reply.body);
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .with_context(|| format!("{name} is not in /metrics"))
}

/// A topic with `paths.len()` confirmed HTTP subscriptions to the receiver.
async fn topic_with_subscribers(
    sns: &mut QueryConnection,
    receiver: SocketAddr,
    received: &Arc<Mutex<Received>>,
    name: &str,
    paths: &[String],
) -> anyhow::Result<String> {
    let reply = sns.call("CreateTopic", &[("Name", name)]).await?;
    ok(&reply)?;
    let topic = xml_value(&reply.body, "TopicArn").context("CreateTopic answered no TopicArn")?;
    for path in paths {
        let url = format!("http://{receiver}{path}");
        ok(&sns.call("Subscribe", &[("TopicArn", &topic), ("Protocol", "http"), ("Endpoint", &url)]).await?)?;
    }
    // Confirm each from the token in its SubscriptionConfirmation.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut confirmed = 0;
    while confirmed < paths.len() {
        ensure!(Instant::now() < deadline, "only {confirmed} of {} subscriptions were asked to confirm", paths.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tokens: Vec<String> = {
            let received = received.lock().map_err(|_| anyhow::anyhow!("receiver lock"))?;
            received
                .posts
                .iter()
                .filter(|(path, _, _)| paths.contains(path))
                .filter_map(|(_, _, body)| serde_json::from_str::<Value>(body).ok())
                .filter(|envelope| {
                    envelope.get("Type").and_then(Value::as_str) == Some("SubscriptionConfirmation")
                        && envelope.get("TopicArn").and_then(Value::as_str) == Some(topic.as_str())
                })
                .filter_map(|envelope| envelope.get("Token").and_then(Value::as_str).map(str::to_owned))
                .collect()
        };
        if tokens.len() >= paths.len() {
            for token in tokens {
                ok(&sns.call("ConfirmSubscription", &[("TopicArn", &topic), ("Token", &token)]).await?)?;
            }
            confirmed = paths.len();
        }
    }
    Ok(topic)
}

pub fn run(args: AlarmsArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: AlarmsArgs) -> anyhow::Result<()> {
    let fsync = args.fsync.as_flag();
    let mut server = SpawnedServer::spawn(fsync, &std::env::temp_dir())?;
    server.wait_ready().await?;
    let endpoint = server.endpoint.clone();
    let credentials = SpawnedServer::credentials("us-east-1");
    let received = Arc::new(Mutex::new(Received::default()));
    let receiver = start_receiver(Arc::clone(&received)).await?;
    let mut sns = QueryConnection::open(&endpoint, &credentials, "sns", "2010-03-31").await?;
    println!("# argus bench alarms\n\ncommand: {}\nmachine: {}\n", command_line(), machine_description());

    // ---------------------------------------------------------- 1. cost
    let setup = Instant::now();
    let per_connection = args.alarms.div_ceil(args.connections.max(1));
    let mut tasks = Vec::new();
    for worker in 0..args.connections.max(1) {
        let (endpoint, credentials) = (endpoint.clone(), credentials.clone());
        let range = (worker * per_connection)..((worker + 1) * per_connection).min(args.alarms);
        tasks.push(tokio::spawn(async move {
            let mut cw = Connection::open_api(&endpoint, &credentials, CLOUDWATCH).await?;
            let now_s = now_ms() / 1000;
            for chunk in range.clone().collect::<Vec<_>>().chunks(1000) {
                // Five minutes of one value a minute for each metric.
                for minutes_ago in 1..=5 {
                    let data: Vec<Value> = chunk
                        .iter()
                        .map(|i| json!({"MetricName": format!("m{i:05}"), "Value": (*i % 7) as f64, "Timestamp": now_s - minutes_ago * 60}))
                        .collect();
                    ok(&cw.call("PutMetricData", &json!({"Namespace": "Bench/Alarms", "MetricData": data})).await?)?;
                }
            }
            for i in range {
                let alarm = json!({
                    "AlarmName": format!("cost-{i:05}"), "Namespace": "Bench/Alarms", "MetricName": format!("m{i:05}"),
                    "Statistic": "Average", "Period": 60, "EvaluationPeriods": 3, "Threshold": 100.0,
                    "ComparisonOperator": "GreaterThanThreshold",
                });
                ok(&cw.call("PutMetricAlarm", &alarm).await?)?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    println!("setup: {} metrics × 5 datapoints and {} alarms in {:.1} s", args.alarms, args.alarms, setup.elapsed().as_secs_f64());

    // Wait for a minute boundary plus the tick, then measure whole minutes.
    let wait_boundary = || async {
        let to_next = 60_000 - now_ms().rem_euclid(60_000) + 5_000;
        tokio::time::sleep(Duration::from_millis(to_next as u64)).await;
    };
    wait_boundary().await;
    let (cpu_before, evals_before, eval_s_before) = (
        cpu_seconds(server.pid()),
        metric_value(&endpoint, "argus_alarm_evaluations_total").await?,
        metric_value(&endpoint, "argus_alarm_evaluation_seconds_total").await?,
    );
    let mut ticks = Vec::new();
    for _ in 0..args.minutes {
        wait_boundary().await;
        ticks.push((
            metric_value(&endpoint, "argus_alarm_last_tick_alarms").await?,
            metric_value(&endpoint, "argus_alarm_last_tick_seconds").await?,
        ));
    }
    let cpu = cpu_seconds(server.pid()).zip(cpu_before).map(|(after, before)| after - before);
    let evaluations = metric_value(&endpoint, "argus_alarm_evaluations_total").await? - evals_before;
    let eval_seconds = metric_value(&endpoint, "argus_alarm_evaluation_seconds_total").await? - eval_s_before;
    println!("## evaluation cost ({} alarms on {} metrics, 60 s periods)\n", args.alarms, args.alarms);
    for (alarms, seconds) in &ticks {
        println!("tick: {alarms:.0} alarms evaluated in {seconds:.3} s wall");
    }
    println!(
        "over {} minutes: {evaluations:.0} evaluations, evaluator wall time {eval_seconds:.3} s ({:.3} s per tick); server CPU {} s ({} s per minute, everything the server did)\n",
        args.minutes,
        eval_seconds / args.minutes.max(1) as f64,
        cpu.map_or("?".into(), |c| format!("{c:.2}")),
        cpu.map_or("?".into(), |c| format!("{:.3}", c / args.minutes.max(1) as f64)),
    );

    // ------------------------------------------------------- 2. latency
    let topic = topic_with_subscribers(&mut sns, receiver, &received, "bench-latency", &["/latency".to_owned()]).await?;
    let mut cw = Connection::open_api(&endpoint, &credentials, CLOUDWATCH).await?;
    let mut to_state = Vec::new();
    let mut to_post = Vec::new();
    for sample in 0..args.latency_samples {
        let name = format!("latency-{sample}");
        let alarm = json!({
            "AlarmName": name, "Namespace": "Bench/Latency", "MetricName": format!("l{sample}"), "Statistic": "Sum",
            "Period": 10, "EvaluationPeriods": 1, "Threshold": 10.0, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching", "AlarmActions": [topic],
        });
        ok(&cw.call("PutMetricAlarm", &alarm).await?)?;
        // Publish early in a 10-second period.
        let into_period = now_ms().rem_euclid(10_000);
        tokio::time::sleep(Duration::from_millis(((11_000 - into_period) % 10_000) as u64)).await;
        let published_ms = now_ms();
        let period_end_ms = published_ms - published_ms.rem_euclid(10_000) + 10_000;
        let data = json!({"Namespace": "Bench/Latency", "MetricData": [{"MetricName": format!("l{sample}"), "Value": 100.0, "StorageResolution": 1}]});
        ok(&cw.call("PutMetricData", &data).await?)?;
        // The webhook POST of this alarm's ALARM notification.
        let deadline = Instant::now() + Duration::from_secs(40);
        let arrival = loop {
            ensure!(Instant::now() < deadline, "no notification for {name}");
            let found = received.lock().map_err(|_| anyhow::anyhow!("receiver lock"))?.posts.iter().find_map(|(path, at, body)| {
                (path == "/latency" && body.contains(&format!("\\\"AlarmName\\\":\\\"{name}\\\""))).then_some(*at)
            });
            if let Some(at) = found {
                break at;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let arrival_ms = now_ms() - arrival.elapsed().as_millis() as i64;
        let described = cw.call("DescribeAlarms", &json!({"AlarmNames": [name]})).await?;
        ok(&described)?;
        let described: Value = serde_json::from_slice(&described.body)?;
        let changed = described.pointer("/MetricAlarms/0/StateTransitionedTimestamp");
        let changed_ms = match changed {
            Some(Value::Number(n)) => (n.as_f64().unwrap_or_default() * 1000.0) as i64,
            Some(Value::String(text)) => text.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).unwrap_or_default(),
            _ => bail!("DescribeAlarms gave no StateTransitionedTimestamp: {described}"),
        };
        to_state.push((changed_ms - period_end_ms) as f64);
        to_post.push((arrival_ms - changed_ms) as f64);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!("## latency ({} samples, 10 s periods)\n", args.latency_samples);
    println!("period end → state change: median {:.0} ms (all: {:?})", median(&mut to_state), to_state);
    println!("state change → webhook POST: median {:.0} ms (all: {:?})\n", median(&mut to_post), to_post);

    // -------------------------------------------------------- 3. fan-out
    let paths: Vec<String> = (0..args.subscribers).map(|i| format!("/fan/{i}")).collect();
    let topic = topic_with_subscribers(&mut sns, receiver, &received, "bench-fanout", &paths).await?;
    let already = received.lock().map_err(|_| anyhow::anyhow!("receiver lock"))?.posts.len();
    let started = Instant::now();
    let per_connection = args.messages.div_ceil(args.connections.max(1));
    let mut tasks = Vec::new();
    for worker in 0..args.connections.max(1) {
        let (endpoint, credentials, topic) = (endpoint.clone(), credentials.clone(), topic.clone());
        let count = per_connection.min(args.messages.saturating_sub(worker * per_connection));
        tasks.push(tokio::spawn(async move {
            let mut sns = QueryConnection::open(&endpoint, &credentials, "sns", "2010-03-31").await?;
            for i in 0..count {
                let message = format!("fan-out message {worker}-{i}");
                ok(&sns.call("Publish", &[("TopicArn", &topic), ("Message", &message)]).await?)?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let accepted = started.elapsed();
    let expected = args.messages * args.subscribers;
    let deadline = Instant::now() + Duration::from_secs(300);
    let last = loop {
        let (count, last) = {
            let received = received.lock().map_err(|_| anyhow::anyhow!("receiver lock"))?;
            let fan: Vec<&Instant> = received.posts.iter().skip(already).filter(|(p, _, b)| p.starts_with("/fan/") && b.contains("fan-out message")).map(|(_, at, _)| at).collect();
            (fan.len(), fan.iter().max().copied().copied())
        };
        if count >= expected {
            break last.unwrap_or_else(Instant::now);
        }
        ensure!(Instant::now() < deadline, "only {count} of {expected} notifications arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = last.duration_since(started).as_secs_f64();
    println!("## fan-out ({} messages × {} HTTP subscribers)\n", args.messages, args.subscribers);
    println!(
        "{} Publish calls accepted in {:.2} s ({:.0}/s); {expected} notifications delivered in {elapsed:.2} s: {:.0} notifications/s",
        args.messages,
        accepted.as_secs_f64(),
        args.messages as f64 / accepted.as_secs_f64(),
        expected as f64 / elapsed
    );
    server.stop()?;
    Ok(())
}
