//! The fake Kubernetes API server as a process, for benchmarks and demos: it seeds
//! ServiceAccounts, writes a kubeconfig, prints where it is, and serves until killed.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use tests::fake_kube::{FakeKube, PodPhase, PodScript};

/// Serve a fake Kubernetes API server on 127.0.0.1 until killed.
#[derive(Parser)]
struct Args {
    /// Where to write the kubeconfig (DIR/kubeconfig).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,

    /// Namespaces to create (ns-0, ns-1, ...).
    #[arg(long, default_value_t = 0)]
    namespaces: usize,

    /// ServiceAccounts per namespace (sa-0, sa-1, ...).
    #[arg(long, default_value_t = 0)]
    service_accounts: usize,

    /// Annotate every Nth ServiceAccount with a role (0: none).
    #[arg(long, default_value_t = 2)]
    bound_every: usize,

    /// Running pods per bound ServiceAccount.
    #[arg(long, default_value_t = 0)]
    pods: usize,

    /// Install the EKS pod identity webhook's configuration (new pods of bound
    /// ServiceAccounts are then injected).
    #[arg(long)]
    webhook: bool,

    /// What every new pod logs before it ends.
    #[arg(long, default_value = "")]
    pod_logs: String,

    /// Exit code of every new pod (0: it succeeds).
    #[arg(long, default_value_t = 0)]
    pod_exit_code: i32,

    /// The issuer tokens carry (the apiserver's --service-account-issuer).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,

    /// The RSA private key tokens are signed with (the apiserver's
    /// --service-account-signing-key-file), PEM.
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let fake = FakeKube::start();
    if let Some(issuer) = &args.issuer {
        fake.set_issuer(issuer);
    }
    if let Some(path) = &args.signing_key {
        let given = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| fake.use_signing_key_pem(&pem));
        if let Err(why) = given {
            eprintln!("fake-kube: --signing-key {}: {why}", path.display());
            std::process::exit(2);
        }
    }
    for n in 0..args.namespaces {
        let namespace = format!("ns-{n}");
        fake.add_namespace(&namespace);
        for s in 0..args.service_accounts {
            let name = format!("sa-{s}");
            let bound = args.bound_every > 0 && s % args.bound_every == 0;
            let role = format!("arn:aws:iam::123456789012:role/{namespace}-{name}");
            let annotations: &[(&str, &str)] = if bound {
                &[("eks.amazonaws.com/role-arn", &role)]
            } else {
                &[]
            };
            fake.add_service_account(&namespace, &name, annotations);
            for p in 0..if bound { args.pods } else { 0 } {
                fake.add_pod(&namespace, &format!("{name}-{p}"), &name, PodPhase::Running);
            }
        }
    }
    if args.webhook {
        fake.preload_pod_identity_webhook();
    }
    fake.set_default_pod_script(match args.pod_exit_code {
        0 => PodScript::succeeds(&args.pod_logs),
        code => PodScript::fails(&args.pod_logs, code),
    });
    let kubeconfig = fake.write_kubeconfig(&args.dir);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "kubeconfig {}", kubeconfig.display());
    let _ = writeln!(stdout, "url {}", fake.url());
    let _ = stdout.flush();
    loop {
        std::thread::park();
    }
}
