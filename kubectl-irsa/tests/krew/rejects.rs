//! Manifests that break a rule of krew, of krew-index or of this project, each refused with
//! the rule's message.

use super::*;

/// Edits of the rendered manifest's text (the first match of each is replaced), each with the
/// rule it breaks.
#[rustfmt::skip]
const BROKEN: &[(&str, &str, &str)] = &[
    ("apiVersion: krew.googlecontainertools.github.com/v1alpha2", "apiVersion: krew.googlecontainertools.github.com/v1alpha1", "apiVersion"),
    ("kind: Plugin", "kind: Plugins", "kind is \"Plugins\""),
    ("name: irsa", "name: kubectl-irsa", "differs from the file name"),
    ("homepage: https://github.com/", "homepage: https://gitlab.com/", "differs from the repository"),
    // shortDescription
    ("for pods\n", "for pods, any cloud\n", "60 characters, over 50"),
    ("shortDescription: Set up", "shortDescription: Kubernetes, set up", "repeats \"kubernetes\""),
    ("shortDescription: Set up", "shortDescription: Kubectl, set up", "repeats \"kubectl\""),
    ("shortDescription: Set up, prove and diagnose AWS IAM roles for pods", "shortDescription: \"\"", "shortDescription is empty"),
    ("shortDescription: Set up, prove and diagnose AWS IAM roles for pods", "shortDescription: \"Set up\\nand prove\"", "line break"),
    // description
    ("how to fix it.\n", "how to fix it, in one line and for good\n", "81 columns, over 80"),
    ("how to fix it.\n", "how to fix it:\n      $ kubectl irsa doctor\n", "usage example"),
    ("how to fix it.\n", "how to fix it:\n    kubectl irsa doctor cart -n shop\n", "usage example"),
    // version
    ("version: v0.1.0", "version: 0.1.0", "leading v"),
    ("version: v0.1.0", "version: v0.1", "leading v"),
    ("version: v0.1.0", "version: v0.1.1", "differs from the workspace's v0.1.0"),
    // platforms
    ("    sha256: ", "    sha256: ABCDEF", "sha256 must match"),
    ("    sha256: ", "    sha256: 0", "sha256 must match"),
    ("  - selector:\n      matchLabels:\n        os: linux\n        arch: amd64\n", "  - selector: null\n", "nil selector"),
    ("      matchLabels:\n        os: linux\n        arch: amd64\n", "      matchLabels: {}\n", "matchLabels specified but empty"),
    ("        arch: amd64\n", "        arch: amd64\n        distro: debian\n", "other than os and arch"),
    ("        arch: amd64\n", "", "must name both os and arch"),
    ("uri: https://", "uri: http://", "uri must be https"),
    ("linux_amd64.tar.gz", "linux_amd64.tar.xz", "a .tar.gz or .zip archive"),
    ("linux_amd64.tar.gz", "linux_arm64.tar.gz", "is not the release archive"),
    ("    - from: LICENSE\n      to: .\n", "", "files must install LICENSE"),
    ("    - from: LICENSE\n      to: .\n", "    - from: LICENSE\n      to: ./\n", "must be clean"),
    ("    - from: LICENSE\n", "    - from: \"\"\n", "from and to must be set"),
    ("    bin: kubectl-irsa", "    bin: irsa", "bin is not among the files"),
    ("    bin: kubectl-irsa", "    bin: \"\"", "bin has to be set"),
    ("  - selector:\n      matchLabels:\n        os: linux\n        arch: amd64\n", "  - selector:\n      matchLabels:\n        os: darwin\n        arch: arm64\n", "a second platform for darwin/arm64"),
    ("        os: linux\n        arch: amd64\n", "        os: windows\n        arch: amd64\n", "no platform for linux/amd64"),
];

#[test]
fn rejects_a_manifest_that_breaks_a_rule() {
    let text = rendered_text();
    for (replace, with, expected) in BROKEN {
        assert!(
            text.contains(replace),
            "{replace:?} is not in the rendered manifest"
        );
        let manifest = serde_norway::from_str(&text.replacen(replace, with, 1))
            .unwrap_or_else(|e| panic!("{replace:?} -> {with:?}: {e}"));
        let errors = validate("irsa", &manifest, &workspace());
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{replace:?} -> {with:?}: expected {expected:?}, got {errors:#?}"
        );
    }
}

#[test]
fn rejects_bad_names_and_platform_lists() {
    for name in ["Irsa", "irsa_roles", "kube-irsa", "con", "irsa.x", ""] {
        let errors = validate(name, &rendered(), &workspace());
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("the name {name:?}"))),
            "{errors:#?}"
        );
    }
    let mut manifest = rendered();
    manifest.spec.platforms.pop();
    let errors = validate("irsa", &manifest, &workspace());
    assert_eq!(errors, ["no platform for darwin/arm64"]);
    manifest.spec.platforms.clear();
    assert!(validate("irsa", &manifest, &workspace()).contains(&"no platforms".to_string()));
    manifest.spec.platforms = rendered().spec.platforms;
    manifest.spec.platforms[1].files = Some(vec![]);
    let errors = validate("irsa", &manifest, &workspace());
    assert!(
        errors[0].contains("files has to be unspecified or non-empty"),
        "{errors:#?}"
    );
}

#[test]
fn rejects_an_unknown_key() {
    let text = rendered_text().replacen("    sha256:", "    sha265:", 1);
    let error = serde_norway::from_str::<Manifest>(&text)
        .unwrap_err()
        .to_string();
    assert!(error.contains("sha265"), "{error}");
}
