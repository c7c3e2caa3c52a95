//! The krew manifest, as krew-release-bot renders the template krew/.krew.yaml for a release
//! and as krew/package renders it from the archives it writes, held to krew's own validation
//! (pkg/index/validation in kubernetes-sigs/krew), to krew-index's review rules, and to the
//! workspace. There is no krew here: these rules are its rules, and install_archive.rs installs
//! the archive the way krew does.

mod common;
#[path = "krew/packaged.rs"]
mod packaged;
#[path = "krew/rejects.rs"]
mod rejects;

use common::read;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sha2::{Digest, Sha256};

const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
/// The platforms the plugin is released for.
const PLATFORMS: [(&str, &str); 4] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// A plugin manifest, as krew reads it. Unknown keys are refused: krew would silently ignore a
/// misspelt one (`sha265:`), and the mistake would show only at install time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    version: String,
    #[serde(default)]
    homepage: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    caveats: Option<String>,
    #[serde(default)]
    platforms: Vec<Platform>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    selector: Option<Selector>,
    #[serde(default)]
    uri: String,
    #[serde(default)]
    sha256: String,
    files: Option<Vec<FileOperation>>,
    #[serde(default)]
    bin: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<serde_norway::Value>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// What the manifest must agree with: the workspace's version and repository.
struct Workspace {
    version: String,
    repository: String,
}

/// `key = "value"` from a section of the root Cargo.toml.
fn cargo_toml(section: &str, key: &str) -> String {
    let text = read("Cargo.toml");
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_section = line == format!("[{section}]");
        } else if in_section && let Some(value) = line.strip_prefix(&format!("{key} = \"")) {
            return value.trim_end_matches('"').to_string();
        }
    }
    panic!("no {key} in [{section}] of Cargo.toml")
}

fn workspace() -> Workspace {
    Workspace {
        version: cargo_toml("workspace.package", "version"),
        repository: cargo_toml("workspace.package", "repository"),
    }
}

fn parse(text: &str) -> Manifest {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("not a krew manifest: {e}"))
}

/// Every rule the manifest breaks, one line each; empty when it is valid. `file_stem` is the
/// manifest's file name without `.yaml`.
fn validate(file_stem: &str, manifest: &Manifest, workspace: &Workspace) -> Vec<String> {
    let mut errors = Vec::new();
    macro_rules! rule {
        ($ok:expr, $($error:tt)+) => {
            if !$ok {
                errors.push(format!($($error)+));
            }
        };
    }
    let (spec, name) = (&manifest.spec, file_stem);

    // krew's ValidatePlugin.
    let api = &manifest.api_version;
    rule!(
        api == API_VERSION,
        "apiVersion is {api:?}, krew reads only {API_VERSION}"
    );
    rule!(
        manifest.kind == "Plugin",
        "kind is {:?}, not Plugin",
        manifest.kind
    );
    rule!(
        is_safe_plugin_name(name),
        "the name {name:?} must match ^[\\w-]+$, not a DOS device"
    );
    let metadata_name = &manifest.metadata.name;
    rule!(
        metadata_name == name,
        "metadata.name {metadata_name:?} differs from the file name"
    );
    let short = &spec.short_description;
    rule!(!short.is_empty(), "shortDescription is empty");
    rule!(
        !short.contains(['\r', '\n']),
        "shortDescription has a line break"
    );
    rule!(!spec.platforms.is_empty(), "no platforms");
    let version = &spec.version;
    let semver = krew_semver(version);
    rule!(
        semver.is_some(),
        "version {version:?} is not a semantic version with a leading v"
    );

    // krew's naming guide and krew-index's review tips.
    let kebab = is_kebab_case(name) && !name.starts_with("kube");
    rule!(
        kebab,
        "the name {name:?} must be lowercase words joined by hyphens, without kube"
    );
    let length = short.chars().count();
    rule!(
        length <= 50,
        "shortDescription has {length} characters, over 50"
    );
    for word in ["kubectl", "kubernetes", "plugin"] {
        let repeats = short.to_lowercase().contains(word);
        rule!(
            !repeats,
            "shortDescription repeats {word:?}: every entry in the index is one"
        );
    }
    rule!(!spec.description.trim().is_empty(), "description is empty");
    for (number, line) in (1..).zip(spec.description.lines()) {
        let columns = line.chars().count();
        rule!(
            columns <= 80,
            "description line {number} has {columns} columns, over 80"
        );
        let line = line.trim_start();
        let example = ["$ ", "kubectl ", "kubectl-"]
            .iter()
            .any(|p| line.starts_with(p));
        rule!(
            !example,
            "description line {number} is a usage example: {line:?}"
        );
    }

    // This project's own facts.
    let workspace_version = &workspace.version;
    let agrees = semver.is_none() || *version == format!("v{workspace_version}");
    rule!(
        agrees,
        "version {version} differs from the workspace's v{workspace_version}"
    );
    let (homepage, repository) = (&spec.homepage, &workspace.repository);
    rule!(
        homepage == repository,
        "homepage {homepage} differs from the repository {repository}"
    );

    let mut seen = BTreeSet::new();
    for (index, platform) in spec.platforms.iter().enumerate() {
        let selector = platform.selector.as_ref();
        let labels = selector
            .and_then(|s| s.match_labels.clone())
            .unwrap_or_default();
        let label = |key: &str| labels.get(key).cloned().unwrap_or_default();
        let (os, arch) = (label("os"), label("arch"));
        let at = format!("platform {index} ({os}/{arch})");
        for error in validate_platform(platform) {
            rule!(false, "{at}: {error}");
        }
        let both = !os.is_empty() && !arch.is_empty();
        rule!(
            both,
            "{at}: selector.matchLabels must name both os and arch"
        );
        rule!(
            seen.insert((os.clone(), arch.clone())),
            "{at}: a second platform for {os}/{arch}"
        );
        let archive = format!(
            "{homepage}/releases/download/{version}/kubectl-irsa_{version}_{os}_{arch}.tar.gz"
        );
        let uri = &platform.uri;
        rule!(
            *uri == archive,
            "{at}: uri {uri} is not the release archive {archive}"
        );
    }
    for (os, arch) in PLATFORMS {
        let present = seen.contains(&(os.to_string(), arch.to_string()));
        rule!(present, "no platform for {os}/{arch}");
    }
    errors
}

/// krew's validatePlatform and validateSelector, and what its installer needs.
fn validate_platform(platform: &Platform) -> Vec<String> {
    let mut errors = Vec::new();
    macro_rules! rule {
        ($ok:expr, $error:expr) => {
            if !$ok {
                errors.push($error.to_string());
            }
        };
    }
    let uri = &platform.uri;
    rule!(!uri.is_empty(), "uri has to be set");
    rule!(uri.starts_with("https://"), "uri must be https");
    let archive = uri.ends_with(".tar.gz") || uri.ends_with(".zip");
    rule!(archive, "uri must name a .tar.gz or .zip archive");
    let sha = &platform.sha256;
    let hex = sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    rule!(sha.len() == 64 && hex, "sha256 must match ^[a-f0-9]{64}$");
    rule!(!platform.bin.is_empty(), "bin has to be set");
    match &platform.selector {
        None => rule!(false, "nil selector is not supported"),
        Some(selector) => {
            let labels = selector.match_labels.as_ref();
            let expressions = selector.match_expressions.as_ref();
            let some = labels.is_some() || expressions.is_some_and(|e| !e.is_empty());
            rule!(some, "empty selector is not supported");
            rule!(
                labels.is_none_or(|l| !l.is_empty()),
                "matchLabels specified but empty"
            );
            let expressions_empty = expressions.is_some_and(|e| e.is_empty());
            rule!(!expressions_empty, "matchExpressions specified but empty");
            let keys_known = labels.is_none_or(|l| l.keys().all(|k| k == "os" || k == "arch"));
            rule!(
                keys_known,
                "selector keys other than os and arch are not supported"
            );
        }
    }
    match &platform.files {
        None => {}
        Some(files) if files.is_empty() => rule!(false, "files has to be unspecified or non-empty"),
        Some(files) => {
            for op in files {
                rule!(
                    !op.from.is_empty() && !op.to.is_empty(),
                    "from and to must be set"
                );
                rule!(
                    is_clean_path(&op.to),
                    "a to path must be clean, as krew requires"
                );
            }
            let license = files.iter().any(|op| op.from == "LICENSE");
            rule!(license, "files must install LICENSE");
            let bin_installed = files.iter().any(|op| installed_name(op) == platform.bin);
            rule!(bin_installed, "bin is not among the files installed");
        }
    }
    errors
}

/// Where krew puts a file operation's `from`, relative to the plugin's directory.
fn installed_name(op: &FileOperation) -> String {
    if op.to == "." {
        op.from.rsplit('/').next().unwrap_or_default().to_string()
    } else {
        op.to.clone()
    }
}

fn is_safe_plugin_name(name: &str) -> bool {
    const WINDOWS: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !WINDOWS.iter().any(|w| w.eq_ignore_ascii_case(name))
}

fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Go's filepath.Clean(path) == path, for relative paths.
fn is_clean_path(path: &str) -> bool {
    path == "." || path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// krew's semver.Parse: a leading `v`, then a full semantic version.
fn krew_semver(version: &str) -> Option<semver::Version> {
    semver::Version::parse(version.strip_prefix('v')?).ok()
}

/// Renders the krew-release-bot template as the bot does for a release tagged `tag`:
/// `{{ addURIAndSha "URL" .TagName }}` becomes `uri:` and `sha256:` lines (with the sha256 that
/// `sha_of` gives for the URL), and `{{ .TagName }}` becomes the tag. Any other action is an
/// error, since this renderer would get it wrong.
fn render_template(
    template: &str,
    tag: &str,
    sha_of: impl Fn(&str) -> String,
) -> Result<String, String> {
    const TAG: &str = "{{ .TagName }}";
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix(TAG) {
            out.push_str(tag);
            rest = after;
        } else if let Some(call) = rest.strip_prefix("{{ addURIAndSha \"") {
            let end = call.find("\" .TagName }}").ok_or_else(|| {
                format!("unterminated addURIAndSha: {}", &rest[..rest.len().min(60)])
            })?;
            let uri = call[..end].replace(TAG, tag);
            out.push_str(&format!("uri: {uri}\n    sha256: {}", sha_of(&uri)));
            rest = &call[end + "\" .TagName }}".len()..];
        } else {
            return Err(format!(
                "unknown template action: {}",
                rest.lines().next().unwrap()
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn fake_sha(uri: &str) -> String {
    irsa_sts::hex(&Sha256::digest(uri.as_bytes()))
}

/// The template as the bot renders it for the workspace's version, with made-up sums.
fn rendered_text() -> String {
    let tag = format!("v{}", workspace().version);
    render_template(&read("krew/.krew.yaml"), &tag, fake_sha).unwrap()
}

fn rendered() -> Manifest {
    parse(&rendered_text())
}

fn assert_valid(manifest: &Manifest) {
    let errors = validate("irsa", manifest, &workspace());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_rendered_manifest_passes_krews_rules() {
    let manifest = rendered();
    assert_valid(&manifest);
    for platform in &manifest.spec.platforms {
        assert_eq!(platform.sha256, fake_sha(&platform.uri));
    }
}

#[test]
fn the_release_template_takes_its_version_from_the_tag() {
    let template = read("krew/.krew.yaml");
    let version = workspace().version;
    assert!(
        !template.contains(&version),
        "the template hard-codes {version}"
    );
    let rendered = parse(&render_template(&template, "v9.8.7", fake_sha).unwrap());
    let next = Workspace {
        version: "9.8.7".into(),
        repository: workspace().repository,
    };
    let errors = validate("irsa", &rendered, &next);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        rendered
            .spec
            .caveats
            .unwrap()
            .contains("/store/irsa/v9.8.7/")
    );
}

#[test]
fn the_renderer_refuses_what_it_does_not_know() {
    let error = render_template("version: {{ .Version }}\n", "v1.0.0", fake_sha).unwrap_err();
    assert!(error.contains("{{ .Version }}"), "{error}");
}
