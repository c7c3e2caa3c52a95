//! The RBAC rules the README gives (kubectl-irsa/rbac/kubectl-irsa.yaml) are enough for every
//! verb: each runs as a user limited to exactly those rules (a Role in shop, a ClusterRole
//! cluster-wide), against the fake API server's RBAC authorizer, which denies everything else.
//! And they are not more than needed: without each rule, some verb fails.

mod common;

use common::{Cluster, ROLE, Run};
use serde_json::Value;
use tests::FakeSts;
use tests::fake_kube::{DEFAULT_ISSUER, PodScript, PolicyRule};

const USER: &str = "jane";
const IDENTITY: &str =
    "{\n    \"Arn\": \"arn:aws:sts::123456789012:assumed-role/cart/botocore-session-1\"\n}\n";

/// The rules of the Role and of the ClusterRole in the manifest.
fn manifest_rules() -> (Vec<PolicyRule>, Vec<PolicyRule>) {
    let text = common::read("kubectl-irsa/rbac/kubectl-irsa.yaml");
    let mut role = Vec::new();
    let mut cluster_role = Vec::new();
    for document in serde_norway::Deserializer::from_str(&text) {
        let object: Value = serde::Deserialize::deserialize(document).unwrap();
        let rules: Vec<PolicyRule> = object["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(rule)
            .collect();
        match object["kind"].as_str().unwrap() {
            "Role" => role = rules,
            "ClusterRole" => cluster_role = rules,
            other => panic!("unexpected {other}"),
        }
    }
    (role, cluster_role)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn rule(value: &Value) -> PolicyRule {
    let verbs = strings(&value["verbs"]);
    if value["nonResourceURLs"].is_array() {
        return PolicyRule::urls(&verbs, &strings(&value["nonResourceURLs"]));
    }
    PolicyRule::resources(
        &verbs,
        &strings(&value["apiGroups"]),
        &strings(&value["resources"]),
    )
}

/// A cluster where the user may do only what `role` (in shop) and `cluster_role` allow.
fn limited(role: &[PolicyRule], cluster_role: &[PolicyRule]) -> Cluster {
    let cluster = Cluster::start();
    cluster.fake.add_namespace("shop");
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.preload_pod_identity_webhook();
    // A Deployment whose pods bind --restart rolls.
    cluster
        .fake
        .add_service_account("shop", "web", &[("eks.amazonaws.com/role-arn", ROLE)]);
    cluster.fake.add_deployment("shop", "web", "web", 2);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: shop}\nspec:\n  serviceAccountName: cart\n  containers: [{name: app, image: app}]\n";
    std::fs::write(cluster.dir.path().join("pod.yaml"), pod).unwrap();
    cluster.fake.grant(USER, Some("shop"), role);
    cluster.fake.grant(USER, None, cluster_role);
    cluster.fake.set_user(USER);
    cluster
}

/// One run of a verb: its words, the pod script its test pod follows, and its exit code.
struct Scenario {
    words: Vec<String>,
    pod: Option<PodScript>,
    code: i32,
}

fn scenario(words: &[&str], pod: Option<PodScript>, code: i32) -> Scenario {
    Scenario {
        words: words.iter().map(|w| w.to_string()).collect(),
        pod,
        code,
    }
}

/// Every verb as a user runs them, with the cases that read more (`sts` answers whoami and
/// exec): a rebinding with pods to restart, a test that passes and one stuck at its deadline.
fn every_verb(sts: &str) -> Vec<Scenario> {
    let other = "arn:aws:iam::123456789012:role/other";
    let passes = Some(PodScript::succeeds(IDENTITY));
    let stuck = Some(PodScript::failed_mount("home", "no space left on device"));
    vec![
        scenario(
            &["bind", "checkout", "-n", "shop", "--role-arn", ROLE],
            None,
            0,
        ),
        scenario(
            &[
                "bind",
                "web",
                "-n",
                "shop",
                "--role-arn",
                other,
                "--overwrite",
                "--restart",
            ],
            None,
            0,
        ),
        scenario(&["unbind", "checkout", "-n", "shop"], None, 0),
        scenario(&["list", "-n", "shop", "-o", "wide"], None, 0),
        scenario(&["list", "-A", "-o", "wide"], None, 0),
        scenario(
            &[
                "trust-policy",
                "--service-account",
                "shop:cart",
                "--role-arn",
                ROLE,
            ],
            None,
            0,
        ),
        scenario(
            &["whoami", "cart", "-n", "shop", "--endpoint-url", sts],
            None,
            0,
        ),
        scenario(
            &[
                "exec",
                "cart",
                "-n",
                "shop",
                "--endpoint-url",
                sts,
                "--",
                "true",
            ],
            None,
            0,
        ),
        scenario(
            &["test", "cart", "-n", "shop", "--timeout", "20s"],
            passes,
            0,
        ),
        scenario(&["test", "cart", "-n", "shop", "--timeout", "1s"], stuck, 1),
        scenario(&["inject", "-f", "pod.yaml"], None, 0),
        scenario(&["doctor", "cart", "-n", "shop"], None, 0),
        scenario(&["doctor", "-A"], None, 0),
        scenario(
            &[
                "oidc",
                "documents",
                "--issuer",
                DEFAULT_ISSUER,
                "--out",
                "public",
            ],
            None,
            0,
        ),
    ]
}

fn run(cluster: &Cluster, scenario: &Scenario) -> Run {
    if let Some(script) = &scenario.pod {
        cluster.fake.script_next_pod(script.clone());
    }
    let args: Vec<&str> = scenario.words.iter().map(String::as_str).collect();
    Run::from(
        cluster
            .plugin(&args)
            .current_dir(cluster.dir.path())
            .output()
            .unwrap(),
    )
}

/// The requests the cluster refused (403), as `METHOD path`.
fn refused(cluster: &Cluster) -> Vec<String> {
    let requests = cluster.fake.requests();
    let forbidden = requests.iter().filter(|r| r.status == 403);
    forbidden
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn the_readme_shows_the_manifest() {
    let manifest = common::read("kubectl-irsa/rbac/kubectl-irsa.yaml");
    assert!(common::read("README.md").contains(&format!("```yaml\n{manifest}```\n")));
}

#[test]
fn every_verb_works_with_exactly_the_documented_rules() {
    let (role, cluster_role) = manifest_rules();
    let cluster = limited(&role, &cluster_role);
    let sts = FakeSts::start(vec![]);
    for scenario in every_verb(&sts.url()) {
        cluster.fake.clear_log();
        let run = run(&cluster, &scenario);
        assert_eq!(
            (run.code, refused(&cluster)),
            (scenario.code, vec![]),
            "{:?} as {USER}:\n{}{}",
            scenario.words,
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn no_documented_rule_is_superfluous() {
    let (role, cluster_role) = manifest_rules();
    let sts = FakeSts::start(vec![]);
    for dropped in 0..role.len() + cluster_role.len() {
        let (mut role, mut cluster_role) = (role.clone(), cluster_role.clone());
        let rule = if dropped < role.len() {
            role.remove(dropped)
        } else {
            cluster_role.remove(dropped - role.len())
        };
        let cluster = limited(&role, &cluster_role);
        for scenario in every_verb(&sts.url()) {
            run(&cluster, &scenario);
        }
        assert!(!refused(&cluster).is_empty(), "nothing needs {rule:?}");
    }
}
