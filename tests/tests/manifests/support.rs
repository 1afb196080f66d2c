//! Reading the manifests of `knative/` and `eventing/`, and validating them offline the way
//! `kubectl apply --validate=strict` would: each document against its kind's vendored schema
//! (`tests/schemas/`, see its README), with unknown fields refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};

/// The repository's root.
pub fn root() -> PathBuf {
    tests::repo_root()
}

pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// One YAML document of a manifest file.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// `knative/auth.yaml`, or `eventing/triggers.yaml#2` for the second document.
    pub origin: String,
    pub value: Value,
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn is(&self, api_version: &str, kind: &str) -> bool {
        self.api_version() == api_version && self.kind() == kind
    }

    pub fn is_kustomization(&self) -> bool {
        self.kind() == "Kustomization"
    }
}

/// Every document of every `*.yaml`/`*.yml` file directly in `dir` (relative to the root),
/// in file-name order.
pub fn documents_in(dir: &str) -> Vec<Manifest> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("listing {dir}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut manifests = Vec::new();
    for path in files {
        let file = format!("{dir}/{}", path.file_name().expect("a file name").to_string_lossy());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {file}: {e}"));
        manifests.extend(parse_documents(&file, &text));
    }
    manifests
}

/// The documents of a YAML text; empty documents (a trailing `---`) are left out.
pub fn parse_documents(file: &str, text: &str) -> Vec<Manifest> {
    let documents: Vec<Value> = serde_norway::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap_or_else(|e| panic!("parsing {file}: {e}")))
        .filter(|value| !value.is_null())
        .collect();
    let several = documents.len() > 1;
    documents
        .into_iter()
        .enumerate()
        .map(|(i, value)| Manifest { origin: if several { format!("{file}#{}", i + 1) } else { file.to_owned() }, value })
        .collect()
}

/// Every manifest the deployment consists of (and the Secret templates).
pub fn all_manifests() -> Vec<Manifest> {
    let mut all = documents_in("knative");
    all.extend(documents_in("eventing"));
    all
}

/// Validators by `(apiVersion, kind)`.
pub struct Schemas {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

impl Schemas {
    pub fn load() -> Self {
        let definitions: Value = serde_json::from_str(&read("tests/schemas/kubernetes/_definitions.json")).expect("JSON definitions");
        let definitions = definitions["$defs"].clone();
        let mut schemas = BTreeMap::new();
        for crd in documents_in("tests/schemas/crds") {
            let spec = &crd.value["spec"];
            let (group, kind) = (spec["group"].as_str().expect("spec.group"), spec["names"]["kind"].as_str().expect("spec.names.kind"));
            for version in spec["versions"].as_array().expect("spec.versions") {
                let mut schema = version["schema"]["openAPIV3Schema"].clone();
                // The API server checks metadata as an ObjectMeta, not with the CRD's schema
                // (which says no more than `type: object`): use Kubernetes' own.
                schema["properties"]["metadata"] = json!({ "$ref": format!("#/$defs/{OBJECT_META}") });
                // apiVersion and kind are allowed at the root of every object, whether the
                // CRD's schema lists them (some of Knative's do not) or not.
                schema["properties"]["apiVersion"] = json!({ "type": "string" });
                schema["properties"]["kind"] = json!({ "type": "string" });
                schema["$defs"] = definitions.clone();
                let api_version = format!("{group}/{}", version["name"].as_str().expect("a version name"));
                schemas.insert((api_version, kind.to_owned()), schema);
            }
        }
        for file in ["configmap-v1.json", "secret-v1.json", "ingress-networking-v1.json", "networkpolicy-networking-v1.json"] {
            let text = read(&format!("tests/schemas/kubernetes/{file}"));
            // kubernetes-validate's schemas refer to one shared definitions file; inline it.
            let mut schema: Value = serde_json::from_str(&text.replace("/api/_definitions.json#", "#")).expect("JSON schema");
            let gvk = schema["x-kubernetes-group-version-kind"][0].clone();
            let (group, version) = (gvk["group"].as_str().unwrap_or_default(), gvk["version"].as_str().expect("a version"));
            let api_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
            let object = schema.as_object_mut().expect("an object schema");
            object.remove("$id");
            object.insert("$defs".into(), definitions.clone());
            schemas.insert((api_version, gvk["kind"].as_str().expect("a kind").to_owned()), schema);
        }
        let validators = schemas
            .into_iter()
            .map(|(key, mut schema)| {
                strict(&mut schema);
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("schema of {key:?}: {e}"));
                (key, validator)
            })
            .collect();
        Self { validators }
    }

    /// What is wrong with `value` (empty when valid); `Err` when no schema is vendored for
    /// its kind.
    pub fn errors(&self, value: &Value) -> Result<Vec<String>, String> {
        let key = (value["apiVersion"].as_str().unwrap_or_default().to_owned(), value["kind"].as_str().unwrap_or_default().to_owned());
        let validator = self.validators.get(&key).ok_or_else(|| format!("no schema vendored for {} {}", key.0, key.1))?;
        Ok(validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect())
    }
}

/// Makes a structural schema refuse unknown fields, as `kubectl --validate=strict` does: an
/// object with `properties` allows no others unless it says so, with `additionalProperties`
/// or `x-kubernetes-preserve-unknown-fields: true`. (The API server would silently prune
/// them, which is how a typo in a manifest goes unnoticed.)
pub fn strict(schema: &mut Value) {
    let Value::Object(node) = schema else { return };
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if node.contains_key("properties") && !node.contains_key("additionalProperties") && !preserves {
        node.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (keyword, child) in node.iter_mut() {
        match (keyword.as_str(), child) {
            ("properties" | "$defs", Value::Object(named)) => named.values_mut().for_each(strict),
            ("items" | "additionalProperties" | "not", child) => strict(child),
            ("anyOf" | "allOf" | "oneOf", Value::Array(alternatives)) => alternatives.iter_mut().for_each(strict),
            _ => {}
        }
    }
}

/// Every environment variable name the binaries read: the whole-string literals that look
/// like variable names in the non-test part of `platform::config` and its `limits` (where `lookup`,
/// `parse_or` and `pem` take them), plus `RUST_LOG`, which `platform::telemetry` reads
/// through `EnvFilter`.
pub fn variables_the_binaries_read() -> Vec<String> {
    let mut names: Vec<String> = ["functions/platform/src/config/mod.rs", "functions/platform/src/config/limits.rs"]
        .into_iter()
        .flat_map(|file| {
            let config = read(file);
            let code = config.split("#[cfg(test)]").next().expect("some code").to_owned();
            // Comments may hold quotes that would throw the scanner out of step.
            let code: String = code.lines().filter(|line| !line.trim_start().starts_with("//")).flat_map(|line| [line, "\n"]).collect();
            string_literals(&code)
        })
        .filter(|s| s.len() > 1 && s.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter(|s| s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .collect();
    if read("functions/platform/src/telemetry.rs").contains("from_default_env") {
        names.push("RUST_LOG".into());
    }
    names.sort();
    names.dedup();
    names
}

/// The contents of the `"..."` literals of Rust source (no raw strings; enough for config.rs).
fn string_literals(code: &str) -> Vec<String> {
    let (mut literals, mut chars) = (Vec::new(), code.chars());
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => literal.extend(chars.next()),
                        '"' => break,
                        c => literal.push(c),
                    }
                }
                literals.push(literal);
            }
            // A char literal such as '"' must not open a string.
            '\'' => {
                let rest = chars.as_str();
                if rest.starts_with("\"'") {
                    chars.nth(1);
                }
            }
            _ => {}
        }
    }
    literals
}
