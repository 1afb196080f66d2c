//! A function's environment as its pod would get it: the container's `env` and `envFrom`
//! resolved against the ConfigMap and Secret manifests, and the files of its Secret volumes.

use std::collections::BTreeMap;

use crate::container;
use crate::support::Manifest;

/// How a variable of a container gets its value.
#[derive(Debug)]
pub enum Source {
    Value(String),
    ConfigMap { name: String, key: String },
    Secret { name: String, key: String },
}

/// The container's environment as the kubelet would build it (envFrom, then env).
pub fn environment(manifests: &[Manifest], service: &Manifest) -> BTreeMap<String, Source> {
    let container = container(service);
    let mut environment = BTreeMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let (kind, name) = match (from["configMapRef"]["name"].as_str(), from["secretRef"]["name"].as_str()) {
            (Some(name), _) => ("ConfigMap", name),
            (_, Some(name)) => ("Secret", name),
            _ => panic!("{}: envFrom without a ConfigMap or Secret", service.origin),
        };
        let object = manifests.iter().find(|m| m.is("v1", kind) && m.name() == name);
        let object = object.unwrap_or_else(|| panic!("{}: envFrom {kind} {name} is not in knative/", service.origin));
        let data = if kind == "ConfigMap" { &object.value["data"] } else { &object.value["stringData"] };
        for key in data.as_object().expect("data").keys() {
            let (name, key) = (name.to_owned(), key.clone());
            let source = if kind == "ConfigMap" { Source::ConfigMap { name, key } } else { Source::Secret { name, key } };
            environment.insert(source_key(&source), source);
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().expect("a name").to_owned();
        let from = &var["valueFrom"];
        let source = match (var["value"].as_str(), &from["configMapKeyRef"], &from["secretKeyRef"]) {
            (Some(value), _, _) => Source::Value(value.to_owned()),
            (None, r, _) if r.is_object() => {
                Source::ConfigMap { name: r["name"].as_str().expect("name").into(), key: r["key"].as_str().expect("key").into() }
            }
            (None, _, r) if r.is_object() => {
                Source::Secret { name: r["name"].as_str().expect("name").into(), key: r["key"].as_str().expect("key").into() }
            }
            _ => panic!("{}: {name} has neither a value nor a supported valueFrom", service.origin),
        };
        environment.insert(name, source);
    }
    environment
}

fn source_key(source: &Source) -> String {
    match source {
        Source::ConfigMap { key, .. } | Source::Secret { key, .. } => key.clone(),
        Source::Value(_) => unreachable!("envFrom gives only ConfigMap or Secret keys"),
    }
}

/// The value a variable would have, with Secrets' `REPLACE_ME` as they are.
pub fn resolve(manifests: &[Manifest], service: &Manifest, source: &Source) -> String {
    let (kind, name, key, field) = match source {
        Source::Value(value) => return value.clone(),
        Source::ConfigMap { name, key } => ("ConfigMap", name, key, "data"),
        Source::Secret { name, key } => ("Secret", name, key, "stringData"),
    };
    let object = manifests.iter().find(|m| m.is("v1", kind) && m.name() == name);
    let object = object.unwrap_or_else(|| panic!("{}: {kind} {name} is not in knative/", service.origin));
    let value = object.value[field][key].as_str();
    value.unwrap_or_else(|| panic!("{}: {kind} {name} has no key {key}", service.origin)).to_owned()
}

/// The files a container sees from Secret volumes: mount path → (secret, key).
pub fn mounted_files(service: &Manifest) -> BTreeMap<String, (String, String)> {
    let spec = &service.value["spec"]["template"]["spec"];
    let mut files = BTreeMap::new();
    for mount in container(service)["volumeMounts"].as_array().into_iter().flatten() {
        let volume = spec["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == mount["name"]).expect("a mounted volume");
        let secret = volume["secret"]["secretName"].as_str().expect("only Secret volumes are mounted");
        for item in volume["secret"]["items"].as_array().expect("secret volumes list their items: nothing unneeded is mounted") {
            let path = format!("{}/{}", mount["mountPath"].as_str().expect("mountPath"), item["path"].as_str().expect("path"));
            files.insert(path, (secret.to_owned(), item["key"].as_str().expect("key").to_owned()));
        }
    }
    files
}
