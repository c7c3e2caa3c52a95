//! `oidc`: the self-hosted issuer kit.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Subcommand, ValueEnum};
use irsa_sts::HumanDuration;

use super::{AwsArgs, KubeFlags};
use crate::kube_api::ConnectOptions;
use crate::names::Issuer;
use crate::oidc::apiserver::{Flavor, IssuerStage};
use crate::oidc::keys::SigningAlgorithm;

#[derive(Debug, Args)]
#[command(after_help = OIDC_EXAMPLES)]
pub struct OidcArgs {
    #[command(subcommand)]
    pub command: OidcCommand,
}

const OIDC_EXAMPLES: &str = "\
Examples:
  # Keys, apiserver settings and documents for an issuer on S3
  kubectl irsa oidc keygen --out keys
  kubectl irsa oidc apiserver-config --issuer https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com --key-dir keys --flavor kind
  kubectl irsa oidc documents --issuer https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com --public-key keys/sa-signer.pub --out public

  # Or all of it, applied: keys, documents on S3, the IAM provider, then the kind config
  kubectl irsa oidc setup --bucket irsa-oidc-demo --region eu-west-1 --key-dir keys --flavor kind > kind.yaml";

#[derive(Debug, Subcommand)]
pub enum OidcCommand {
    /// Write the discovery document and JWKS of an issuer, ready to upload to S3 or any static
    /// host, and print the upload commands.
    Documents(DocumentsArgs),
    /// Print the SHA-1 thumbprint of the top certificate a host serves, as IAM takes it.
    Thumbprint(ThumbprintArgs),
    /// Print the AWS CLI command and Terraform resource that create the IAM OIDC provider, or
    /// with --apply create it (or add missing client IDs) and print its ARN.
    Provider(ProviderArgs),
    /// Upload the discovery document and JWKS to an S3 bucket, readable by anyone through a
    /// bucket policy on exactly those two objects, then check what the issuer URL serves.
    Publish(PublishArgs),
    /// One idempotent command for a self-hosted cluster: keys, documents, publish, IAM
    /// provider, then the apiserver settings.
    Setup(SetupArgs),
    /// Print the apiserver settings that make a cluster sign tokens for an issuer, keeping the
    /// keys, audiences and issuers it trusts today.
    ApiserverConfig(ApiserverConfigArgs),
    /// Generate a signing key pair (RSA, or ECDSA P-256/P-384) in the formats the apiserver
    /// flags take.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
#[command(after_help = DOCUMENTS_EXAMPLES)]
pub struct DocumentsArgs {
    /// The directory to write into: it stands for the issuer URL's root.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The issuer URL (the apiserver's --service-account-issuer), byte for byte.
    #[arg(long, value_name = "URL")]
    pub issuer: Issuer,

    /// A public key file (repeatable, to keep old keys during a rotation): PEM PUBLIC KEY (as
    /// `ssh-keygen -e -m PKCS8` prints), RSA PUBLIC KEY, a certificate or a private key (RSA, or EC on P-256 or P-384)
    /// [default: the cluster's keys, from /openid/v1/jwks, read with the cluster flags below].
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,

    /// Also list each key with an empty kid, for tokens from apiservers before 1.16.
    #[arg(long)]
    pub legacy_empty_kid: bool,

    /// Where the JWKS goes under the issuer (its jwks_uri and file name).
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const DOCUMENTS_EXAMPLES: &str = "\
Examples:
  # The documents of the current cluster's keys, for an issuer on S3
  kubectl irsa oidc documents --issuer https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com --out public

  # From key files, keeping the old key during a rotation
  kubectl irsa oidc documents --issuer https://oidc.example.com --public-key new.pub --public-key old.pub --out public";

#[derive(Debug, Args)]
#[command(after_help = THUMBPRINT_EXAMPLES)]
pub struct ThumbprintArgs {
    /// The issuer URL, or HOST[:PORT]; for a jwks_uri on another host, give that host.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Show every certificate of the served chain, with its subject and SHA-1.
    #[arg(long)]
    pub all: bool,

    /// Give up on the connection after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,
}

const THUMBPRINT_EXAMPLES: &str = "\
Examples:
  kubectl irsa oidc thumbprint https://oidc.example.com
  kubectl irsa oidc thumbprint oidc.example.com:8443 --all";

#[derive(Debug, Args)]
#[command(after_help = PROVIDER_EXAMPLES)]
pub struct ProviderArgs {
    /// The issuer URL, byte for byte as tokens carry it.
    #[arg(long, value_name = "URL")]
    pub issuer: Issuer,

    /// The client ID: the audience of the tokens (repeatable).
    #[arg(
        long = "audience",
        visible_alias = "client-id",
        default_value = crate::binding::DEFAULT_AUDIENCE,
        value_name = "AUDIENCE",
        value_parser = crate::binding::check_audience
    )]
    pub audiences: Vec<String>,

    /// The thumbprint, 40 hex digits (repeatable) [default: printed commands: computed from the
    /// issuer host; --apply: none when IAM trusts the host's CA itself (S3, public CAs)].
    #[arg(long = "thumbprint", value_name = "HEX")]
    pub thumbprints: Vec<String>,

    /// Give up on the connection for the thumbprint after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,

    /// Create the provider in IAM (or add the client IDs it lacks) and print its ARN.
    #[arg(long)]
    pub apply: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

const PROVIDER_EXAMPLES: &str = "\
Examples:
  # The AWS CLI command and Terraform resource, with the thumbprint read from the host
  kubectl irsa oidc provider --issuer https://oidc.example.com

  # With a thumbprint you checked yourself
  kubectl irsa oidc provider --issuer https://oidc.example.com --thumbprint 9e99a48a9960b14926bb7f3b02e22da2b0ab7280

  # Create it in IAM (nothing changes when it exists with these client IDs)
  kubectl irsa oidc provider --issuer https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com --apply";

#[derive(Debug, Args)]
#[command(after_help = PUBLISH_EXAMPLES)]
pub struct PublishArgs {
    /// The issuer URL: the bucket's virtual-hosted or path-style S3 URL, with a path if any.
    #[arg(long, value_name = "URL")]
    pub issuer: Issuer,

    /// The S3 bucket that serves the issuer.
    #[arg(long, value_name = "NAME")]
    pub bucket: String,

    /// Create the bucket (in --region, else the issuer's) when it does not exist.
    #[arg(long)]
    pub create_bucket: bool,

    /// A public key file (repeatable), as `oidc documents` takes it [default: the cluster's
    /// keys, from /openid/v1/jwks].
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,

    /// Where the JWKS goes under the issuer, as given to `oidc documents`.
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,

    /// Do not fetch the issuer URL afterwards (a CDN fronts the bucket); also allows an issuer
    /// that is not the bucket's S3 URL.
    #[arg(long)]
    pub no_verify: bool,

    /// Give up on fetching the issuer URL after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub kube: KubeFlags,
}

const PUBLISH_EXAMPLES: &str = "\
Examples:
  # The current cluster's keys, on a new bucket
  kubectl irsa oidc publish --issuer https://irsa-oidc-demo.s3.eu-west-1.amazonaws.com --bucket irsa-oidc-demo --create-bucket

  # From key files, under a path of a shared bucket
  kubectl irsa oidc publish --issuer https://s3.eu-west-1.amazonaws.com/irsa-oidc/cluster-1 --bucket irsa-oidc --public-key keys/sa-signer.pub";

#[derive(Debug, Args)]
#[command(after_help = SETUP_EXAMPLES)]
pub struct SetupArgs {
    /// The S3 bucket that serves the issuer (created when missing).
    #[arg(long, value_name = "NAME")]
    pub bucket: String,

    /// The issuer URL [default: the bucket's virtual-hosted URL, https://BUCKET.s3.REGION.amazonaws.com].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<Issuer>,

    /// The directory of sa-signer.key and sa-signer.pub, generated when missing.
    #[arg(long, default_value = "irsa-keys", value_name = "DIR")]
    pub key_dir: PathBuf,

    /// Which apiserver settings to print, as `oidc apiserver-config` takes it.
    #[arg(long, value_enum, default_value = "kube-apiserver")]
    pub flavor: Flavor,

    /// The client ID of the IAM provider (repeatable).
    #[arg(
        long = "client-id",
        default_value = crate::binding::DEFAULT_AUDIENCE,
        value_name = "ID",
        value_parser = crate::binding::check_audience
    )]
    pub client_ids: Vec<String>,

    /// Where the JWKS goes under the issuer.
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,

    /// Do not fetch the issuer URL after publishing.
    #[arg(long)]
    pub no_verify: bool,

    /// Give up on a connection (the issuer URL, the thumbprint) after this long.
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = HumanDuration::positive)]
    pub timeout: HumanDuration,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// The kubeconfig to read the cluster's issuer with, for the apiserver settings.
    #[arg(long, value_name = "PATH", help_heading = CLUSTER_FLAGS)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", help_heading = CLUSTER_FLAGS)]
    pub context: Option<String>,
}

const SETUP_EXAMPLES: &str = "\
Examples:
  # Everything for a new kind cluster, then the cluster
  kubectl irsa oidc setup --bucket irsa-oidc-demo --region eu-west-1 --flavor kind > kind.yaml
  kind create cluster --config kind.yaml";

#[derive(Debug, Args)]
#[command(after_help = APISERVER_CONFIG_EXAMPLES)]
pub struct ApiserverConfigArgs {
    /// The issuer URL the cluster will sign tokens for.
    #[arg(long, value_name = "URL")]
    pub issuer: Issuer,

    /// The directory with sa-signer.key and sa-signer.pub (`oidc keygen` writes them), as an
    /// absolute path where the apiserver runs (for kind: on this machine).
    #[arg(long, value_name = "DIR")]
    pub key_dir: PathBuf,

    /// What to print.
    #[arg(long, value_enum, default_value = "kube-apiserver")]
    pub flavor: Flavor,

    /// Where the JWKS is under the issuer, as given to `oidc documents`.
    #[arg(long, default_value = "keys.json", value_name = "PATH")]
    pub jwks_path: String,

    /// An issuer the apiserver has today, kept accepted (repeatable, in its order) [default:
    /// the cluster's, from /.well-known/openid-configuration when it can be read, else the
    /// distribution's: https://kubernetes.default.svc.cluster.local for kubeadm, k3s, rke2].
    #[arg(long = "existing-issuer", value_name = "URL")]
    pub existing_issuers: Vec<String>,

    /// A --service-account-key-file the apiserver has today, kept (repeatable) [default: the
    /// distribution's: kubeadm /etc/kubernetes/pki/sa.pub, k3s and rke2
    /// /var/lib/rancher/{k3s,rke2}/server/tls/service.key].
    #[arg(long = "existing-key-file", value_name = "PATH")]
    pub existing_key_files: Vec<String>,

    /// An --api-audiences value the apiserver has today, kept (repeatable) [default: its
    /// issuers, which is kube-apiserver's own default; k3s and rke2 set
    /// https://kubernetes.default.svc.cluster.local and k3s or rke2].
    #[arg(long = "existing-audience", value_name = "AUDIENCE")]
    pub existing_audiences: Vec<String>,

    /// Where the new issuer goes among the existing ones [default: accept when the cluster
    /// has another issuer, else sign].
    #[arg(long, value_enum, value_name = "STAGE")]
    pub issuer_stage: Option<IssuerStage>,

    /// The kubeconfig to read the cluster's issuer with [default: KUBECONFIG (merged), else
    /// ~/.kube/config].
    #[arg(long, value_name = "PATH", help_heading = CLUSTER_FLAGS)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", help_heading = CLUSTER_FLAGS)]
    pub context: Option<String>,

    /// How long to wait for the cluster's issuer, such as 10s [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = HumanDuration::positive, help_heading = CLUSTER_FLAGS)]
    pub request_timeout: Option<HumanDuration>,
}

/// The heading of the flags that say which cluster to read (kubectl's names).
const CLUSTER_FLAGS: &str = "Cluster flags (as kubectl's)";

impl ApiserverConfigArgs {
    /// What reading the cluster's issuer connects with.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            request_timeout: self.request_timeout.map(HumanDuration::get),
            ..ConnectOptions::default()
        }
    }
}

const APISERVER_CONFIG_EXAMPLES: &str = "\
Examples:
  # kube-apiserver flags for a running cluster: its issuer is read from it, its key file kept
  kubectl irsa oidc apiserver-config --issuer https://oidc.example.com --key-dir /etc/kubernetes/irsa --existing-key-file /etc/kubernetes/pki/sa.pub

  # The three steps of moving a running k3s cluster to a new issuer (24 h apart)
  kubectl irsa oidc apiserver-config --issuer https://oidc.example.com --key-dir /etc/rancher/irsa --flavor k3s
  kubectl irsa oidc apiserver-config --issuer https://oidc.example.com --key-dir /etc/rancher/irsa --flavor k3s --issuer-stage sign
  kubectl irsa oidc apiserver-config --issuer https://oidc.example.com --key-dir /etc/rancher/irsa --flavor k3s --issuer-stage only

  # A kind cluster config, then the cluster
  kubectl irsa oidc apiserver-config --issuer https://oidc.example.com --key-dir keys --flavor kind > kind.yaml
  kind create cluster --config kind.yaml";

impl ValueEnum for IssuerStage {
    fn value_variants<'a>() -> &'a [Self] {
        &[IssuerStage::Accept, IssuerStage::Sign, IssuerStage::Only]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            IssuerStage::Accept => PossibleValue::new("accept")
                .help("The new issuer accepted after the existing ones, which still sign"),
            IssuerStage::Sign => PossibleValue::new("sign")
                .help("The new issuer first, so it signs; the existing ones still accepted"),
            IssuerStage::Only => {
                PossibleValue::new("only").help("The new issuer alone; the existing ones dropped")
            }
        })
    }
}

#[derive(Debug, Args)]
#[command(after_help = KEYGEN_EXAMPLES)]
pub struct KeygenArgs {
    /// The directory to write sa-signer.key and sa-signer.pub into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The signing algorithm: RS256 (RSA), ES256 (ECDSA P-256) or ES384 (ECDSA P-384).
    #[arg(
        long,
        default_value = "RS256",
        value_name = "ALGORITHM",
        ignore_case = true
    )]
    pub algorithm: SigningAlgorithm,

    /// The RSA key size: 2048, 3072 or 4096 [default: 2048].
    #[arg(long)]
    pub bits: Option<usize>,

    /// Replace an existing key pair.
    #[arg(long)]
    pub force: bool,
}

const KEYGEN_EXAMPLES: &str = "\
Examples:
  kubectl irsa oidc keygen --out keys
  kubectl irsa oidc keygen --out keys --bits 4096 --force

  # An ECDSA P-256 key: tokens are signed ES256
  kubectl irsa oidc keygen --out keys --algorithm ES256";

impl ValueEnum for SigningAlgorithm {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Es256,
            SigningAlgorithm::Es384,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            SigningAlgorithm::Rs256 => PossibleValue::new("RS256").help("RSA, --bits long"),
            SigningAlgorithm::Es256 => PossibleValue::new("ES256").help("ECDSA on P-256"),
            SigningAlgorithm::Es384 => PossibleValue::new("ES384").help("ECDSA on P-384"),
        })
    }
}
