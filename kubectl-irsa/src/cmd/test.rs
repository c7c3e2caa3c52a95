//! `kubectl irsa test`: run a short-lived pod as the ServiceAccount and report whether it got the
//! role, naming the broken link when it did not.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec, ServiceAccount};
use kube::api::{Api, DeleteParams, LogParams, ObjectMeta, PostParams};
use time::OffsetDateTime;

use irsa_sts::{Claims, ExplainContext, RoleArn, StsError};

use crate::annotations::Keys;
use crate::cli::{KubeFlags, TestArgs};
use crate::cluster::{self, Cluster};
use crate::cmd;
use crate::error::{CliError, from_kube};
use crate::injection::{self, Injection};
use crate::names;
use crate::progress::Progress;
use crate::verdict::{self, Verdict};

/// Labels that mark the pods this command creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-irsa");
pub const TEST_LABEL: &str = "kubectl-irsa/test";
const POLL: Duration = Duration::from_millis(250);
const IMAGE_PULL_ERRORS: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// How the wait for the pod ended.
enum Ending {
    NotInjected,
    ImagePull(String),
    PendingTooLong(String),
    TimedOut,
    Finished { succeeded: bool, logs: String },
    Interrupted,
}

pub async fn run(flags: &KubeFlags, args: &TestArgs) -> Result<(), CliError> {
    names::check_service_account(&args.name)?;
    let timeout = humantime::parse_duration(&args.timeout).map_err(|e| {
        CliError::Usage(format!(
            "invalid --timeout {:?} ({e}): write it as 90s or 5m",
            args.timeout
        ))
    })?;
    let cluster = cluster::connect(flags).await?;
    let Cluster { client, namespace } = &cluster;
    let what = format!("serviceaccount {namespace}/{}", args.name);
    let keys = Keys::new(&args.prefix.annotation_prefix);
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let account = cmd::get_service_account(&accounts, namespace, &args.name)
        .await?
        .ok_or_else(|| CliError::Cluster(format!("{what} not found")))?;
    let annotations = cmd::annotations_of(&account);
    let role: RoleArn = annotations
        .get(&keys.role_arn())
        .ok_or_else(|| CliError::Usage(format!("{what} has no {} annotation: bind it first (kubectl irsa bind {} -n {namespace} --role-arn ARN)", keys.role_arn(), args.name)))?
        .parse()?;
    let audience = annotations
        .get(&keys.audience())
        .cloned()
        .unwrap_or_else(|| "sts.amazonaws.com".into());

    let mut pod = test_pod(args, &role);
    if args.inject {
        let injection = Injection {
            role_arn: role.to_string(),
            audience: audience.clone(),
            expiration_seconds: 86400,
            sts_regional_endpoints: annotations
                .get(&keys.sts_regional_endpoints())
                .is_some_and(|v| v == "true"),
            credential_process: false,
            serve: None,
        };
        pod = with_injection(pod, &injection)?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let created = pods
        .create(&PostParams::default(), &pod)
        .await
        .map_err(|e| from_kube(e, "create", &format!("pods in namespace {namespace}")))?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let progress = Progress::start(&format!("pod/{name} created"));

    let ending = tokio::select! {
        ending = wait(&pods, &created, args.inject, timeout, &progress) => ending?,
        _ = tokio::signal::ctrl_c() => Ending::Interrupted,
    };
    progress.finish();
    if args.keep {
        eprintln!("pod/{name} kept (delete it with kubectl delete pod {name} -n {namespace})");
    } else if let Err(error) = pods.delete(&name, &DeleteParams::default()).await {
        eprintln!("Warning: cannot delete pod/{name}: {error}");
    }
    let identity_command = args.command.is_empty();
    let failure = match ending {
        Ending::Interrupted => {
            return Err(CliError::Interrupted(format!(
                "interrupted; pod/{name} {}",
                if args.keep { "kept" } else { "deleted" }
            )));
        }
        Ending::NotInjected => format!(
            "the pod identity webhook did not inject AWS_WEB_IDENTITY_TOKEN_FILE into pod/{name}: check that it runs (kubectl get mutatingwebhookconfigurations) and watches the {} annotations, or run with --inject to add the token volume and env yourself",
            args.prefix.annotation_prefix
        ),
        Ending::ImagePull(reason) => format!(
            "image {} cannot be pulled ({reason}): check its name and that the nodes can reach its registry, or pass --image",
            args.image
        ),
        Ending::PendingTooLong(reason) => format!(
            "pod/{name} was still Pending ({reason}) after {}: check kubectl describe pod for scheduling or volume problems",
            args.timeout
        ),
        Ending::TimedOut => format!(
            "pod/{name} did not finish within {} (raise --timeout)",
            args.timeout
        ),
        Ending::Finished { succeeded, logs } => {
            match verdict::judge(&logs, succeeded, identity_command, &role) {
                Verdict::Pass {
                    assumed_arn,
                    account,
                } => {
                    println!("PASS: {what} assumes {role} (account {account}) as {assumed_arn}");
                    return Ok(());
                }
                Verdict::CommandSucceeded => {
                    println!("PASS: the command succeeded in pod/{name} as {what}");
                    return Ok(());
                }
                Verdict::Refused { code, line } => {
                    let issuer = cluster::discover_issuer(client).await.ok();
                    let claims = Claims {
                        iss: issuer,
                        sub: Some(format!("system:serviceaccount:{namespace}:{}", args.name)),
                        aud: vec![audience],
                        exp: None,
                    };
                    irsa_sts::explain(
                        &StsError::Refused {
                            code,
                            message: line,
                        },
                        &ExplainContext {
                            role_arn: &role,
                            claims: Some(&claims),
                            token_source: "the pod's projected token",
                            now: OffsetDateTime::now_utc(),
                        },
                    )
                }
                Verdict::WrongIdentity { assumed_arn } => format!(
                    "the pod ran as {assumed_arn}, not as {role}: the SDK took credentials from elsewhere (the node's role?); check that the token is mounted and that the SDK supports web identity"
                ),
                Verdict::Failed { last_line } => format!("pod/{name} failed: {last_line}"),
            }
        }
    };
    Err(CliError::Verdict(format!("FAIL: {failure}")))
}

fn test_pod(args: &TestArgs, role: &RoleArn) -> Pod {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(5)
        .collect::<String>()
        .to_lowercase();
    let base: String = format!("irsa-test-{}", args.name)
        .chars()
        .take(47)
        .collect();
    let (command, container_args) = match args.command.split_first() {
        Some((program, rest)) => (Some(vec![program.clone()]), Some(rest.to_vec())),
        None => (
            None,
            Some(
                ["sts", "get-caller-identity", "--output", "json"]
                    .map(String::from)
                    .to_vec(),
            ),
        ),
    };
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| role.partition().default_region().to_string());
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{}-{suffix}", base.trim_end_matches(['-', '.']))),
            labels: Some(
                [
                    (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                    (TEST_LABEL.to_string(), args.name.clone()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            service_account_name: Some(args.name.clone()),
            restart_policy: Some("Never".into()),
            containers: vec![Container {
                name: "irsa-test".into(),
                image: Some(args.image.clone()),
                command,
                args: container_args,
                // Lower precedence than the AWS_REGION a webhook may inject.
                env: Some(vec![EnvVar {
                    name: "AWS_DEFAULT_REGION".into(),
                    value: Some(region),
                    value_from: None,
                }]),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The pod with the webhook's additions, made on its JSON form as for manifests.
fn with_injection(pod: Pod, injection: &Injection) -> Result<Pod, CliError> {
    let broken = |e: serde_json::Error| CliError::Io(format!("cannot build the test pod: {e}"));
    let mut value = serde_json::to_value(&pod).map_err(broken)?;
    injection::inject(&mut value["spec"], injection, &[]);
    serde_json::from_value(value).map_err(broken)
}

/// Whether the admitted pod's containers carry the token file variable.
fn injected(pod: &Pod) -> bool {
    pod.spec.as_ref().is_some_and(|spec| {
        spec.containers.iter().all(|container| {
            container
                .env
                .iter()
                .flatten()
                .any(|e| e.name == injection::TOKEN_FILE_ENV)
        })
    })
}

/// Polls the pod until it ends, cannot start, or `timeout` passes; streams its logs meanwhile.
async fn wait(
    pods: &Api<Pod>,
    created: &Pod,
    injected_by_us: bool,
    timeout: Duration,
    progress: &Progress,
) -> Result<Ending, CliError> {
    let name = created.metadata.name.clone().unwrap_or_default();
    if !injected_by_us && !injected(created) {
        return Ok(Ending::NotInjected);
    }
    let deadline = Instant::now() + timeout;
    let mut logs: Option<LogStream> = None;
    loop {
        let pod = pods
            .get(&name)
            .await
            .map_err(|e| from_kube(e, "get", &format!("pod {name}")))?;
        let status = pod.status.unwrap_or_default();
        let phase = status.phase.unwrap_or_else(|| "Pending".into());
        let reason = status
            .container_statuses
            .iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
            .unwrap_or_default();
        progress.update(&format!(
            "pod/{name}: {phase}{}",
            if reason.is_empty() {
                String::new()
            } else {
                format!(" ({reason})")
            }
        ));
        if IMAGE_PULL_ERRORS.contains(&reason.as_str()) {
            return Ok(Ending::ImagePull(reason));
        }
        if phase == "Running" && logs.is_none() {
            logs = Some(LogStream::follow(pods, &name));
        }
        if let Some(stream) = &mut logs {
            stream.print_new(progress);
        }
        if phase == "Succeeded" || phase == "Failed" {
            let text = match logs {
                Some(stream) => stream.finish(progress).await,
                None => None,
            };
            let text = match text {
                Some(text) => text,
                // Never seen running (or the stream broke): read the logs once, and show them.
                None => {
                    let text = pods
                        .logs(&name, &LogParams::default())
                        .await
                        .unwrap_or_default();
                    for line in text.lines() {
                        progress.println(line);
                    }
                    text
                }
            };
            return Ok(Ending::Finished {
                succeeded: phase == "Succeeded",
                logs: text,
            });
        }
        if Instant::now() >= deadline {
            return Ok(if phase == "Pending" {
                Ending::PendingTooLong(if reason.is_empty() {
                    "no reason given".into()
                } else {
                    reason
                })
            } else {
                Ending::TimedOut
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The container's log, followed in the background and printed line by line as it arrives.
struct LogStream {
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<bool>,
    seen: String,
}

impl LogStream {
    fn follow(pods: &Api<Pod>, name: &str) -> Self {
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        let pods = pods.clone();
        let name = name.to_string();
        let task = tokio::spawn(async move {
            let params = LogParams {
                follow: true,
                ..LogParams::default()
            };
            let Ok(stream) = pods.log_stream(&name, &params).await else {
                return false;
            };
            let mut stream = stream.lines();
            while let Some(line) = stream.next().await {
                let Ok(line) = line else { return false };
                if sender.send(line).is_err() {
                    return false;
                }
            }
            true
        });
        LogStream {
            lines,
            task,
            seen: String::new(),
        }
    }

    fn print_new(&mut self, progress: &Progress) {
        while let Ok(line) = self.lines.try_recv() {
            progress.println(&line);
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
    }

    /// Waits briefly for the stream to end; `None` when it did not end cleanly.
    async fn finish(mut self, progress: &Progress) -> Option<String> {
        let ended = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.print_new(progress);
        match ended {
            Ok(Ok(true)) => Some(self.seen),
            _ => {
                self.task.abort();
                None
            }
        }
    }
}
