//! The command-line spellings of the domain's small enums. The enums live with what they mean
//! (output formats, dry runs, apiserver flavors) and know nothing of clap; their names and help
//! texts on the command line are given here.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::kube_api::DryRun;
use crate::oidc::apiserver::Flavor;
use crate::output::{ListFormat, ReportFormat};

fn value(name: &'static str, help: &'static str) -> Option<PossibleValue> {
    Some(PossibleValue::new(name).help(help))
}

impl ValueEnum for DryRun {
    fn value_variants<'a>() -> &'a [Self] {
        &[DryRun::None, DryRun::Client, DryRun::Server]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            DryRun::None => value("none", "Send the change"),
            DryRun::Client => value(
                "client",
                "Print what would be sent; send nothing that writes",
            ),
            DryRun::Server => value(
                "server",
                "Let the server validate the change without persisting it",
            ),
        }
    }
}

impl ValueEnum for ListFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            ListFormat::Table,
            ListFormat::Wide,
            ListFormat::Json,
            ListFormat::Yaml,
            ListFormat::Name,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            ListFormat::Table => "table",
            ListFormat::Wide => "wide",
            ListFormat::Json => "json",
            ListFormat::Yaml => "yaml",
            ListFormat::Name => "name",
        }))
    }
}

impl ValueEnum for ReportFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[ReportFormat::Text, ReportFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            ReportFormat::Text => value("text", "Readable text"),
            ReportFormat::Json => value("json", "One JSON document, for scripts and CI"),
        }
    }
}

impl ValueEnum for Flavor {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Flavor::KubeApiserver,
            Flavor::Kubeadm,
            Flavor::Kind,
            Flavor::K3s,
            Flavor::Rke2,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        match self {
            Flavor::KubeApiserver => value("kube-apiserver", "kube-apiserver flags, one a line"),
            Flavor::Kubeadm => value(
                "kubeadm",
                "A kubeadm ClusterConfiguration (v1beta4) snippet, for the kubeadm-config ConfigMap",
            ),
            Flavor::Kind => value(
                "kind",
                "A kind cluster config, for `kind create cluster --config`",
            ),
            Flavor::K3s => value("k3s", "A `k3s server` command line"),
            Flavor::Rke2 => value(
                "rke2",
                "An rke2 config drop-in, for /etc/rancher/rke2/config.yaml.d/",
            ),
        }
    }
}
