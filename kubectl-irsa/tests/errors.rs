//! A refused Kubernetes call is one error line that names the verb, the resource (with its
//! subresource), the namespace, and the `kubectl auth can-i` line that checks the permission.
//! The fake API server words its 403s as the RBAC authorizer does and answers
//! SelfSubjectAccessReviews from the same deny list, so the real kubectl runs each printed
//! can-i line and must answer "no".

mod common;

use common::{Cluster, ROLE};
use tests::fake_kube::DEFAULT_USER;

/// The `kubectl auth can-i ...` of an error line, run by the real kubectl: its answer and exit
/// code.
fn can_i(cluster: &Cluster, error: &str) -> (String, i32) {
    let start = error.find("`kubectl auth can-i ").expect("a can-i hint") + 1;
    let line = &error[start..start + error[start..].find('`').unwrap()];
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let output = cluster.kubectl(None).args(&words).output().unwrap();
    (
        String::from_utf8(output.stdout).unwrap().trim().to_string(),
        output.status.code().unwrap_or(-1),
    )
}

fn forbidden(cluster: &Cluster, args: &[&str], expected: &str) {
    let run = cluster.run(args);
    run.fails(1, "");
    assert_eq!(run.error_lines(), [expected], "{}", run.stderr);
    assert_eq!(can_i(cluster, expected), ("no".into(), 1), "{expected}");
}

#[test]
fn a_refused_get_names_the_object() {
    let cluster = Cluster::bound();
    cluster.fake.deny("get", "serviceaccounts");
    forbidden(
        &cluster,
        &["whoami", "cart", "-n", "shop"],
        &format!(
            "error: cannot get serviceaccount shop/cart: forbidden: serviceaccounts \"cart\" is forbidden: User \"{DEFAULT_USER}\" cannot get resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\" (ask for RBAC permission; check with `kubectl auth can-i get serviceaccounts/cart -n shop`)"
        ),
    );
}

#[test]
fn a_refused_list_names_the_scope() {
    let cluster = Cluster::bound();
    cluster.fake.deny("list", "serviceaccounts");
    forbidden(
        &cluster,
        &["list", "-A"],
        &format!(
            "error: cannot list serviceaccounts in all namespaces: forbidden: serviceaccounts is forbidden: User \"{DEFAULT_USER}\" cannot list resource \"serviceaccounts\" in API group \"\" at the cluster scope (ask for RBAC permission; check with `kubectl auth can-i list serviceaccounts --all-namespaces`)"
        ),
    );
    forbidden(
        &cluster,
        &["list", "-n", "shop"],
        &format!(
            "error: cannot list serviceaccounts in namespace shop: forbidden: serviceaccounts is forbidden: User \"{DEFAULT_USER}\" cannot list resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\" (ask for RBAC permission; check with `kubectl auth can-i list serviceaccounts -n shop`)"
        ),
    );
}

#[test]
fn a_refused_patch_and_create_name_what_bind_changes() {
    let cluster = Cluster::bound();
    cluster.fake.deny("patch", "serviceaccounts");
    let other = "arn:aws:iam::123456789012:role/other";
    forbidden(
        &cluster,
        &[
            "bind",
            "cart",
            "-n",
            "shop",
            "--role-arn",
            other,
            "--overwrite",
        ],
        &format!(
            "error: cannot patch serviceaccount shop/cart: forbidden: serviceaccounts \"cart\" is forbidden: User \"{DEFAULT_USER}\" cannot patch resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\" (ask for RBAC permission; check with `kubectl auth can-i patch serviceaccounts/cart -n shop`)"
        ),
    );
    cluster.fake.deny("create", "serviceaccounts");
    forbidden(
        &cluster,
        &["bind", "checkout", "-n", "shop", "--role-arn", ROLE],
        &format!(
            "error: cannot create serviceaccount shop/checkout: forbidden: serviceaccounts is forbidden: User \"{DEFAULT_USER}\" cannot create resource \"serviceaccounts\" in API group \"\" in the namespace \"shop\" (ask for RBAC permission; check with `kubectl auth can-i create serviceaccounts -n shop`)"
        ),
    );
    assert_eq!(
        cluster.annotations("shop", "cart")["eks.amazonaws.com/role-arn"],
        ROLE
    );
    assert!(cluster.fake.service_account("shop", "checkout").is_none());
}

#[test]
fn a_refused_token_request_names_the_subresource() {
    let cluster = Cluster::bound();
    cluster.fake.deny("create", "serviceaccounts/token");
    forbidden(
        &cluster,
        &["whoami", "cart", "-n", "shop"],
        &format!(
            "error: cannot create serviceaccounts/token for shop/cart: forbidden: serviceaccounts \"cart\" is forbidden: User \"{DEFAULT_USER}\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the namespace \"shop\" (ask for RBAC permission; check with `kubectl auth can-i create serviceaccounts/cart --subresource=token -n shop`)"
        ),
    );
    // The permission the line names is the one missing: with it, kubectl says yes.
    cluster.fake.allow_all();
    let line = "error: (check with `kubectl auth can-i create serviceaccounts/cart --subresource=token -n shop`)";
    assert_eq!(can_i(&cluster, line), ("yes".into(), 0));
}

/// A usage error is one `error:` line, as every other error (clap's usage block and tips
/// dropped), with kubectl's exit code 2.
#[test]
fn usage_errors_are_one_line() {
    let cluster = Cluster::bound();
    for (args, expected) in [
        (
            &["list", "--bogus"][..],
            "error: unexpected argument '--bogus' found\n",
        ),
        (
            &["bind"][..],
            "error: the following required arguments were not provided: --role-arn <ARN> <SERVICEACCOUNT>\n",
        ),
        (
            &["list", "--request-timeout", "soon"][..],
            "error: invalid value 'soon' for '--request-timeout <DURATION>': \"soon\" is not a duration (expected number at 0): write it as 30s, 5m or 1h30m (a bare number is seconds)\n",
        ),
    ] {
        let run = cluster.run(args);
        assert_eq!(
            (run.code, run.stderr.as_str(), run.stdout.as_str()),
            (2, expected, ""),
            "{args:?}"
        );
    }
}
