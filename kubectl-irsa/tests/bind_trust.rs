//! `bind --update-trust` and `unbind --update-trust` through the binary, against moto's IAM
//! (the real SDK client over HTTP to 127.0.0.1) and the fake API server: the role's trust
//! policy read back from moto after each run.

mod bind_trust_env;
mod common;

use bind_trust_env::{HOSTPATH, Iam, OTHER, PROVIDER, bind, ec2, other_cluster, policy, statement};
use common::{Cluster, ROLE};
use serde_json::json;

#[test]
fn bind_merges_into_a_role_with_an_ec2_and_another_clusters_statement() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2(), other_cluster()]));
    let run = iam.run(&cluster, &bind("cart", &[]));
    let sub = format!("{HOSTPATH}:sub");
    let aud = format!("{HOSTPATH}:aud");
    assert_eq!(
        run.ok().stdout,
        format!(
            "--- {ROLE} (trust policy now)\n\
             +++ {ROLE} (trust policy after)\n\
             @@ -20,6 +20,19 @@\n           \
             \"{OTHER}:aud\": \"sts.amazonaws.com\"\n         \
             }}\n       \
             }}\n\
             +    }},\n\
             +    {{\n\
             +      \"Effect\": \"Allow\",\n\
             +      \"Principal\": {{\n\
             +        \"Federated\": \"{PROVIDER}\"\n\
             +      }},\n\
             +      \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n\
             +      \"Condition\": {{\n\
             +        \"StringEquals\": {{\n\
             +          \"{sub}\": \"system:serviceaccount:shop:cart\",\n\
             +          \"{aud}\": \"sts.amazonaws.com\"\n\
             +        }}\n\
             +      }}\n     \
             }}\n   \
             ]\n \
             }}\n\
             role {ROLE} trust policy updated: added system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart created in namespace shop\n"
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            other_cluster(),
            statement(json!("system:serviceaccount:shop:cart"))
        ])
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"eks.amazonaws.com/role-arn": ROLE})
    );
}

#[test]
fn two_service_accounts_bound_then_one_unbound() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role("cart", &policy(vec![ec2()]));
    iam.run(&cluster, &bind("cart", &[])).ok();
    iam.run(&cluster, &bind("api", &[])).ok();
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            statement(json!([
                "system:serviceaccount:shop:cart",
                "system:serviceaccount:shop:api"
            ]))
        ])
    );
    // Binding again changes nothing in IAM: two reads, no write.
    iam.fake.reset_calls();
    let again = iam.run(&cluster, &bind("cart", &[]));
    assert_eq!(iam.fake.calls().len(), 2, "{:?}", iam.fake.calls());
    assert_eq!(iam.fake.writes(), Vec::<String>::new());
    assert_eq!(
        again.ok().stdout,
        format!(
            "role {ROLE} unchanged: its trust policy already allows system:serviceaccount:shop:cart\nserviceaccount/cart unchanged\n"
        )
    );

    let run = iam.run(
        &cluster,
        &["unbind", "cart", "-n", "shop", "--update-trust"],
    );
    assert_eq!(
        run.ok().stdout,
        format!(
            "--- {ROLE} (trust policy now)\n\
             +++ {ROLE} (trust policy after)\n\
             @@ -16,10 +16,7 @@\n       \
             \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n       \
             \"Condition\": {{\n         \
             \"StringEquals\": {{\n\
             -          \"{HOSTPATH}:sub\": [\n\
             -            \"system:serviceaccount:shop:cart\",\n\
             -            \"system:serviceaccount:shop:api\"\n\
             -          ],\n\
             +          \"{HOSTPATH}:sub\": \"system:serviceaccount:shop:api\",\n           \
             \"{HOSTPATH}:aud\": \"sts.amazonaws.com\"\n         \
             }}\n       \
             }}\n\
             role {ROLE} trust policy updated: removed system:serviceaccount:shop:cart, every other statement kept\n\
             serviceaccount/cart unbound: removed eks.amazonaws.com/role-arn\n"
        )
    );
    assert_eq!(
        iam.trust("cart"),
        policy(vec![
            ec2(),
            statement(json!("system:serviceaccount:shop:api"))
        ])
    );
    assert_eq!(cluster.annotations("shop", "cart"), json!({}));
}

#[test]
fn unbinding_the_last_statement_is_refused_and_changes_nothing() {
    let (iam, cluster) = (Iam::start(), Cluster::start());
    cluster.fake.add_namespace("shop");
    iam.create_role(
        "cart",
        &policy(vec![statement(json!("system:serviceaccount:shop:cart"))]),
    );
    cluster
        .fake
        .add_service_account("shop", "cart", &[("eks.amazonaws.com/role-arn", ROLE)]);
    iam.run(&cluster, &["unbind", "cart", "-n", "shop", "--update-trust"])
        .fails(1, "removing system:serviceaccount:shop:cart would leave no statement in the trust policy, and IAM refuses a role without one (MalformedPolicyDocument): bind another ServiceAccount to the role first, or delete the role if nothing uses it");
    assert_eq!(
        iam.trust("cart"),
        policy(vec![statement(json!("system:serviceaccount:shop:cart"))])
    );
    assert_eq!(
        cluster.annotations("shop", "cart"),
        json!({"eks.amazonaws.com/role-arn": ROLE})
    );
}
