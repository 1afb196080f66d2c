use super::*;

fn services() -> BTreeMap<String, Url> {
    [("convert", "http://127.0.0.1:4001"), ("upload", "http://127.0.0.1:4002"), ("notify", "http://127.0.0.1:4003")]
        .into_iter()
        .map(|(name, url)| (name.to_owned(), Url::parse(url).unwrap()))
        .collect()
}

fn repo_eventing() -> PathBuf {
    // At run time: a shared target directory may hold this binary built in a clone elsewhere.
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from);
    crate_dir.join("../../eventing")
}

/// Writes `files` into a fresh directory and loads it.
fn load_files(files: &[(&str, &str)], broker: Option<&str>) -> Result<BrokerSpec, ManifestError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    load(dir.path(), broker, &services())
}

const BROKER: &str = "
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: b}
spec:
  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT2S, deadLetterSink: {uri: 'http://dls.example/dead'}}
";

fn trigger(extra_spec: &str) -> String {
    format!(
        "apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: t}}
spec:
  broker: b
  subscriber: {{ref: {{kind: Service, name: convert}}}}
{extra_spec}"
    )
}

#[test]
fn reads_the_repositorys_broker_and_triggers() {
    let broker = load(&repo_eventing(), None, &services()).unwrap();

    assert_eq!(broker.name, "mp3convert");
    let dead_letter = Url::parse("http://127.0.0.1:4002/events/dead-letter").unwrap();
    let expected_delivery = DeliveryPolicy {
        retry: 5,
        backoff: Backoff { policy: BackoffPolicy::Exponential, delay: Duration::from_secs(1) },
        dead_letter_sink: Some(dead_letter),
        timeout: None,
    };
    assert_eq!(broker.delivery, expected_delivery);

    let by_name = |name: &str| broker.triggers.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no trigger {name}"));
    let convert = by_name("convert-video-uploaded");
    assert_eq!(convert.filter, BTreeMap::from([("type".to_owned(), "mp3convert.video.uploaded".to_owned())]));
    assert_eq!(convert.subscriber.as_str(), "http://127.0.0.1:4001/");
    assert_eq!(convert.parallelism, 4);
    assert_eq!(convert.delivery, expected_delivery);
    for (name, ty) in [("jobs-mp3-converted", "mp3convert.mp3.converted"), ("jobs-conversion-failed", "mp3convert.conversion.failed")] {
        let jobs = by_name(name);
        assert_eq!(jobs.filter, BTreeMap::from([("type".to_owned(), ty.to_owned())]));
        assert_eq!(jobs.subscriber.as_str(), "http://127.0.0.1:4002/events/job-status");
        assert_eq!(jobs.parallelism, 1);
    }
    for (name, ty) in [("notify-mp3-converted", "mp3convert.mp3.converted"), ("notify-conversion-failed", "mp3convert.conversion.failed")] {
        let notify = by_name(name);
        assert_eq!(notify.filter, BTreeMap::from([("type".to_owned(), ty.to_owned())]));
        assert_eq!(notify.subscriber.as_str(), "http://127.0.0.1:4003/events/job-ended");
    }
    assert_eq!(broker.triggers.len(), 5);
}

#[test]
fn a_triggers_delivery_overrides_the_brokers_field_by_field() {
    let t = trigger("  delivery: {retry: 1, backoffDelay: PT0.5S}\n");
    let broker = load_files(&[("b.yaml", BROKER), ("t.yml", &t)], None).unwrap();

    let delivery = &broker.triggers[0].delivery;
    assert_eq!(delivery.retry, 1);
    assert_eq!(delivery.backoff, Backoff { policy: BackoffPolicy::Linear, delay: Duration::from_millis(500) });
    assert_eq!(delivery.dead_letter_sink.as_ref().map(Url::as_str), Some("http://dls.example/dead"));
    assert_eq!(broker.delivery.retry, 3, "the Broker's own policy is unchanged");
}

#[test]
fn backoff_waits_grow_per_policy() {
    let exponential = Backoff { policy: BackoffPolicy::Exponential, delay: Duration::from_millis(100) };
    let linear = Backoff { policy: BackoffPolicy::Linear, delay: Duration::from_millis(100) };
    let waits = |b: Backoff| (0..4).map(|n| b.wait(n).as_millis()).collect::<Vec<_>>();
    assert_eq!(waits(exponential), [100, 200, 400, 800]);
    assert_eq!(waits(linear), [100, 200, 300, 400]);
    assert_eq!(exponential.wait(200), Duration::MAX, "saturates instead of overflowing");
}

#[test]
fn other_kinds_and_other_brokers_triggers_are_ignored() {
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n# only a comment\n---\n";
    let foreign = trigger("").replace("broker: b", "broker: other");
    let broker =
        load_files(&[("b.yaml", &format!("{other}---\n{BROKER}")), ("t.yaml", &foreign), ("notes.txt", "not: [yaml")], None).unwrap();
    assert!(broker.triggers.is_empty());
}

#[test]
fn filters_are_rejected() {
    let t = trigger("  filters:\n  - exact: {type: x}\n");
    let error = load_files(&[("b.yaml", BROKER), ("t.yaml", &t)], None).unwrap_err();
    assert!(matches!(error, ManifestError::FiltersUnsupported { ref trigger } if trigger == "t"), "{error}");
}

#[test]
fn a_service_without_a_mapping_is_rejected() {
    let t = trigger("").replace("name: convert", "name: nowhere");
    let error = load_files(&[("b.yaml", BROKER), ("t.yaml", &t)], None).unwrap_err();
    assert!(matches!(error, ManifestError::UnknownService { ref service, .. } if service == "nowhere"), "{error}");
    assert!(error.to_string().contains("--service nowhere=BASE_URL"), "{error}");
}

#[test]
fn an_unknown_backoff_policy_is_rejected() {
    let broker = BROKER.replace("linear", "fibonacci");
    let error = load_files(&[("b.yaml", &broker)], None).unwrap_err();
    assert!(matches!(error, ManifestError::BackoffPolicy { ref value, .. } if value == "fibonacci"), "{error}");
}

#[test]
fn an_unparsable_duration_is_rejected() {
    let t = trigger("  delivery: {backoffDelay: 1s}\n");
    let error = load_files(&[("b.yaml", BROKER), ("t.yaml", &t)], None).unwrap_err();
    assert!(matches!(error, ManifestError::Duration { field: "spec.delivery.backoffDelay", .. }), "{error}");
}

#[test]
fn parallelism_must_be_a_positive_number() {
    for bad in ["0", "four", "-1"] {
        let t = trigger("")
            .replace("metadata: {name: t}", &format!("metadata: {{name: t, annotations: {{{PARALLELISM_ANNOTATION}: '{bad}'}}}}"));
        let error = load_files(&[("b.yaml", BROKER), ("t.yaml", &t)], None).unwrap_err();
        assert!(matches!(error, ManifestError::Parallelism { .. }), "{bad}: {error}");
    }
}

#[test]
fn the_broker_is_chosen_by_name_when_there_are_several() {
    let second = BROKER.replace("name: b", "name: c");
    let files = [("b.yaml", BROKER), ("c.yaml", second.as_str())];
    assert!(matches!(load_files(&files, None), Err(ManifestError::SeveralBrokers { .. })));
    assert_eq!(load_files(&files, Some("c")).unwrap().name, "c");
    assert!(matches!(load_files(&files, Some("d")), Err(ManifestError::BrokerNotFound { .. })));
    assert!(matches!(load_files(&[], None), Err(ManifestError::NoBroker { .. })));
}

#[test]
fn an_absolute_subscriber_uri_needs_no_service() {
    let t = trigger("").replace("{ref: {kind: Service, name: convert}}", "{uri: 'http://elsewhere:9/hook'}");
    let broker = load_files(&[("b.yaml", BROKER), ("t.yaml", &t)], None).unwrap();
    assert_eq!(broker.triggers[0].subscriber.as_str(), "http://elsewhere:9/hook");

    let relative = trigger("").replace("{ref: {kind: Service, name: convert}}", "{uri: /hook}");
    assert!(matches!(load_files(&[("b.yaml", BROKER), ("t.yaml", &relative)], None), Err(ManifestError::BadUri { .. })));
}
