//! The deployment manifests (`knative/`, `eventing/`): valid for the API server, strictly
//! (an unknown or mistyped field fails), and consistent with the code they deploy — the
//! event types it emits, the variables it reads, the health routes it serves.

mod environment;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use environment::{environment, mounted_files, resolve};
use serde_json::{Value, json};
use support::{Manifest, Schemas, all_manifests, documents_in, parse_documents, read, variables_the_binaries_read};

const KSVC: &str = "serving.knative.dev/v1";
const FUNCTIONS: [&str; 5] = ["auth", "upload", "convert", "download", "notify"];
/// Knative's default `max-revision-timeout-seconds`.
const CLUSTER_TIMEOUT_CAP: u64 = 600;

fn services() -> Vec<Manifest> {
    documents_in("knative").into_iter().filter(|m| m.is(KSVC, "Service")).collect()
}

fn service(name: &str) -> Manifest {
    services().into_iter().find(|s| s.name() == name).unwrap_or_else(|| panic!("no Knative Service {name} in knative/"))
}

fn only<'a>(manifests: &'a [Manifest], api_version: &str, kind: &str) -> impl Iterator<Item = &'a Manifest> {
    manifests.iter().filter(move |m| m.is(api_version, kind))
}

fn container(service: &Manifest) -> &Value {
    let containers = service.value["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{}: one container per function", service.origin);
    &containers[0]
}

fn validate(schemas: &Schemas, manifest: &Manifest) -> Vec<String> {
    schemas.errors(&manifest.value).unwrap_or_else(|e| panic!("{}: {e}", manifest.origin))
}

// --- schemas ---

#[test]
fn every_manifest_is_valid_against_its_schema_strictly() {
    let schemas = Schemas::load();
    let manifests: Vec<Manifest> = all_manifests().into_iter().filter(|m| !m.is_kustomization()).collect();
    assert!(manifests.len() >= 12, "found only {} manifests", manifests.len());
    let problems: Vec<String> = manifests
        .iter()
        .flat_map(|m| validate(&schemas, m).into_iter().map(move |e| format!("{} ({}): {e}", m.origin, m.kind())))
        .collect();
    assert!(problems.is_empty(), "invalid manifests:\n{}", problems.join("\n"));
}

/// Applies `change` to a copy of `knative/<file>`'s first document and returns the schema's
/// complaints.
fn errors_after(file: &str, change: impl FnOnce(&mut Value)) -> Vec<String> {
    let schemas = Schemas::load();
    let mut manifest = parse_documents(file, &read(file)).remove(0);
    assert!(validate(&schemas, &manifest).is_empty(), "{file} must be valid before the change");
    change(&mut manifest.value);
    validate(&schemas, &manifest)
}

#[test]
fn an_unknown_field_under_the_revision_spec_is_refused() {
    let errors = errors_after("knative/convert.yaml", |v| v["spec"]["template"]["spec"]["containerConcurency"] = json!(1));
    assert!(errors.iter().any(|e| e.contains("containerConcurency")), "{errors:?}");
}

#[test]
fn a_misspelt_probe_field_is_refused() {
    let errors = errors_after("knative/auth.yaml", |v| {
        v["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"] = json!({ "paht": "/health/readiness" })
    });
    assert!(errors.iter().any(|e| e.contains("paht")), "{errors:?}");
}

#[test]
fn a_string_where_an_integer_is_expected_is_refused() {
    let errors = errors_after("knative/convert.yaml", |v| v["spec"]["template"]["spec"]["timeoutSeconds"] = json!("600"));
    assert!(errors.iter().any(|e| e.contains("timeoutSeconds")), "{errors:?}");
}

#[test]
fn an_unknown_field_in_metadata_is_refused() {
    let errors = errors_after("knative/sinkbinding.yaml", |v| v["metadata"]["anotations"] = json!({}));
    assert!(errors.iter().any(|e| e.contains("anotations")), "{errors:?}");
}

#[test]
fn an_unknown_field_in_a_core_kind_is_refused() {
    let errors =
        errors_after("knative/ingress.yaml", |v| v["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["prot"] = json!(80));
    assert!(errors.iter().any(|e| e.contains("prot")), "{errors:?}");
    let errors = errors_after("knative/configmap.yaml", |v| v["data"]["MP3CONVERT_TOKEN_TTL_SECS"] = json!(3600));
    assert!(errors.iter().any(|e| e.contains("MP3CONVERT_TOKEN_TTL_SECS")), "a ConfigMap value must be a string: {errors:?}");
}

#[test]
fn fields_a_schema_preserves_are_accepted() {
    // spec.template.metadata keeps unknown fields (x-kubernetes-preserve-unknown-fields),
    // as the API server does: strictness must not go further than kubectl's.
    let errors = errors_after("knative/upload.yaml", |v| v["spec"]["template"]["metadata"]["generateName"] = json!("upload-"));
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn kustomizations_list_every_manifest_and_override_every_image() {
    for dir in ["knative", "eventing"] {
        let kustomization = parse_documents(dir, &read(&format!("{dir}/kustomization.yaml"))).remove(0).value;
        let known = ["apiVersion", "kind", "namespace", "resources", "images"];
        let keys = kustomization.as_object().expect("a mapping").keys();
        keys.for_each(|key| assert!(known.contains(&key.as_str()), "{dir}/kustomization.yaml: unexpected field {key}"));
        assert_eq!(kustomization["apiVersion"], "kustomize.config.k8s.io/v1beta1");
        let resources: BTreeSet<&str> =
            kustomization["resources"].as_array().expect("resources").iter().filter_map(Value::as_str).collect();
        for resource in &resources {
            assert!(support::root().join(dir).join(resource).exists(), "{dir}/kustomization.yaml: {resource} does not exist");
        }
        // Every manifest is deployed, except the Secret templates (never applied as they are).
        for entry in std::fs::read_dir(support::root().join(dir)).expect("a directory") {
            let file = entry.expect("an entry").file_name().to_string_lossy().into_owned();
            if file.ends_with(".yaml") && file != "kustomization.yaml" && !file.ends_with(".example.yaml") {
                assert!(resources.contains(file.as_str()), "{dir}/kustomization.yaml does not list {file}");
            }
        }
    }
    let kustomization = parse_documents("knative", &read("knative/kustomization.yaml")).remove(0).value;
    assert!(kustomization["resources"].as_array().expect("resources").contains(&json!("../eventing")), "knative/ must include eventing/");
    let overridden: BTreeSet<&str> =
        kustomization["images"].as_array().expect("images").iter().filter_map(|i| i["name"].as_str()).collect();
    for service in services() {
        let image = container(&service)["image"].as_str().expect("an image");
        let repository = image.rsplit_once(':').map_or(image, |(repository, _)| repository);
        assert!(overridden.contains(repository), "knative/kustomization.yaml: no images: entry for {repository}");
    }
}

// --- the event flow ---

#[test]
fn triggers_filter_on_event_types_the_code_emits_and_every_type_is_consumed() {
    use platform::model::event_types::{CONVERSION_FAILED, MP3_CONVERTED, VIDEO_UPLOADED};
    let emitted = BTreeSet::from([VIDEO_UPLOADED, MP3_CONVERTED, CONVERSION_FAILED]);
    let manifests = all_manifests();
    let brokers: BTreeSet<&str> = only(&manifests, "eventing.knative.dev/v1", "Broker").map(Manifest::name).collect();
    assert_eq!(brokers, BTreeSet::from(["mp3convert"]), "the local broker and the functions expect one Broker, mp3convert");
    let mut consumed = BTreeSet::new();
    for trigger in only(&manifests, "eventing.knative.dev/v1", "Trigger") {
        let ty = trigger.value["spec"]["filter"]["attributes"]["type"].as_str().unwrap_or_default();
        assert!(emitted.contains(ty), "{}: filters on {ty:?}, which no function emits", trigger.origin);
        assert!(brokers.contains(trigger.value["spec"]["broker"].as_str().unwrap_or_default()), "{}: unknown broker", trigger.origin);
        consumed.insert(ty);
    }
    assert_eq!(consumed, emitted, "every event type the code emits has a Trigger");
}

#[test]
fn event_destinations_name_objects_that_exist() {
    let manifests = all_manifests();
    let services: BTreeSet<&str> = only(&manifests, KSVC, "Service").map(Manifest::name).collect();
    assert_eq!(services, BTreeSet::from(FUNCTIONS), "one Knative Service per function");
    let exists = |reference: &Value| {
        let (api_version, kind, name) = (reference["apiVersion"].as_str(), reference["kind"].as_str(), reference["name"].as_str());
        manifests.iter().any(|m| Some(m.api_version()) == api_version && Some(m.kind()) == kind && Some(m.name()) == name)
    };
    let mut references = Vec::new();
    for m in &manifests {
        let spec = &m.value["spec"];
        match m.kind() {
            "Trigger" => references.push((m, &spec["subscriber"]["ref"])),
            "Broker" => references.push((m, &spec["delivery"]["deadLetterSink"]["ref"])),
            "SinkBinding" => references.extend([(m, &spec["subject"]), (m, &spec["sink"]["ref"])]),
            "RabbitmqSource" => references.push((m, &spec["sink"]["ref"])),
            _ => {}
        }
    }
    assert!(references.len() >= 7, "{references:?}");
    for (owner, reference) in references {
        assert!(exists(reference), "{}: {reference} names nothing in knative/ or eventing/", owner.origin);
    }
    // The SinkBinding gives K_SINK to the function that emits `video.uploaded`.
    let binding = only(&manifests, "sources.knative.dev/v1", "SinkBinding").next().expect("a SinkBinding");
    assert_eq!(binding.value["spec"]["subject"]["name"], "upload");
}

// --- the functions' runtime contract ---

#[test]
fn functions_scale_to_zero_and_convert_runs_one_conversion_per_pod() {
    for service in services() {
        let template = &service.value["spec"]["template"];
        let annotations = &template["metadata"]["annotations"];
        assert_eq!(annotations["autoscaling.knative.dev/min-scale"], "0", "{}", service.origin);
        let max: u32 = annotations["autoscaling.knative.dev/max-scale"].as_str().and_then(|s| s.parse().ok()).expect("a max-scale");
        assert!(max >= 1, "{}", service.origin);
        let timeout = template["spec"]["timeoutSeconds"].as_u64().expect("timeoutSeconds");
        assert!(timeout <= CLUSTER_TIMEOUT_CAP, "{}: timeoutSeconds {timeout} over the cluster cap", service.origin);
        let limits = &container(&service)["resources"];
        assert!(limits["requests"].is_object() && limits["limits"].is_object(), "{}: requests and limits", service.origin);
    }
    let convert = service("convert").value;
    assert_eq!(convert["spec"]["template"]["spec"]["containerConcurrency"], 1);
}

#[tokio::test]
async fn probes_ask_the_health_routes_the_binaries_serve_on_their_port() {
    use tower::ServiceExt;
    let ready: platform::http::ReadinessCheck = Arc::new(|| -> Pin<Box<dyn Future<Output = bool> + Send>> { Box::pin(async { true }) });
    let health = platform::http::ops_router(ready);
    for service in services() {
        let container = container(&service);
        let port = container["ports"][0]["containerPort"].as_u64().unwrap_or(8080);
        assert_eq!(port, 8080, "{}: the binaries listen on $PORT, which Knative sets from containerPort", service.origin);
        for (probe, path) in [("readinessProbe", "/health/readiness"), ("livenessProbe", "/health/liveness")] {
            let http_get = &container[probe]["httpGet"];
            assert_eq!(http_get["path"], path, "{}: {probe}", service.origin);
            assert!(http_get["port"].is_null() || http_get["port"] == json!(port), "{}: {probe} port", service.origin);
            let request = axum::http::Request::get(path).body(axum::body::Body::empty()).expect("a request");
            let response = health.clone().oneshot(request).await.expect("a response");
            assert_eq!(response.status(), 200, "{path} is served by platform::http::ops_router");
        }
    }
}

#[test]
fn every_variable_set_is_one_the_binaries_read() {
    let read_by_binaries = variables_the_binaries_read();
    for platform_variable in ["PORT", "K_SINK", "K_CE_OVERRIDES", "AWS_LAMBDA_RUNTIME_API", "MP3CONVERT_MONGODB_URL"] {
        assert!(read_by_binaries.iter().any(|v| v == platform_variable), "scanning platform/src/config/ missed {platform_variable}");
    }
    let manifests = documents_in("knative");
    for service in services() {
        for name in environment(&manifests, &service).keys() {
            assert!(read_by_binaries.contains(name), "{}: {name} is not read by the binaries (platform/src/config/)", service.origin);
        }
    }
}

/// What a function needs, from what its `main.rs` builds.
fn needs(function: &str) -> Vec<&'static str> {
    let main = read(&format!("functions/{function}/src/main.rs"));
    let mut needs = vec!["MP3CONVERT_JWT_PUBLIC_KEY"]; // production mode refuses to start without it
    if main.contains("keys::load(") {
        needs.push("MP3CONVERT_JWT_PRIVATE_KEY");
    }
    if main.contains("user_store()") {
        needs.push("MP3CONVERT_MYSQL_URL");
    }
    if main.contains("blob_store()") || main.contains("job_store()") || main.contains("webhook_store()") {
        needs.push("MP3CONVERT_MONGODB_URL");
    }
    if main.contains("event_bus(") {
        needs.push("K_SINK");
    }
    if main.contains("event_key()") {
        needs.push("MP3CONVERT_EVENT_KEY");
    }
    if main.contains("links::load(") {
        needs.push("MP3CONVERT_LINK_KEY");
    }
    needs
}

#[test]
fn every_function_gets_what_it_needs_and_only_auth_the_private_key() {
    assert_eq!(needs("auth"), ["MP3CONVERT_JWT_PUBLIC_KEY", "MP3CONVERT_JWT_PRIVATE_KEY", "MP3CONVERT_MYSQL_URL"]);
    assert_eq!(needs("download"), ["MP3CONVERT_JWT_PUBLIC_KEY", "MP3CONVERT_MONGODB_URL", "MP3CONVERT_LINK_KEY"]);
    let manifests = all_manifests();
    for function in FUNCTIONS {
        let service = service(function);
        let environment = environment(&manifests, &service);
        let files = mounted_files(&service);
        let bound = only(&manifests, "sources.knative.dev/v1", "SinkBinding").any(|b| b.value["spec"]["subject"]["name"] == function);
        let has = |variable: &str| {
            if variable == "K_SINK" {
                return bound;
            }
            if environment.contains_key(variable) {
                return true;
            }
            // A `_FILE` variable must name a file that is mounted.
            match environment.get(&format!("{variable}_FILE")) {
                Some(source) => files.contains_key(&resolve(&manifests, &service, source)),
                None => false,
            }
        };
        for variable in needs(function) {
            assert!(has(variable), "{}: needs {variable}", service.origin);
        }
        let private = "MP3CONVERT_JWT_PRIVATE_KEY";
        if !needs(function).contains(&private) {
            assert!(
                !has(private) && !environment.contains_key(&format!("{private}_FILE")),
                "{}: must not get the private key",
                service.origin
            );
            assert!(files.values().all(|(_, key)| !key.contains("private")), "{}: must not mount the private key", service.origin);
        }
        // The download function alone holds the share-link key.
        let link_key = "MP3CONVERT_LINK_KEY";
        if !needs(function).contains(&link_key) {
            assert!(
                !has(link_key) && !environment.contains_key(&format!("{link_key}_FILE")),
                "{}: must not get the link key",
                service.origin
            );
        }
        assert_eq!(resolve(&manifests, &service, &environment["MP3CONVERT_MODE"]), "production", "{}", service.origin);
        assert_eq!(resolve(&manifests, &service, &environment["MP3CONVERT_LOG_FORMAT"]), "json", "{}", service.origin);
    }
}

#[test]
fn every_function_s_environment_is_a_valid_production_configuration() {
    let manifests = all_manifests();
    let keys = tempfile::tempdir().expect("a temporary directory");
    for function in FUNCTIONS {
        let service = service(function);
        let files = mounted_files(&service);
        let mut values: BTreeMap<String, String> =
            environment(&manifests, &service).iter().map(|(name, source)| (name.clone(), resolve(&manifests, &service, source))).collect();
        // What Knative adds: PORT from containerPort, K_SINK from a SinkBinding.
        values.insert("PORT".into(), "8080".into());
        if only(&manifests, "sources.knative.dev/v1", "SinkBinding").any(|b| b.value["spec"]["subject"]["name"] == function) {
            values.insert("K_SINK".into(), "http://broker-ingress.example/".into());
        }
        // Mounted files exist only in the pod: stand in temporary ones.
        for (name, value) in values.iter_mut().filter(|(name, _)| name.ends_with("_FILE")) {
            assert!(files.contains_key(value.as_str()), "{}: {name}={value} is not a mounted file", service.origin);
            let stand_in = keys.path().join(format!("{function}-{name}"));
            std::fs::write(&stand_in, "PEM").expect("a key file");
            *value = stand_in.display().to_string();
        }
        let config = platform::config::Config::from_lookup(|name| values.get(name).cloned())
            .unwrap_or_else(|e| panic!("{}: the function would not start: {e}", service.origin));
        assert_eq!(config.mode, platform::config::Mode::Production);
        assert!(config.log_json, "{}", service.origin);
        assert_eq!(config.addr.to_string(), "0.0.0.0:8080", "{}", service.origin);
    }
}

#[test]
fn secret_templates_hold_no_real_values() {
    let manifests = documents_in("knative");
    let secrets: Vec<&Manifest> = manifests.iter().filter(|m| m.is("v1", "Secret")).collect();
    assert!(!secrets.is_empty());
    for secret in secrets {
        assert!(secret.origin.starts_with("knative/secrets.example.yaml"), "{}: Secrets belong in the template only", secret.origin);
        assert!(secret.value.get("data").is_none(), "{}: use stringData placeholders", secret.origin);
        for (key, value) in secret.value["stringData"].as_object().expect("stringData") {
            assert_eq!(value, "REPLACE_ME", "{}: {key} must be a placeholder", secret.origin);
        }
    }
}

// --- public routing ---

/// Which function serves each public route of the contract, and routes that must stay
/// inside the cluster.
const PUBLIC_ROUTES: [(&str, &str); 16] = [
    ("/api/v1/webhooks", "notify"),
    ("/api/v1/webhooks/WEBHOOK_ID/deliveries", "notify"),
    ("/", "auth"),
    ("/assets/app.js", "auth"),
    ("/login", "auth"),
    ("/api/v1/users", "auth"),
    ("/api/v1/tokens", "auth"),
    ("/api/v1/openapi.json", "auth"),
    ("/upload", "upload"),
    ("/api/v1/videos", "upload"),
    ("/api/v1/videos/VIDEO_ID", "upload"),
    ("/api/v1/jobs", "upload"),
    ("/api/v1/jobs/JOB_ID", "upload"),
    ("/download", "download"),
    ("/api/v1/mp3s/MP3_ID", "download"),
    ("/api/v1/mp3s/MP3_ID/", "download"),
];
const PRIVATE_ROUTES: [&str; 8] = [
    "/events/job-status",
    "/events/dead-letter",
    "/events/sweep",
    "/events/job-ended",
    "/events/deliver",
    "/metrics",
    "/health/readiness",
    "/loginx",
];

/// The backend an Ingress path set sends `path` to: exact matches first, then the longest
/// prefix by whole segments (Kubernetes' Ingress matching rules).
fn route<'a>(paths: &'a [(String, String, String)], path: &str) -> Option<&'a str> {
    let segments = |p: &str| p.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let exact = paths.iter().find(|(p, ty, _)| ty == "Exact" && p == path);
    let prefix =
        paths.iter().filter(|(p, ty, _)| ty == "Prefix" && segments(path).starts_with(&segments(p))).max_by_key(|(p, _, _)| p.len());
    exact.or(prefix).map(|(_, _, backend)| backend.as_str())
}

#[test]
fn one_public_host_routes_the_contract_to_the_functions_through_knative() {
    let manifests = documents_in("knative");
    let kustomization = parse_documents("knative", &read("knative/kustomization.yaml")).remove(0).value;
    let namespace = kustomization["namespace"].as_str().expect("a namespace");
    let mut hosts = BTreeSet::new();
    let mut paths = Vec::new();
    for ingress in only(&manifests, "networking.k8s.io/v1", "Ingress") {
        let vhost =
            ingress.value["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-vhost"].as_str().expect("upstream-vhost");
        for rule in ingress.value["spec"]["rules"].as_array().expect("rules") {
            hosts.insert(rule["host"].as_str().expect("a host").to_owned());
            for path in rule["http"]["paths"].as_array().expect("paths") {
                let backend = &path["backend"]["service"];
                let name = backend["name"].as_str().expect("a Service");
                assert!(FUNCTIONS.contains(&name), "{}: {name} is not a function", ingress.origin);
                assert_eq!(backend["port"]["number"], 80, "{}: Knative's Service listens on 80", ingress.origin);
                // Knative's gateway picks the revision by Host: it must be the function's own.
                assert_eq!(vhost, format!("{name}.{namespace}.svc.cluster.local"), "{}", ingress.origin);
                let (p, ty) = (path["path"].as_str().expect("path"), path["pathType"].as_str().expect("pathType"));
                paths.push((p.to_owned(), ty.to_owned(), name.to_owned()));
            }
        }
    }
    assert_eq!(hosts.len(), 1, "one public host: {hosts:?}");
    for (path, function) in PUBLIC_ROUTES {
        assert_eq!(route(&paths, path), Some(function), "{path}");
    }
    for path in PRIVATE_ROUTES {
        assert_eq!(route(&paths, path), None, "{path} must not be public");
    }
}

// --- images ---

#[test]
fn the_dockerfile_builds_the_binary_each_service_runs() {
    let dockerfile = read("Dockerfile");
    // `-p`: the workspace's default member is the all-in-one, and `--bin` alone looks only
    // there; with `-p` only the function's own features are on (not the tests' fault point).
    assert!(
        dockerfile.contains("cargo build --release --locked -p \"$FUNCTION\" --bin \"mp3convert-$FUNCTION\""),
        "Dockerfile: the build command"
    );
    assert!(dockerfile.contains(&FUNCTIONS.join("|")), "Dockerfile: FUNCTION accepts every function");
    for function in FUNCTIONS {
        let cargo = read(&format!("functions/{function}/Cargo.toml"));
        assert!(cargo.contains(&format!("name = \"mp3convert-{function}\"")), "functions/{function} builds mp3convert-{function}");
        assert!(cargo.contains(&format!("name = \"{function}\"")), "functions/{function} is the package `-p {function}` names");
        let image = container(&service(function))["image"].as_str().expect("an image").to_owned();
        assert!(image.contains(&format!("/mp3convert-{function}:")), "knative/{function}.yaml runs {image}");
    }
    // The build context keeps every workspace member (cargo --locked needs them all).
    let ignored: Vec<String> = read(".dockerignore").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(str::to_owned).collect();
    let manifest = read("Cargo.toml");
    let members = manifest.split("members = [").nth(1).and_then(|rest| rest.split(']').next()).expect("workspace members");
    for member in members.split(',').map(|m| m.trim().trim_matches('"')).filter(|m| !m.is_empty()) {
        for pattern in &ignored {
            let pattern = pattern.trim_end_matches('/');
            assert!(!member.starts_with(pattern), ".dockerignore's {pattern} drops workspace member {member}");
        }
    }
}

/// Every function's pods are selected by a NetworkPolicy that admits Knative's data plane
/// namespaces only: no rule admits everyone, and no function is left out.
#[test]
fn network_policies_admit_only_knative_to_every_function() {
    let manifests = all_manifests();
    let policies: Vec<&Manifest> = only(&manifests, "networking.k8s.io/v1", "NetworkPolicy").collect();
    assert!(!policies.is_empty(), "no NetworkPolicy in knative/");
    let mut covered = Vec::new();
    for policy in policies {
        let spec = &policy.value["spec"];
        assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress"]), "{}", policy.origin);
        for expression in spec["podSelector"]["matchExpressions"].as_array().expect("a podSelector by expressions") {
            assert_eq!((expression["key"].as_str(), expression["operator"].as_str()), (Some("serving.knative.dev/service"), Some("In")));
            covered.extend(expression["values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()));
        }
        for rule in spec["ingress"].as_array().expect("ingress rules") {
            let peers = rule["from"].as_array().unwrap_or_else(|| panic!("{}: a rule without `from` admits everyone", policy.origin));
            for peer in peers {
                assert!(peer.get("ipBlock").is_none() && peer.get("podSelector").is_none(), "{}: {peer}", policy.origin);
                for expression in peer["namespaceSelector"]["matchExpressions"].as_array().expect("namespaces by name") {
                    assert_eq!(expression["key"], "kubernetes.io/metadata.name");
                    for namespace in expression["values"].as_array().unwrap() {
                        let namespace = namespace.as_str().unwrap();
                        assert!(
                            ["knative-serving", "kourier-system", "istio-system"].contains(&namespace),
                            "{}: admits {namespace}",
                            policy.origin
                        );
                    }
                }
            }
        }
    }
    covered.sort();
    let mut functions: Vec<String> = FUNCTIONS.iter().map(|f| f.to_string()).collect();
    functions.sort();
    assert_eq!(covered, functions, "the functions a NetworkPolicy covers");
}
